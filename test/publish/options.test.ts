import { describe, expect, it } from 'vitest';
import { InputError } from '../../core/errors.ts';
import { parseDimensions, parseMetrics } from '../../publish/site-model.ts';

describe('bench publish options', () => {
  it('takes known dimensions and metrics, and refuses others naming what is allowed', () => {
    expect(parseDimensions('board, precision', '--cols')).toEqual(['board', 'precision']);
    expect(() => parseDimensions('model,frames', '--rows')).toThrow(InputError);
    expect(() => parseDimensions('model,frames', '--rows')).toThrow(/--rows model,frames: unknown dimension "frames"; allowed: board, backend, precision, model/);
    expect(parseMetrics('ttft_ms,request_goodput')).toEqual(['ttft_ms', 'request_goodput']);
    expect(() => parseMetrics('ttft')).toThrow(/unknown metric "ttft"/);
  });
});
