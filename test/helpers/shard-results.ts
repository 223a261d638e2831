/** Shard results of one plan, built from the synthetic board results (bench/synthetic/make-result.ts), for merge tests. */
import type { RunResult } from '../../core/result-types.ts';
import type { ShardInput } from '../../analysis/merge-shards.ts';
import { planShards, shardRecord } from '../../harness/shard.ts';
import { boardCells, makeResult } from '../compare/make-result.ts';

export interface ShardOptions {
  seed?: number;
  factor?: Record<string, number>;
  /** Each shard on its own SSH target (orin-01, orin-02, ...) instead of the local target. */
  sshTargets?: boolean;
  board?: Record<string, string>;
}

/** A 4-cell plan split over `count` boards; each shard is a result holding its own cells only. */
export function shardResults(count: number, opts: ShardOptions = {}): RunResult[] {
  const whole = makeResult({ seed: opts.seed ?? 1, cells: boardCells(opts.factor) });
  const plan = planShards({ suiteHash: whole.suite.hash, cellIds: whole.cells.map((c) => c.id), count });
  return plan.shards.map((s) => {
    const r = makeResult({
      seed: (opts.seed ?? 1) * 10 + s.shard,
      cells: boardCells(opts.factor),
      runId: `shard-${s.shard}`,
      hostname: `orin-0${s.shard}`,
      ...(opts.sshTargets ? { target: `orin-0${s.shard}` } : {}),
      ...(opts.board ? { board: opts.board } : {}),
    });
    r.cells = r.cells.filter((c) => s.cells.includes(c.id));
    r.plannedCells = [...s.cells];
    r.shard = shardRecord(plan, { index: s.shard, count }, `orin-0${s.shard}`);
    return r;
  });
}

export const inputs = (results: RunResult[]): ShardInput[] => results.map((result, i) => ({ file: `shard${i + 1}.json`, result }));
