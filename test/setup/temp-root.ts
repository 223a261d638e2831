/**
 * Vitest global setup: one temporary root per test run, under the machine's temp folder. Each
 * test file gets a folder of its own inside it (test/setup/temp-per-file.ts makes it its TMPDIR
 * and checks it is empty when the file ends); run locks (BENCH_LOCK_DIR) go to `locks/`.
 *
 * Teardown is the backstop for a file whose own check never ran (a worker killed on timeout or
 * crashed): it names the folders and processes such a file left, removes them and fails the run.
 * A unique root per run keeps this exact with parallel workers and with other runs (other
 * checkouts' tests) on the same machine: nothing outside this root is looked at.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { processAlive } from '../../core/atomic-write.ts';
import { describeLeftovers, OWNER_SUFFIX, processesStillUsingTmp, processesUsingTmp, removeTree, stopProcesses } from './temp-leftovers.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The run's temporary root (see test/setup/temp-root.ts). */
    tempRoot: string;
  }
}

export const LOCKS_FOLDER = 'locks';
/** The vitest process that owns a root, so a later run can tell an abandoned root from a live one. */
const OWNER_PID_FILE = 'vitest.pid';
const ROOT_PREFIX = 'vt';

/**
 * Roots of earlier runs whose vitest process is gone: a run stopped with Ctrl-C or killed never
 * reaches its teardown. Removed at the next run's start, with the processes still running from
 * them (a test's sshd); roots of live runs (parallel runs on this machine) are left alone.
 */
async function removeAbandonedRoots(): Promise<string[]> {
  const removed: string[] = [];
  for (const name of readdirSync(tmpdir())) {
    if (!new RegExp(`^${ROOT_PREFIX}[A-Za-z0-9]{6}$`).test(name)) continue;
    const root = join(tmpdir(), name);
    let pid: number;
    try {
      pid = Number(readFileSync(join(root, OWNER_PID_FILE), 'utf8'));
    } catch {
      continue; // not one of ours, or a run that is just starting
    }
    if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) continue;
    await stopProcesses(processesUsingTmp(root));
    removeTree(root);
    removed.push(root);
  }
  return removed;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Short names here and per file: ssh makes its control socket a few folders below, and a unix
  // socket path is limited to 107 bytes.
  const abandoned = await removeAbandonedRoots();
  if (abandoned.length > 0) process.stderr.write(`test setup: removed ${abandoned.length} temp root(s) of interrupted test runs: ${abandoned.join(', ')}\n`);
  const root = mkdtempSync(join(tmpdir(), ROOT_PREFIX));
  mkdirSync(join(root, LOCKS_FOLDER));
  writeFileSync(join(root, OWNER_PID_FILE), String(process.pid));
  project.provide('tempRoot', root);
  return async () => {
    const problems: string[] = [];
    const processes = await processesStillUsingTmp(root);
    if (processes.length > 0) {
      problems.push(`processes still running: ${processes.map((p) => `${p.pid} ${p.command}`).join('; ')}`);
      await stopProcesses(processes);
    }
    for (const entry of readdirSync(root)) {
      if (entry === LOCKS_FOLDER || entry === OWNER_PID_FILE || entry.endsWith(OWNER_SUFFIX)) continue;
      const owner = readOwner(join(root, entry + OWNER_SUFFIX));
      problems.push(`${owner} ended without its temp check (worker killed?); it left ${describeLeftovers(join(root, entry)) ?? 'its empty folder'}`);
    }
    removeTree(root);
    if (problems.length > 0) throw new Error(`test run left things behind in ${root}:\n  ${problems.join('\n  ')}`);
  };
}

function readOwner(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return 'a test file';
  }
}
