import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { checkedRevision, gitCommitDate } from '../../history/git-revision.ts';
import { makeRun } from '../history/make-history.ts';
import { bench } from './cli-harness.ts';
import { tempDir } from '../helpers/tmp.ts';

let dir: string;
beforeEach(() => {
  dir = tempDir('bench-gitrev-');
});

describe('git revisions from result files and flags', () => {
  it('a result whose revision is "--output=FILE" is refused (exit 2) and FILE keeps its content', async () => {
    const victim = join(dir, 'victim.txt');
    writeFileSync(victim, 'precious\n');
    const run = makeRun(0, { runs: 1 }) as unknown as { environment: { git: { revision: string } } };
    run.environment.git.revision = `--output=${victim}`;
    const file = join(dir, 'result.json');
    writeFileSync(file, JSON.stringify(run));
    for (const cmd of [['history', 'add', file], ['history', 'check', file]]) {
      const r = await bench(...cmd, '--db', join(dir, 'h.sqlite'));
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('environment.git.revision');
      expect(r.stderr).not.toContain('    at ');
      expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    }
  });

  it('git is never handed an option: the date lookup takes hex names only, a flag value must resolve', () => {
    const victim = join(dir, 'victim.txt');
    writeFileSync(victim, 'precious\n');
    expect(gitCommitDate(`--output=${victim}`)).toBeNull();
    expect(() => checkedRevision(`--output=${victim}`, '--commit')).toThrow(/neither a hex commit name nor a ref/);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(() => checkedRevision('', '--commit')).toThrow(/--commit/);
    expect(checkedRevision('c0ffee00', '--commit')).toBe('c0ffee00');
  });

  it('a ref is resolved to its commit hex name and its date read from git', () => {
    const repo = join(dir, 'repo');
    const git = (...a: string[]) => execFileSync('git', ['-C', repo, ...a], { encoding: 'utf8', env: { ...process.env, GIT_COMMITTER_DATE: '2026-01-02T03:04:05Z', GIT_AUTHOR_DATE: '2026-01-02T03:04:05Z' } }).trim();
    execFileSync('git', ['init', '-q', repo]);
    git('-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-q', '--allow-empty', '-m', 'x');
    const head = git('rev-parse', 'HEAD');
    const cwd = process.cwd();
    process.chdir(repo);
    try {
      expect(checkedRevision('HEAD', '--commit')).toBe(head);
      expect(gitCommitDate(head)).toBe('2026-01-02T03:04:05.000Z');
    } finally {
      process.chdir(cwd);
    }
  });
});
