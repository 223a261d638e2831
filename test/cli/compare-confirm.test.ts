import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { RunResult } from '../../core/result-types.ts';
import { cellMetrics } from '../../core/metrics.ts';
import type { Comparison } from '../../analysis/comparison-types.ts';
import { machineLoadFlags } from '../../analysis/gate-checks.ts';
import { tempDir } from '../helpers/tmp.ts';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const bench = (args: string[]) => spawnSync(process.execPath, [join(repo, 'bin', 'bench.mjs'), ...args], { env: { ...process.env, CI: 'true' }, encoding: 'utf8' });

/**
 * A real run of two tiny cells is the base. The candidate is the same run with 800 ms planted
 * into one cell's prefill (everything from the prefill's start on is shifted), far beyond the
 * noise of a tiny cell on a busy machine. The threshold (400%) is far below the planted change
 * (a 1-20 ms prefill made ~800 ms: 80 ms was lost in the noise of a machine at load 22) and far
 * above what noise does to a 1 ms prefill (+65% seen).
 * `compare` must flag it; `compare --confirm` re-runs that cell for real and, as the slowdown
 * was not real, passes.
 */
const PLANTED_MS = 800;

describe('bench compare --confirm', () => {
  it('re-runs only the regressed cell and judges the re-run', () => {
    const out = tempDir('bench-confirm-');
    const r = bench(['run', '--suite', 'internvl-tiny', '--filter', 'images=1', '--filter', 'prefill=32', '--iterations', '7', '--warmup', '1', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const runDir = join(out, 'internvl-tiny', readdirSync(join(out, 'internvl-tiny'))[0]!);
    const base = JSON.parse(readFileSync(join(runDir, 'result.json'), 'utf8')) as RunResult;
    expect(base.cells).toHaveLength(2);

    const cand = JSON.parse(JSON.stringify(base)) as RunResult;
    const slow = cand.cells[0]!;
    for (const it of slow.iterations) {
      const prefill = it.events.find((e) => e.kind === 'phase' && e.phase === 'prefill');
      const from = prefill && prefill.kind === 'phase' ? prefill.startMs : it.startMs;
      const shift = (t: number) => (t >= from ? t + PLANTED_MS : t);
      it.endMs = shift(it.endMs);
      for (const e of it.events) {
        if (e.kind === 'token') e.tMs = shift(e.tMs);
        else if (e.kind === 'phase' && e.phase === 'prefill') e.endMs += PLANTED_MS;
        else {
          e.startMs = shift(e.startMs);
          e.endMs = shift(e.endMs);
        }
      }
    }
    slow.metrics = { ...slow.metrics, ...cellMetrics(slow.iterations) };
    const candFile = join(out, 'cand.json');
    writeFileSync(candFile, JSON.stringify(cand));

    const args = ['compare', join(runDir, 'result.json'), candFile, '--metric', 'prefill_ms', '--threshold', '400%', '--format', 'json'];
    const plain = bench(args);
    const verdict = JSON.parse(plain.stdout) as Comparison;
    // Issue 24: on a loaded machine the cell carries busy / steal / run-queue flags, and a change
    // measured then is "cannot judge" (exit 2) with the flag named, not a regression (exit 1).
    if (machineLoadFlags(base.cells[0]!).length > 0) {
      expect(plain.status, plain.stderr).toBe(2);
      expect(verdict.regressedCells).toEqual([]);
      expect(verdict.findings).toEqual([expect.objectContaining({ kind: 'machine-load', cellId: slow.id, metric: 'prefill_ms' })]);
    } else {
      expect(plain.status, plain.stderr).toBe(1);
      expect(verdict.regressedCells).toEqual([slow.id]);
    }

    const confirmed = bench([...args, '--confirm', '--results-dir', join(out, 'confirm')]);
    expect(confirmed.status, confirmed.stderr + confirmed.stdout).toBe(0);
    expect(confirmed.stderr).toMatch(/1 regressed cell\(s\) re-run in /);
    const rerunDir = join(out, 'confirm', 'internvl-tiny');
    const rerun = JSON.parse(readFileSync(join(rerunDir, readdirSync(rerunDir)[0]!, 'result.json'), 'utf8')) as RunResult;
    expect(rerun.cells.map((c) => c.id)).toEqual([slow.id]);
    expect(rerun.options.iterations).toBe(7);
  }, 120_000);
});
