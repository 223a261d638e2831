/**
 * A run that takes a board's run lock and then does nothing, for tests that kill it (SIGKILL: no
 * chance to release) and check the next run takes the lock over. argv[2]: the target definition
 * as JSON (kind local or ssh); argv[3]: the lock folder on the board.
 */
import { hostname, userInfo } from 'node:os';
import { LocalTransport } from '../../../targets/command-transport.ts';
import { acquireRunLock } from '../../../targets/run-lock.ts';
import { SshTransport } from '../../../targets/ssh-transport.ts';
import type { TargetDefinition } from '../../../targets/types.ts';

const target = JSON.parse(process.argv[2]!) as TargetDefinition;
const transport = target.kind === 'ssh' ? new SshTransport(target) : new LocalTransport();
await acquireRunLock(transport, { host: hostname(), pid: process.pid, user: userInfo().username, since: new Date().toISOString(), command: 'bench run --suite held-by-test' }, target.name, process.argv[3]);
process.stdout.write('held\n');
setInterval(() => undefined, 1 << 30);
