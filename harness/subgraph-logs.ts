/**
 * Saved ax_run_model outputs of an Axera model's subgraphs (vit.txt, g0.txt, g1.txt ... gN.txt,
 * post.txt), read from a folder for `bench compose`: the reading and its errors live here, the
 * composition and its report take the parsed latencies.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { SubgraphLatencies } from '../core/axera-compose.ts';
import { InputError } from '../core/errors.ts';
import { parseAxRunModel } from '../parsers/ax-run-model.ts';

export interface SubgraphLog {
  graph: string;
  file: string;
  avgMs: number;
  minMs: number;
  maxMs: number;
  repeat?: number;
  cmmSizeBytes?: number;
}

/** Reads vit.txt, g0.txt, g1.txt ... gN.txt, post.txt (saved ax_run_model outputs) from a folder. */
export function readSubgraphLogs(dir: string): { latencies: SubgraphLatencies; logs: SubgraphLog[] } {
  if (!existsSync(dir)) throw new InputError(`--subgraph-logs ${dir}: folder not found`);
  const files = readdirSync(dir);
  const read = (graph: string): SubgraphLog => {
    const file = join(dir, `${graph}.txt`);
    if (!files.includes(`${graph}.txt`)) {
      throw new InputError(`--subgraph-logs ${dir}: missing ${graph}.txt (expected vit.txt, g0.txt, g1.txt ... gN.txt, post.txt)`);
    }
    const runs = parseAxRunModel(readFileSync(file, 'utf8'), file).runs;
    const run = runs[runs.length - 1];
    if (!run) throw new InputError(`${file}: no ax_run_model latency summary (min = ... max = ... avg = ...)`);
    return { graph, file, avgMs: run.latency.avgMs, minMs: run.latency.minMs, maxMs: run.latency.maxMs, repeat: run.repeat, cmmSizeBytes: run.cmmSizeBytes };
  };
  const prefillIndexes = files
    .map((f) => /^g(\d+)\.txt$/.exec(f)?.[1])
    .filter((k): k is string => k !== undefined && Number(k) > 0)
    .map(Number)
    .sort((a, b) => a - b);
  prefillIndexes.forEach((k, i) => {
    if (k !== i + 1) throw new InputError(`--subgraph-logs ${dir}: prefill graphs must be g1..gN without gaps; g${i + 1}.txt is missing`);
  });
  const vit = read('vit');
  const g0 = read('g0');
  const post = read('post');
  const prefill = prefillIndexes.map((k) => read(`g${k}`));
  return {
    latencies: { vit: vit.avgMs, g0: g0.avgMs, post: post.avgMs, prefill: prefill.map((p) => p.avgMs) },
    logs: [vit, ...prefill, g0, post],
  };
}

