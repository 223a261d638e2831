/**
 * One run per board at a time (issue 28): a run holds a lock ON THE BOARD, taken through the
 * target's transport (this machine, or the board over SSH), so runs started from different
 * machines, users or CI jobs exclude each other. A second run is refused naming who holds the
 * lock and since when.
 *
 * The lock is a kernel lock (flock) held by a small shell on the board for as long as the run
 * lives: the shell keeps the lock file open and writes a line every second to the run; when the
 * run dies (killed, crashed, network gone), the next write fails, the shell exits and the kernel
 * releases the lock. A lock left by a dead run is therefore free once its holder is gone, and the
 * next run takes it over, saying whose it was. No clock or PID of another machine is trusted.
 *
 * Beside the lock file, a holder file says who holds it (JSON, one line). A run that ends
 * normally removes it, which also ends the holding shell.
 */
import { terminalSafe } from '../core/terminal-text.ts';
import type { CommandTransport } from '../core/transport.ts';
import { InputError } from '../core/errors.ts';

/** Who holds (or held) a board's run lock, as written in its holder file. */
export interface LockHolder {
  host: string;
  pid: number;
  user: string;
  /** ISO time the lock was taken. */
  since: string;
  /** The command line of the run (`bench run --suite ...`). */
  command: string;
}

export interface HeldRunLock {
  /** The lock file on the board. */
  path: string;
  /** The holder of a lock left by a run that is gone, which this run took over; null when the lock was free. */
  tookOver: LockHolder | null;
  /** Set when the board cannot be locked (no flock there): the run goes on unlocked, and says so. */
  warning: string | null;
  release(): Promise<void>;
}

/** Folder of the lock on the board: $BENCH_LOCK_DIR, else /tmp (shared by every user of the board). */
export function runLockDir(): string {
  return process.env['BENCH_LOCK_DIR'] ?? '/tmp';
}

const LOCK_NAME = 'vlm-edge-bench.lock';
const HOLDER_SUFFIX = '.holder';
const ACQUIRE_TIMEOUT_MS = 20_000;

/**
 * A fixed script (no parameter is ever part of its text; they arrive as $1..$3). Exit 4: no
 * flock on the board; 3: the lock or holder file cannot be written; 1: held by another run.
 * Only the holding shell keeps fd 9 (the sleep closes it), so killing the shell frees the lock.
 */
const HOLD_SCRIPT = [
  'lock=$1; info=$2; me=$3',
  'command -v flock >/dev/null 2>&1 || exit 4',
  'exec 9>>"$lock" || exit 3',
  'if ! flock -n 9; then echo BUSY; head -c 4096 "$info" 2>/dev/null; echo; exit 1; fi',
  'old=$(head -c 4096 "$info" 2>/dev/null | head -n 1)',
  'printf \'%s\\n\' "$me" > "$info.$$" && mv -f "$info.$$" "$info" || exit 3',
  'echo "LOCKED $old"',
  'while sleep 1 9>&-; do [ -f "$info" ] || exit 0; echo alive || exit 0; done',
].join('\n');

/** Text read from the board (holder file, stderr) as one bounded terminal-safe line. */
function clean(text: unknown, max = 200): string {
  return terminalSafe(String(text ?? ''), { oneLine: true, maxChars: max });
}

/** The holder file's content, checked; null when it is not a holder record. */
export function parseHolder(line: string): LockHolder | null {
  let doc: unknown;
  try {
    doc = JSON.parse(line.slice(0, 4096));
  } catch {
    return null;
  }
  if (!doc || typeof doc !== 'object') return null;
  const d = doc as Record<string, unknown>;
  const pid = Number(d['pid']);
  return {
    host: clean(d['host'], 100),
    pid: Number.isInteger(pid) && pid > 0 ? pid : 0,
    user: clean(d['user'], 64),
    since: clean(d['since'], 40),
    command: clean(d['command'], 300),
  };
}

/** "pid 123 on host h (user u), since T (12 min ago), running: cmd" */
export function describeHolder(h: LockHolder, now = Date.now()): string {
  const t = Date.parse(h.since);
  const ago = Number.isFinite(t) ? ` (${Math.max(0, Math.round((now - t) / 60_000))} min ago)` : '';
  return `pid ${h.pid} on host ${h.host || '?'}${h.user ? ` (user ${h.user})` : ''}, since ${h.since || '?'}${ago}${h.command ? `, running: ${h.command}` : ''}`;
}

/**
 * Takes the run lock of the board behind `transport`, or throws InputError naming the holder.
 * `board` names the target in messages.
 */
export async function acquireRunLock(transport: CommandTransport, me: LockHolder, board: string, dir = runLockDir()): Promise<HeldRunLock> {
  const path = `${dir.replace(/\/+$/, '')}/${LOCK_NAME}`;
  const info = `${path}${HOLDER_SUFFIX}`;
  const stream = transport.spawn(['sh', '-c', HOLD_SCRIPT, 'sh', path, info, JSON.stringify(me)]);
  const lines: string[] = [];
  const outcome = await new Promise<{ kind: 'locked'; old: string } | { kind: 'exit'; code: number | null; error?: string; tail: string }>((resolve) => {
    const timer = setTimeout(() => resolve({ kind: 'exit', code: null, error: `no answer within ${ACQUIRE_TIMEOUT_MS / 1000} s`, tail: '' }), ACQUIRE_TIMEOUT_MS);
    stream.onLine((line) => {
      if (lines.length < 10) lines.push(line);
      if (line.startsWith('LOCKED')) {
        clearTimeout(timer);
        resolve({ kind: 'locked', old: line.slice('LOCKED'.length).trim() });
      }
    });
    stream.onExit((exit) => {
      clearTimeout(timer);
      resolve({ kind: 'exit', code: exit.code, ...(exit.error ? { error: exit.error } : {}), tail: exit.stderrTail });
    });
  });
  if (outcome.kind === 'locked') {
    let released = false;
    return {
      path,
      tookOver: outcome.old ? parseHolder(outcome.old) : null,
      warning: null,
      release: async () => {
        if (released) return;
        released = true;
        // Removing the holder file (while still holding the lock) ends the holding shell.
        await transport.run(['rm', '-f', info]).catch(() => undefined);
        await stream.stop();
      },
    };
  }
  await stream.stop();
  if (outcome.code === 1 && lines[0] === 'BUSY') {
    const holder = lines[1] ? parseHolder(lines[1]) : null;
    throw new InputError(
      `target "${board}" is in use: another run holds its lock (${path} on the board): ` +
        `${holder ? describeHolder(holder) : 'its holder has not written who it is yet'}. ` +
        'One run per board at a time: wait for it to finish (a lock whose run is gone is taken over by the next run).',
    );
  }
  if (outcome.code === 4) {
    return { path, tookOver: null, warning: `target "${board}" has no flock command: this run is not locked against other runs on the board`, release: async () => undefined };
  }
  throw new InputError(
    `target "${board}": cannot take the run lock ${path} on the board (${outcome.error ?? `exit ${outcome.code ?? 'none'}`}${outcome.tail ? `: ${clean(outcome.tail, 300)}` : ''}); ` +
      'set BENCH_LOCK_DIR to a folder the run can write on the board',
  );
}
