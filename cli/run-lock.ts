import { hostname, userInfo } from 'node:os';
import { redactQuerySecrets } from '../core/redact.ts';
import { LocalTransport } from '../targets/command-transport.ts';
import { acquireRunLock, type HeldRunLock } from '../targets/run-lock.ts';
import { closeSharedTransports, sharedTransport } from '../targets/targets.ts';
import type { TargetDefinition } from './targets.ts';

/** The board's run lock for a command that runs cells, taken through the target's own transport (targets/run-lock.ts). */
export async function takeRunLock(target: TargetDefinition): Promise<HeldRunLock> {
  const me = {
    host: hostname(),
    pid: process.pid,
    user: userInfo().username,
    since: new Date().toISOString(),
    command: redactQuerySecrets(['bench', ...process.argv.slice(2)].join(' ')),
  };
  const transport = target.kind === 'local' ? new LocalTransport() : sharedTransport(target);
  try {
    return await acquireRunLock(transport, me, target.name);
  } catch (err) {
    await closeSharedTransports();
    throw err;
  }
}
