/**
 * The LLM of a zoo descriptor as a llama.cpp GGUF file: the same canonical random weights the
 * ONNX layouts write (models/layers/decoder.ts names, models/weights/random.ts values), under
 * llama.cpp's tensor names and metadata keys, so both runtimes run the same model.
 *
 * Architectures (llama.cpp `general.architecture`):
 * - `qwen2` for Qwen2.5 (InternVL2.5's LLM): NEOX RoPE (rotate_half, as the ONNX graphs), q/k/v bias.
 * - `qwen2vl` for Qwen2-VL's LLM: qwen2 tensors plus `qwen2vl.rope.dimension_sections`
 *   (M-RoPE t/h/w sections; llama.cpp gives text tokens the same position on all axes, which
 *   equals 1-D RoPE, as the ONNX build does for text).
 * - `qwen3` for Qwen3 (InternVL3.5's LLM): no q/k/v bias, `attn_q_norm` / `attn_k_norm` gains
 *   over head_dim (QK-norm).
 * - `qwen3vl` for Qwen3-VL's LLM: qwen3 tensors plus `qwen3vl.rope.dimension_sections` [t, h, w, 0]
 *   (llama.cpp applies them interleaved, LLAMA_ROPE_TYPE_IMROPE) and `qwen3vl.n_deepstack_layers`
 *   (the vision tower's DeepStack taps): llama.cpp then takes n_embd x (1 + taps) per input
 *   embedding and adds slice k+1 to the output of layer k (src/models/qwen3vl.cpp), as the ONNX
 *   decoder adds deepstack_visual_embeds[k] after layer k. Text tokens get zeros there.
 *   One difference from HF's interleaved M-RoPE that no file can remove: ggml gives the rotary
 *   pairs past 3 x section (j % 3 == 1 or 2, j >= 3 x h or 3 x w sections) the 4th position
 *   (0 for text and image tokens) where HF gives them t; those are the slowest frequencies
 *   (pairs 61 and 62 of 64 at full scale, 7 of 8 at tiny: angles under 1e-5 rad per position).
 * - `llama` for SmolLM2 (SmolVLM's LLM): llama.cpp rotates adjacent pairs (ROPE_TYPE_NORM), so
 *   q and k rows are permuted as llama.cpp's HF converter does, which keeps the function equal
 *   to the rotate_half ONNX graph on the same weights.
 *
 * Tokenizer: byte-level BPE (`gpt2`, as both Qwen2 and SmolLM2 ship): the 256 byte symbols,
 * placeholder tokens up to the descriptor's vocabulary size, one control token
 * `<|endoftext|>` (last id) as BOS/EOS, no merges. It tokenises any text (byte by byte) and
 * detokenises any id, which is all a latency benchmark needs; it is not the real vocabulary.
 */
import { join } from 'node:path';
import { InputError } from '../../core/errors.ts';
import type { LanguageModel, VlmDescriptor } from '../descriptors.ts';
import { lmHeadSpec, mlpSpecs, oProjSpec, qkvSpec } from '../layers/decoder.ts';
import { embeddingTable } from '../layers/embedding.ts';
import { linearBias, linearWeight, type Precision } from '../layers/linear.ts';
import { gainTensor } from '../layers/norms.ts';
import type { LayoutBuild, LayoutResult } from '../layouts/types.ts';
import type { RandomTensor } from '../weights/random.ts';
import { f32, str, u32, writeGguf, type GgufTensor, type GgufValue } from './container.ts';
import { mmprojContent, mmprojSupport } from './mmproj.ts';
import { encodeMatrix, type GgmlTypeName } from './quants.ts';

/** Zoo precision -> the ggml type of every matmul weight (token embedding and output included). */
export const GGUF_WEIGHT_TYPE: Record<Precision, GgmlTypeName> = { fp32: 'F32', fp16: 'F16', int8: 'Q8_0', int4: 'Q4_0' };

/** llama_ftype of such a file (general.file_type). */
const FILE_TYPE: Record<GgmlTypeName, number> = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 7 };

export type GgufArchitecture = 'qwen2' | 'qwen2vl' | 'qwen3' | 'qwen3vl' | 'llama';

/** llama.cpp architecture of a descriptor's LLM. */
export function ggufArchitecture(llm: LanguageModel): GgufArchitecture {
  if (llm.kind === 'llama') return 'llama';
  if (llm.kind === 'qwen3') {
    if (!llm.mropeSections) return 'qwen3';
    // llama.cpp's only Qwen3 arch with M-RoPE is qwen3vl, whose sections are interleaved.
    if (!llm.mropeInterleaved) throw new InputError('GGUF: a Qwen3 LLM with contiguous M-RoPE sections has no llama.cpp architecture (qwen3vl interleaves them)');
    return 'qwen3vl';
  }
  if (llm.mropeInterleaved) throw new InputError('GGUF: a Qwen2 LLM with interleaved M-RoPE sections has no llama.cpp architecture (qwen2vl keeps them contiguous)');
  return llm.mropeSections ? 'qwen2vl' : 'qwen2';
}

/**
 * DeepStack levels of a Qwen3-VL LLM in llama.cpp. Fewer than its layers: llama.cpp v0.4.0
 * (src/models/qwen3vl.cpp) cuts the last layer's rows to the output rows before adding level
 * k after layer k, so a level after the last layer aborts every decode in ggml
 * (GGML_ASSERT(ggml_can_repeat(b, a)) in ggml_add); the real models have 3 levels for 28+ layers.
 */
function deepstackLevels(d: VlmDescriptor): number {
  const levels = d.vision.deepstackLayers?.length ?? 0;
  if (levels >= d.llm.layers) {
    throw new InputError(`GGUF: ${d.id} (${d.scale}) has ${levels} DeepStack levels for ${d.llm.layers} LLM layers; llama.cpp's qwen3vl adds level k after layer k and cannot add one after the last layer (src/models/qwen3vl.cpp), so it needs more layers than levels`);
  }
  return levels;
}

/** llama.cpp pre-tokenizer names of the real models (tokenizer.ggml.pre). */
const PRE_TOKENIZER: Record<VlmDescriptor['family'], string> = {
  internvl: 'qwen2',
  'qwen2-vl': 'qwen2',
  'qwen2_5-vl': 'qwen2',
  'qwen3-vl': 'qwen2',
  smolvlm: 'smollm',
};

/** GPT-2's byte -> printable character table (byte-level BPE symbols). */
export function byteSymbols(): string[] {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const symbols: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) symbols[b] = String.fromCodePoint(printable.includes(b) ? b : 256 + extra++);
  return symbols;
}

const TOKEN_TYPE = { normal: 1, control: 3, userDefined: 4 } as const;
export const CONTROL_TOKEN_TEXT = '<|endoftext|>';

/**
 * Tokens llama.cpp's mtmd looks up by their text to wrap an image (mtmd.cpp lookup_token; a
 * missing one becomes token id -1 in the prompt, which decoding refuses). Idefics3 (SmolVLM)
 * wraps the global image in "\n\n" "<fake_token_around_image>" "<global-img>" ...
 * "<fake_token_around_image>"; the other families' wrappers are plain text. Written right after
 * the 256 byte symbols: "\n\n" as a normal byte-level token (no merge produces it, so text
 * still tokenises byte by byte), the others as user-defined tokens.
 */
const MTMD_LOOKUP_TOKENS: Partial<Record<VlmDescriptor['family'], string[]>> = {
  smolvlm: ['\n\n', '<fake_token_around_image>', '<global-img>'],
};

export interface PlaceholderVocab {
  tokens: string[];
  tokenTypes: Int32Array;
  /** The control token, used as BOS and EOS. */
  controlId: number;
}

export function placeholderVocab(size: number, lookupTokens: readonly string[] = []): PlaceholderVocab {
  if (size < 258 + lookupTokens.length) throw new Error(`a byte-level vocabulary needs at least ${258 + lookupTokens.length} tokens, got ${size}`);
  const symbols = byteSymbols();
  const tokens = [...symbols];
  const tokenTypes = new Int32Array(size).fill(TOKEN_TYPE.normal);
  for (const text of lookupTokens) {
    const bytes = Buffer.from(text, 'utf8');
    const plain = bytes.every((b) => b === 0x0a);
    if (!plain) tokenTypes[tokens.length] = TOKEN_TYPE.userDefined;
    tokens.push(plain ? Array.from(bytes, (b) => symbols[b]).join('') : text);
  }
  for (let id = tokens.length; id < size - 1; id++) tokens.push(`<synthetic_${id}>`);
  tokens.push(CONTROL_TOKEN_TEXT);
  tokenTypes[size - 1] = TOKEN_TYPE.control;
  return { tokens, tokenTypes, controlId: size - 1 };
}

/** A `[rows, cols]` weight encoded as `type`, optionally a row range of a packed tensor and/or rows reordered. */
function matrixTensor(
  name: string,
  type: GgmlTypeName,
  source: RandomTensor,
  rows: number,
  rowOffset = 0,
  rowMap: (row: number) => number = (r) => r,
): GgufTensor {
  const cols = source.shape[source.shape.length - 1]!;
  return {
    name,
    ne: [cols, rows],
    type,
    produce: encodeMatrix(type, rows, cols, (r, c) => source.at((rowOffset + rowMap(r)) * cols + c)),
  };
}

function vectorTensor(name: string, source: RandomTensor, offset = 0, length = source.size): GgufTensor {
  return { name, ne: [length], type: 'F32', produce: encodeMatrix('F32', 1, length, (_r, c) => source.at(offset + c)) };
}

/** llama.cpp's HF->GGUF q/k permutation (rotate_half halves -> adjacent pairs), per head of `headDim` rows. */
function ropePairPermutation(headDim: number): (row: number) => number {
  const half = headDim / 2;
  return (row) => {
    const head = Math.floor(row / headDim);
    const within = row % headDim;
    return head * headDim + (within % 2) * half + Math.floor(within / 2);
  };
}

/** Tensor list in llama.cpp's names and ggml shapes (ne[0] = input features). */
export function ggufTensors(llm: LanguageModel, seed: number, type: GgmlTypeName, arch: GgufArchitecture): GgufTensor[] {
  const tensors: GgufTensor[] = [];
  const embed = embeddingTable(seed, llm);
  tensors.push(matrixTensor('token_embd.weight', type, embed, llm.vocab));
  const qRows = llm.heads * llm.headDim;
  const kvRows = llm.kvHeads * llm.headDim;
  const permute = arch === 'llama' ? ropePairPermutation(llm.headDim) : undefined;
  for (let i = 0; i < llm.layers; i++) {
    const p = `blk.${i}`;
    tensors.push(vectorTensor(`${p}.attn_norm.weight`, gainTensor(seed, `llm.layers.${i}.input_layernorm.weight`, llm.hidden)));
    const qkv = qkvSpec(llm, i);
    const w = linearWeight(seed, qkv);
    tensors.push(matrixTensor(`${p}.attn_q.weight`, type, w, qRows, 0, permute));
    tensors.push(matrixTensor(`${p}.attn_k.weight`, type, w, kvRows, qRows, permute));
    tensors.push(matrixTensor(`${p}.attn_v.weight`, type, w, kvRows, qRows + kvRows));
    if (qkv.bias) {
      // Biases of permuted rows would need the same permutation; llama-class models have none.
      if (permute) throw new Error(`${llm.kind}: q/k bias with a RoPE row permutation is not supported`);
      const b = linearBias(seed, qkv);
      tensors.push(vectorTensor(`${p}.attn_q.bias`, b, 0, qRows));
      tensors.push(vectorTensor(`${p}.attn_k.bias`, b, qRows, kvRows));
      tensors.push(vectorTensor(`${p}.attn_v.bias`, b, qRows + kvRows, kvRows));
    }
    if (llm.qkNorm) {
      // Qwen3 QK-norm: one RMSNorm gain over head_dim, shared by every q (k) head.
      tensors.push(vectorTensor(`${p}.attn_q_norm.weight`, gainTensor(seed, `llm.layers.${i}.self_attn.q_norm.weight`, llm.headDim)));
      tensors.push(vectorTensor(`${p}.attn_k_norm.weight`, gainTensor(seed, `llm.layers.${i}.self_attn.k_norm.weight`, llm.headDim)));
    }
    tensors.push(matrixTensor(`${p}.attn_output.weight`, type, linearWeight(seed, oProjSpec(llm, i)), llm.hidden));
    tensors.push(vectorTensor(`${p}.ffn_norm.weight`, gainTensor(seed, `llm.layers.${i}.post_attention_layernorm.weight`, llm.hidden)));
    const m = mlpSpecs(llm, i);
    tensors.push(matrixTensor(`${p}.ffn_gate.weight`, type, linearWeight(seed, m.gate), llm.intermediate));
    tensors.push(matrixTensor(`${p}.ffn_up.weight`, type, linearWeight(seed, m.up), llm.intermediate));
    tensors.push(matrixTensor(`${p}.ffn_down.weight`, type, linearWeight(seed, m.down), llm.hidden));
  }
  tensors.push(vectorTensor('output_norm.weight', gainTensor(seed, 'llm.norm.weight', llm.hidden)));
  // A tied head reads token_embd (llama.cpp falls back to it when `output` is absent).
  if (!llm.tieWordEmbeddings) tensors.push(matrixTensor('output.weight', type, linearWeight(seed, lmHeadSpec(llm)), llm.vocab));
  return tensors;
}

export function ggufMetadata(d: VlmDescriptor, seed: number, type: GgmlTypeName, arch: GgufArchitecture): Array<[string, GgufValue]> {
  const llm = d.llm;
  const vocab = placeholderVocab(llm.vocab, MTMD_LOOKUP_TOKENS[d.family]);
  const a = arch;
  const md: Array<[string, GgufValue]> = [
    ['general.architecture', str(arch)],
    ['general.type', str('model')],
    ['general.name', str(`SYNTHETIC random weights: ${d.id} LLM (${d.scale}), seed ${seed}, not a trained model`)],
    ['general.description', str(`vlm-edge-bench model zoo: the ${d.description} language model architecture with random seeded weights and a placeholder vocabulary, for latency measurement only`)],
    ['general.file_type', u32(FILE_TYPE[type])],
    ['general.quantization_version', u32(2)],
    ['general.alignment', u32(32)],
    [`${a}.context_length`, u32(llm.maxPositions)],
    [`${a}.embedding_length`, u32(llm.hidden)],
    [`${a}.block_count`, u32(llm.layers)],
    [`${a}.feed_forward_length`, u32(llm.intermediate)],
    [`${a}.attention.head_count`, u32(llm.heads)],
    [`${a}.attention.head_count_kv`, u32(llm.kvHeads)],
    [`${a}.attention.key_length`, u32(llm.headDim)],
    [`${a}.attention.value_length`, u32(llm.headDim)],
    [`${a}.rope.dimension_count`, u32(llm.headDim)],
    [`${a}.rope.freq_base`, f32(llm.ropeTheta)],
    [`${a}.attention.layer_norm_rms_epsilon`, f32(llm.rmsEps)],
    [`${a}.vocab_size`, u32(llm.vocab)],
  ];
  if (arch === 'qwen2vl' || arch === 'qwen3vl') {
    const [t, h, w] = llm.mropeSections!;
    md.push([`${a}.rope.dimension_sections`, { type: 'array', itemType: 'int32', value: [t, h, w, 0] }]);
  }
  // The DeepStack levels the mmproj appends to each image token (llama.cpp checks the widths agree).
  if (arch === 'qwen3vl') md.push([`${a}.n_deepstack_layers`, u32(deepstackLevels(d))]);
  md.push(
    ['tokenizer.ggml.model', str('gpt2')],
    ['tokenizer.ggml.pre', str(PRE_TOKENIZER[d.family])],
    ['tokenizer.ggml.tokens', { type: 'array', itemType: 'string', value: vocab.tokens }],
    ['tokenizer.ggml.token_type', { type: 'array', itemType: 'int32', value: vocab.tokenTypes }],
    ['tokenizer.ggml.merges', { type: 'array', itemType: 'string', value: [] }],
    ['tokenizer.ggml.bos_token_id', u32(vocab.controlId)],
    ['tokenizer.ggml.eos_token_id', u32(vocab.controlId)],
    ['tokenizer.ggml.padding_token_id', u32(vocab.controlId)],
    ['tokenizer.ggml.add_bos_token', { type: 'bool', value: false }],
  );
  return md;
}

export const GGUF_FILE_SESSION = 'llm';
/** Session name of the vision tower + projector (llama.cpp mtmd's mmproj file), when the family has one. */
export const GGUF_MMPROJ_SESSION = 'mmproj';

/**
 * The zoo layout `gguf`: `<id>-llm-<type>.gguf` holding the LLM and, for the families mtmd's
 * graph is written for (models/gguf/mmproj.ts), `<id>-mmproj-<type>.gguf` holding the vision
 * tower and projector.
 */
export function buildGguf(b: LayoutBuild): LayoutResult {
  const d = b.descriptor;
  const type = GGUF_WEIGHT_TYPE[b.lin.precision];
  const arch = ggufArchitecture(d.llm);
  const file = `${d.id}-llm-${type}.gguf`;
  b.log(`${file} (${arch}, ${type})`);
  const written = writeGguf(join(b.dir, file), ggufMetadata(d, b.lin.seed, type, arch), ggufTensors(d.llm, b.lin.seed, type, arch));
  const files: Record<string, string> = { [GGUF_FILE_SESSION]: written.path };
  const sizes: Record<string, number> = { [file]: written.bytes };
  if ('projector' in mmprojSupport(d)) {
    const mm = mmprojContent(d, b.lin.seed, b.lin.precision, b.mmprojType);
    const mmFile = `${d.id}-mmproj-${mm.type}.gguf`;
    b.log(`${mmFile} (clip, ${mm.type})`);
    const mmWritten = writeGguf(join(b.dir, mmFile), mm.metadata, mm.tensors);
    files[GGUF_MMPROJ_SESSION] = mmWritten.path;
    sizes[mmFile] = mmWritten.bytes;
  }
  return { files, assets: {}, sizes, params: {} };
}
