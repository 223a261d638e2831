/**
 * Architecture descriptors of the zoo: data only. Every number carries a citation in
 * `sources` (key = dotted field path) taken from /work/shared/reference/vlm-onnx.md; numbers the
 * notes mark UNVERIFIED say so in their citation. To add a model, add a `ZooEntry` below.
 */

export type Scale = 'full' | 'tiny';

export interface VisionTower {
  /** Block structure: InternViT (LayerNorm, CLS, layer scale), SigLIP (no CLS, post-LN), Qwen2-VL ViT. */
  kind: 'internvit' | 'siglip' | 'qwen2-vit';
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
  activation: 'gelu' | 'gelu_tanh' | 'quick_gelu';
  /** A final LayerNorm after the last block (SigLIP post_layernorm). */
  postNorm: boolean;
  /** Qwen2-VL: frames per temporal patch. */
  temporalPatchSize?: number;
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
  /** Decoder family (all are pre-norm RMSNorm, SiLU-gated MLP, RoPE, GQA). */
  kind: 'qwen2' | 'llama';
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
}

export interface VlmDescriptor {
  id: string;
  family: 'internvl' | 'qwen2-vl' | 'smolvlm';
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
  return problems;
}
