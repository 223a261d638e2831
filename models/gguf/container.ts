/**
 * GGUF version 3 container writer (the file format of ggml / llama.cpp):
 *
 *   header      magic "GGUF", u32 version 3, u64 tensor count, u64 metadata count
 *   metadata    per entry: string key, u32 value type, value (arrays: u32 item type, u64 length, items)
 *   tensor info per tensor: string name, u32 n_dims, u64 ne[n_dims] (ne[0] = fastest axis),
 *               u32 ggml type, u64 offset from the start of the data section
 *   padding     to `general.alignment` (32 unless the metadata says otherwise)
 *   data        every tensor at its offset, each one padded to the alignment
 *
 * Strings are u64 length + UTF-8 bytes; everything is little-endian. Tensor bytes are produced
 * by a callback in chunks and written as they come, so a file larger than the heap can be
 * written: the offsets are known up front from each tensor's type and shape.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { GGML_TYPES, tensorBytes, type GgmlTypeName } from './quants.ts';

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** gguf_type values of metadata entries. */
export const GGUF_VALUE_TYPE = {
  uint8: 0,
  int8: 1,
  uint16: 2,
  int16: 3,
  uint32: 4,
  int32: 5,
  float32: 6,
  bool: 7,
  string: 8,
  array: 9,
  uint64: 10,
  int64: 11,
  float64: 12,
} as const;

type ScalarType = Exclude<keyof typeof GGUF_VALUE_TYPE, 'array'>;

/** One metadata value with its explicit GGUF type (JavaScript numbers do not say which). */
export type GgufValue =
  | { type: Exclude<ScalarType, 'string' | 'bool'>; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'array'; itemType: 'string'; value: readonly string[] }
  | { type: 'array'; itemType: 'int32' | 'uint32' | 'float32'; value: ArrayLike<number> };

export const u32 = (value: number): GgufValue => ({ type: 'uint32', value });
export const f32 = (value: number): GgufValue => ({ type: 'float32', value });
export const str = (value: string): GgufValue => ({ type: 'string', value });

/** A tensor to write: ggml dims (`ne`, fastest axis first), type, and a producer of its bytes in order. */
export interface GgufTensor {
  name: string;
  ne: readonly number[];
  type: GgmlTypeName;
  /** Emits the tensor's bytes in file order; the total must equal tensorBytes(type, ne). */
  produce: (emit: (bytes: Uint8Array) => void) => void;
}

/** Grows a byte buffer for the header part (metadata and tensor infos). */
class ByteWriter {
  private buf = Buffer.alloc(1 << 16);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  u8(v: number): void {
    this.reserve(1);
    this.buf.writeUInt8(v, this.length);
    this.length += 1;
  }
  i8(v: number): void {
    this.reserve(1);
    this.buf.writeInt8(v, this.length);
    this.length += 1;
  }
  u16(v: number): void {
    this.reserve(2);
    this.buf.writeUInt16LE(v, this.length);
    this.length += 2;
  }
  i16(v: number): void {
    this.reserve(2);
    this.buf.writeInt16LE(v, this.length);
    this.length += 2;
  }
  u32(v: number): void {
    this.reserve(4);
    this.buf.writeUInt32LE(v, this.length);
    this.length += 4;
  }
  i32(v: number): void {
    this.reserve(4);
    this.buf.writeInt32LE(v, this.length);
    this.length += 4;
  }
  f32(v: number): void {
    this.reserve(4);
    this.buf.writeFloatLE(v, this.length);
    this.length += 4;
  }
  f64(v: number): void {
    this.reserve(8);
    this.buf.writeDoubleLE(v, this.length);
    this.length += 8;
  }
  u64(v: number | bigint): void {
    this.reserve(8);
    this.buf.writeBigUInt64LE(BigInt(v), this.length);
    this.length += 8;
  }
  i64(v: number | bigint): void {
    this.reserve(8);
    this.buf.writeBigInt64LE(BigInt(v), this.length);
    this.length += 8;
  }
  string(s: string): void {
    const bytes = Buffer.from(s, 'utf8');
    this.u64(bytes.length);
    this.reserve(bytes.length);
    bytes.copy(this.buf, this.length);
    this.length += bytes.length;
  }
  pad(alignment: number): void {
    const n = (alignment - (this.length % alignment)) % alignment;
    this.reserve(n);
    this.buf.fill(0, this.length, this.length + n);
    this.length += n;
  }
  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

function writeScalar(w: ByteWriter, type: ScalarType, value: number | boolean | string): void {
  switch (type) {
    case 'uint8': return w.u8(value as number);
    case 'int8': return w.i8(value as number);
    case 'uint16': return w.u16(value as number);
    case 'int16': return w.i16(value as number);
    case 'uint32': return w.u32(value as number);
    case 'int32': return w.i32(value as number);
    case 'float32': return w.f32(value as number);
    case 'bool': return w.u8(value ? 1 : 0);
    case 'string': return w.string(value as string);
    case 'uint64': return w.u64(value as number);
    case 'int64': return w.i64(value as number);
    case 'float64': return w.f64(value as number);
  }
}

function writeValue(w: ByteWriter, v: GgufValue): void {
  w.u32(GGUF_VALUE_TYPE[v.type]);
  if (v.type !== 'array') return writeScalar(w, v.type, v.value);
  w.u32(GGUF_VALUE_TYPE[v.itemType]);
  w.u64(v.value.length);
  if (v.itemType === 'string') for (const s of v.value as readonly string[]) w.string(s);
  else {
    const items = v.value as ArrayLike<number>;
    for (let i = 0; i < items.length; i++) writeScalar(w, v.itemType, items[i]!);
  }
}

const alignUp = (n: number, alignment: number): number => Math.ceil(n / alignment) * alignment;

export interface WrittenGguf {
  path: string;
  bytes: number;
  /** Offset of the data section from the start of the file. */
  dataOffset: number;
}

/**
 * Writes a GGUF v3 file. Metadata keys are written in the order given; `general.alignment`
 * (when present, a uint32) sets the alignment of the data section and of every tensor.
 */
export function writeGguf(path: string, metadata: ReadonlyArray<readonly [string, GgufValue]>, tensors: readonly GgufTensor[]): WrittenGguf {
  const keys = new Set<string>();
  for (const [k] of metadata) {
    if (keys.has(k)) throw new Error(`GGUF metadata key "${k}" given twice`);
    keys.add(k);
  }
  const names = new Set<string>();
  for (const t of tensors) {
    if (names.has(t.name)) throw new Error(`GGUF tensor "${t.name}" given twice`);
    names.add(t.name);
  }
  const alignmentEntry = metadata.find(([k]) => k === 'general.alignment')?.[1];
  const alignment = alignmentEntry && alignmentEntry.type === 'uint32' ? alignmentEntry.value : GGUF_DEFAULT_ALIGNMENT;

  const head = new ByteWriter();
  head.u32(GGUF_MAGIC);
  head.u32(GGUF_VERSION);
  head.u64(tensors.length);
  head.u64(metadata.length);
  for (const [key, value] of metadata) {
    head.string(key);
    writeValue(head, value);
  }
  const sizes: number[] = [];
  let offset = 0;
  for (const t of tensors) {
    const size = tensorBytes(t.type, t.ne);
    sizes.push(size);
    head.string(t.name);
    head.u32(t.ne.length);
    for (const n of t.ne) head.u64(n);
    head.u32(GGML_TYPES[t.type].id);
    head.u64(offset);
    offset = alignUp(offset + size, alignment);
  }
  head.pad(alignment);
  const dataOffset = head.length;

  const fd = openSync(path, 'w');
  try {
    writeSync(fd, head.bytes());
    let position = dataOffset;
    const zeros = new Uint8Array(alignment);
    tensors.forEach((t, i) => {
      let written = 0;
      t.produce((bytes) => {
        writeSync(fd, bytes, 0, bytes.length, position + written);
        written += bytes.length;
      });
      if (written !== sizes[i]) throw new Error(`GGUF tensor ${t.name}: producer wrote ${written} bytes, expected ${sizes[i]}`);
      const padded = alignUp(written, alignment);
      // Padding of the last tensor too, so the file length is a multiple of the alignment as gguf.cpp writes it.
      if (padded > written) writeSync(fd, zeros, 0, padded - written, position + written);
      position += padded;
    });
    return { path, bytes: position, dataOffset };
  } finally {
    closeSync(fd);
  }
}
