/**
 * Where a decode step's time goes, operator by operator: ONNX Runtime's profile of each session
 * (one `model_run` per run() call, kernels inside it) joined with the pipeline's own timed
 * events (one subgraph event per run() call, token arrivals), so every millisecond of a step is
 * in exactly one row:
 *   - kernel time per operator type and graph (what ORT's profiler times per node);
 *   - per graph, run() time outside its kernels (ORT's executor: allocation, scheduling,
 *     thread-pool hand-offs between nodes);
 *   - per graph, the JS call minus ORT's run (onnxruntime-node's binding: feeds/fetches
 *     conversion, the hop to its worker thread and back, the promise);
 *   - the host between runs (building feeds, argmax, events).
 * The rows add up to the mean token-to-token step of the requests given.
 */
import type { IterationRecord, SubgraphEvent } from '../../core/events.ts';
import { harnessOverheadPerStep } from '../../core/overhead.ts';
import type { OrtProfileResult } from '../../parsers/ort-profile.ts';

export interface BreakdownRow {
  /** Session (graph) name, or `host`. */
  graph: string;
  /** Operator type, or a bracketed name of time outside kernels. */
  item: string;
  kind: 'kernel' | 'executor' | 'binding' | 'host';
  /** Mean per decode step, ms. */
  msPerStep: number;
  /** Kernel calls per step (0 for the other kinds). */
  callsPerStep: number;
  /** Fraction of the mean step (0..1). */
  share: number;
}

export interface DecodeBreakdown {
  /** Decode steps the figures are the mean of. */
  steps: number;
  /** Mean token-to-token step, ms (= sum of the rows). */
  stepMs: number;
  rows: BreakdownRow[];
}

export const EXECUTOR_ITEM = '(run() outside kernels)';
export const BINDING_ITEM = '(JS call outside ORT run)';
export const HOST_ITEM = '(between runs: feeds, argmax, events)';

/**
 * The breakdown of the decode steps of `records` (those with `warmup` false), given every
 * request the sessions ran since profiling started, in order (warm-ups included: the profiles
 * hold their runs too). Throws when a profile's runs do not match the pipeline's calls one to
 * one, since the join would then charge kernels to the wrong phase.
 */
export function decodeStepBreakdown(records: readonly IterationRecord[], profiles: Readonly<Record<string, OrtProfileResult>>): DecodeBreakdown {
  const measured = records.filter((r) => !r.warmup && !r.error);
  if (measured.length === 0) throw new Error('decode breakdown: no measured request without an error');
  const totals = new Map<string, BreakdownRow>();
  const add = (graph: string, item: string, kind: BreakdownRow['kind'], ms: number, calls = 0): void => {
    const key = `${graph}\u0000${item}`;
    const row = totals.get(key) ?? { graph, item, kind, msPerStep: 0, callsPerStep: 0, share: 0 };
    row.msPerStep += ms;
    row.callsPerStep += calls;
    totals.set(key, row);
  };

  for (const [graph, profile] of Object.entries(profiles)) {
    // The pipeline's calls of this graph, in call order over all requests.
    const calls: Array<{ event: SubgraphEvent; counted: boolean }> = [];
    for (const rec of records) {
      for (const e of rec.events) {
        if (e.kind === 'subgraph' && e.graph === graph) calls.push({ event: e, counted: !rec.warmup && !rec.error && e.phase === 'decode' });
      }
    }
    if (calls.length !== profile.runs.length) {
      throw new Error(`decode breakdown: ${graph} ran ${profile.runs.length} time(s) in ONNX Runtime's profile but the pipeline timed ${calls.length} call(s)`);
    }
    const kernels = [...profile.kernels].sort((a, b) => a.startMs - b.startMs);
    let k = 0;
    profile.runs.forEach((run, i) => {
      const end = run.startMs + run.durMs;
      while (k < kernels.length && kernels[k]!.startMs < run.startMs) k++;
      const call = calls[i]!;
      let kernelMs = 0;
      for (; k < kernels.length && kernels[k]!.startMs <= end; k++) {
        const kernel = kernels[k]!;
        kernelMs += kernel.durMs;
        if (call.counted) add(graph, kernel.opName ?? '(unknown)', 'kernel', kernel.durMs, 1);
      }
      if (!call.counted) return;
      add(graph, EXECUTOR_ITEM, 'executor', Math.max(0, run.durMs - kernelMs));
      add(graph, BINDING_ITEM, 'binding', Math.max(0, call.event.endMs - call.event.startMs - run.durMs));
    });
  }

  let steps = 0;
  let stepSum = 0;
  for (const rec of measured) {
    for (const s of harnessOverheadPerStep(rec)) {
      steps++;
      stepSum += s.stepMs;
      add('host', HOST_ITEM, 'host', s.outsideMs);
    }
  }
  if (steps === 0) throw new Error('decode breakdown: the requests have no decode step (output tokens < 2)');
  const stepMs = stepSum / steps;
  const rows = [...totals.values()].map((r) => ({ ...r, msPerStep: r.msPerStep / steps, callsPerStep: r.callsPerStep / steps }));
  // The clamps above can only add time (a run the profiler saw as longer than its call); the
  // shares are of the sum of the rows, which is the step unless that happened.
  const sum = rows.reduce((s, r) => s + r.msPerStep, 0);
  for (const r of rows) r.share = sum > 0 ? r.msPerStep / sum : 0;
  rows.sort((a, b) => b.msPerStep - a.msPerStep);
  return { steps, stepMs, rows };
}
