/** Small pieces every in-process runner needs: a cell's integer axes and the hash of a model file. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { InputError } from '../core/errors.ts';
import type { Cell } from '../core/suite-types.ts';

/** A non-negative integer axis of the cell, or the fallback when the matrix has no such axis. */
export function numberParam(cell: Cell, axis: string, fallback: number): number {
  const v = cell.params[axis];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InputError(`cell ${cell.id}: axis "${axis}" must be a non-negative integer, got ${String(v)}`);
  return n;
}

/** sha256 of a (possibly large) file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * The weight precisions of the builds a cell runs: its LLM's (`llm_precision`, else
 * `precision`) and, when it encodes images or frames, its vision encoder's (`vision_precision`,
 * else `precision`); `fallback` where neither axis is set.
 */
export function cellPartPrecisions(cell: Cell, fallback = 'fp32'): { llm: string; vision: string | null } {
  const precision = String(cell.params['precision'] ?? fallback);
  const needsVision = numberParam(cell, 'images', 0) > 0 || numberParam(cell, 'frames', 0) > 0;
  return {
    llm: String(cell.params['llm_precision'] ?? precision),
    vision: needsVision ? String(cell.params['vision_precision'] ?? precision) : null,
  };
}

/**
 * Whether any of `cells` encodes images or frames with the vision encoder of the `precision`
 * build. A zoo build no cell takes its vision encoder from is built without one (the default
 * suite's int4 LLM cells encode at int8): callers pass every cell of the suite's matrix, so
 * which build a cell uses does not depend on --filter.
 */
export function visionEncoderUsedAt(cells: readonly Cell[], precision: string): boolean {
  return cells.some((c) => cellPartPrecisions(c).vision === precision);
}
