/** One cell through a real runner (the ORT runner unless told), for the runner tests: prepare, one measured iteration, close. */
import { expect } from 'vitest';
import { createClock } from '../../core/clock.ts';
import type { IterationRecord } from '../../core/events.ts';
import type { Runner } from '../../core/runner.ts';
import type { Cell, Suite } from '../../core/suite-types.ts';
import { ortRunner } from '../../runners/ort/index.ts';

export const ctx = { clock: createClock(), threads: 1, log: () => {} };

export const cell = (params: Cell['params']): Cell => ({ id: JSON.stringify(params), index: 0, params });

export async function runOnce(s: Suite, params: Cell['params'], runner: Runner = ortRunner): Promise<{ rec: IterationRecord; settings: Record<string, unknown> }> {
  const prepared = await runner.prepare(cell(params), s, ctx);
  try {
    const rec = await prepared.runIteration(0, false);
    expect(rec.error).toBeUndefined();
    return { rec, settings: prepared.settings };
  } finally {
    await prepared.close();
  }
}
