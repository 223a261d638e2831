/**
 * ggml tensor encodings the zoo writes into GGUF files, byte for byte as ggml's reference
 * quantisers (ggml-quants.c `quantize_row_*_ref`) produce them, in float32 arithmetic:
 *
 * - F32, F16: plain little-endian values (F16 rounds to nearest even).
 * - Q8_0: blocks of 32 along a row: fp16 scale d = amax / 127, then 32 int8 codes
 *   round(x / d) (round half away from zero, as C's roundf). 34 bytes per 32 weights = 8.5 bits.
 * - Q4_0: blocks of 32: fp16 scale d = max / -8 where max is the value of largest magnitude
 *   (with its sign), then 16 bytes of nibbles: code = min(15, trunc(x / d + 8.5)); byte j holds
 *   element j in its low nibble and element j + 16 in its high nibble. 18 bytes per 32 = 4.5 bits.
 *
 * Blocks run along ne[0] (the input axis of a weight, contiguous in memory), so a row length
 * must be a multiple of 32 for the block types.
 */
import { toHalfBits } from '../weights/encode.ts';

export const GGML_TYPES = {
  F32: { id: 0, blockSize: 1, blockBytes: 4 },
  F16: { id: 1, blockSize: 1, blockBytes: 2 },
  Q4_0: { id: 2, blockSize: 32, blockBytes: 18 },
  Q8_0: { id: 8, blockSize: 32, blockBytes: 34 },
} as const;

export type GgmlTypeName = keyof typeof GGML_TYPES;

/** Bits per weight of a type, scales included (Q8_0 8.5, Q4_0 4.5). */
export function bitsPerWeight(type: GgmlTypeName): number {
  const t = GGML_TYPES[type];
  return (t.blockBytes * 8) / t.blockSize;
}

/** Bytes of a tensor of `type` with ggml dims `ne` (ne[0] must be a multiple of the block size). */
export function tensorBytes(type: GgmlTypeName, ne: readonly number[]): number {
  const t = GGML_TYPES[type];
  const row = ne[0] ?? 1;
  if (row % t.blockSize !== 0) throw new Error(`${type} needs rows that are a multiple of ${t.blockSize}, got ne[0] = ${row}`);
  const rows = ne.slice(1).reduce((a, b) => a * b, 1);
  return (row / t.blockSize) * t.blockBytes * rows;
}

const fround = Math.fround;

/** C roundf: halves away from zero. */
function roundAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

/** One Q8_0 block of 32 values into `out` at `at` (34 bytes). */
export function quantizeBlockQ8_0(x: ArrayLike<number>, from: number, out: DataView, at: number): void {
  let amax = 0;
  for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[from + j]!));
  const d = fround(amax / 127);
  const id = d ? fround(1 / d) : 0;
  out.setUint16(at, toHalfBits(d), true);
  for (let j = 0; j < 32; j++) out.setInt8(at + 2 + j, roundAway(fround(x[from + j]! * id)));
}

/** One Q4_0 block of 32 values into `out` at `at` (18 bytes). */
export function quantizeBlockQ4_0(x: ArrayLike<number>, from: number, out: DataView, at: number): void {
  let amax = 0;
  let max = 0;
  for (let j = 0; j < 32; j++) {
    const v = x[from + j]!;
    if (amax < Math.abs(v)) {
      amax = Math.abs(v);
      max = v;
    }
  }
  const d = fround(max / -8);
  const id = d ? fround(1 / d) : 0;
  out.setUint16(at, toHalfBits(d), true);
  for (let j = 0; j < 16; j++) {
    const x0 = fround(x[from + j]! * id);
    const x1 = fround(x[from + 16 + j]! * id);
    const lo = Math.min(15, Math.trunc(fround(x0 + 8.5)));
    const hi = Math.min(15, Math.trunc(fround(x1 + 8.5)));
    out.setUint8(at + 2 + j, lo | (hi << 4));
  }
}

/** Target bytes per emitted chunk. */
const CHUNK_BYTES = 1 << 22;

/**
 * Producer of a `[rows, cols]` matrix (row-major: ne = [cols, rows]) encoded as `type`, from a
 * value function of (row, col). Rows are encoded one at a time into a bounded buffer.
 */
export function encodeMatrix(
  type: GgmlTypeName,
  rows: number,
  cols: number,
  value: (row: number, col: number) => number,
): (emit: (bytes: Uint8Array) => void) => void {
  const rowBytes = tensorBytes(type, [cols]);
  return (emit) => {
    const rowsPerChunk = Math.max(1, Math.floor(CHUNK_BYTES / rowBytes));
    const buf = new Uint8Array(rowsPerChunk * rowBytes);
    const view = new DataView(buf.buffer);
    const row = new Float32Array(cols);
    for (let r0 = 0; r0 < rows; r0 += rowsPerChunk) {
      const n = Math.min(rowsPerChunk, rows - r0);
      for (let dr = 0; dr < n; dr++) {
        const r = r0 + dr;
        const base = dr * rowBytes;
        for (let c = 0; c < cols; c++) row[c] = value(r, c);
        switch (type) {
          case 'F32':
            for (let c = 0; c < cols; c++) view.setFloat32(base + 4 * c, row[c]!, true);
            break;
          case 'F16':
            for (let c = 0; c < cols; c++) view.setUint16(base + 2 * c, toHalfBits(row[c]!), true);
            break;
          case 'Q8_0':
            for (let b = 0; b < cols / 32; b++) quantizeBlockQ8_0(row, 32 * b, view, base + 34 * b);
            break;
          case 'Q4_0':
            for (let b = 0; b < cols / 32; b++) quantizeBlockQ4_0(row, 32 * b, view, base + 18 * b);
            break;
        }
      }
      emit(n === rowsPerChunk ? buf : buf.subarray(0, n * rowBytes));
    }
  };
}
