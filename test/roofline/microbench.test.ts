/**
 * The calibration graphs compute what their timing claims (so the work counted per run is
 * real), rates are derived correctly, and one short measurement produces well-formed figures.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { bestOf, measureBandwidth, readWithChain } from '../../roofline/calibrate/bandwidth.ts';
import { calibrate } from '../../roofline/calibrate/calibrate.ts';
import { checkCalibration } from '../../roofline/calibrate/store.ts';
import { gemvModel, gqaDecodeModel, matmulModel, matmulWeights, reduceSumModel, weightChainModel, type MatmulForm } from '../../roofline/calibrate/graphs.ts';
import { attentionOps } from '../../roofline/calibrate/attention.ts';
import { chainPairs, chainWeightBytes, measureWeightStream } from '../../roofline/calibrate/weight-stream.ts';
import { measureMatmul } from '../../roofline/calibrate/matmul.ts';
import { ratesFromLatencies } from '../../roofline/calibrate/timing.ts';

const options: ort.InferenceSession.SessionOptions = { executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1 };

async function run(model: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(model, options);
  try {
    const out = await s.run(feeds);
    return (out['y'] as ort.Tensor).data as Float32Array;
  } finally {
    await s.release();
  }
}

/** Dequantised W[k, n] of a calibration MatMul, from the initializer layout of its form. */
function denseWeight(form: MatmulForm, k: number, n: number): Float64Array {
  const w = matmulWeights(form, { m: 1, k, n });
  const dense = new Float64Array(k * n);
  if (form === 'fp32') dense.set(w.codes as Float32Array);
  else if (form === 'int4-matmulnbits') {
    const codes = w.codes as Uint8Array;
    const blocks = k / 32;
    for (let j = 0; j < n; j++) {
      for (let kk = 0; kk < k; kk++) {
        const byte = codes[j * blocks * 16 + (kk >> 1)]!;
        const nibble = kk % 2 === 0 ? byte & 15 : byte >> 4;
        dense[kk * n + j] = (nibble - 8) * w.scales![j * blocks + Math.floor(kk / 32)]!;
      }
    }
  } else {
    const codes = w.codes as Int8Array;
    for (let kk = 0; kk < k; kk++) for (let j = 0; j < n; j++) dense[kk * n + j] = codes[kk * n + j]! * w.scales![j]!;
  }
  return dense;
}

describe('calibration graphs', () => {
  it('ReduceSum sums each row', async () => {
    const x = Float32Array.from({ length: 4 * 8 }, (_, i) => i);
    const y = await run(reduceSumModel(4, 8), { x: new ort.Tensor('float32', x, [4, 8]) });
    // row r = 8r .. 8r+7: sum = 64r + 28
    expect([...y]).toEqual([28, 92, 156, 220]);
  });

  it('GEMV is x @ W', async () => {
    const w = Float32Array.from({ length: 3 * 2 }, (_, i) => i + 1); // [[1,2],[3,4],[5,6]]
    const g = await run(gemvModel(3, 2), { x: new ort.Tensor('float32', Float32Array.of(1, 1, 2), [1, 3]), w: new ort.Tensor('float32', w, [3, 2]) });
    expect([...g]).toEqual([14, 18]);
  });

  it.each(['fp32', 'int8-dynamic-quantize-matmul', 'int8-matmul-integer', 'int4-matmulnbits'] as const)(
    '%s MatMul matches x @ dequantised W',
    async (form) => {
      const m = 3;
      const k = 64;
      const n = 5;
      const x = Float32Array.from({ length: m * k }, (_, i) => Math.sin(i) * 0.5);
      const y = await run(matmulModel(form, { m, k, n }), { x: new ort.Tensor('float32', x, [m, k]) });
      const w = denseWeight(form, k, n);
      let maxRef = 0;
      let maxErr = 0;
      for (let r = 0; r < m; r++) {
        for (let j = 0; j < n; j++) {
          let ref = 0;
          for (let kk = 0; kk < k; kk++) ref += x[r * k + kk]! * w[kk * n + j]!;
          maxRef = Math.max(maxRef, Math.abs(ref));
          maxErr = Math.max(maxErr, Math.abs(ref - y[r * n + j]!));
        }
      }
      expect(maxRef).toBeGreaterThan(0.05);
      // fp32 exact to rounding; the int8 forms quantise x to 8 bits dynamically (accuracy_level 4 too).
      expect(maxErr / maxRef).toBeLessThan(form === 'fp32' ? 1e-5 : 0.03);
    },
  );
});

describe('weight-stream chains (decode kernel ceiling)', () => {
  const forms: MatmulForm[] = ['fp32', 'int8-dynamic-quantize-matmul', 'int4-matmulnbits'];

  it('count codes and scales per weight, and enough pairs for the requested bytes', () => {
    // [1024, 4096]: fp32 16 MiB; int8 4 MiB + 4 x 4096 scales; int4 2 MiB + 4 x 4096 x 32 blocks
    expect(chainWeightBytes('fp32', 1024, 4096)).toBe(16_777_216);
    expect(chainWeightBytes('int8-dynamic-quantize-matmul', 1024, 4096)).toBe(4_194_304 + 16_384);
    expect(chainWeightBytes('int4-matmulnbits', 1024, 4096)).toBe(2_097_152 + 524_288);
    expect(chainWeightBytes('int4-matmulnbits', 4096, 1024)).toBe(2_097_152 + 524_288);
    // 256 MiB: fp32 pairs of 32 MiB -> 8; int4 pairs of 5 MiB -> ceil(51.2) = 52
    expect(chainPairs('fp32', 256 * 2 ** 20)).toBe(8);
    expect(chainPairs('int4-matmulnbits', 256 * 2 ** 20)).toBe(52);
    expect(chainPairs('fp32', 1)).toBe(1);
  });

  it('keep activations finite and of unit size along a long chain in every form', async () => {
    for (const form of forms) {
      const x = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i));
      const y = await run(weightChainModel(form, 64, 256, 6), { x: new ort.Tensor('float32', x, [1, 64]) });
      expect(y).toHaveLength(64);
      const rms = Math.sqrt(y.reduce((a, v) => a + v * v, 0) / y.length);
      // 12 linears; a scale error of 2x per linear would give 4096x or 1/4096.
      expect(rms, form).toBeGreaterThan(0.05);
      expect(rms, form).toBeLessThan(20);
    }
  });
});

describe('batch-1 attention (GroupQueryAttention decode step)', () => {
  it('appends the new token in the shared cache and attends over all positions', async () => {
    // 2 query heads sharing 1 KV head of 8 (GQA needs a multiple of 8); 3 positions: 2 cached
    // and the new one, written at index 2.
    const s = await ort.InferenceSession.create(gqaDecodeModel(2, 1, 8), options);
    try {
      const row = (x: number) => Array<number>(8).fill(x);
      const key = new ort.Tensor('float32', Float32Array.from([...row(0.5), ...row(-0.5), ...row(9)]), [1, 1, 3, 8]);
      const value = new ort.Tensor('float32', Float32Array.from([...row(1), ...row(2), ...row(9)]), [1, 1, 3, 8]);
      const out = await s.run(
        {
          q: new ort.Tensor('float32', new Float32Array(16), [1, 1, 16]),
          k: new ort.Tensor('float32', Float32Array.from(row(0.25)), [1, 1, 8]),
          v: new ort.Tensor('float32', Float32Array.from(row(3)), [1, 1, 8]),
          past_key: key,
          past_value: value,
          seqlens_k: new ort.Tensor('int32', Int32Array.of(2), [1]),
          total_sequence_length: new ort.Tensor('int32', Int32Array.of(3), []),
        },
        { y: null, present_key: key, present_value: value },
      );
      // Zero queries weigh the 3 positions equally: the mean of values 1, 2, 3 = 2 in every lane.
      expect([...((out['y'] as ort.Tensor).data as Float32Array)].map((x) => Math.round(x * 1e5) / 1e5)).toEqual(Array(16).fill(2));
      // The new K/V went into slot 2 of the shared buffer, in place.
      expect([...(value.data as Float32Array).slice(16)]).toEqual(row(3));
      expect([...(key.data as Float32Array).slice(16)]).toEqual(row(0.25));
    } finally {
      await s.release();
    }
  });

  it('counts 4 x heads x head size operations per position', () => {
    expect(attentionOps(14, 64, 2048)).toBe(7_340_032);
  });
});

describe('read bandwidth and the fp32 weight chain', () => {
  const read = { value: 50, source: 'measured' as const, method: 'ReduceSum', threads: 2 };
  const chain = { value: 60, source: 'measured' as const, method: 'MatMul chain', threads: 2 };
  it('keeps the read figure when the chain is slower, takes the chain and says so when it is faster', () => {
    expect(readWithChain(read, { ...chain, value: 40 })).toBe(read);
    expect(readWithChain(read, undefined)).toBe(read);
    const r = readWithChain(read, chain);
    expect(r.value).toBe(60);
    expect(r.method).toBe('the fp32 weight chain (60.00 GB/s) beat the read measurements (50.00 GB/s: ReduceSum); here the chain: MatMul chain');
  });
});

describe('rates', () => {
  it('turns latencies into G units per second, best first', () => {
    // 1e9 bytes in 100, 50, 200 ms = 10, 20, 5 GB/s
    expect(ratesFromLatencies(1e9, [100, 50, 200])).toEqual({ n: 3, best: 20, median: 10, worst: 5 });
    expect(ratesFromLatencies(2e9, [100, 50, 200, 0])).toEqual({ n: 3, best: 40, median: 20, worst: 10 });
    expect(() => ratesFromLatencies(1, [0])).toThrow('no positive latency sample');
  });
});

describe('best of several measurements', () => {
  const fig = (value: number, threads: number) => ({ value, source: 'measured' as const, method: `m${threads}`, threads });

  it('keeps the highest rate and names every candidate', () => {
    const notes: string[] = [];
    const f = bestOf([['A 2 thr', fig(30, 2)], ['B 1 thr', fig(20, 1)]], notes, 'read');
    expect(f).toEqual({ value: 30, source: 'measured', threads: 2, method: 'best of A 2 thr 30.00, B 1 thr 20.00 GB/s, here A 2 thr: m2' });
    expect(notes).toEqual([]);
  });

  it('notes a busy machine when fewer threads win', () => {
    const notes: string[] = [];
    expect(bestOf([['A 2 thr', fig(11, 2)], ['B 1 thr', fig(28, 1)]], notes, 'read').value).toBe(28);
    expect(notes).toEqual(['read: B 1 thr (28.00 GB/s) beat A 2 thr (11.00 GB/s) with fewer threads; the machine was probably busy. Calibrate again when it is idle (--long measures longer).']);
  });
});

describe('short measurements', () => {
  const budget = { timeMs: 20, minIterations: 2, warmupIterations: 1 };

  it('bandwidth: read through ORT, copy through workers, extras for reference', async () => {
    const bw = await measureBandwidth({ bufferBytes: 16 * 2 ** 20, threads: 2, budget });
    expect(bw.read.source).toBe('measured');
    expect(bw.extra['read_reducesum_2_threads']!.method).toContain('ReduceSum over a float32 [1024, 4096] input (16 MiB)');
    expect(bw.read.samples!.n).toBeGreaterThanOrEqual(2);
    expect(bw.notes.every((n) => n.includes('the machine was probably busy'))).toBe(true);
    expect(bw.read.value).toBe(bw.read.samples!.best);
    expect(bw.read.samples!.worst).toBeLessThanOrEqual(bw.read.samples!.median);
    expect(bw.extra['copy_workers_2_threads']!.method).toContain('2 worker thread(s), each copying its own pre-touched 4 MiB');
    expect(bw.extra['read_reducesum_2_threads']!.threads).toBe(2);
    const x = bw.extra;
    expect(Object.keys(x).sort()).toEqual(['copy_js_1_thread', 'copy_workers_2_threads', 'read_gemv_2_threads', 'read_reducesum_1_thread', 'read_reducesum_2_threads']);
    // Each figure is the best of its measurements, and its method says which won.
    expect(bw.read.value).toBe(Math.max(x['read_reducesum_1_thread']!.value, x['read_reducesum_2_threads']!.value, x['read_gemv_2_threads']!.value));
    expect(bw.read.method).toMatch(/^best of ReduceSum 2 thr [\d.]+, ReduceSum 1 thr [\d.]+, GEMV 2 thr [\d.]+ GB\/s, here (ReduceSum|GEMV) [12] thr: ONNX Runtime /);
    expect(bw.copy.value).toBe(Math.max(x['copy_js_1_thread']!.value, x['copy_workers_2_threads']!.value));
    for (const f of [bw.read, bw.copy, ...Object.values(bw.extra)]) expect(f.value).toBeGreaterThan(0.1);
  });

  it('matmul: G op/s from 2*M*K*N per run', async () => {
    const f = await measureMatmul('int4-matmulnbits', { m: 16, k: 64, n: 32 }, 1, budget);
    expect(f.method).toContain('MatMulNBits');
    expect(f.method).toContain('[16, 64] x [64, 32]');
    expect(f.value).toBeGreaterThan(0);
  });

  it('weight stream: GB/s of constant weights a batch-1 chain reads per run', async () => {
    const f = await measureWeightStream('int8-dynamic-quantize-matmul', 4 * 2 ** 20, 2, budget);
    // 4 MiB in pairs of 2 x (4 MiB + 16 KiB): one pair, 8 MiB of weights.
    expect(f.method).toContain('a batch-1 chain of 2 linears (1024 <-> 4096), 8 MiB of constant weights, intra-op threads 2');
    expect(f.method).toContain('DynamicQuantizeMatMul');
    expect(f.value).toBe(f.samples!.best);
    expect(f.value).toBeGreaterThan(0.1);
  });

  it('a whole local calibration is a valid calibration file', async () => {
    const c = await calibrate({ target: 'local', label: 'local', threads: 2, bufferMiB: 16, budget, matmulShape: { m: 16, k: 64, n: 32 }, long: true });
    expect(checkCalibration(JSON.parse(JSON.stringify(c)), 'mem')).toEqual(c);
    expect(c.threads).toBe(2);
    expect(Object.keys(c.matmul)).toEqual(['fp32', 'int8', 'int4']);
    expect(Object.keys(c.matmulExtra)).toEqual(['int8_matmul_integer']);
    expect(Object.keys(c.weightStream ?? {})).toEqual(['fp32', 'int8', 'int4']);
    expect(c.decodeAttention?.method).toContain('GroupQueryAttention, one decode step: 14 query heads, 2 KV heads of 64, 2048 positions');
    // The fp32 chain streams weights from memory: the read figure is never below it.
    expect(c.bandwidth.read!.value).toBeGreaterThanOrEqual(c.weightStream!.fp32!.value);
    expect(c.runtimeFormats['fp16']?.as).toBe('fp32');
    expect(c.loadAverage?.before).toHaveLength(3);
    expect(c.machine.runtime).toMatch(/^onnxruntime-node 1\.\d+\.\d+ \(CPU execution provider\)/);
  });
});
