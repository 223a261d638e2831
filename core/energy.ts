import { InputError } from './errors.ts';
import type { IterationRecord, PhaseName } from './events.ts';

/**
 * Energy attribution: the energy of a phase is the integral of instantaneous power over its
 * window, by the trapezoid rule, with power interpolated linearly at the window edges (phases
 * start and end between samples). Every figure states how many samples it rests on and the
 * sampling interval; a window shorter than two intervals is flagged low-confidence because its
 * energy is mostly interpolation.
 *
 * Inputs are instantaneous power points. Never feed a tool's smoothed average (tegrastats'
 * second value, jtop's avg, nvidia-smi power.draw.average): smoothing shifts energy between
 * neighbouring phases. Cumulative counters (RAPL) have their own exact path: counterWindowEnergy.
 */

export interface PowerPoint {
  /** Run-clock ms. */
  tMs: number;
  watts: number;
}

/** A reading of a cumulative energy counter (joules since some origin). */
export interface EnergyPoint {
  tMs: number;
  joules: number;
}

export interface PhaseWindow {
  name: string;
  startMs: number;
  endMs: number;
}

export interface SamplingSummary {
  count: number;
  /** (last - first) / (count - 1); null below two samples. */
  meanIntervalMs: number | null;
  firstMs: number | null;
  lastMs: number | null;
}

/**
 * Why an energy figure is low confidence, with the figures that make it so. A reader must be
 * told the real cause: a window shorter than two sampling intervals is mostly interpolation; a
 * gap means samples were lost; a held edge means the samples stopped before the window ended (or
 * began after it started), so the power there is the nearest sample's, not a reading.
 */
export type LowConfidenceCause =
  | { kind: 'short-window'; windowMs: number; intervalMs: number }
  | { kind: 'sample-gap'; gapMs: number; intervalMs: number }
  | { kind: 'edge-held'; side: 'start' | 'end'; heldMs: number };

export interface WindowEnergy {
  name: string;
  startMs: number;
  endMs: number;
  durationMs: number;
  /** Null when the samples do not cover the window. */
  joules: number | null;
  averageWatts: number | null;
  /** Joules above the idle baseline (joules - baseline W x duration), when a baseline is given. */
  netJoules?: number | null;
  /** Samples strictly inside the window (the edges are interpolated). */
  samplesInWindow: number;
  /** Mean sampling interval of the stream, ms, stated with every figure. */
  meanIntervalMs: number | null;
  /** Longest gap between samples within or around the window, ms. */
  maxGapMs: number | null;
  lowConfidence: boolean;
  /** Why lowConfidence is set (empty when it is not). */
  causes: LowConfidenceCause[];
  notes: string[];
}

export interface IdleBaseline {
  /** Time-weighted mean power of the idle window. */
  watts: number;
  /** Energy of the idle window itself, J. */
  joules: number;
  durationMs: number;
  samples: number;
  meanIntervalMs: number | null;
  /** Spread of the idle samples (unweighted sample stdev), W: a noisy baseline makes net energy doubtful. */
  stdevWatts: number;
}

/** Sorted copy of the points; throws InputError naming the first bad point. */
export function preparePoints<T extends { tMs: number }>(points: readonly T[], valueOf: (p: T) => number, what: string): T[] {
  points.forEach((p, i) => {
    if (!Number.isFinite(p.tMs) || !Number.isFinite(valueOf(p))) {
      throw new InputError(`${what} ${i}: time and value must be finite numbers (got tMs=${p.tMs}, value=${valueOf(p)})`);
    }
  });
  return [...points].sort((a, b) => a.tMs - b.tMs);
}

export function samplingSummary(points: readonly { tMs: number }[]): SamplingSummary {
  const n = points.length;
  if (n === 0) return { count: 0, meanIntervalMs: null, firstMs: null, lastMs: null };
  const first = points[0]!.tMs;
  const last = points[n - 1]!.tMs;
  return { count: n, meanIntervalMs: n > 1 ? (last - first) / (n - 1) : null, firstMs: first, lastMs: last };
}

/** Index of the last point with tMs <= t (points sorted), or -1. */
function lastAtOrBefore(points: readonly { tMs: number }[], t: number): number {
  let lo = 0;
  let hi = points.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (points[mid]!.tMs <= t) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/** Value at t by linear interpolation; held constant outside the samples (callers bound that). */
function valueAt<T extends { tMs: number }>(points: readonly T[], valueOf: (p: T) => number, t: number): number {
  const i = lastAtOrBefore(points, t);
  if (i < 0) return valueOf(points[0]!);
  const a = points[i]!;
  const b = points[i + 1];
  if (!b || b.tMs === a.tMs || a.tMs === t) return valueOf(a);
  return valueOf(a) + ((valueOf(b) - valueOf(a)) * (t - a.tMs)) / (b.tMs - a.tMs);
}

function checkWindow(w: PhaseWindow): void {
  if (!Number.isFinite(w.startMs) || !Number.isFinite(w.endMs) || w.endMs < w.startMs) {
    throw new InputError(`phase window "${w.name}": needs finite startMs <= endMs (got ${w.startMs} .. ${w.endMs})`);
  }
}

/** How far the window reaches beyond the samples, and whether that is tolerable. */
function coverage(
  w: PhaseWindow,
  first: number,
  last: number,
  meanInterval: number,
): { ok: boolean; notes: string[]; held: LowConfidenceCause[] } {
  const before = Math.max(0, first - w.startMs);
  const after = Math.max(0, w.endMs - last);
  const notes: string[] = [];
  if (before === 0 && after === 0) return { ok: true, notes, held: [] };
  // Up to one interval beyond the samples, holding the edge value is what the next sample would
  // most likely have shown; further than that would be invention.
  if (before > meanInterval || after > meanInterval) {
    notes.push(
      `window ${w.startMs.toFixed(1)}..${w.endMs.toFixed(1)} ms lies ${before > 0 ? `${before.toFixed(1)} ms before the first sample` : ''}${before > 0 && after > 0 ? ' and ' : ''}${after > 0 ? `${after.toFixed(1)} ms after the last sample` : ''}: not covered by power samples`,
    );
    return { ok: false, notes, held: [] };
  }
  const held: LowConfidenceCause[] = [];
  if (before > 0) held.push({ kind: 'edge-held', side: 'start', heldMs: before });
  if (after > 0) held.push({ kind: 'edge-held', side: 'end', heldMs: after });
  notes.push(...held.map(describeCause));
  return { ok: true, notes, held };
}

function gapAround(points: readonly { tMs: number }[], startMs: number, endMs: number): number | null {
  if (points.length < 2) return null;
  const from = Math.max(0, lastAtOrBefore(points, startMs));
  let to = lastAtOrBefore(points, endMs);
  if (to < points.length - 1) to += 1;
  let max = 0;
  for (let i = from; i < to; i++) max = Math.max(max, points[i + 1]!.tMs - points[i]!.tMs);
  return max;
}

/**
 * Energy of one window from power points that are already sorted (see preparePoints) and
 * summarised. Exposed for callers integrating many windows over one stream.
 */
export function integrateSorted(points: readonly PowerPoint[], summary: SamplingSummary, w: PhaseWindow): WindowEnergy {
  checkWindow(w);
  const durationMs = w.endMs - w.startMs;
  const base: WindowEnergy = {
    name: w.name,
    startMs: w.startMs,
    endMs: w.endMs,
    durationMs,
    joules: null,
    averageWatts: null,
    samplesInWindow: 0,
    meanIntervalMs: summary.meanIntervalMs,
    maxGapMs: null,
    lowConfidence: true,
    causes: [],
    notes: [],
  };
  if (summary.count < 2 || summary.meanIntervalMs === null || summary.meanIntervalMs <= 0) {
    base.notes.push(`fewer than two power samples at distinct times (${summary.count})`);
    return base;
  }
  const cover = coverage(w, summary.firstMs!, summary.lastMs!, summary.meanIntervalMs);
  base.notes.push(...cover.notes);
  if (!cover.ok) return base;

  const watts = (p: PowerPoint): number => p.watts;
  // Walk the edge, then every sample strictly inside, then the other edge.
  let joules = 0;
  let prevT = w.startMs;
  let prevW = valueAt(points, watts, w.startMs);
  let inside = 0;
  for (let i = lastAtOrBefore(points, w.startMs) + 1; i < points.length && points[i]!.tMs < w.endMs; i++) {
    const p = points[i]!;
    if (p.tMs <= w.startMs) continue;
    joules += ((prevW + p.watts) / 2) * (p.tMs - prevT);
    prevT = p.tMs;
    prevW = p.watts;
    inside += 1;
  }
  const endW = valueAt(points, watts, w.endMs);
  joules += ((prevW + endW) / 2) * (w.endMs - prevT);
  joules /= 1000; // W x ms -> J

  base.joules = joules;
  base.averageWatts = durationMs > 0 ? (joules * 1000) / durationMs : valueAt(points, watts, w.startMs);
  base.samplesInWindow = inside;
  base.maxGapMs = gapAround(points, w.startMs, w.endMs);

  const causes: LowConfidenceCause[] = [];
  if (durationMs < 2 * summary.meanIntervalMs) causes.push({ kind: 'short-window', windowMs: durationMs, intervalMs: summary.meanIntervalMs });
  if (base.maxGapMs !== null && base.maxGapMs > 2 * summary.meanIntervalMs) {
    causes.push({ kind: 'sample-gap', gapMs: base.maxGapMs, intervalMs: summary.meanIntervalMs });
  }
  base.notes.push(...causes.map(describeCause));
  causes.push(...cover.held);
  base.causes = causes;
  base.lowConfidence = causes.length > 0;
  return base;
}

/** One cause in words, with its figures. */
export function describeCause(c: LowConfidenceCause): string {
  switch (c.kind) {
    case 'short-window':
      return `window ${c.windowMs.toFixed(1)} ms is shorter than two sampling intervals (${(2 * c.intervalMs).toFixed(1)} ms at ${c.intervalMs.toFixed(1)} ms per sample)`;
    case 'sample-gap':
      return `a ${c.gapMs.toFixed(1)} ms gap between samples (mean interval ${c.intervalMs.toFixed(1)} ms)`;
    case 'edge-held':
      return c.side === 'end'
        ? `power held at the last sample's value for ${c.heldMs.toFixed(1)} ms: the samples end before the window does`
        : `power held at the first sample's value for ${c.heldMs.toFixed(1)} ms: the samples begin after the window does`;
  }
}

/** Energy of one window. */
export function windowEnergy(points: readonly PowerPoint[], w: PhaseWindow, baselineWatts?: number): WindowEnergy {
  const sorted = preparePoints(points, (p) => p.watts, 'power sample');
  const e = integrateSorted(sorted, samplingSummary(sorted), w);
  if (baselineWatts !== undefined) e.netJoules = netOf(e, baselineWatts);
  return e;
}

/** Energy of each window, in the order given; phases may overlap or leave gaps. */
export function energyByWindow(points: readonly PowerPoint[], windows: readonly PhaseWindow[], baselineWatts?: number): WindowEnergy[] {
  const sorted = preparePoints(points, (p) => p.watts, 'power sample');
  const summary = samplingSummary(sorted);
  return windows.map((w) => {
    const e = integrateSorted(sorted, summary, w);
    if (baselineWatts !== undefined) e.netJoules = netOf(e, baselineWatts);
    return e;
  });
}

function netOf(e: WindowEnergy, baselineWatts: number): number | null {
  return e.joules === null ? null : e.joules - (baselineWatts * e.durationMs) / 1000;
}

/**
 * Idle baseline from samples taken while nothing runs: the time-weighted mean power over
 * `window` (default: the whole stream). Reported on its own, and subtracted only as netJoules.
 */
export function idleBaseline(points: readonly PowerPoint[], window?: { startMs: number; endMs: number }): IdleBaseline {
  const sorted = preparePoints(points, (p) => p.watts, 'idle power sample');
  if (sorted.length < 2) throw new InputError(`idle baseline needs at least two power samples (got ${sorted.length})`);
  const w = { name: 'idle', startMs: window?.startMs ?? sorted[0]!.tMs, endMs: window?.endMs ?? sorted[sorted.length - 1]!.tMs };
  const e = integrateSorted(sorted, samplingSummary(sorted), w);
  if (e.joules === null || e.averageWatts === null) throw new InputError(`idle baseline: ${e.notes.join('; ')}`);
  const inWindow = sorted.filter((p) => p.tMs >= w.startMs && p.tMs <= w.endMs).map((p) => p.watts);
  const mean = inWindow.reduce((s, v) => s + v, 0) / (inWindow.length || 1);
  const stdev = inWindow.length > 1 ? Math.sqrt(inWindow.reduce((s, v) => s + (v - mean) ** 2, 0) / (inWindow.length - 1)) : 0;
  return {
    watts: e.averageWatts,
    joules: e.joules,
    durationMs: e.durationMs,
    samples: inWindow.length,
    meanIntervalMs: e.meanIntervalMs,
    stdevWatts: stdev,
  };
}

/**
 * Energy of a window from a cumulative counter (RAPL): the difference of the counter linearly
 * interpolated at the edges. Exact for whole intervals; inside an interval it assumes constant
 * power, so windows shorter than two intervals are flagged the same way.
 */
export function counterWindowEnergy(points: readonly EnergyPoint[], w: PhaseWindow): WindowEnergy {
  checkWindow(w);
  const sorted = preparePoints(points, (p) => p.joules, 'energy counter sample');
  const summary = samplingSummary(sorted);
  const durationMs = w.endMs - w.startMs;
  const out: WindowEnergy = {
    name: w.name,
    startMs: w.startMs,
    endMs: w.endMs,
    durationMs,
    joules: null,
    averageWatts: null,
    samplesInWindow: sorted.filter((p) => p.tMs > w.startMs && p.tMs < w.endMs).length,
    meanIntervalMs: summary.meanIntervalMs,
    maxGapMs: gapAround(sorted, w.startMs, w.endMs),
    lowConfidence: true,
    causes: [],
    notes: [],
  };
  if (summary.count < 2 || !summary.meanIntervalMs) {
    out.notes.push(`fewer than two counter samples at distinct times (${summary.count})`);
    return out;
  }
  if (w.startMs < summary.firstMs! || w.endMs > summary.lastMs!) {
    // A counter cannot be extrapolated: the energy outside the sampled span is unknown.
    out.notes.push(`window ${w.startMs.toFixed(1)}..${w.endMs.toFixed(1)} ms is not inside the counter samples (${summary.firstMs!.toFixed(1)}..${summary.lastMs!.toFixed(1)} ms)`);
    return out;
  }
  const joules = (p: EnergyPoint): number => p.joules;
  out.joules = valueAt(sorted, joules, w.endMs) - valueAt(sorted, joules, w.startMs);
  out.averageWatts = durationMs > 0 ? (out.joules * 1000) / durationMs : null;
  out.lowConfidence = durationMs < 2 * summary.meanIntervalMs;
  if (out.lowConfidence) {
    out.causes = [{ kind: 'short-window', windowMs: durationMs, intervalMs: summary.meanIntervalMs }];
    out.notes.push(describeCause(out.causes[0]!));
  }
  return out;
}

/** Energy per item (token, image); null when the energy is unknown or there are no items. */
export function joulesPerItem(joules: number | null | undefined, items: number): number | null {
  if (joules === null || joules === undefined || !(items > 0)) return null;
  return joules / items;
}

export interface PhaseEnergy {
  phase: PhaseName;
  /** Number of windows (phase events) summed. */
  windows: number;
  durationMs: number;
  joules: number | null;
  averageWatts: number | null;
  netJoules?: number | null;
  samplesInWindow: number;
  meanIntervalMs: number | null;
  lowConfidence: boolean;
  causes: LowConfidenceCause[];
  notes: string[];
  /** Items the phase produced: decode tokens for `decode`, images for `image_encode`. */
  items?: { unit: 'token' | 'image'; count: number; joulesPerItem: number | null; netJoulesPerItem?: number | null };
}

/**
 * Tokens produced by decode steps: every generated token except the first, which prefill
 * produces. Taken from token events when present, else from outputTokens.
 */
export function decodeTokenCount(iteration: IterationRecord): number {
  let end = 0;
  for (const e of iteration.events) if (e.kind === 'token') end = Math.max(end, e.index + e.count);
  const generated = end > 0 ? end : iteration.outputTokens;
  return Math.max(0, generated - 1);
}

/**
 * Energy of each phase of one iteration (windows of the same phase summed), with J/token for
 * decode and J/image for image_encode.
 */
export function iterationPhaseEnergy(points: readonly PowerPoint[], iteration: IterationRecord, baselineWatts?: number): PhaseEnergy[] {
  const windows: Array<PhaseWindow & { phase: PhaseName }> = [];
  for (const e of iteration.events) {
    if (e.kind === 'phase') windows.push({ name: e.phase, phase: e.phase, startMs: e.startMs, endMs: e.endMs });
  }
  const energies = energyByWindow(points, windows, baselineWatts);
  const order: PhaseName[] = ['preprocess', 'image_encode', 'prefill', 'decode'];
  const out: PhaseEnergy[] = [];
  for (const phase of order) {
    const mine = energies.filter((_, i) => windows[i]!.phase === phase);
    if (mine.length === 0) continue;
    const known = mine.every((e) => e.joules !== null);
    const durationMs = mine.reduce((s, e) => s + e.durationMs, 0);
    const joules = known ? mine.reduce((s, e) => s + e.joules!, 0) : null;
    const pe: PhaseEnergy = {
      phase,
      windows: mine.length,
      durationMs,
      joules,
      averageWatts: joules !== null && durationMs > 0 ? (joules * 1000) / durationMs : null,
      samplesInWindow: mine.reduce((s, e) => s + e.samplesInWindow, 0),
      meanIntervalMs: mine[0]!.meanIntervalMs,
      lowConfidence: mine.some((e) => e.lowConfidence),
      causes: mine.flatMap((e) => e.causes),
      notes: [...new Set(mine.flatMap((e) => e.notes))],
    };
    if (baselineWatts !== undefined) pe.netJoules = joules === null ? null : joules - (baselineWatts * durationMs) / 1000;
    const count = phase === 'decode' ? decodeTokenCount(iteration) : phase === 'image_encode' ? iteration.images : undefined;
    if (count !== undefined) {
      pe.items = { unit: phase === 'decode' ? 'token' : 'image', count, joulesPerItem: joulesPerItem(joules, count) };
      if (baselineWatts !== undefined) pe.items.netJoulesPerItem = joulesPerItem(pe.netJoules, count);
    }
    out.push(pe);
  }
  return out;
}

/** How many values of a metric one cause made low confidence, and its most telling figure. */
export interface CauseTally {
  values: number;
  /** short-window: the shortest window; sample-gap: the longest gap; edge-held: the longest hold (ms). */
  extremeMs: number;
  /** Mean sampling interval the figures were judged against (short-window, sample-gap). */
  intervalMs?: number;
}

export interface EnergyMetric {
  unit: 'J' | 'W' | 'J/token' | 'J/image';
  /** One value per measured iteration whose window the samples cover. */
  values: number[];
  /** How many of those values rest on a low-confidence window. */
  lowConfidence: number;
  /** Why: per cause (edge-held split by side), the values it concerns. */
  causes: Partial<Record<'short-window' | 'sample-gap' | 'edge-held-start' | 'edge-held-end', CauseTally>>;
}

function causeKey(c: LowConfidenceCause): keyof EnergyMetric['causes'] {
  return c.kind === 'edge-held' ? `edge-held-${c.side}` : c.kind;
}

function causeMs(c: LowConfidenceCause): number {
  return c.kind === 'short-window' ? c.windowMs : c.kind === 'sample-gap' ? c.gapMs : c.heldMs;
}

/**
 * Warnings for metrics with low-confidence values, naming each real cause with its figures
 * (shortest window, longest gap, longest held edge); metrics with the same finding share a line.
 */
export function lowConfidenceWarnings(metrics: Readonly<Record<string, EnergyMetric>>): string[] {
  const byText = new Map<string, string[]>();
  for (const [name, m] of Object.entries(metrics)) {
    const text = lowConfidenceText(m);
    if (text) byText.set(text, [...(byText.get(text) ?? []), name]);
  }
  return [...byText].map(([text, names]) => `${names.join(', ')}: ${text}`);
}

function lowConfidenceText(m: EnergyMetric): string | null {
  if (m.lowConfidence === 0) return null;
  const parts: string[] = [];
  const t = m.causes;
  const short = t['short-window'];
  if (short) {
    parts.push(
      `${short.values} on a window shorter than two sampling intervals (shortest ${short.extremeMs.toFixed(1)} ms; two intervals = ${(2 * short.intervalMs!).toFixed(1)} ms at ${short.intervalMs!.toFixed(1)} ms per sample): sample faster (--probe-interval) or measure longer phases`,
    );
  }
  const gap = t['sample-gap'];
  if (gap) parts.push(`${gap.values} across a gap in the samples (longest ${gap.extremeMs.toFixed(1)} ms at a mean interval of ${gap.intervalMs!.toFixed(1)} ms): the probe lost samples`);
  const end = t['edge-held-end'];
  if (end) parts.push(`${end.values} with the power after the last sample held for up to ${end.extremeMs.toFixed(1)} ms: the samples stopped before the window ended`);
  const start = t['edge-held-start'];
  if (start) parts.push(`${start.values} with the power before the first sample held for up to ${start.extremeMs.toFixed(1)} ms: the samples began after the window started`);
  return `${m.lowConfidence} of ${m.values.length} value(s) low confidence: ${parts.join('; ')}`;
}

/**
 * Per-iteration energy figures of a cell, ready for core/stats summarize(): for the whole
 * request and each phase `energy_<phase>_j` and `power_<phase>_w` (plus `_net_j` above the idle
 * baseline when given), `decode_j_per_token` and `image_encode_j_per_image` (and their `_net_`
 * twins above idle, `decode_net_j_per_token`, `image_encode_net_j_per_image`). Warm-up and failed
 * iterations are left out; a window the samples do not cover contributes no value.
 */
export function energyMetrics(points: readonly PowerPoint[], iterations: readonly IterationRecord[], baselineWatts?: number): Record<string, EnergyMetric> {
  const out: Record<string, EnergyMetric> = {};
  const add = (name: string, unit: EnergyMetric['unit'], value: number | null | undefined, causes: readonly LowConfidenceCause[]): void => {
    if (value === null || value === undefined || !Number.isFinite(value)) return;
    const m = (out[name] ??= { unit, values: [], lowConfidence: 0, causes: {} });
    m.values.push(value);
    if (causes.length) m.lowConfidence += 1;
    // Each cause counts a value once, with the most telling figure over its windows.
    const seen = new Set<string>();
    for (const c of causes) {
      const key = causeKey(c);
      const ms = causeMs(c);
      const tally = (m.causes[key] ??= { values: 0, extremeMs: ms, ...('intervalMs' in c ? { intervalMs: c.intervalMs } : {}) });
      if (!seen.has(key)) tally.values += 1;
      seen.add(key);
      tally.extremeMs = key === 'short-window' ? Math.min(tally.extremeMs, ms) : Math.max(tally.extremeMs, ms);
    }
  };
  const net = baselineWatts !== undefined;
  for (const it of iterations) {
    if (it.warmup || it.error) continue;
    const request = windowEnergy(points, { name: 'request', startMs: it.startMs, endMs: it.endMs }, baselineWatts);
    add('energy_request_j', 'J', request.joules, request.causes);
    add('power_request_w', 'W', request.averageWatts, request.causes);
    if (net) add('energy_request_net_j', 'J', request.netJoules, request.causes);
    for (const p of iterationPhaseEnergy(points, it, baselineWatts)) {
      add(`energy_${p.phase}_j`, 'J', p.joules, p.causes);
      add(`power_${p.phase}_w`, 'W', p.averageWatts, p.causes);
      if (net) add(`energy_${p.phase}_net_j`, 'J', p.netJoules, p.causes);
      if (p.items?.unit === 'token') {
        add('decode_j_per_token', 'J/token', p.items.joulesPerItem, p.causes);
        if (net) add('decode_net_j_per_token', 'J/token', p.items.netJoulesPerItem, p.causes);
      }
      if (p.items?.unit === 'image') {
        add('image_encode_j_per_image', 'J/image', p.items.joulesPerItem, p.causes);
        if (net) add('image_encode_net_j_per_image', 'J/image', p.items.netJoulesPerItem, p.causes);
      }
    }
  }
  return out;
}
