import type { IterationRecord } from '../../core/events.ts';
import type { ModelIdentity, AccuracyCheck } from '../../core/runner.ts';
import type { Cell, Suite } from '../../core/suite-types.ts';

/**
 * The line protocol between the host and `bench worker` on a board: the host passes one
 * request as an argument; the worker prints one JSON message per line on stdout. Times in
 * records are on the worker's own monotonic clock, whose origin it states in epoch ms, so the
 * host can move them onto the run clock with the measured clock offset.
 */
export interface WorkerRequest {
  suite: Suite;
  cell: Cell;
  threads: number;
  warmup: number;
  iterations: number;
}

export type WorkerMessage =
  | { type: 'hello'; originEpochMs: number; host: string; node: string }
  | { type: 'log'; message: string }
  | {
      type: 'prepared';
      loadMs: number;
      model: ModelIdentity;
      settings: Record<string, string | number | boolean>;
      /** The accuracy gate's verdict, checked on the board (its CPU picks the kernels). */
      accuracy?: AccuracyCheck;
    }
  | { type: 'iteration'; record: IterationRecord }
  | { type: 'error'; message: string }
  | { type: 'done' };

export function encodeRequest(req: WorkerRequest): string {
  return Buffer.from(JSON.stringify(req), 'utf8').toString('base64url');
}

export function decodeRequest(text: string): WorkerRequest {
  return JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as WorkerRequest;
}

/** Moves every time of a record from the worker's clock onto the run clock. */
export function shiftRecord(rec: IterationRecord, deltaMs: number): IterationRecord {
  return {
    ...rec,
    startMs: rec.startMs + deltaMs,
    endMs: rec.endMs + deltaMs,
    events: rec.events.map((e) =>
      e.kind === 'token' ? { ...e, tMs: e.tMs + deltaMs } : { ...e, startMs: e.startMs + deltaMs, endMs: e.endMs + deltaMs },
    ),
  };
}
