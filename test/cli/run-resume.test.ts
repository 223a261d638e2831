import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { RunResult } from '../../core/result-types.ts';
import { readResult } from '../../harness/result-store.ts';
import { tempDir } from '../helpers/tmp.ts';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const bench = join(repo, 'bin', 'bench.mjs');

function runDirOf(out: string, suite: string): string | null {
  const base = join(out, suite);
  if (!existsSync(base)) return null;
  const runs = readdirSync(base);
  return runs.length ? join(base, runs[0]!) : null;
}

function readRun(dir: string): RunResult | null {
  try {
    // result.json plus the cells journal (cells.jsonl) of a run still going or killed.
    return readResult(join(dir, 'result.json'));
  } catch {
    return null; // not written yet
  }
}

/**
 * End to end through the real CLI and real ONNX Runtime sessions on the tiny-scale synthetic
 * InternVL: a `bench run` child is killed with SIGKILL (no chance to clean up) after its second
 * cell is on disk; `--resume` must finish the remaining cells and keep the finished ones as they were.
 */
describe('bench run: kill and resume', () => {
  it('keeps every finished cell after SIGKILL and finishes the run with --resume', async () => {
    const out = tempDir('bench-resume-');
    const env = { ...process.env, CI: 'true' };
    // The children run in the output folder, so no calibration file of a developer's earlier
    // runs (results/calibration/ under the working directory) changes which charts appear.
    // Build the tiny models first so the killed run spends its time on cells, not on synthesis.
    const warm = spawnSync(process.execPath, [bench, 'run', '--suite', 'internvl-tiny', '--filter', 'images=2', '--filter', 'prefill=16', '--iterations', '1', '--warmup', '0', '--out', join(out, 'warm')], { env, encoding: 'utf8' });
    expect(warm.status, warm.stderr).toBe(0);

    const child = spawn(process.execPath, [bench, 'run', '--suite', 'internvl-tiny', '--iterations', '2', '--warmup', '0', '--out', out], { env, stdio: 'ignore', cwd: out });
    let killedAfter = -1;
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      const dir = runDirOf(out, 'internvl-tiny');
      const run = dir ? readRun(dir) : null;
      if (run && run.cells.length >= 2) {
        child.kill('SIGKILL');
        killedAfter = run.cells.length;
        break;
      }
    }
    await new Promise((r) => child.once('exit', r));
    expect(killedAfter).toBeGreaterThanOrEqual(2);
    const dir = runDirOf(out, 'internvl-tiny')!;
    const before = readRun(dir)!;
    expect(before.status).toBe('running');
    expect(before.plannedCells).toHaveLength(12);
    expect(before.cells.length).toBeLessThan(12);
    const kept = before.cells.map((c) => ({ id: c.id, startedAt: c.startedAt, ttft: c.metrics['ttft_ms']?.median }));

    const resumed = spawnSync(process.execPath, [bench, 'run', '--resume', dir], { env, encoding: 'utf8', cwd: out });
    expect(resumed.status, resumed.stderr).toBe(0);
    const after = readRun(dir)!;
    expect(after.status).toBe('complete');
    expect(after.cells.map((c) => c.id)).toEqual(after.plannedCells);
    expect(after.cells.every((c) => c.status === 'ok')).toBe(true);
    for (const k of kept) {
      const c = after.cells.find((x) => x.id === k.id)!;
      expect(c.startedAt).toBe(k.startedAt);
      expect(c.metrics['ttft_ms']?.median).toBe(k.ttft);
    }
    expect(after.warnings.some((w) => w.startsWith('resumed at'))).toBe(true);
    expect(existsSync(join(dir, 'report.md'))).toBe(true);
    expect(readdirSync(join(dir, 'charts')).sort()).toEqual(['decode-tokens-per-s.png', 'subgraph-time-per-request.png', 'ttft-vs-images.png']);
    // Every cell was measured: real sessions, real tokens.
    for (const c of after.cells) {
      expect(c.iterations.filter((i) => !i.warmup)).toHaveLength(2);
      expect(c.metrics['decode_tokens_per_s']!.median).toBeGreaterThan(0);
      expect(c.iterations[0]!.outputTokens).toBe(8);
      expect(c.model?.synthetic).toBe(true);
    }
  });

  it('exits 2 with a clear message on bad input', () => {
    const env = { ...process.env, CI: 'true' };
    const r1 = spawnSync(process.execPath, [bench, 'run', '--suite', 'no-such-suite'], { env, encoding: 'utf8' });
    expect(r1.status).toBe(2);
    expect(r1.stderr).toMatch(/unknown suite "no-such-suite"/);
    const r2 = spawnSync(process.execPath, [bench, 'run', '--suite', 'internvl-tiny', '--filter', 'images=9'], { env, encoding: 'utf8' });
    expect(r2.status).toBe(2);
    expect(r2.stderr).toMatch(/axis "images" has no value "9"/);
    const r3 = spawnSync(process.execPath, [bench, 'run', '--iterations', 'many'], { env, encoding: 'utf8' });
    expect(r3.status).toBe(2);
    expect(r3.stderr).toMatch(/--iterations expects an integer >= 1, got "many"/);
  });
});
