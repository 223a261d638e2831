import type { IterationRecord } from './events.ts';

/** One decode step: the gap between two token arrivals and how much of it the runtime spent. */
export interface StepOverhead {
  /** Token arrival to token arrival, ms. */
  stepMs: number;
  /** Sum of the subgraph (session run) events that lie inside the step, ms. */
  runtimeMs: number;
  /** stepMs - runtimeMs: host glue (feeds, events, argmax, promise hops), ms. */
  outsideMs: number;
}

/**
 * The harness's own time per decode step, from a request's events on the run clock: each gap
 * between successive token arrivals minus the subgraph events inside it. Both ends are read on
 * the same clock in the same process, so another process slowing the machine stretches both
 * alike; unlike a comparison with a separately run bare loop, the figure does not drift with
 * the load between rounds.
 */
export function harnessOverheadPerStep(rec: IterationRecord): StepOverhead[] {
  const tokens: number[] = [];
  const calls: Array<{ startMs: number; endMs: number }> = [];
  for (const e of rec.events) {
    if (e.kind === 'token') tokens.push(e.tMs);
    else if (e.kind === 'subgraph') calls.push(e);
  }
  tokens.sort((a, b) => a - b);
  calls.sort((a, b) => a.startMs - b.startMs);
  const out: StepOverhead[] = [];
  let c = 0;
  for (let i = 1; i < tokens.length; i++) {
    const from = tokens[i - 1]!;
    const to = tokens[i]!;
    while (c < calls.length && calls[c]!.startMs < from) c++;
    let runtimeMs = 0;
    for (let j = c; j < calls.length && calls[j]!.endMs <= to; j++) runtimeMs += calls[j]!.endMs - calls[j]!.startMs;
    const stepMs = to - from;
    out.push({ stepMs, runtimeMs, outsideMs: stepMs - runtimeMs });
  }
  return out;
}

/**
 * Where the harness's time in a decode step goes: the gaps between consecutive timed events
 * inside each step, named by what lies on either side (e.g. "lm_head -> token" is the argmax,
 * "embed_tokens -> decoder_model_merged" builds the decoder's feeds). Per gap name, the list
 * of gap lengths in ms over all steps of the request. Time inside a run() call's own event
 * (promise settlement included) is not in any gap.
 */
export function stepGaps(rec: IterationRecord): Map<string, number[]> {
  type Mark = { tMs: number; label: string; end: boolean };
  const marks: Mark[] = [];
  for (const e of rec.events) {
    if (e.kind === 'token') marks.push({ tMs: e.tMs, label: 'token', end: true });
    else if (e.kind === 'subgraph' && e.phase === 'decode') {
      marks.push({ tMs: e.startMs, label: e.graph, end: false }, { tMs: e.endMs, label: e.graph, end: true });
    }
  }
  marks.sort((a, b) => a.tMs - b.tMs || Number(b.end) - Number(a.end));
  const gaps = new Map<string, number[]>();
  let firstToken = marks.findIndex((m) => m.label === 'token');
  for (let i = firstToken + 1; firstToken >= 0 && i < marks.length; i++) {
    const prev = marks[i - 1]!;
    const cur = marks[i]!;
    // A gap is host time only when it runs from the end of one thing to the start of the next.
    if (!prev.end || (cur.end && cur.label !== 'token')) continue;
    const name = `${prev.label} -> ${cur.label}`;
    const list = gaps.get(name) ?? [];
    list.push(cur.tMs - prev.tMs);
    gaps.set(name, list);
  }
  return gaps;
}

/**
 * The harness's share of decode time over a cell's measured iterations, %: sum of time outside
 * the runtime's calls over sum of step times. Null when no step holds a runtime call (a runner
 * that does not time its graphs, such as an HTTP endpoint), where the figure means nothing.
 */
export function harnessOverheadPct(records: readonly IterationRecord[]): number | null {
  let outside = 0;
  let total = 0;
  for (const rec of records) {
    if (rec.warmup || rec.error) continue;
    for (const step of harnessOverheadPerStep(rec)) {
      if (step.runtimeMs <= 0) continue;
      outside += step.outsideMs;
      total += step.stepMs;
    }
  }
  return total > 0 ? (outside / total) * 100 : null;
}
