/**
 * The time split of a measured cell, and a COMPOSITION of what the same cell would take on a
 * machine whose vision encoder takes another time per image (bench:cold-start). Nothing here
 * runs a model: the composition keeps every part of each request the run measured except the
 * image encoding, replaces that with `images x encode time per image`, and re-applies the
 * suite's stopping rule (harness/methodology.ts) to the new request time, as a range: from the
 * minimum count (the interval reaches its target at once) to what the count or the budget allows
 * (it never does).
 */
import type { IterationRecord } from '../core/events.ts';
import { phaseMs } from '../core/iteration-events.ts';
import { summarize } from '../core/stats.ts';
import type { CellResult, RunResult } from '../core/result-types.ts';
import { adaptiveIterationRange, type IterationRange } from '../harness/methodology.ts';

/** Where a cell's wall time went, ms: its accuracy gate (when it ran, not cached), sessions, warm-up, measured iterations, the rest. */
export interface CellTimeSplit {
  wallMs: number;
  gateMs: number;
  sessionsMs: number;
  warmupMs: number;
  measuredMs: number;
  measured: number;
  otherMs: number;
}

const requestMs = (r: IterationRecord): number => r.endMs - r.startMs;
const encodeMs = (r: IterationRecord): number => (r.images > 0 ? (phaseMs(r, 'image_encode') ?? 0) : 0);
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

export function cellTimeSplit(c: CellResult): CellTimeSplit {
  const wallMs = Date.parse(c.finishedAt) - Date.parse(c.startedAt);
  const gateMs = c.accuracy && !c.accuracy.cached ? (c.accuracy.gateCost?.ms ?? 0) : 0;
  const sessionsMs = c.loadMs ?? 0;
  const warmupMs = sum(c.iterations.filter((r) => r.warmup).map(requestMs));
  const measuredRecords = c.iterations.filter((r) => !r.warmup);
  const measuredMs = sum(measuredRecords.map(requestMs));
  return { wallMs, gateMs, sessionsMs, warmupMs, measuredMs, measured: measuredRecords.length, otherMs: wallMs - gateMs - sessionsMs - warmupMs - measuredMs };
}

export interface ComposedCell {
  id: string;
  images: number;
  measured: CellTimeSplit;
  /** Image encoding per image as measured in this cell (median over its measured requests), ms; null without images. */
  measuredEncodePerImageMs: number | null;
  /** A measured request with its image encoding replaced, ms (mean over the measured requests). */
  composedRequestMs: number;
  iterations: IterationRange;
  /** The cell's wall time composed, ms: gate, sessions and the rest as measured, warm-up and requests composed. */
  composedMs: { fewest: number; most: number };
  /** The same without the accuracy gate (a later run reads its verdict from the cache). */
  composedWithoutGateMs: { fewest: number; most: number };
}

/**
 * The machine a cell is composed for: its vision encoder's time per image and, optionally, its
 * prefill time per prompt token and decode time per output token (absent: as measured here).
 */
export interface ComposedMachine {
  encodeMsPerImage: number;
  /** Prefill ms per prompt token (image tokens included), taken as linear in the prompt length. */
  prefillMsPerToken?: number;
  /** Decode ms per output token after the first (TPOT). */
  tpotMs?: number;
}

/**
 * One cell of a measured run composed for `machine`: each request keeps what the run measured
 * except the parts the machine gives. Throws when the cell has no measured request to compose from.
 */
export function composeCell(c: CellResult, options: RunResult['options'], machine: ComposedMachine): ComposedCell {
  const { encodeMsPerImage, prefillMsPerToken, tpotMs } = machine;
  if (!(encodeMsPerImage > 0)) throw new Error(`encode time per image must be > 0 ms, got ${encodeMsPerImage}`);
  for (const [name, v] of [['prefill time per token', prefillMsPerToken], ['TPOT', tpotMs]] as const) {
    if (v !== undefined && !(v > 0)) throw new Error(`${name} must be > 0 ms, got ${v}`);
  }
  const split = cellTimeSplit(c);
  const measuredRecords = c.iterations.filter((r) => !r.warmup && !r.error);
  if (measuredRecords.length === 0) throw new Error(`cell ${c.id} has no successful measured request to compose from`);
  const images = measuredRecords[0]!.images;
  const composedRequest = (r: IterationRecord): number => {
    let ms = requestMs(r) - encodeMs(r) + images * encodeMsPerImage;
    if (prefillMsPerToken !== undefined) ms += r.promptTokens * prefillMsPerToken - (phaseMs(r, 'prefill') ?? 0);
    if (tpotMs !== undefined) ms += Math.max(0, r.outputTokens - 1) * tpotMs - (phaseMs(r, 'decode') ?? 0);
    return ms;
  };
  const composedRequestMs = sum(measuredRecords.map(composedRequest)) / measuredRecords.length;
  const warmups = c.iterations.filter((r) => r.warmup);
  const composedWarmupMs = sum(warmups.map(composedRequest));
  const iterations = options.adaptive
    ? adaptiveIterationRange(options.adaptive, options.iterations, composedWarmupMs, composedRequestMs)
    : { fewest: options.iterations, most: options.iterations };
  const fixedMs = split.sessionsMs + split.otherMs + composedWarmupMs;
  const at = (n: number, gate: number): number => gate + fixedMs + n * composedRequestMs;
  return {
    id: c.id,
    images,
    measured: split,
    measuredEncodePerImageMs: images > 0 ? summarize(measuredRecords.map((r) => encodeMs(r) / images), 'ms').median : null,
    composedRequestMs,
    iterations,
    composedMs: { fewest: at(iterations.fewest, split.gateMs), most: at(iterations.most, split.gateMs) },
    composedWithoutGateMs: { fewest: at(iterations.fewest, 0), most: at(iterations.most, 0) },
  };
}
