import { readFileSync, statSync } from 'node:fs';
import { readGgufFileInfo } from 'node-llama-cpp';
import { describe, expect, it } from 'vitest';
import type { LanguageModel } from '../../models/descriptors.ts';
import { GGUF_FILE_SESSION, ggufArchitecture, ggufMetadata } from '../../models/gguf/llm.ts';
import { quantizeBlockQ4_0, quantizeBlockQ8_0 } from '../../models/gguf/quants.ts';
import { embeddingTable } from '../../models/layers/embedding.ts';
import { linearWeight } from '../../models/layers/linear.ts';
import { qkvSpec } from '../../models/layers/decoder.ts';
import { onnx } from '../../models/onnx/proto.ts';
import { decodeWeightBytesPerToken } from '../../models/weight-bytes.ts';
import { ensureModel, getDescriptor, type Precision } from '../../models/zoo.ts';
import { tempDir } from '../helpers/tmp.ts';

const cacheDir = tempDir('gguf-test-');

/** IEEE half -> number (the reader's own, independent of the writer's encoder). */
function fromHalfBits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

// ---- A minimal GGUF reader written from the format description (not the writer's code). ----

interface ReadTensor {
  name: string;
  ne: number[];
  type: number;
  offset: number;
}
interface ReadGguf {
  version: number;
  metadata: Map<string, unknown>;
  tensors: ReadTensor[];
  dataStart: number;
  buf: Buffer;
}

function parseGguf(path: string): ReadGguf {
  const buf = readFileSync(path);
  let p = 0;
  const u32 = () => ((p += 4), buf.readUInt32LE(p - 4));
  const u64 = () => ((p += 8), Number(buf.readBigUInt64LE(p - 8)));
  const s = () => {
    const n = u64();
    p += n;
    return buf.toString('utf8', p - n, p);
  };
  const value = (type: number): unknown => {
    switch (type) {
      case 0: return buf.readUInt8(p++);
      case 1: return buf.readInt8(p++);
      case 4: return u32();
      case 5: return ((p += 4), buf.readInt32LE(p - 4));
      case 6: return ((p += 4), buf.readFloatLE(p - 4));
      case 7: return buf.readUInt8(p++) !== 0;
      case 8: return s();
      case 9: {
        const itemType = u32();
        const n = u64();
        return Array.from({ length: n }, () => value(itemType));
      }
      case 10: return u64();
      default: throw new Error(`value type ${type} not expected in a zoo GGUF`);
    }
  };
  expect(buf.toString('latin1', 0, 4)).toBe('GGUF');
  p = 4;
  const version = u32();
  const nTensors = u64();
  const nKv = u64();
  const metadata = new Map<string, unknown>();
  for (let i = 0; i < nKv; i++) {
    const key = s();
    metadata.set(key, value(u32()));
  }
  const tensors: ReadTensor[] = [];
  for (let i = 0; i < nTensors; i++) {
    const name = s();
    const nd = u32();
    const ne = Array.from({ length: nd }, () => u64());
    tensors.push({ name, ne, type: u32(), offset: u64() });
  }
  const alignment = (metadata.get('general.alignment') as number | undefined) ?? 32;
  const dataStart = Math.ceil(p / alignment) * alignment;
  return { version, metadata, tensors, dataStart, buf };
}

/** Row `r` of a tensor, dequantised as ggml defines its types (F32 0, F16 1, Q4_0 2, Q8_0 8). */
function dequantRow(g: ReadGguf, t: ReadTensor, r: number): Float32Array {
  const cols = t.ne[0]!;
  const out = new Float32Array(cols);
  const rowBytes = { 0: cols * 4, 1: cols * 2, 2: (cols / 32) * 18, 8: (cols / 32) * 34 }[t.type as 0 | 1 | 2 | 8];
  const base = g.dataStart + t.offset + r * rowBytes;
  const b = g.buf;
  for (let blk = 0; blk < (t.type === 0 || t.type === 1 ? 1 : cols / 32); blk++) {
    if (t.type === 0) for (let c = 0; c < cols; c++) out[c] = b.readFloatLE(base + 4 * c);
    else if (t.type === 1) for (let c = 0; c < cols; c++) out[c] = fromHalfBits(b.readUInt16LE(base + 2 * c));
    else if (t.type === 8) {
      const at = base + blk * 34;
      const d = fromHalfBits(b.readUInt16LE(at));
      for (let j = 0; j < 32; j++) out[blk * 32 + j] = d * b.readInt8(at + 2 + j);
    } else {
      const at = base + blk * 18;
      const d = fromHalfBits(b.readUInt16LE(at));
      for (let j = 0; j < 16; j++) {
        const byte = b.readUInt8(at + 2 + j);
        out[blk * 32 + j] = d * ((byte & 0x0f) - 8);
        out[blk * 32 + 16 + j] = d * ((byte >> 4) - 8);
      }
    }
  }
  return out;
}

/** llama.cpp tensor names and ggml dims (ne[0] = input features) a descriptor's LLM must have. */
function expectedTensors(llm: LanguageModel): Map<string, number[]> {
  const m = new Map<string, number[]>();
  const q = llm.heads * llm.headDim;
  const kv = llm.kvHeads * llm.headDim;
  m.set('token_embd.weight', [llm.hidden, llm.vocab]);
  for (let i = 0; i < llm.layers; i++) {
    m.set(`blk.${i}.attn_norm.weight`, [llm.hidden]);
    m.set(`blk.${i}.attn_q.weight`, [llm.hidden, q]);
    m.set(`blk.${i}.attn_k.weight`, [llm.hidden, kv]);
    m.set(`blk.${i}.attn_v.weight`, [llm.hidden, kv]);
    if (llm.qkvBias) {
      m.set(`blk.${i}.attn_q.bias`, [q]);
      m.set(`blk.${i}.attn_k.bias`, [kv]);
      m.set(`blk.${i}.attn_v.bias`, [kv]);
    }
    if (llm.qkNorm) {
      m.set(`blk.${i}.attn_q_norm.weight`, [llm.headDim]);
      m.set(`blk.${i}.attn_k_norm.weight`, [llm.headDim]);
    }
    m.set(`blk.${i}.attn_output.weight`, [q, llm.hidden]);
    m.set(`blk.${i}.ffn_norm.weight`, [llm.hidden]);
    m.set(`blk.${i}.ffn_gate.weight`, [llm.hidden, llm.intermediate]);
    m.set(`blk.${i}.ffn_up.weight`, [llm.hidden, llm.intermediate]);
    m.set(`blk.${i}.ffn_down.weight`, [llm.intermediate, llm.hidden]);
  }
  m.set('output_norm.weight', [llm.hidden]);
  if (!llm.tieWordEmbeddings) m.set('output.weight', [llm.hidden, llm.vocab]);
  return m;
}

const GGML_ID: Record<Precision, number> = { fp32: 0, fp16: 1, int4: 2, int8: 8 };

function gguf(model: string, precision: Precision) {
  return ensureModel({ model, scale: 'tiny', precision, layout: 'gguf', cacheDir });
}

describe('ggml block encodings', () => {
  it('Q8_0: fp16 scale amax/127, then 32 int8 codes rounded half away from zero', () => {
    const x = new Float32Array(32);
    x[0] = 127;
    x[1] = -63.5;
    x[2] = 0.5;
    x[3] = -127;
    const out = new DataView(new ArrayBuffer(34));
    quantizeBlockQ8_0(x, 0, out, 0);
    expect(out.getUint16(0, true)).toBe(0x3c00); // d = 1.0
    expect([out.getInt8(2), out.getInt8(3), out.getInt8(4), out.getInt8(5), out.getInt8(6)]).toEqual([127, -64, 1, -127, 0]);
  });

  it('Q4_0: scale max/-8, codes +8, element j in the low nibble and j+16 in the high nibble of byte j', () => {
    const x = new Float32Array(32);
    x[0] = -8; // largest magnitude, negative: d = -8 / -8 = 1, code 0
    x[16] = 4; // code trunc(4 + 8.5) = 12, high nibble of byte 0
    x[1] = 7; // code 15
    x[17] = -3; // code 5
    const out = new DataView(new ArrayBuffer(18));
    quantizeBlockQ4_0(x, 0, out, 0);
    expect(out.getUint16(0, true)).toBe(0x3c00);
    expect(out.getUint8(2)).toBe(0x00 | (12 << 4));
    expect(out.getUint8(3)).toBe(15 | (5 << 4));
    for (let j = 2; j < 16; j++) expect(out.getUint8(2 + j)).toBe(0x88); // zeros -> code 8 in both nibbles
    // A positive extreme gives a negative scale (code 0 again holds it).
    const y = new Float32Array(32).fill(0);
    y[5] = 2;
    quantizeBlockQ4_0(y, 0, out, 0);
    expect(fromHalfBits(out.getUint16(0, true))).toBe(-0.25);
    expect(out.getUint8(2 + 5) & 0x0f).toBe(0);
  });
});

describe('GGUF files of the zoo (tiny scale)', () => {
  it.each([
    ['internvl2_5-1b', 'qwen2', 'int8'],
    ['qwen2-vl-2b', 'qwen2vl', 'int4'],
    ['smolvlm-256m', 'llama', 'fp16'],
    ['internvl3_5-1b', 'qwen3', 'int8'],
    ['qwen2_5-vl-3b', 'qwen2vl', 'int4'],
    ['qwen3-vl-2b', 'qwen3vl', 'int8'],
  ] as const)('%s: %s architecture, metadata and tensor shapes from the descriptor (%s)', async (model, arch, precision) => {
    const built = await gguf(model, precision);
    const path = built.files[GGUF_FILE_SESSION]!;
    const g = parseGguf(path);
    const llm = getDescriptor(model, 'tiny').llm;
    expect(g.version).toBe(3);
    const md = g.metadata;
    expect(md.get('general.architecture')).toBe(arch);
    expect(String(md.get('general.name'))).toMatch(/SYNTHETIC random weights/);
    expect(md.get(`${arch}.context_length`)).toBe(llm.maxPositions);
    expect(md.get(`${arch}.embedding_length`)).toBe(llm.hidden);
    expect(md.get(`${arch}.block_count`)).toBe(llm.layers);
    expect(md.get(`${arch}.feed_forward_length`)).toBe(llm.intermediate);
    expect(md.get(`${arch}.attention.head_count`)).toBe(llm.heads);
    expect(md.get(`${arch}.attention.head_count_kv`)).toBe(llm.kvHeads);
    expect(md.get(`${arch}.rope.freq_base`)).toBe(Math.fround(llm.ropeTheta));
    expect(md.get(`${arch}.attention.layer_norm_rms_epsilon`)).toBe(Math.fround(llm.rmsEps));
    if (arch === 'qwen2vl' || arch === 'qwen3vl') expect(md.get(`${arch}.rope.dimension_sections`)).toEqual([...llm.mropeSections!, 0]);
    // Qwen3-VL: llama.cpp takes n_embd x (1 + levels) per input embedding (tiny: DeepStack from blocks 0 and 2).
    expect(md.get('qwen3vl.n_deepstack_layers')).toBe(arch === 'qwen3vl' ? 2 : undefined);
    expect(md.get('tokenizer.ggml.model')).toBe('gpt2');
    const tokens = md.get('tokenizer.ggml.tokens') as string[];
    expect(tokens).toHaveLength(llm.vocab);
    expect(new Set(tokens).size).toBe(llm.vocab);
    expect(md.get('tokenizer.ggml.token_type') as number[]).toHaveLength(llm.vocab);
    expect(md.get('tokenizer.ggml.eos_token_id')).toBe(llm.vocab - 1);

    const expected = expectedTensors(llm);
    expect(g.tensors.map((t) => t.name).sort()).toEqual([...expected.keys()].sort());
    for (const t of g.tensors) {
      expect(t.ne, t.name).toEqual(expected.get(t.name));
      expect(t.offset % 32, t.name).toBe(0);
      expect(t.type, t.name).toBe(t.ne.length === 1 ? 0 : GGML_ID[precision]);
    }
    // The data section ends where the file ends.
    const last = g.tensors[g.tensors.length - 1]!;
    const lastBytes = last.ne.length === 1 ? 4 * last.ne[0]! : { 0: 4, 1: 2, 2: 18 / 32, 8: 34 / 32 }[last.type as 0]! * last.ne[0]! * last.ne[1]!;
    expect(statSync(path).size).toBe(g.dataStart + Math.ceil((last.offset + lastBytes) / 32) * 32);

    // node-llama-cpp's own GGUF reader sees the same tensors.
    const info = await readGgufFileInfo(path);
    expect(info.version).toBe(3);
    expect(info.tensorInfo?.map((t) => [t.name, t.dimensions.map(Number), t.ggmlType])).toEqual(g.tensors.map((t) => [t.name, t.ne, t.type]));
  });

  it('refuses a Qwen3-VL LLM with as many DeepStack levels as layers (llama.cpp v0.4.0 cannot add one after the last layer), and M-RoPE forms llama.cpp has no architecture for', () => {
    const d = getDescriptor('qwen3-vl-2b', 'tiny');
    const md = (x: typeof d) => ggufMetadata(x, 1, 'F32', ggufArchitecture(x.llm));
    expect(() => md({ ...d, llm: { ...d.llm, layers: 2 } })).toThrow(/2 DeepStack levels for 2 LLM layers; llama.cpp's qwen3vl .*src\/models\/qwen3vl\.cpp/);
    expect(() => ggufArchitecture({ ...d.llm, mropeInterleaved: false })).toThrow(/contiguous M-RoPE sections has no llama.cpp architecture/);
    expect(() => ggufArchitecture({ ...d.llm, kind: 'qwen2' })).toThrow(/interleaved M-RoPE sections has no llama.cpp architecture/);
    expect(md(getDescriptor('qwen3-vl-2b', 'full')).find(([k]) => k === 'qwen3vl.n_deepstack_layers')?.[1]).toEqual({ type: 'uint32', value: 3 });
  });

  it('stores the same canonical weights as the ONNX build: q/k/v slices, the embedding table, llama q/k rows permuted for pair-wise RoPE', async () => {
    const seed = 1234;
    // Qwen2 Q4_0: attn_k row r is row q_rows + r of the packed qkv weight.
    const qwen = parseGguf((await gguf('internvl2_5-1b', 'int4')).files[GGUF_FILE_SESSION]!);
    const llm = getDescriptor('internvl2_5-1b', 'tiny').llm;
    const qkv = linearWeight(seed, qkvSpec(llm, 1));
    const qRows = llm.heads * llm.headDim;
    const k = qwen.tensors.find((t) => t.name === 'blk.1.attn_k.weight')!;
    for (const r of [0, 5, llm.kvHeads * llm.headDim - 1]) {
      const row = dequantRow(qwen, k, r);
      for (let c = 0; c < llm.hidden; c++) {
        const ref = qkv.at((qRows + r) * llm.hidden + c);
        // Q4_0 error: half a step (d/2, d = |max|/8), or a whole step where the code clamps at 15
        // (values of the other sign reach 7d only); a wrong row or nibble order is off by ~|max|.
        expect(Math.abs(row[c]! - ref)).toBeLessThanOrEqual(qkv.bound / 8 + 1e-3);
      }
    }
    // Q8_0 embedding row 300 equals the canonical table row.
    const q8 = parseGguf((await gguf('internvl2_5-1b', 'int8')).files[GGUF_FILE_SESSION]!);
    const table = embeddingTable(seed, llm);
    const embRow = dequantRow(q8, q8.tensors.find((t) => t.name === 'token_embd.weight')!, 300);
    for (let c = 0; c < llm.hidden; c++) expect(Math.abs(embRow[c]! - table.at(300 * llm.hidden + c))).toBeLessThanOrEqual(table.bound / 254 + 1e-4);

    // Llama F32: q row h*D + 2j + s holds HF row h*D + s*D/2 + j (llama.cpp's converter permutation).
    const smol = parseGguf((await gguf('smolvlm-256m', 'fp32')).files[GGUF_FILE_SESSION]!);
    const sl = getDescriptor('smolvlm-256m', 'tiny').llm;
    const w = linearWeight(seed, qkvSpec(sl, 0));
    const q = smol.tensors.find((t) => t.name === 'blk.0.attn_q.weight')!;
    const D = sl.headDim;
    for (const [h, j, s] of [[0, 0, 1], [1, 3, 0], [sl.heads - 1, D / 2 - 1, 1]] as const) {
      const row = dequantRow(smol, q, h * D + 2 * j + s);
      const hf = h * D + s * (D / 2) + j;
      for (let c = 0; c < sl.hidden; c++) expect(row[c]).toBe(Math.fround(w.at(hf * sl.hidden + c)));
    }
    // v is never permuted.
    const v = smol.tensors.find((t) => t.name === 'blk.0.attn_v.weight')!;
    const v3 = dequantRow(smol, v, 3);
    const vBase = (sl.heads + sl.kvHeads) * D + 3;
    for (let c = 0; c < sl.hidden; c++) expect(v3[c]).toBe(Math.fround(w.at(vBase * sl.hidden + c)));
  });

  it('the ONNX build of the same id has the same LLM shapes (MatMul B is [in, out], as ne)', async () => {
    const llm = getDescriptor('internvl2_5-1b', 'tiny').llm;
    const onnxBuild = await ensureModel({ model: 'internvl2_5-1b', scale: 'tiny', precision: 'fp32', layout: 'onnx-community', cacheDir });
    const dims = new Map<string, number[]>();
    for (const file of ['decoder_model_merged', 'lm_head', 'embed_tokens']) {
      for (const t of onnx.ModelProto.decode(readFileSync(onnxBuild.files[file]!)).graph?.initializer ?? []) dims.set(t.name ?? '', (t.dims ?? []).map(Number));
    }
    const ggufTensors = new Map(parseGguf((await gguf('internvl2_5-1b', 'fp32')).files[GGUF_FILE_SESSION]!).tensors.map((t) => [t.name, t.ne]));
    const expected = expectedTensors(llm);
    const q = llm.heads * llm.headDim;
    const kv = llm.kvHeads * llm.headDim;
    for (let i = 0; i < llm.layers; i++) {
      const p = `llm.layers.${i}`;
      // The ONNX decoder packs q|k|v in one MatMul; its width is the sum of the three GGUF tensors.
      expect(dims.get(`${p}.self_attn.qkv_proj.weight`)).toEqual([llm.hidden, q + 2 * kv]);
      expect(ggufTensors.get(`blk.${i}.attn_q.weight`)![1]! + ggufTensors.get(`blk.${i}.attn_k.weight`)![1]! + ggufTensors.get(`blk.${i}.attn_v.weight`)![1]!).toBe(q + 2 * kv);
      expect(dims.get(`${p}.self_attn.o_proj.weight`)).toEqual(expected.get(`blk.${i}.attn_output.weight`));
      expect(dims.get(`${p}.mlp.gate_proj.weight`)).toEqual(expected.get(`blk.${i}.ffn_gate.weight`));
      expect(dims.get(`${p}.mlp.up_proj.weight`)).toEqual(expected.get(`blk.${i}.ffn_up.weight`));
      expect(dims.get(`${p}.mlp.down_proj.weight`)).toEqual(expected.get(`blk.${i}.ffn_down.weight`));
      expect(dims.get(`${p}.input_layernorm.weight`)).toEqual(expected.get(`blk.${i}.attn_norm.weight`));
    }
    expect(dims.get('llm.lm_head.weight')).toEqual(expected.get('output.weight'));
    // The embedding table is a Gather table [vocab, hidden] in ONNX, ne [hidden, vocab] in GGUF: same matrix.
    expect(dims.get('llm.embed_tokens.weight')).toEqual([...expected.get('token_embd.weight')!].reverse());
  });

  it('states the weight bytes one decoded token reads in each form (Q8_0 8.5 bits, Q4_0 4.5 bits)', () => {
    const llm = getDescriptor('internvl2_5-1b', 'full').llm;
    // Qwen2.5-0.5B in InternVL: 24 x (896x1152 + 896x896 + 3 x 896x4864) + 896 x 151674 weights.
    const weights = 24 * (896 * 1152 + 896 * 896 + 3 * 896 * 4864) + 896 * 151674;
    expect(decodeWeightBytesPerToken(llm, 'int8', 'gguf')).toBe((weights * 34) / 32);
    expect(decodeWeightBytesPerToken(llm, 'int4', 'gguf')).toBe((weights * 18) / 32);
    expect(decodeWeightBytesPerToken(llm, 'fp16', 'gguf')).toBe(weights * 2);
    // ONNX int4 = 0.5 B + fp32 scale per 32 (5 bits); int8 = 1 B + fp32 scale per output row.
    expect(decodeWeightBytesPerToken(llm, 'int4', 'onnx')).toBe((weights * 20) / 32);
    const rows = 24 * (1152 + 896 + 2 * 4864 + 896) + 151674;
    expect(decodeWeightBytesPerToken(llm, 'int8', 'onnx')).toBe(weights + 4 * rows);
  });
});
