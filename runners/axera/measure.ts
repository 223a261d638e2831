/**
 * Per-subgraph latency on the board: one `ax_run_model` call per compiled graph (and shape
 * group), parsed with the shared parser. ax_run_model prints min / max / avg over its -r runs;
 * the average of one call is what the Axera method composes with.
 */
import { parseAxRunModel } from '../../parsers/ax-run-model.ts';
import type { TargetTransport } from '../../targets/types.ts';
import { axRunModelArgv, type AxRunModelOptions, type GraphRun } from './options.ts';
import { errorMessage, GraphRunError } from '../../core/errors.ts';

export interface GraphLatency {
  name: string;
  file: string;
  group?: number;
  avgMs: number;
  minMs: number;
  maxMs: number;
  /** ax_run_model's -r as it printed it. */
  repeat?: number;
  cmmSizeBytes?: number;
  versions: { pulsar2?: string; engine?: string; tool?: string };
  /** Wall time of the ax_run_model call (model load included), ms. */
  wallMs: number;
}

export async function measureGraph(transport: TargetTransport, run: GraphRun, a: AxRunModelOptions): Promise<GraphLatency> {
  const argv = axRunModelArgv(run, a, 'options.axRunModel');
  const label = `${run.name} (${run.file}${run.group !== undefined ? ` group ${run.group}` : ''})`;
  const res = await transport.run(argv, { timeoutMs: a.timeoutMs });
  if (res.failure) throw new GraphRunError(`${label}: ${res.error}`);
  if (res.code !== 0) {
    const why = `${res.stderr}\n${res.stdout}`.trim().split('\n').slice(-3).join(' | ');
    throw new GraphRunError(`${label}: ${argv[0]} exited with ${res.code} on ${transport.name}${why ? `: ${why}` : ''}`);
  }
  let parsed;
  try {
    parsed = parseAxRunModel(res.stdout, `${argv[0]} output for ${label} on ${transport.name}`);
  } catch (err) {
    throw new GraphRunError(errorMessage(err));
  }
  const last = parsed.runs[parsed.runs.length - 1]!;
  const out: GraphLatency = {
    name: run.name,
    file: run.file,
    avgMs: last.latency.avgMs,
    minMs: last.latency.minMs,
    maxMs: last.latency.maxMs,
    versions: {},
    wallMs: res.wallMs,
  };
  if (run.group !== undefined) out.group = run.group;
  if (last.repeat !== undefined) out.repeat = last.repeat;
  if (last.cmmSizeBytes !== undefined) out.cmmSizeBytes = last.cmmSizeBytes;
  if (last.pulsar2Version) out.versions.pulsar2 = last.pulsar2Version;
  if (last.engineVersion) out.versions.engine = last.engineVersion;
  if (last.toolVersion) out.versions.tool = last.toolVersion;
  return out;
}

/** Every graph of the list, one after another (the NPU is measured alone). Throws GraphRunError on the first failure. */
export async function measureGraphs(transport: TargetTransport, runs: readonly GraphRun[], a: AxRunModelOptions): Promise<Map<string, GraphLatency>> {
  const out = new Map<string, GraphLatency>();
  for (const run of runs) out.set(run.name, await measureGraph(transport, run, a));
  return out;
}

/** The measured figures of each graph as `reported` entries ("ax_run_model.g3.avg_ms", ...). */
export function reportedLatencies(lat: ReadonlyMap<string, GraphLatency>): Record<string, number> {
  const r: Record<string, number> = {};
  for (const g of lat.values()) {
    r[`ax_run_model.${g.name}.avg_ms`] = g.avgMs;
    r[`ax_run_model.${g.name}.min_ms`] = g.minMs;
    r[`ax_run_model.${g.name}.max_ms`] = g.maxMs;
    r[`ax_run_model.${g.name}.wall_ms`] = g.wallMs;
    if (g.cmmSizeBytes !== undefined) r[`ax_run_model.${g.name}.cmm_size_bytes`] = g.cmmSizeBytes;
  }
  return r;
}
