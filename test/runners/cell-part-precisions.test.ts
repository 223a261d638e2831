/** Which builds a cell runs (LLM, vision encoder) and the ORT plan check of both axes. */
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../core/errors.ts';
import type { Cell } from '../../core/suite-types.ts';
import { loadSuite } from '../../harness/suite-loader.ts';
import { cellPartPrecisions } from '../../runners/cell-input.ts';
import { checkOrtPlan } from '../../runners/ort/plan-check.ts';

const cell = (params: Cell['params']): Cell => ({ id: Object.entries(params).map(([k, v]) => `${k}=${String(v)}`).join(','), index: 0, params });

describe('cellPartPrecisions', () => {
  it('takes each part from its own axis, else precision, and no vision part without images or frames', () => {
    expect(cellPartPrecisions(cell({ images: 1, precision: 'int4', vision_precision: 'int8' }))).toEqual({ llm: 'int4', vision: 'int8' });
    expect(cellPartPrecisions(cell({ images: 2, precision: 'int4' }))).toEqual({ llm: 'int4', vision: 'int4' });
    expect(cellPartPrecisions(cell({ images: 0, precision: 'int4', vision_precision: 'int8' }))).toEqual({ llm: 'int4', vision: null });
    expect(cellPartPrecisions(cell({ frames: 8, llm_precision: 'int8', precision: 'int4' }))).toEqual({ llm: 'int8', vision: 'int4' });
    expect(cellPartPrecisions(cell({ images: 1 }))).toEqual({ llm: 'fp32', vision: 'fp32' });
  });
});

describe('checkOrtPlan on part precisions', () => {
  const { suite } = loadSuite('internvl-cpu');
  it('refuses a vision precision the zoo cannot build, naming the axis', () => {
    expect(() => checkOrtPlan(suite, [cell({ images: 1, prefill: 128, precision: 'int4', vision_precision: 'int8' })], false)).not.toThrow();
    const bad = () => checkOrtPlan(suite, [cell({ images: 1, prefill: 128, precision: 'int4', vision_precision: 'int3' })], false);
    expect(bad).toThrow(ValidationError);
    expect(bad).toThrow(/matrix\.vision_precision.*"int3" cannot be synthesised/);
    // A text-only cell never loads the vision encoder: its vision axis is not checked.
    expect(() => checkOrtPlan(suite, [cell({ images: 0, prefill: 128, precision: 'int4', vision_precision: 'int3' })], false)).not.toThrow();
    expect(() => checkOrtPlan(suite, [cell({ images: 0, prefill: 128, precision: 'int5' })], false)).toThrow(/matrix\.precision.*"int5"/);
  });
});
