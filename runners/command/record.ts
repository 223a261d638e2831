/**
 * An IterationRecord from a tool's own timings. The tool prints durations, not times, so the
 * phases are laid back to back ending when the command exited (model loading comes first and is
 * outside them); `reported` keeps the tool's figures as printed and the command's wall time.
 */
import type { IterationRecord, TimedEvent } from '../../core/events.ts';
import type { ToolTimings } from './tool-timings.ts';

/** Counts a tool does not print are unknown: NaN here, null in result.json (never a made-up number). */
export const UNKNOWN_COUNT = Number.NaN;

export interface RecordPlacement {
  index: number;
  warmup: boolean;
  /** Run-clock time the command exited, ms. */
  endMs: number;
  /** Images the cell asked for. */
  images: number;
  /** Wall time of the command, ms (load, run and teardown). */
  wallMs: number;
  /** Name of the vision graph's subgraph events. */
  encoderGraph?: string;
}

export function recordFromTimings(t: ToolTimings, p: RecordPlacement): IterationRecord {
  const encodeTotal = t.imageEncodeMs.reduce((s, v) => s + v, 0);
  // Decode tokens are placed after the first one, which only a timed prefill places.
  const decodeMs = t.prefillMs !== undefined && t.decodeMs !== undefined && (t.decodeSteps ?? 0) > 0 ? t.decodeMs : 0;
  const span = encodeTotal + (t.prefillMs ?? 0) + decodeMs;
  const startMs = p.endMs - span;
  const events: TimedEvent[] = [];
  let at = startMs;
  if (t.imageEncodeMs.length > 0) {
    events.push({ kind: 'phase', phase: 'image_encode', startMs: at, endMs: at + encodeTotal });
    for (const ms of t.imageEncodeMs) {
      events.push({ kind: 'subgraph', graph: p.encoderGraph ?? 'image_encoder', phase: 'image_encode', startMs: at, endMs: at + ms, items: 1 });
      at += ms;
    }
  }
  if (t.prefillMs !== undefined) {
    events.push({ kind: 'phase', phase: 'prefill', startMs: at, endMs: at + t.prefillMs });
    at += t.prefillMs;
    events.push({ kind: 'token', tMs: at, index: 0, count: 1 });
  }
  if (decodeMs > 0) {
    events.push({ kind: 'phase', phase: 'decode', startMs: at, endMs: at + decodeMs });
    at += decodeMs;
    // The tool reports decode as one block: one arrival carrying every step's token.
    events.push({ kind: 'token', tMs: at, index: 1, count: t.decodeSteps! });
  }
  return {
    index: p.index,
    warmup: p.warmup,
    startMs,
    endMs: p.endMs,
    promptTokens: t.promptTokens ?? UNKNOWN_COUNT,
    imageTokens: t.imageTokens ?? UNKNOWN_COUNT,
    images: p.images,
    outputTokens: t.outputTokens ?? UNKNOWN_COUNT,
    events,
    reported: { ...t.reported, 'command.wall_ms': p.wallMs },
  };
}

/** A failed iteration: the error says why, nothing is made up. */
export function failedRecord(index: number, warmup: boolean, tMs: number, images: number, error: string, reported: Record<string, number> = {}): IterationRecord {
  return {
    index,
    warmup,
    startMs: tMs,
    endMs: tMs,
    promptTokens: UNKNOWN_COUNT,
    imageTokens: UNKNOWN_COUNT,
    images,
    outputTokens: 0,
    events: [],
    error,
    reported,
  };
}
