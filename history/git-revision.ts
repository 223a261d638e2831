/**
 * Git revisions that come from result files (untrusted: CI artifacts, pull requests) or from
 * flags. A revision is either a hex object name or a ref that `git rev-parse --verify` accepts;
 * every git call puts `--end-of-options` before it, so a value like `--output=FILE` is never
 * read as an option.
 */
import { spawnSync } from 'node:child_process';
import { InputError } from '../core/errors.ts';
import { terminalSafe } from '../core/terminal-text.ts';

/** A full (SHA-1 or SHA-256) or abbreviated git object name; the result schema uses the same pattern. */
export const HEX_OBJECT_NAME = /^[0-9a-f]{4,64}$/;

function git(args: string[]): string | null {
  const out = spawnSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 });
  return out.status === 0 ? out.stdout.trim() : null;
}

/**
 * A revision named by the user: a hex object name as given, else a ref resolved to its commit's
 * hex name by git in the current folder. Anything else is refused (exit 2).
 */
export function checkedRevision(revision: string, what: string): string {
  if (HEX_OBJECT_NAME.test(revision)) return revision;
  const resolved = revision ? git(['rev-parse', '--verify', '--quiet', '--end-of-options', `${revision}^{commit}`]) : null;
  if (resolved && HEX_OBJECT_NAME.test(resolved)) return resolved;
  throw new InputError(`${what}: "${terminalSafe(revision, { maxChars: 100 })}" is neither a hex commit name nor a ref git knows in this folder`);
}

/** The committer date of a hex revision, from git in the current folder; null when git does not know it. */
export function gitCommitDate(revision: string): string | null {
  if (!HEX_OBJECT_NAME.test(revision)) return null;
  const date = git(['show', '-s', '--format=%cI', '--end-of-options', revision]);
  return date && !Number.isNaN(Date.parse(date)) ? new Date(date).toISOString() : null;
}
