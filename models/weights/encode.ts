/**
 * Producers that write a RandomTensor in the byte layout each precision needs, in bounded
 * chunks. Canonical weights are PyTorch Linear `[out, in]`; ONNX MatMul wants `[in, out]`.
 */
import type { Chunk } from '../onnx/external-data.ts';
import type { RandomTensor } from './random.ts';
import { INT8_CODE_LIMIT } from './int8-form.ts';

type Emit = (chunk: Chunk) => void;

/** Target elements per chunk (16 MiB of fp32). */
const CHUNK_ELEMENTS = 1 << 22;

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE fp32 -> fp16 bits, round to nearest even, with subnormals and overflow to inf. */
export function toHalfBits(value: number): number {
  f32[0] = value;
  const x = u32[0] as number;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let r = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    if (rest > half || (rest === half && (r & 1))) r += 1;
    return sign | r;
  }
  let r = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (r & 1))) r += 1;
  return sign | r;
}

/** Values in canonical row-major order, as fp32 or fp16. */
export function produceFlat(t: RandomTensor, type: 'float32' | 'float16'): (emit: Emit) => void {
  return (emit) => {
    const step = Math.min(CHUNK_ELEMENTS, t.size);
    const buf = type === 'float32' ? new Float32Array(step) : new Uint16Array(step);
    for (let start = 0; start < t.size; start += step) {
      const n = Math.min(step, t.size - start);
      if (type === 'float32') for (let i = 0; i < n; i++) buf[i] = t.at(start + i);
      else for (let i = 0; i < n; i++) buf[i] = toHalfBits(t.at(start + i));
      emit(n === step ? buf : buf.subarray(0, n));
    }
  };
}

function dims2(t: RandomTensor): { rows: number; cols: number } {
  const [rows, cols] = t.shape;
  if (t.shape.length !== 2 || rows === undefined || cols === undefined) {
    throw new Error(`tensor ${t.name}: expected a 2-D [out, in] weight, got [${t.shape.join(', ')}]`);
  }
  return { rows, cols };
}

/** `[out, in]` weight written transposed as `[in, out]` (MatMul B), fp32 or fp16. */
export function produceTransposed(t: RandomTensor, type: 'float32' | 'float16'): (emit: Emit) => void {
  const { rows: N, cols: K } = dims2(t);
  return (emit) => {
    const rowsPerChunk = Math.max(1, Math.floor(CHUNK_ELEMENTS / N));
    const buf = type === 'float32' ? new Float32Array(rowsPerChunk * N) : new Uint16Array(rowsPerChunk * N);
    for (let k0 = 0; k0 < K; k0 += rowsPerChunk) {
      const kn = Math.min(rowsPerChunk, K - k0);
      for (let dk = 0; dk < kn; dk++) {
        const base = dk * N;
        const k = k0 + dk;
        if (type === 'float32') for (let n = 0; n < N; n++) buf[base + n] = t.at(n * K + k);
        else for (let n = 0; n < N; n++) buf[base + n] = toHalfBits(t.at(n * K + k));
      }
      emit(kn === rowsPerChunk ? buf : buf.subarray(0, kn * N));
    }
  };
}

/**
 * Symmetric per-output-channel quantisation of an `[out, in]` weight for the int8 linears:
 * codes in [-limit, limit] (default 7-bit, INT8_CODE_LIMIT; see int8-form.ts for why).
 */
export interface Int8Weight {
  /** Scale per output channel `[out]`. */
  scales: Float32Array;
  /** Writes int8 codes as MatMul B `[in, out]`. */
  produceCodes: (emit: Emit) => void;
}

export function quantizeInt8PerChannel(t: RandomTensor, limit = INT8_CODE_LIMIT): Int8Weight {
  const { rows: N, cols: K } = dims2(t);
  const scales = new Float32Array(N);
  // One pass over the values, row by row (each value is generated once, not once for its scale
  // and again for its code): codes are kept in canonical [out, in] order and transposed as they
  // are written. The row is held as doubles, exactly what the value function returns, so the
  // bytes are those of generating each value twice.
  const codes = new Int8Array(N * K);
  const row = new Float64Array(K);
  for (let n = 0; n < N; n++) {
    let m = 0;
    const base = n * K;
    for (let k = 0; k < K; k++) {
      const v = t.at(base + k);
      row[k] = v;
      m = Math.max(m, Math.abs(v));
    }
    scales[n] = m > 0 ? m / limit : 1;
    const scale = scales[n] as number;
    for (let k = 0; k < K; k++) {
      const q = Math.round((row[k] as number) / scale);
      codes[base + k] = q > limit ? limit : q < -limit ? -limit : q;
    }
  }
  const produceCodes = (emit: Emit): void => {
    const rowsPerChunk = Math.max(1, Math.floor(CHUNK_ELEMENTS / N));
    const buf = new Int8Array(rowsPerChunk * N);
    for (let k0 = 0; k0 < K; k0 += rowsPerChunk) {
      const kn = Math.min(rowsPerChunk, K - k0);
      for (let n = 0; n < N; n++) {
        const from = n * K + k0;
        for (let dk = 0; dk < kn; dk++) buf[dk * N + n] = codes[from + dk] as number;
      }
      emit(kn === rowsPerChunk ? buf : buf.subarray(0, kn * N));
    }
  };
  return { scales, produceCodes };
}

/**
 * Symmetric per-row int8 quantisation of a table (embeddings): codes in canonical order, full
 * 8-bit range (rows are gathered and rescaled, never fed to an integer matmul).
 */
export function quantizeInt8PerRow(t: RandomTensor): Int8Weight {
  const { rows: N, cols: K } = dims2(t);
  const scales = new Float32Array(N);
  // One pass over the values (as quantizeInt8PerChannel): each row is generated once, held as
  // the doubles the value function returns, and gives its scale and then its codes.
  const codes = new Int8Array(N * K);
  const row = new Float64Array(K);
  for (let n = 0; n < N; n++) {
    let m = 0;
    for (let k = 0; k < K; k++) {
      const v = t.at(n * K + k);
      row[k] = v;
      m = Math.max(m, Math.abs(v));
    }
    scales[n] = m > 0 ? m / 127 : 1;
    const s = scales[n] as number;
    for (let k = 0; k < K; k++) {
      const q = Math.round((row[k] as number) / s);
      codes[n * K + k] = q > 127 ? 127 : q < -127 ? -127 : q;
    }
  }
  const produceCodes = (emit: Emit): void => {
    const rowsPerChunk = Math.max(1, Math.floor(CHUNK_ELEMENTS / K));
    for (let n0 = 0; n0 < N; n0 += rowsPerChunk) {
      const nn = Math.min(rowsPerChunk, N - n0);
      emit(codes.subarray(n0 * K, (n0 + nn) * K));
    }
  };
  return { scales, produceCodes };
}

/**
 * Blockwise 4-bit quantisation in the MatMulNBits layout: B `[N, ceil(K/bs), bs/2]` uint8,
 * low nibble first, implicit zero point 8, scale per (row, block). Symmetric like MLAS: the
 * value of largest magnitude maps to code 0 (scale = v / -8), so the full code range is used.
 */
export interface Int4Weight {
  blocks: number;
  /** Filled while `produceCodes` runs: call it first. `[N, blocks]`. */
  scales: Float32Array;
  produceCodes: (emit: Emit) => void;
}

export function quantizeInt4Blockwise(t: RandomTensor, blockSize: number): Int4Weight {
  const { rows: N, cols: K } = dims2(t);
  const blocks = Math.ceil(K / blockSize);
  const bytesPerRow = (blocks * blockSize) / 2;
  const scales = new Float32Array(N * blocks);
  const values = new Float32Array(blockSize);
  const produceCodes = (emit: Emit): void => {
    const rowsPerChunk = Math.max(1, Math.floor((CHUNK_ELEMENTS * 2) / bytesPerRow));
    const buf = new Uint8Array(rowsPerChunk * bytesPerRow);
    for (let n0 = 0; n0 < N; n0 += rowsPerChunk) {
      const nn = Math.min(rowsPerChunk, N - n0);
      for (let dn = 0; dn < nn; dn++) {
        const n = n0 + dn;
        for (let b = 0; b < blocks; b++) {
          let extreme = 0;
          for (let j = 0; j < blockSize; j++) {
            const k = b * blockSize + j;
            const v = k < K ? t.at(n * K + k) : 0;
            values[j] = v;
            if (Math.abs(v) > Math.abs(extreme)) extreme = v;
          }
          const scale = extreme !== 0 ? extreme / -8 : 1;
          scales[n * blocks + b] = scale;
          const out = dn * bytesPerRow + (b * blockSize) / 2;
          for (let j = 0; j < blockSize; j += 2) {
            const lo = Math.min(15, Math.max(0, Math.round((values[j] as number) / scale) + 8));
            const hi = Math.min(15, Math.max(0, Math.round((values[j + 1] as number) / scale) + 8));
            buf[out + j / 2] = lo | (hi << 4);
          }
        }
      }
      emit(nn === rowsPerChunk ? buf : buf.subarray(0, nn * bytesPerRow));
    }
  };
  return { blocks, scales, produceCodes };
}
