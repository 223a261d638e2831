import { describe, expect, it } from 'vitest';
import { quantizeInt8PerChannel, quantizeInt8PerRow } from '../../models/weights/encode.ts';
import { INT8_CODE_LIMIT } from '../../models/weights/int8-form.ts';
import { RandomTensor } from '../../models/weights/random.ts';

/** The definition, computed the plain way: scale = max |w| of the output row / limit, code = round(w / scale), transposed to [in, out]. */
function definition(t: RandomTensor, limit: number): { scales: Float32Array; codes: Int8Array } {
  const [N, K] = t.shape as [number, number];
  const scales = new Float32Array(N);
  for (let n = 0; n < N; n++) {
    let m = 0;
    for (let k = 0; k < K; k++) m = Math.max(m, Math.abs(t.at(n * K + k)));
    scales[n] = m > 0 ? m / limit : 1;
  }
  const codes = new Int8Array(N * K);
  for (let k = 0; k < K; k++) {
    for (let n = 0; n < N; n++) codes[k * N + n] = Math.max(-limit, Math.min(limit, Math.round(t.at(n * K + k) / scales[n]!)));
  }
  return { scales, codes };
}

function collect(produce: (emit: (chunk: ArrayBufferView) => void) => void): Buffer {
  const parts: Buffer[] = [];
  produce((chunk) => parts.push(Buffer.from(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))));
  return Buffer.concat(parts);
}

describe('int8 per-row table quantiser (one pass over the values)', () => {
  it.each([
    [3, 5],
    [5000, 1000],
  ])('writes the same scales and codes as the definition for [%i, %i]', (N, K) => {
    const t = new RandomTensor(1234, `table.${N}x${K}.weight`, [N, K], { std: 0.02 });
    const scales = new Float32Array(N);
    const codes = new Int8Array(N * K);
    for (let n = 0; n < N; n++) {
      let m = 0;
      for (let k = 0; k < K; k++) m = Math.max(m, Math.abs(t.at(n * K + k)));
      scales[n] = m > 0 ? m / 127 : 1;
      for (let k = 0; k < K; k++) codes[n * K + k] = Math.max(-127, Math.min(127, Math.round(t.at(n * K + k) / scales[n]!)));
    }
    const q = quantizeInt8PerRow(t);
    expect(q.scales).toEqual(scales);
    expect(collect(q.produceCodes).equals(Buffer.from(codes.buffer))).toBe(true);
  });
});

describe('int8 per-channel quantiser (one pass over the values)', () => {
  // Shapes whose [in, out] transpose spans several 4 Mi-element chunks, one chunk, and a remainder.
  it.each([
    [3, 5],
    [37, 53],
    [4096, 1100],
  ])('writes the same scales and codes as the definition for [%i, %i]', (N, K) => {
    const t = new RandomTensor(1234, `layer.${N}x${K}.weight`, [N, K], { std: 1 / Math.sqrt(K) });
    const want = definition(t, INT8_CODE_LIMIT);
    const q = quantizeInt8PerChannel(t);
    const parts: Int8Array[] = [];
    q.produceCodes((chunk) => parts.push(Int8Array.from(chunk as Int8Array)));
    const got = new Int8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      got.set(p, at);
      at += p.length;
    }
    expect(q.scales).toEqual(want.scales);
    expect(Buffer.from(got.buffer).equals(Buffer.from(want.codes.buffer))).toBe(true);
    expect(Math.max(...got.slice(0, 10_000).map(Math.abs))).toBeLessThanOrEqual(INT8_CODE_LIMIT);
  });
});
