/**
 * Greedy token choice over a large vocabulary with WebAssembly SIMD.
 *
 * A decode step of a 0.5B decoder takes ~15 ms on two cores; a plain JavaScript argmax over
 * Qwen2's 151,674 logits takes ~0.17-0.22 ms of it, the largest share of the harness's own time
 * per step. Four lanes at a time with `f32x4.pmax` (one maxps) and a second pass that finds the
 * first lane equal to the maximum brings that to a few tens of microseconds. When the logits
 * already live in this module's memory (the runner binds lm_head's output there) nothing is
 * copied.
 *
 * The module is assembled here byte by byte (no toolchain needed); the instruction listing is
 * beside each opcode. Semantics match the scalar loop (core/argmax.ts): the first index of the
 * largest value, NaNs never win wherever they are (pmax keeps the left operand when a
 * comparison is false; the tail compares instead of f32.max, which would propagate a NaN).
 */

const SIMD = 0xfd;
const leb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
};
const section = (id: number, body: number[]): number[] => [id, ...leb(body.length), ...body];
const str = (s: string): number[] => [...leb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];

// locals: 0 ptr (bytes), 1 n (elements) | 2 i, 3 end4, 4 vec (v128), 5 m (f32), 6 end,
// 7 end16, 8-10 three more v128 accumulators (four independent max chains hide pmax's latency)
const [PTR, N, I, END4, VEC, M, END, END16, V1, V2, V3] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;
const get = (l: number) => [0x20, l];
const set = (l: number) => [0x21, l];
const i32c = (v: number) => [0x41, ...lebSigned(v)];
function lebSigned(v: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}
const f32c = (v: number) => [0x43, ...new Uint8Array(Float32Array.of(v).buffer)];
const add = 0x6a;
const sub = 0x6b;
const and = 0x71;
const shl = 0x74;
const shrU = 0x76;
const geU = 0x4f;
const v128Load = [SIMD, 0x00, 4, 0]; // align 2^4, offset 0
const v128LoadAt = (offset: number) => [SIMD, 0x00, 4, offset];
const f32Load = [0x2a, 2, 0];
const f32Eq = 0x5b;
const f32Max = 0x97;
const f32Gt = 0x5e;
const select = 0x1b;
const f32x4Splat = [SIMD, 0x13];
const f32x4Lane = (lane: number) => [SIMD, 0x1f, lane];
const f32x4Eq = [SIMD, 0x41];
const f32x4Pmax = [SIMD, ...leb(0xeb)];
const anyTrue = [SIMD, 0x53];
const block = [0x02, 0x40];
const loop = [0x03, 0x40];
const ifVoid = [0x04, 0x40];
const end = 0x0b;
const br = (d: number) => [0x0c, d];
const brIf = (d: number) => [0x0d, d];
const ret = 0x0f;

const body: number[] = [
  // local declarations: 2 x i32 (i, end4), 1 x v128, 1 x f32, 2 x i32 (end, end16), 3 x v128
  5, 2, I32, 1, V128, 1, F32, 2, I32, 3, V128,
  // end = ptr + n*4; end4 = ptr + (n & ~3)*4
  ...get(PTR), ...get(N), ...i32c(2), shl, add, ...set(END),
  ...get(PTR), ...get(N), ...i32c(-4), and, ...i32c(2), shl, add, ...set(END4),
  ...get(PTR), ...get(N), ...i32c(-16), and, ...i32c(2), shl, add, ...set(END16),
  // pass 1: four accumulators over blocks of 16, folded into vec, then blocks of 4
  ...f32c(-Infinity), ...f32x4Splat, ...set(VEC),
  ...get(VEC), ...set(V1), ...get(VEC), ...set(V2), ...get(VEC), ...set(V3),
  ...get(PTR), ...set(I),
  ...block, ...loop,
  ...get(I), ...get(END16), geU, ...brIf(1),
  ...get(VEC), ...get(I), ...v128Load, ...f32x4Pmax, ...set(VEC),
  ...get(V1), ...get(I), ...v128LoadAt(16), ...f32x4Pmax, ...set(V1),
  ...get(V2), ...get(I), ...v128LoadAt(32), ...f32x4Pmax, ...set(V2),
  ...get(V3), ...get(I), ...v128LoadAt(48), ...f32x4Pmax, ...set(V3),
  ...get(I), ...i32c(64), add, ...set(I),
  ...br(0), end, end,
  ...get(VEC), ...get(V1), ...f32x4Pmax, ...get(V2), ...get(V3), ...f32x4Pmax, ...f32x4Pmax, ...set(VEC),
  ...block, ...loop,
  ...get(I), ...get(END4), geU, ...brIf(1),
  ...get(VEC), ...get(I), ...v128Load, ...f32x4Pmax, ...set(VEC),
  ...get(I), ...i32c(16), add, ...set(I),
  ...br(0), end, end,
  // m = max of the four lanes, then of the tail
  ...get(VEC), ...f32x4Lane(0), ...get(VEC), ...f32x4Lane(1), f32Max,
  ...get(VEC), ...f32x4Lane(2), ...get(VEC), ...f32x4Lane(3), f32Max, f32Max, ...set(M),
  ...block, ...loop,
  ...get(I), ...get(END), geU, ...brIf(1),
  // m = v > m ? v : m (not f32.max, which returns NaN when either is NaN: a NaN must never win)
  ...get(I), ...f32Load, ...get(M), ...get(I), ...f32Load, ...get(M), f32Gt, select, ...set(M),
  ...get(I), ...i32c(4), add, ...set(I),
  ...br(0), end, end,
  // pass 2: first block of 4 holding m
  ...get(M), ...f32x4Splat, ...set(VEC),
  ...get(PTR), ...set(I),
  ...block, ...loop,
  ...get(I), ...get(END4), geU, ...brIf(1),
  ...get(I), ...v128Load, ...get(VEC), ...f32x4Eq, ...anyTrue, ...brIf(1),
  ...get(I), ...i32c(16), add, ...set(I),
  ...br(0), end, end,
  // scalar scan from that block to the end
  ...block, ...loop,
  ...get(I), ...get(END), geU, ...brIf(1),
  ...get(I), ...f32Load, ...get(M), f32Eq,
  ...ifVoid, ...get(I), ...get(PTR), sub, ...i32c(2), shrU, ret, end,
  ...get(I), ...i32c(4), add, ...set(I),
  ...br(0), end, end,
  ...i32c(-1),
  end,
];

function moduleBytes(): Uint8Array<ArrayBuffer> {
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 2, I32, I32, 1, I32]), // type 0: (i32, i32) -> i32
    ...section(3, [1, 0]), // func 0 has type 0
    ...section(5, [1, 0x00, 1]), // one memory, min 1 page, grown on demand
    ...section(7, [2, ...str('argmax'), 0x00, 0, ...str('mem'), 0x02, 0]),
    ...section(10, [1, ...leb(body.length), ...body]),
  ]);
}

interface Exports {
  argmax(ptr: number, n: number): number;
  mem: WebAssembly.Memory;
}

let compiled: WebAssembly.Module | null | undefined;

function compile(): WebAssembly.Module | null {
  if (compiled === undefined) {
    try {
      compiled = new WebAssembly.Module(moduleBytes());
    } catch {
      compiled = null; // no WebAssembly SIMD here: callers fall back to the scalar loop
    }
  }
  return compiled;
}

/**
 * One argmax instance with its own memory. `logits` is a Float32Array inside that memory, for a
 * session to write its output into (a pre-allocated fetch), so argmax reads the values where
 * they are. Each owner (a pipeline, the shared fallback) has its own instance, so nobody else's
 * copy can overwrite logits a session just wrote.
 */
export class SimdArgmax {
  private readonly wasm: Exports;
  logits: Float32Array;

  private constructor(wasm: Exports, capacity: number) {
    this.wasm = wasm;
    this.logits = new Float32Array(0);
    this.reserve(capacity);
  }

  /** Null when this JavaScript engine has no WebAssembly SIMD. */
  static create(capacity: number): SimdArgmax | null {
    const mod = compile();
    if (!mod) return null;
    return new SimdArgmax(new WebAssembly.Instance(mod, {}).exports as unknown as Exports, capacity);
  }

  /** Makes `logits` hold at least `length` values (growing the memory replaces the array). */
  reserve(length: number): Float32Array {
    const have = this.wasm.mem.buffer.byteLength;
    if (have < length * 4) this.wasm.mem.grow(Math.ceil((length * 4 - have) / 65536));
    if (this.logits.buffer !== this.wasm.mem.buffer || this.logits.length < length) this.logits = new Float32Array(this.wasm.mem.buffer, 0, length);
    return this.logits;
  }

  /** Index (relative to offset) of the first largest value; -1 when every value is NaN. */
  argmax(data: Float32Array, offset: number, length: number): number {
    if (data.buffer === this.wasm.mem.buffer) return this.wasm.argmax(data.byteOffset + offset * 4, length);
    this.reserve(length).set(data.subarray(offset, offset + length));
    return this.wasm.argmax(0, length);
  }
}
