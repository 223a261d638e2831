/**
 * `bench run --target <ssh board>` through the real CLI: the preflight runs first, then the
 * in-process runner's cell runs on the "board" (this machine behind a REAL loopback sshd, its
 * workDir this repository) and streams back. A board that cannot be reached stops the run
 * before any cell, with exit code 2 and the reason.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../core/result-types.ts';
import { freePort, startSshd, type TestSshd } from './helpers/sshd.ts';
import { tempDir } from '../helpers/tmp.ts';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
let sshd: TestSshd;
let dir: string;

beforeAll(async () => {
  sshd = await startSshd([dirname(process.execPath)]);
  dir = tempDir('bench-cli-ssh-');
  const { source: _source, ...board } = sshd.target('board', { workDir: repo, env: { BENCH_CACHE_DIR: join(repo, '.cache', 'models') } });
  const { source: _s2, ...gone } = sshd.target('gone', { port: await freePort(), connectTimeoutSeconds: 2 });
  writeFileSync(join(dir, 'targets.yaml'), stringify({ targets: [board, gone] }));
});

afterAll(() => sshd?.stop());

const bench = (args: string[]) =>
  spawnSync(process.execPath, [join(repo, 'bin', 'bench.mjs'), ...args], { env: { ...process.env, CI: 'true' }, encoding: 'utf8', cwd: dir });

describe('bench run on an ssh target', () => {
  it('runs the preflight, then the cell on the board, and records the board link', () => {
    const r = bench(['run', '--suite', 'internvl-tiny', '--filter', 'images=1', '--filter', 'prefill=16', '--filter', 'precision=fp32', '--iterations', '2', '--warmup', '0', '--target', 'board', '--targets', 'targets.yaml', '--out', 'out']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/doctor: target board/);
    const runs = join(dir, 'out', 'internvl-tiny');
    const result = JSON.parse(readFileSync(join(runs, readdirSync(runs)[0]!, 'result.json'), 'utf8')) as RunResult;
    expect(result.target).toBe('board');
    const cell = result.cells[0]!;
    expect(cell.status, cell.error).toBe('ok');
    expect(String(cell.settings['remoteTarget'])).toMatch(/board/);
    expect(cell.metrics['ttft_ms']!.n).toBe(2);
  }, 120_000);

  it('stops before any cell when the board cannot be reached', () => {
    const r = bench(['run', '--suite', 'internvl-tiny', '--target', 'gone', '--targets', 'targets.yaml', '--out', 'out-gone']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/target gone failed its preflight/);
    expect(readdirSync(dir)).not.toContain('out-gone');
  }, 60_000);
});
