/**
 * Quoting for the remote POSIX shell. OpenSSH sends the remote command as one string that the
 * login shell on the board parses, so every argument must reach that shell as exactly one word
 * with no expansion. Single quotes suspend every special character in POSIX sh (dash, bash,
 * busybox ash); a single quote itself is written as '\'' (close, escaped quote, reopen).
 */
import { InputError } from '../core/errors.ts';

/** Characters that are never special to a POSIX shell in any position of a word. */
const PLAIN = /^[A-Za-z0-9_@%+,./:-]+$/;

/** One argument as a single, literal POSIX shell word. */
export function quotePosix(arg: string): string {
  if (arg.includes('\0')) throw new InputError(`argument ${JSON.stringify(arg)} contains a NUL byte, which no command line can carry`);
  if (PLAIN.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface RemoteScriptOptions {
  /** Folder to run in. */
  cwd?: string;
  env?: Record<string, string>;
  /**
   * Print the shell's PID to stderr as the first line before exec'ing the command, so a command
   * can be killed on the target by PID after a timeout (the exec'd program keeps the PID).
   */
  announcePid?: boolean;
}

/** The marker line announcePid writes; the transport strips it from stderr. */
export const PID_MARKER = '__bench_remote_pid=';

/**
 * The remote command line for argv: optional `cd`, exported variables, then `exec` of the
 * program so that it replaces the shell (signals and exit status are its own).
 */
export function remoteScript(argv: readonly string[], opts: RemoteScriptOptions = {}): string {
  const [cmd] = argv;
  if (cmd === undefined || cmd === '') throw new InputError('empty command');
  // `exec -x` would be read as an option of exec in bash; no real program name starts with '-'.
  if (cmd.startsWith('-')) throw new InputError(`command name ${JSON.stringify(cmd)} starts with "-"`);
  const parts: string[] = [];
  if (opts.announcePid) parts.push(`echo ${PID_MARKER}$$ >&2`);
  if (opts.cwd !== undefined) parts.push(`cd ${quotePosix(opts.cwd)}`);
  for (const [name, value] of Object.entries(opts.env ?? {})) {
    if (!ENV_NAME.test(name)) throw new InputError(`environment variable name ${JSON.stringify(name)} is not a valid shell name`);
    parts.push(`export ${name}=${quotePosix(value)}`);
  }
  parts.push(`exec ${argv.map(quotePosix).join(' ')}`);
  // `&&` so a failed cd does not run the command in the wrong folder.
  return parts.join(' && ');
}
