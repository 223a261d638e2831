/**
 * How far each precision's outputs drift from fp32 for the same random model: logits over a
 * token sequence (cosine similarity per position, top-1 agreement) and, when the model has a
 * vision encoder, the image features of one synthetic image.
 */
import { argmaxScalar } from '../core/argmax.ts';
import { OnnxCommunityDriver } from './drivers/onnx-community.ts';
import { uniformAt } from './weights/random.ts';
import { readReference, referencePath, writeReference, type ReferenceCache } from './reference-outputs.ts';
import { ensureModel, getDescriptor, modelHash, type Precision, type Scale } from './zoo.ts';

export interface PrecisionDeviation {
  precision: Precision;
  positions: number;
  /** Cosine similarity of logits vs fp32, over positions. */
  cosineMean: number;
  cosineMin: number;
  /** Share of positions whose argmax equals fp32's. */
  top1Agreement: number;
  /** Largest |logit - fp32 logit|. */
  maxAbsDiff: number;
  /** Cosine similarity of the image features vs fp32 (flattened); null without a vision encoder. */
  imageCosine: number | null;
  /** True when every figure meets ACCURACY_THRESHOLDS[precision]. */
  passed: boolean;
  /** What missed, e.g. `logit cosine mean 0.7888 < 0.99`; empty when passed. */
  failures: string[];
}

/** Least agreement with fp32 a precision must reach to count as numerically right. */
export interface AccuracyThresholds {
  /** Mean over positions of the logit cosine vs fp32. */
  cosineMean: number;
  /** Share of positions whose argmax equals fp32's. */
  top1: number;
  /** Cosine of the image features vs fp32 (models with a vision encoder). */
  imageCosine: number;
}

/**
 * One set per precision, the same on every CPU (nothing here depends on the kernels a CPU
 * picks: a CPU whose kernels are wrong must fail). Set below what the zoo's random-weight
 * models reach on every model at tiny and full scale (models/README.md lists the figures), with
 * room for their spread, and far above what a broken kernel gives (s8 int8 weights on AVX2
 * without VNNI: cosine 0.79, top-1 22 %). Random-weight logits are nearly flat, so top-1
 * flips on small changes: its bars are loose and the cosine is the main test.
 */
export const ACCURACY_THRESHOLDS: Record<Precision, AccuracyThresholds> = {
  fp32: { cosineMean: 0.999999, top1: 1, imageCosine: 0.999999 },
  fp16: { cosineMean: 0.9999, top1: 0.9, imageCosine: 0.9999 },
  int8: { cosineMean: 0.99, top1: 0.6, imageCosine: 0.995 },
  // The deep full-scale models drift most at 4 bits: qwen2-vl-2b 0.925 / 43.8 %, smolvlm-256m 0.929.
  int4: { cosineMean: 0.9, top1: 0.3, imageCosine: 0.95 },
};

export function judgeDeviation(
  precision: Precision,
  figures: { cosineMean: number; top1Agreement: number; imageCosine: number | null },
): { passed: boolean; failures: string[] } {
  const t = ACCURACY_THRESHOLDS[precision];
  const failures: string[] = [];
  if (!(figures.cosineMean >= t.cosineMean)) failures.push(`logit cosine mean ${figures.cosineMean.toFixed(4)} < ${t.cosineMean}`);
  if (!(figures.top1Agreement >= t.top1)) failures.push(`top-1 agreement ${(figures.top1Agreement * 100).toFixed(1)}% < ${(t.top1 * 100).toFixed(0)}%`);
  if (figures.imageCosine !== null && !(figures.imageCosine >= t.imageCosine)) {
    failures.push(`image feature cosine ${figures.imageCosine.toFixed(4)} < ${t.imageCosine}`);
  }
  return { passed: failures.length === 0, failures };
}

export interface CheckRequest {
  model: string;
  scale: Scale;
  precisions: Precision[];
  /** Tokens in the sequence (default 32). */
  tokens?: number;
  seed?: number;
  cacheDir?: string;
  threads?: number;
  log?: (msg: string) => void;
  /** False: the quantised builds are LLM-only (models/zoo.ts BuildRequest.vision), so no image features are compared. */
  vision?: boolean;
  /** Keep the fp32 outputs here and reuse them (the accuracy gate); absent: computed each time. */
  referenceCache?: ReferenceCache;
}

export interface CheckReport {
  model: string;
  scale: Scale;
  reference: 'fp32';
  tokens: number;
  results: PrecisionDeviation[];
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>, offset = 0, length = a.length): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = offset; i < offset + length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na === 0 || nb === 0 ? (na === nb ? 1 : 0) : dot / Math.sqrt(na * nb);
}


/** Deterministic token ids spread over the vocabulary. */
export function sequenceIds(tokens: number, vocab: number): number[] {
  return Array.from({ length: tokens }, (_, i) => Math.floor(((uniformAt({ a: 99, b: 7 }, i) + 1) / 2) * vocab) % vocab);
}

interface Outputs {
  logits: Float32Array;
  image: Float32Array | null;
}

async function runOnce(req: CheckRequest, precision: Precision, ids: number[]): Promise<Outputs> {
  const model = await ensureModel({
    model: req.model,
    scale: req.scale,
    precision,
    layout: 'onnx-community',
    seed: req.seed,
    cacheDir: req.cacheDir,
    // The fp32 reference always has every part; a quantised build has the parts it was built with.
    vision: precision === 'fp32' ? true : req.vision ?? true,
    log: req.log,
  });
  const driver = await OnnxCommunityDriver.open(model, req.threads ?? 2);
  try {
    const embeds = await driver.embed(ids);
    const { logits } = await driver.forward(embeds, [ids.length]);
    let image: Float32Array | null = null;
    if (model.files['vision_encoder']) {
      const S = model.descriptor.vision.imageSize;
      const px = Float32Array.from({ length: 3 * S * S }, (_, i) => uniformAt({ a: 3, b: 5 }, i));
      image = await driver.encodeImage(px, S);
    }
    return { logits, image };
  } finally {
    await driver.release();
  }
}

export function compareOutputs(precision: Precision, ref: Outputs, got: Outputs, vocab: number): PrecisionDeviation {
  const positions = ref.logits.length / vocab;
  let sum = 0;
  let min = 1;
  let agree = 0;
  let maxAbs = 0;
  for (let p = 0; p < positions; p++) {
    const c = cosine(ref.logits, got.logits, p * vocab, vocab);
    sum += c;
    min = Math.min(min, c);
    if (argmaxScalar(ref.logits, p * vocab, vocab) === argmaxScalar(got.logits, p * vocab, vocab)) agree += 1;
  }
  for (let i = 0; i < ref.logits.length; i++) maxAbs = Math.max(maxAbs, Math.abs((ref.logits[i] as number) - (got.logits[i] as number)));
  const figures = {
    cosineMean: sum / positions,
    top1Agreement: agree / positions,
    imageCosine: ref.image && got.image ? cosine(ref.image, got.image) : null,
  };
  return { precision, positions, ...figures, cosineMin: min, maxAbsDiff: maxAbs, ...judgeDeviation(precision, figures) };
}

/**
 * The fp32 twin's outputs for `ids`: from the reference cache when the request has one and it
 * holds them (the twin is then neither built nor loaded), else computed and stored there.
 */
async function referenceOutputs(req: CheckRequest, ids: number[], vocab: number): Promise<Outputs> {
  const cache = req.referenceCache;
  if (!cache) return runOnce(req, 'fp32', ids);
  const fp32Hash = modelHash({ model: req.model, scale: req.scale, precision: 'fp32', layout: 'onnx-community', seed: req.seed });
  const path = referencePath(cache, { model: req.model, scale: req.scale, fp32Hash, ids, threads: req.threads ?? 2 });
  const stored = readReference(path, ids.length * vocab);
  if (stored) {
    req.log?.('fp32 reference outputs from the cache (same fp32 build, inputs, threads and machine)');
    return stored;
  }
  const computed = await runOnce(req, 'fp32', ids);
  writeReference(path, cache.dir, computed);
  return computed;
}

export async function checkPrecisions(req: CheckRequest): Promise<CheckReport> {
  const tokens = req.tokens ?? 32;
  const vocab = getDescriptor(req.model, req.scale).llm.vocab;
  const ids = sequenceIds(tokens, vocab);
  const ref = await referenceOutputs(req, ids, vocab);
  const results: PrecisionDeviation[] = [];
  for (const precision of req.precisions) {
    req.log?.(`checking ${precision}`);
    results.push(compareOutputs(precision, ref, precision === 'fp32' ? ref : await runOnce(req, precision, ids), vocab));
  }
  return { model: req.model, scale: req.scale, reference: 'fp32', tokens, results };
}

export function formatCheckReport(r: CheckReport): string {
  const lines = [
    `${r.model} (${r.scale}), ${r.tokens} tokens, reference fp32 (synthetic random weights)`,
    'precision  cos_mean   cos_min    top1     max|dlogit|  image_cos  verdict',
  ];
  for (const x of r.results) {
    lines.push(
      [
        x.precision.padEnd(10),
        x.cosineMean.toFixed(6).padEnd(10),
        x.cosineMin.toFixed(6).padEnd(10),
        `${(x.top1Agreement * 100).toFixed(1)}%`.padEnd(8),
        x.maxAbsDiff.toExponential(2).padEnd(12),
        (x.imageCosine === null ? '-' : x.imageCosine.toFixed(6)).padEnd(10),
        x.passed ? 'pass' : `FAIL: ${x.failures.join('; ')}`,
      ].join(' '),
    );
  }
  lines.push('thresholds (same on every CPU): ' + r.results.map((x) => {
    const t = ACCURACY_THRESHOLDS[x.precision];
    return `${x.precision} cos_mean >= ${t.cosineMean}, top1 >= ${(t.top1 * 100).toFixed(0)}%, image_cos >= ${t.imageCosine}`;
  }).join('; '));
  return `${lines.join('\n')}\n`;
}
