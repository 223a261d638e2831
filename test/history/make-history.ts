/**
 * A board's history for tests: runs of the board matrix of test/compare (raw events, log-normal
 * noise) at successive commits, one day apart, with a chosen slowdown from a chosen run on.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunResult } from '../../core/result-types.ts';
import { boardCells, makeResult } from '../compare/make-result.ts';

export const SLOW_CELL = 'images=1,prefill=128,precision=w8a16';

/** A 40-hex commit hash that names its run. */
export const commitOf = (i: number) => `${(0xc0ffee00 + i).toString(16)}${'0'.repeat(32)}`;

export interface HistorySpec {
  runs: number;
  /** From this run index on, SLOW_CELL is slower by `factor`. */
  shiftAt?: number;
  factor?: number;
  seed?: number;
  cv?: number;
}

export function makeRun(i: number, spec: HistorySpec): RunResult {
  const slow = spec.shiftAt !== undefined && i >= spec.shiftAt;
  const r = makeResult({ seed: (spec.seed ?? 1) * 1000 + i, cells: boardCells(slow ? { [SLOW_CELL]: spec.factor ?? 1.15 } : {}), cv: spec.cv ?? 0.03, runId: `run-${String(i).padStart(3, '0')}` });
  r.environment.git.revision = commitOf(i);
  const start = new Date(Date.UTC(2026, 10, 1) + i * 86_400_000).toISOString();
  r.startedAt = start;
  return r;
}

/** Writes the runs as run folders under dir and returns their paths in order. */
export function writeHistory(dir: string, spec: HistorySpec): string[] {
  return Array.from({ length: spec.runs }, (_, i) => {
    const folder = join(dir, `run-${String(i).padStart(3, '0')}`);
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'result.json'), JSON.stringify(makeRun(i, spec)));
    return folder;
  });
}
