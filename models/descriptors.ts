/**
 * Architecture descriptors of the zoo: data only. Every number carries a citation in
 * `sources` (key = dotted field path) taken from /work/shared/reference/vlm-onnx.md; numbers the
 * notes mark UNVERIFIED say so in their citation. To add a model, add a `ZooEntry` below.
 */

export type Scale = 'full' | 'tiny';

export interface VisionTower {
  /**
   * Block structure: InternViT (LayerNorm, CLS, layer scale), SigLIP (no CLS, post-LN), the
   * Qwen-VL ViTs (flattened patches in, 2-D RoPE, patch merger): Qwen2-VL, Qwen2.5-VL (RMSNorm,
   * SwiGLU, window attention), Qwen3-VL (learned interpolated positions, DeepStack).
   */
  kind: 'internvit' | 'siglip' | 'qwen2-vit' | 'qwen2_5-vit' | 'qwen3-vit';
  imageSize: number;
  patchSize: number;
  channels: number;
  layers: number;
  hidden: number;
  heads: number;
  headDim: number;
  intermediate: number;
  normEps: number;
  qkvBias: boolean;
  /** Initial value of the per-channel layer-scale gains (ls1/ls2); null when the tower has none. */
  layerScale: number | null;
  /** A CLS token is prepended (and dropped again before the projector). */
  clsToken: boolean;
  /** MLP activation (the gated MLP is always SiLU). */
  activation: 'gelu' | 'gelu_tanh' | 'quick_gelu' | 'silu';
  /** A final LayerNorm after the last block (SigLIP post_layernorm). */
  postNorm: boolean;
  /** Qwen-VL: frames per temporal patch. */
  temporalPatchSize?: number;
  /** Block norms: LayerNorm with bias (default) or RMSNorm (Qwen2.5-VL). */
  norm?: 'layer' | 'rms';
  /** MLP: fc1 -> activation -> fc2 (default) or SiLU-gated gate/up/down with biases (Qwen2.5-VL). */
  mlp?: 'plain' | 'gated';
  /** The patch embedding (a Linear over flattened patches for the Qwen-VL towers) has a bias (Qwen3-VL). */
  patchBias?: boolean;
  /** Qwen2.5-VL window attention: window side in pixels; blocks not in fullAttentionBlocks attend within windows. */
  windowSize?: number;
  fullAttentionBlocks?: number[];
  /** Qwen3-VL: rows of the learned position table (a square grid), bilinearly interpolated to the patch grid. */
  positionEmbeddings?: number;
  /** Qwen3-VL DeepStack: blocks whose outputs are merged and added into the first LLM layers, in order. */
  deepstackLayers?: number[];
}

export interface ProjectorLayer {
  out: number;
  bias: boolean;
  activation?: 'gelu';
}

export interface Projector {
  /** Patches merged per side (pixel shuffle / spatial merge): 2 merges 2x2 patches into one token. */
  mergeFactor: number;
  /** LayerNorm on the merged features (InternVL mlp1[0]) or on each patch before merging (Qwen2-VL ln_q). */
  norm: 'after-merge' | 'before-merge' | null;
  normEps: number;
  layers: ProjectorLayer[];
}

export interface LanguageModel {
  /** Decoder family (all are pre-norm RMSNorm, SiLU-gated MLP, RoPE, GQA); qwen3 adds QK-norm. */
  kind: 'qwen2' | 'llama' | 'qwen3';
  layers: number;
  hidden: number;
  intermediate: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  vocab: number;
  ropeTheta: number;
  rmsEps: number;
  /** q/k/v projections carry a bias (Qwen2); o_proj never does. */
  qkvBias: boolean;
  tieWordEmbeddings: boolean;
  /** Rows of the RoPE cos/sin tables baked into the graphs. */
  maxPositions: number;
  /** Qwen2-VL multimodal RoPE sections (t, h, w) in rotary half-dims; absent for 1-D RoPE. */
  mropeSections?: [number, number, number];
  /**
   * Qwen3-VL interleaved M-RoPE: rotary half-dim j takes h positions when j % 3 == 1 and w when
   * j % 3 == 2 (while j < 3 x that section), t otherwise; absent = contiguous sections.
   */
  mropeInterleaved?: boolean;
  /** Qwen3: RMSNorm over head_dim on every query and key head (q_norm / k_norm), before RoPE. */
  qkNorm?: boolean;
}

export interface VlmDescriptor {
  id: string;
  family: 'internvl' | 'qwen2-vl' | 'qwen2_5-vl' | 'qwen3-vl' | 'smolvlm';
  scale: Scale;
  description: string;
  vision: VisionTower;
  projector: Projector;
  /** LLM tokens produced by one image tile of `vision.imageSize` squared. */
  imageTokensPerTile: number;
  llm: LanguageModel;
  /** Dotted field path -> where the number comes from. */
  sources: Record<string, string>;
}

interface ZooEntry {
  full: VlmDescriptor;
  /** Same structure, small numbers, for tests: only the fields that change. */
  tiny: { vision: Partial<VisionTower>; projector?: Partial<Projector>; llm: Partial<LanguageModel> };
}

const REF = '/work/shared/reference/vlm-onnx.md';

function tokensPerTile(vision: VisionTower, projector: Projector): number {
  const side = vision.imageSize / vision.patchSize / projector.mergeFactor;
  return side * side;
}

const INTERNVL2_5_1B: VlmDescriptor = {
  id: 'internvl2_5-1b',
  family: 'internvl',
  scale: 'full',
  description: 'InternVL2.5-1B: InternViT-300M-448px + pixel shuffle 0.5 + MLP projector + Qwen2.5-0.5B',
  vision: {
    kind: 'internvit',
    imageSize: 448,
    patchSize: 14,
    channels: 3,
    layers: 24,
    hidden: 1024,
    heads: 16,
    headDim: 64,
    intermediate: 4096,
    normEps: 1e-6,
    qkvBias: true,
    layerScale: 0.1,
    clsToken: true,
    activation: 'gelu',
    postNorm: false,
  },
  projector: {
    mergeFactor: 2,
    norm: 'after-merge',
    normEps: 1e-5,
    layers: [
      { out: 896, bias: true, activation: 'gelu' },
      { out: 896, bias: true },
    ],
  },
  imageTokensPerTile: 256,
  llm: {
    kind: 'qwen2',
    layers: 24,
    hidden: 896,
    intermediate: 4864,
    heads: 14,
    kvHeads: 2,
    headDim: 64,
    vocab: 151674,
    ropeTheta: 1e6,
    rmsEps: 1e-6,
    qkvBias: true,
    tieWordEmbeddings: false,
    maxPositions: 32768,
  },
  sources: {
    vision: `${REF} §2.1 (InternVL2-1B config.json copy tothelast/simlingo_qcar2_integration@a1ae471; InternVL3-1B module print shivangjhalani/multicoco@7741240): image_size 448, patch 14, 24 layers, hidden 1024, 16 heads, intermediate 4096, LayerNorm eps 1e-6, qkv_bias true, GELU, CLS dropped`,
    'vision.layerScale': `${REF} §2.1 names ls1/ls2 (InternViT layer scale); the init value 0.1 (InternViT initializer_factor) is an assumption, irrelevant to latency`,
    projector: `${REF} §2.1 (OpenGVLab modeling_internvl_chat.py): mlp1 = LayerNorm(4096) -> Linear(4096, 896) -> GELU -> Linear(896, 896); downsample_ratio 0.5; LayerNorm eps = PyTorch default 1e-5`,
    imageTokensPerTile: `${REF} §2.1: (448//14)^2 * 0.5^2 = 256`,
    llm: `${REF} §2.1 (Qwen2.5-0.5B): 24 layers, hidden 896, intermediate 4864, 14 heads, 2 KV heads, head_dim 64, SiLU, RMSNorm eps 1e-6, rope_theta 1e6, q/k/v bias, max_position_embeddings 32768`,
    'llm.vocab': `${REF} §2.1: 151674 from the InternVL3-1B print (Embedding(151674, 896), untied lm_head); UNVERIFIED for InternVL2.5-1B itself`,
    'llm.tieWordEmbeddings': `${REF} §2.1: tie_word_embeddings false inside InternVL (InternVL3-1B print)`,
  },
};

const QWEN2_VL_2B: VlmDescriptor = {
  id: 'qwen2-vl-2b',
  family: 'qwen2-vl',
  scale: 'full',
  description: 'Qwen2-VL-2B: 32-layer ViT (1280, patch 14, temporal patch 2) + 2x2 PatchMerger + Qwen2-1.5B-class LLM with M-RoPE',
  vision: {
    kind: 'qwen2-vit',
    imageSize: 448,
    patchSize: 14,
    channels: 3,
    layers: 32,
    hidden: 1280,
    heads: 16,
    headDim: 80,
    intermediate: 5120,
    normEps: 1e-6,
    qkvBias: true,
    layerScale: null,
    clsToken: false,
    activation: 'quick_gelu',
    postNorm: false,
    temporalPatchSize: 2,
  },
  projector: {
    mergeFactor: 2,
    norm: 'before-merge',
    normEps: 1e-6,
    layers: [
      { out: 5120, bias: true, activation: 'gelu' },
      { out: 1536, bias: true },
    ],
  },
  imageTokensPerTile: 256,
  llm: {
    kind: 'qwen2',
    layers: 28,
    hidden: 1536,
    intermediate: 8960,
    heads: 12,
    kvHeads: 2,
    headDim: 128,
    vocab: 151936,
    ropeTheta: 1e6,
    rmsEps: 1e-6,
    qkvBias: true,
    tieWordEmbeddings: true,
    maxPositions: 32768,
    mropeSections: [16, 24, 24],
  },
  sources: {
    vision: `${REF} §2.2 (vision config zszhong/Lyra_Qwen2VL_2B_ViT): depth 32, embed_dim 1280, 16 heads, patch 14, temporal_patch 2, spatial_merge 2; mlp_ratio 4 -> 5120 and LayerNorm eps 1e-6 are the Qwen2-VL defaults (not re-read)`,
    'vision.activation': 'quick_gelu is the Qwen2-VL vision default (hidden_act), not in the reference notes (UNVERIFIED); 2-D RoPE over (h, w) patch positions, theta 10000, in every block',
    'vision.imageSize': 'Qwen2-VL has dynamic resolution; 448 px (a 32x32 patch grid, 256 tokens) is a benchmark choice that matches one InternVL tile',
    projector: `${REF} §2.2: PatchMerger -> 1536 (ln_q LayerNorm on each patch, 2x2 merge -> Linear(5120, 5120) -> GELU -> Linear(5120, 1536), hidden = 1280*4)`,
    imageTokensPerTile: `${REF} §2.2: (H/14 * W/14) / 4 = 256 at 448x448`,
    llm: `${REF} §2.2 (onnx-community/Qwen2-VL-2B-Instruct config.json): 28 layers, hidden 1536, intermediate 8960, 12 heads, 2 KV heads, head_dim 128, vocab 151936, rope 1e6, M-RoPE sections [16,24,24], tied; KV [b,2,past,128] confirmed by the ONNX inspection in §1.3`,
  },
};

const SMOLVLM_256M: VlmDescriptor = {
  id: 'smolvlm-256m',
  family: 'smolvlm',
  scale: 'full',
  description: 'SmolVLM-256M: SigLIP-B/16 @512 + pixel shuffle x4 + linear connector + SmolLM2-135M',
  vision: {
    kind: 'siglip',
    imageSize: 512,
    patchSize: 16,
    channels: 3,
    layers: 12,
    hidden: 768,
    heads: 12,
    headDim: 64,
    intermediate: 3072,
    normEps: 1e-6,
    qkvBias: true,
    layerScale: null,
    clsToken: false,
    activation: 'gelu_tanh',
    postNorm: true,
  },
  projector: {
    mergeFactor: 4,
    norm: null,
    normEps: 1e-5,
    layers: [{ out: 576, bias: false }],
  },
  imageTokensPerTile: 64,
  llm: {
    kind: 'llama',
    layers: 30,
    hidden: 576,
    intermediate: 1536,
    heads: 9,
    kvHeads: 3,
    headDim: 64,
    vocab: 49280,
    ropeTheta: 1e5,
    rmsEps: 1e-5,
    qkvBias: false,
    tieWordEmbeddings: true,
    maxPositions: 8192,
  },
  sources: {
    vision: `${REF} §2.2: SigLIP-B/16 @512 (768, 12 layers, 12 heads) — UNVERIFIED for SmolVLM itself (nanoVLM configs); intermediate 3072, eps 1e-6, gelu_tanh, post_layernorm are SigLIP-base defaults`,
    projector: `${REF} §1.3/§2.2: 64 tokens per 512² chunk = (512/16)² / 4², pixel shuffle x4 + Linear(768*16, 576, bias=False) (Idefics3 connector)`,
    imageTokensPerTile: `${REF} §1.3: image_seq_len 64`,
    llm: `${REF} §1.3/§2.2 (SmolLM2-135M): 30 layers, hidden 576, intermediate 1536, 9 heads, 3 KV heads, head_dim 64 (KV [b,3,past,64] from the ONNX sample code)`,
    'llm.vocab': `${REF} §2.2: "~49k", UNVERIFIED; 49280 = 49152 base + 128 added image/special tokens is an assumption`,
    'llm.ropeTheta': `${REF} §2.2: 1e5 (nanoVLM lm_re_base), UNVERIFIED`,
    'llm.rmsEps': 'SmolLM2 default 1e-5, not in the reference notes (UNVERIFIED)',
  },
};

/** Where the numbers of the 2025-2026 models were read (issue 17); ids are code-index file ids. */
const SRC = {
  qwen25vlConfig:
    'Qwen2.5-VL-3B-Instruct config.json + module print (copy in the code index, find_string id 11644284334; the same vision_config in a second copy, id 69385864731)',
  qwen3vlVision:
    'Qwen3VLVisionConfig of the 2B/4B models: sgl-jax Qwen3VLVisionConfig defaults (out_hidden_size 2048) and a Qwen3-VL-4B config.json copy (find_string id 62547193220): depth 24, hidden 1024, 16 heads, intermediate 4096, patch 16, temporal 2, merge 2, num_position_embeddings 2304, deepstack_visual_indexes [5, 11, 17], gelu_pytorch_tanh',
  qwen3vlWeights:
    'InfiniCore Qwen3-VL weight loader (find_string id 35048442739): patch_embed.proj has a bias, pos_embed [2304, 1024], LayerNorm norm1/norm2 with bias, merger norm(1024) -> fc1(4096, 4096) -> fc2(4096, 2048), deepstack_merger_list.{0,1,2} norm(4096) -> fc1 -> fc2, q_norm/k_norm; its printed Qwen3-VL-2B meta: 28 layers, d 2048, 16 heads, 8 KV heads, head_dim 128, vocab 151936, eps 1e-6, rope theta 5e6',
  qwen3vlText:
    'Qwen3-VL text_config (4B/8B copies in the code index, e.g. find_string ids 62547193220, 59954827237): rope_scaling {mrope_interleaved: true, mrope_section [24, 20, 20]}, attention_bias false, tie_word_embeddings true for 2B/4B',
  qwen3_0_6b:
    'Qwen3-0.6B defaults (Qwen3Config dataclass copy in the code index): 28 layers, hidden 1024, intermediate 3072, 16 heads, 8 KV heads, head_dim 128, rms_norm_eps 1e-6, rope_theta 1e6, attention_bias false, vocab 151936, tie_word_embeddings true',
  axeraInternvl35:
    'AXERA-TECH/InternVL3_5-1B.axera@0606051 README: qwen3_p128_l{0..27}_together.axmodel (28 layers), vit internvl_vit_model_1x3x448x448',
  axeraQwen3vl:
    'AXERA-TECH/Qwen3-VL.AXERA@5d65059 TIME-2B.md: 384x384 frames, image token num 144 per frame, hidden layers 28',
} as const;

const INTERNVL3_5_1B: VlmDescriptor = {
  id: 'internvl3_5-1b',
  family: 'internvl',
  scale: 'full',
  description: 'InternVL3.5-1B: InternViT-300M-448px + pixel shuffle 0.5 + MLP projector + Qwen3-0.6B (QK-norm)',
  vision: { ...INTERNVL2_5_1B.vision },
  projector: {
    mergeFactor: 2,
    norm: 'after-merge',
    normEps: 1e-5,
    layers: [
      { out: 1024, bias: true, activation: 'gelu' },
      { out: 1024, bias: true },
    ],
  },
  imageTokensPerTile: 256,
  llm: {
    kind: 'qwen3',
    layers: 28,
    hidden: 1024,
    intermediate: 3072,
    heads: 16,
    kvHeads: 8,
    headDim: 128,
    vocab: 151936,
    ropeTheta: 1e6,
    rmsEps: 1e-6,
    qkvBias: false,
    qkNorm: true,
    tieWordEmbeddings: false,
    maxPositions: 32768,
  },
  sources: {
    vision: `InternViT-300M-448px as InternVL2.5-1B (${REF} §2.1) — InternVL3.5-1B = InternViT-300M + Qwen3-0.6B per /work/shared/reference/ecosystem.md §5 and ${SRC.axeraInternvl35} (448x448 ViT input); the V2.5 tower dims themselves were not re-read from an InternVL3.5 config (UNVERIFIED)`,
    projector: `${REF} §2.1 formula: mlp1 = LayerNorm(4096) -> Linear(4096, llm_hidden) -> GELU -> Linear(llm_hidden, llm_hidden), llm_hidden 1024`,
    imageTokensPerTile: `${REF} §2.1: (448//14)^2 * 0.5^2 = 256`,
    llm: `${SRC.qwen3_0_6b}; 28 layers also from ${SRC.axeraInternvl35}`,
    'llm.qkNorm': 'Qwen3 attention: q_norm / k_norm RMSNorm(head_dim) applied per head before RoPE (Qwen3 modeling; q_norm/k_norm weights in the InfiniCore loader, find_string id 35048442739)',
    'llm.vocab': '151936 = Qwen3-0.6B vocab_size; the InternVL3.5-1B llm_config was not found in the index (UNVERIFIED)',
    'llm.tieWordEmbeddings': 'Qwen3-0.6B ties, but InternVL checkpoints keep a separate lm_head (InternVL3-1B print, reference notes §2.1); untied for InternVL3.5-1B is UNVERIFIED',
    'llm.maxPositions': 'benchmark choice: rows of the RoPE table baked into the graphs (Qwen3-0.6B allows more)',
  },
};

const QWEN2_5_VL_3B: VlmDescriptor = {
  id: 'qwen2_5-vl-3b',
  family: 'qwen2_5-vl',
  scale: 'full',
  description: 'Qwen2.5-VL-3B: 32-layer window-attention ViT (RMSNorm, SwiGLU, patch 14) + 2x2 merger + Qwen2.5-3B-class LLM with M-RoPE',
  vision: {
    kind: 'qwen2_5-vit',
    imageSize: 448,
    patchSize: 14,
    channels: 3,
    layers: 32,
    hidden: 1280,
    heads: 16,
    headDim: 80,
    intermediate: 3420,
    normEps: 1e-6,
    qkvBias: true,
    layerScale: null,
    clsToken: false,
    activation: 'silu',
    postNorm: false,
    temporalPatchSize: 2,
    norm: 'rms',
    mlp: 'gated',
    patchBias: false,
    windowSize: 112,
    fullAttentionBlocks: [7, 15, 23, 31],
  },
  projector: {
    mergeFactor: 2,
    norm: 'before-merge',
    normEps: 1e-6,
    layers: [
      { out: 5120, bias: true, activation: 'gelu' },
      { out: 2048, bias: true },
    ],
  },
  imageTokensPerTile: 256,
  llm: {
    kind: 'qwen2',
    layers: 36,
    hidden: 2048,
    intermediate: 11008,
    heads: 16,
    kvHeads: 2,
    headDim: 128,
    vocab: 151936,
    ropeTheta: 1e6,
    rmsEps: 1e-6,
    qkvBias: true,
    tieWordEmbeddings: true,
    maxPositions: 32768,
    mropeSections: [16, 24, 24],
  },
  sources: {
    vision: `${SRC.qwen25vlConfig}: vision_config depth 32, hidden_size 1280, intermediate_size 3420, num_heads 16, patch_size 14, temporal_patch_size 2, spatial_merge_size 2, hidden_act silu, window_size 112, fullatt_block_indexes [7, 15, 23, 31]; print: Conv3d(3, 1280, (2, 14, 14), bias=False), RMSNorm(1280, eps 1e-6) norm1/norm2, qkv Linear(1280, 3840, bias), proj bias, gate/up/down_proj with bias, SiLU`,
    'vision.imageSize': 'Qwen2.5-VL has dynamic resolution; 448 px (32x32 patches, 4x4 windows of 112 px, 256 tokens) is a benchmark choice matching one InternVL tile',
    projector: `${SRC.qwen25vlConfig}: merger ln_q RMSNorm(1280, eps 1e-6) -> Linear(5120, 5120) -> GELU -> Linear(5120, 2048) (out_hidden_size 2048)`,
    imageTokensPerTile: '(448/14)^2 / 2^2 = 256',
    llm: `${SRC.qwen25vlConfig}: hidden_size 2048, intermediate_size 11008, num_hidden_layers 36, num_attention_heads 16, num_key_value_heads 2 (k_proj 2048 -> 256: head_dim 128), rms_norm_eps 1e-6, rope_theta 1e6, q/k/v bias, tie_word_embeddings true, vocab_size 151936, mrope_section [16, 24, 24]`,
    'llm.maxPositions': 'benchmark choice: rows of the RoPE table baked into the graphs (max_position_embeddings 128000)',
  },
};

const QWEN3_VL_2B: VlmDescriptor = {
  id: 'qwen3-vl-2b',
  family: 'qwen3-vl',
  scale: 'full',
  description: 'Qwen3-VL-2B: 24-layer ViT (patch 16, learned interpolated positions, DeepStack taps 5/11/17) + 2x2 merger + Qwen3-1.7B-class LLM (QK-norm, interleaved M-RoPE)',
  vision: {
    kind: 'qwen3-vit',
    imageSize: 384,
    patchSize: 16,
    channels: 3,
    layers: 24,
    hidden: 1024,
    heads: 16,
    headDim: 64,
    intermediate: 4096,
    normEps: 1e-6,
    qkvBias: true,
    layerScale: null,
    clsToken: false,
    activation: 'gelu_tanh',
    postNorm: false,
    temporalPatchSize: 2,
    norm: 'layer',
    mlp: 'plain',
    patchBias: true,
    positionEmbeddings: 2304,
    deepstackLayers: [5, 11, 17],
  },
  projector: {
    mergeFactor: 2,
    norm: 'before-merge',
    normEps: 1e-6,
    layers: [
      { out: 4096, bias: true, activation: 'gelu' },
      { out: 2048, bias: true },
    ],
  },
  imageTokensPerTile: 144,
  llm: {
    kind: 'qwen3',
    layers: 28,
    hidden: 2048,
    intermediate: 6144,
    heads: 16,
    kvHeads: 8,
    headDim: 128,
    vocab: 151936,
    ropeTheta: 5e6,
    rmsEps: 1e-6,
    qkvBias: false,
    qkNorm: true,
    tieWordEmbeddings: true,
    maxPositions: 32768,
    mropeSections: [24, 20, 20],
    mropeInterleaved: true,
  },
  sources: {
    vision: `${SRC.qwen3vlVision}; ${SRC.qwen3vlWeights}`,
    'vision.imageSize': `benchmark choice: 384 px (24x24 patches -> 144 tokens), the size Axera measures (${SRC.axeraQwen3vl})`,
    projector: `${SRC.qwen3vlWeights}: merger LayerNorm(1024, before the 2x2 merge) -> Linear(4096, 4096) -> GELU -> Linear(4096, 2048); each DeepStack merger normalises after the merge (LayerNorm(4096)) with the same linears`,
    imageTokensPerTile: '(384/16)^2 / 2^2 = 144 (one token per 32x32 px)',
    llm: `${SRC.qwen3vlWeights}; ${SRC.qwen3vlText}; 28 layers also from ${SRC.axeraQwen3vl}`,
    'llm.intermediate': '6144 from /work/shared/reference/ecosystem.md §5 (secondary) and Qwen3-1.7B-shaped configs in the code index (find_string id 71083386253); the Qwen3-VL-2B config.json itself was not found (UNVERIFIED)',
    'llm.maxPositions': 'benchmark choice: rows of the RoPE table baked into the graphs (max_position_embeddings 262144)',
  },
};

const TINY_LLM: Partial<LanguageModel> = {
  layers: 2,
  hidden: 64,
  intermediate: 128,
  heads: 4,
  kvHeads: 2,
  headDim: 16,
  vocab: 512,
  maxPositions: 1024,
};

const ZOO: Record<string, ZooEntry> = {
  'internvl2_5-1b': {
    full: INTERNVL2_5_1B,
    tiny: {
      vision: { imageSize: 56, layers: 2, hidden: 64, heads: 4, headDim: 16, intermediate: 256 },
      projector: { layers: [{ out: 64, bias: true, activation: 'gelu' }, { out: 64, bias: true }] },
      llm: TINY_LLM,
    },
  },
  'qwen2-vl-2b': {
    full: QWEN2_VL_2B,
    tiny: {
      vision: { imageSize: 56, layers: 2, hidden: 64, heads: 4, headDim: 16, intermediate: 256 },
      projector: { layers: [{ out: 256, bias: true, activation: 'gelu' }, { out: 64, bias: true }] },
      llm: { ...TINY_LLM, mropeSections: [2, 3, 3] },
    },
  },
  'smolvlm-256m': {
    full: SMOLVLM_256M,
    tiny: {
      vision: { imageSize: 128, layers: 2, hidden: 64, heads: 4, headDim: 16, intermediate: 256 },
      projector: { layers: [{ out: 64, bias: false }] },
      llm: TINY_LLM,
    },
  },
  'internvl3_5-1b': {
    full: INTERNVL3_5_1B,
    tiny: {
      vision: { imageSize: 56, layers: 2, hidden: 64, heads: 4, headDim: 16, intermediate: 256 },
      projector: { layers: [{ out: 64, bias: true, activation: 'gelu' }, { out: 64, bias: true }] },
      llm: TINY_LLM,
    },
  },
  'qwen2_5-vl-3b': {
    full: QWEN2_5_VL_3B,
    tiny: {
      // 112 px = 8x8 patches in 2x2 windows of 56 px (4 windows), one windowed and one full block.
      vision: { imageSize: 112, layers: 2, hidden: 64, heads: 4, headDim: 16, intermediate: 96, windowSize: 56, fullAttentionBlocks: [1] },
      projector: { layers: [{ out: 256, bias: true, activation: 'gelu' }, { out: 64, bias: true }] },
      llm: { ...TINY_LLM, mropeSections: [2, 3, 3] },
    },
  },
  'qwen3-vl-2b': {
    full: QWEN3_VL_2B,
    tiny: {
      // 128 px = 8x8 patches, a 4x4 learned position grid interpolated up; DeepStack from blocks 0 and 2.
      vision: { imageSize: 128, layers: 3, hidden: 64, heads: 4, headDim: 16, intermediate: 128, positionEmbeddings: 16, deepstackLayers: [0, 2] },
      projector: { layers: [{ out: 256, bias: true, activation: 'gelu' }, { out: 64, bias: true }] },
      // 3 LLM layers, more than the 2 DeepStack levels, as in the real model (28 > 3): llama.cpp
      // v0.4.0 cannot add a level after the last layer (models/gguf/llm.ts deepstackLevels).
      llm: { ...TINY_LLM, layers: 3, mropeSections: [4, 2, 2] },
    },
  },
};

export function knownModelIds(): string[] {
  return Object.keys(ZOO);
}

export function descriptorEntry(id: string): ZooEntry | undefined {
  return ZOO[id];
}

/** The descriptor at a scale; tiny keeps the structure and shrinks the numbers. */
export function resolveDescriptor(entry: ZooEntry, scale: Scale): VlmDescriptor {
  if (scale === 'full') return structuredClone(entry.full);
  const full = entry.full;
  const vision = { ...full.vision, ...entry.tiny.vision };
  const projector = { ...full.projector, ...entry.tiny.projector };
  const llm = { ...full.llm, ...entry.tiny.llm };
  return structuredClone({
    ...full,
    scale: 'tiny' as const,
    description: `${full.description} (tiny test scale: same structure, small numbers)`,
    vision,
    projector,
    llm,
    imageTokensPerTile: tokensPerTile(vision, projector),
    sources: { ...full.sources, tiny: 'test scale chosen by the zoo (models/descriptors.ts), not a real model' },
  });
}

/** Structural invariants every descriptor must satisfy; returns the problems found. */
export function validateDescriptor(d: VlmDescriptor): string[] {
  const problems: string[] = [];
  const v = d.vision;
  const l = d.llm;
  if (v.imageSize % v.patchSize !== 0) problems.push(`vision.imageSize ${v.imageSize} is not a multiple of patchSize ${v.patchSize}`);
  const side = v.imageSize / v.patchSize;
  if (side % d.projector.mergeFactor !== 0) problems.push(`patch grid ${side} is not a multiple of projector.mergeFactor ${d.projector.mergeFactor}`);
  if (v.heads * v.headDim !== v.hidden) problems.push(`vision.heads*headDim ${v.heads * v.headDim} != hidden ${v.hidden}`);
  if (l.heads % l.kvHeads !== 0) problems.push(`llm.heads ${l.heads} not a multiple of kvHeads ${l.kvHeads}`);
  if (l.headDim % 2 !== 0) problems.push(`llm.headDim ${l.headDim} must be even for RoPE`);
  if (tokensPerTile(v, d.projector) !== d.imageTokensPerTile) {
    problems.push(`imageTokensPerTile ${d.imageTokensPerTile} != (imageSize/patch/merge)^2 = ${tokensPerTile(v, d.projector)}`);
  }
  const lastOut = d.projector.layers[d.projector.layers.length - 1]?.out;
  if (lastOut !== l.hidden) problems.push(`projector output ${lastOut} != llm.hidden ${l.hidden}`);
  if (l.mropeSections && l.mropeSections.reduce((a, b) => a + b, 0) !== l.headDim / 2) {
    problems.push(`llm.mropeSections sum ${l.mropeSections.reduce((a, b) => a + b, 0)} != headDim/2 ${l.headDim / 2}`);
  }
  if (l.mropeInterleaved && (!l.mropeSections || 3 * Math.max(l.mropeSections[1], l.mropeSections[2]) > l.headDim / 2)) {
    problems.push('llm.mropeInterleaved needs mropeSections whose h and w sections fit 3x into headDim/2');
  }
  const qwenTower = v.kind === 'qwen2-vit' || v.kind === 'qwen2_5-vit' || v.kind === 'qwen3-vit';
  if (qwenTower && !v.temporalPatchSize) problems.push(`vision.kind ${v.kind} needs temporalPatchSize`);
  if (v.windowSize !== undefined) {
    const unit = v.patchSize * d.projector.mergeFactor;
    if (v.windowSize % unit !== 0 || v.imageSize % v.windowSize !== 0) {
      problems.push(`vision.windowSize ${v.windowSize} must be a multiple of patch*merge ${unit} and divide imageSize ${v.imageSize}`);
    }
  }
  for (const b of v.fullAttentionBlocks ?? []) if (b < 0 || b >= v.layers) problems.push(`vision.fullAttentionBlocks: ${b} outside 0..${v.layers - 1}`);
  if (v.positionEmbeddings !== undefined && !Number.isInteger(Math.sqrt(v.positionEmbeddings))) {
    problems.push(`vision.positionEmbeddings ${v.positionEmbeddings} is not a square grid`);
  }
  const taps = v.deepstackLayers ?? [];
  for (const b of taps) if (b < 0 || b >= v.layers) problems.push(`vision.deepstackLayers: ${b} outside 0..${v.layers - 1}`);
  if (taps.length > l.layers) problems.push(`vision.deepstackLayers: ${taps.length} taps but only ${l.layers} LLM layers to add them to`);
  return problems;
}
