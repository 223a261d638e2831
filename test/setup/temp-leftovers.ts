/**
 * What a test file left behind in its temporary folder: files and folders, and processes still
 * running that were started with that folder as their TMPDIR (every process the file started
 * inherits it, so a server or child a test forgot to stop is found however it was started).
 * Used by the per-file check (temp-per-file.ts) and the run's backstop (temp-root.ts).
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { userInfo } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

/** Beside each per-file folder, `<folder>.owner` holds the test file's path (for messages). */
export const OWNER_SUFFIX = '.owner';

export interface StrayProcess {
  pid: number;
  command: string;
}

export function removeTree(dir: string): void {
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

/**
 * Caches tools keep in the temp folder across runs, by design; a per-file TMPDIR would make each
 * file start them cold (tsx transforms every module again in each `bench` subprocess), so the
 * per-file folder links them to the real ones and they are not leftovers.
 */
export function sharedToolCaches(): string[] {
  return [`tsx-${process.geteuid?.() ?? userInfo().username}`];
}

/**
 * Files a library writes into TMPDIR whatever the test does: ONNX Runtime's native library
 * (its Microsoft Applications Telemetry part) writes an empty mat-debug-<pid>.log and a .ses
 * session id there when it loads. They are removed with the file's folder, not reported.
 */
const LIBRARY_FILES = [/^mat-debug-\d+\.log$/, /^\.ses$/];

/** Entries of a per-file folder that are not the test's doing. */
const notLeftover = (name: string): boolean => sharedToolCaches().includes(name) || LIBRARY_FILES.some((re) => re.test(name));

/** Up to `max` names of what a test left in `dir` and the total, e.g. "3 entries (a-1x2y3z, b.sqlite, c)"; null when nothing (or no folder). */
export function describeLeftovers(dir: string, max = 8): string | null {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => !notLeftover(n));
  } catch {
    return null;
  }
  if (names.length === 0) return null;
  const shown = names.slice(0, max).join(', ');
  return `${names.length} entr${names.length === 1 ? 'y' : 'ies'} (${shown}${names.length > max ? ', …' : ''})`;
}

function readProc(pid: string, file: string): string | null {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'latin1');
  } catch {
    return null; // gone, or not ours to read
  }
}

/**
 * Live processes (other than this one) whose TMPDIR is `dir` or inside it, or whose command line
 * names a path inside it: sshd overwrites its environment with its process title, but its
 * command line keeps `-f <dir>/…/sshd_config`. Linux only: [] elsewhere.
 */
export function processesUsingTmp(dir: string): StrayProcess[] {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid);
  } catch {
    return [];
  }
  const found: StrayProcess[] = [];
  for (const pid of pids) {
    // Zombies have an empty environment and command line: they have ended.
    const environ = readProc(pid, 'environ') ?? '';
    const cmdline = readProc(pid, 'cmdline') ?? '';
    const tmp = environ.split('\0').find((v) => v.startsWith('TMPDIR='))?.slice('TMPDIR='.length);
    const inTmp = tmp !== undefined && (tmp === dir || tmp.startsWith(`${dir}/`));
    if (!inTmp && !cmdline.includes(`${dir}/`)) continue;
    found.push({ pid: Number(pid), command: cmdline.split('\0').join(' ').replace(/[^\x20-\x7e]/g, '?').trim().slice(0, 160) });
  }
  return found;
}

/** Waits up to `graceMs` for processes that are already on their way out, then lists the rest. */
export async function processesStillUsingTmp(dir: string, graceMs = 2000): Promise<StrayProcess[]> {
  const until = Date.now() + graceMs;
  let found = processesUsingTmp(dir);
  while (found.length > 0 && Date.now() < until) {
    await sleep(100);
    found = processesUsingTmp(dir);
  }
  return found;
}

/** SIGKILLs the strays (they outlived their test file) and waits briefly for them to go. */
export async function stopProcesses(strays: readonly StrayProcess[]): Promise<void> {
  for (const { pid } of strays) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const until = Date.now() + 2000;
  while (Date.now() < until && strays.some(({ pid }) => readProc(String(pid), 'environ'))) await sleep(50);
}
