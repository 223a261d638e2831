/**
 * How far each precision's outputs drift from fp32 for the same random model: logits over a
 * token sequence (cosine similarity per position, top-1 agreement) and, when the model has a
 * vision encoder, the image features of one synthetic image.
 */
import { OnnxCommunityDriver } from './drivers/onnx-community.ts';
import { uniformAt } from './weights/random.ts';
import { ensureModel, type Precision, type Scale } from './zoo.ts';

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

export function argmax(a: ArrayLike<number>, offset: number, length: number): number {
  let best = offset;
  for (let i = offset + 1; i < offset + length; i++) if ((a[i] as number) > (a[best] as number)) best = i;
  return best - offset;
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
    if (argmax(ref.logits, p * vocab, vocab) === argmax(got.logits, p * vocab, vocab)) agree += 1;
  }
  for (let i = 0; i < ref.logits.length; i++) maxAbs = Math.max(maxAbs, Math.abs((ref.logits[i] as number) - (got.logits[i] as number)));
  return {
    precision,
    positions,
    cosineMean: sum / positions,
    cosineMin: min,
    top1Agreement: agree / positions,
    maxAbsDiff: maxAbs,
    imageCosine: ref.image && got.image ? cosine(ref.image, got.image) : null,
  };
}

export async function checkPrecisions(req: CheckRequest): Promise<CheckReport> {
  const tokens = req.tokens ?? 32;
  const fp32 = await ensureModel({ model: req.model, scale: req.scale, precision: 'fp32', layout: 'onnx-community', seed: req.seed, cacheDir: req.cacheDir, log: req.log });
  const vocab = fp32.descriptor.llm.vocab;
  const ids = sequenceIds(tokens, vocab);
  const ref = await runOnce(req, 'fp32', ids);
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
    'precision  cos_mean   cos_min    top1     max|dlogit|  image_cos',
  ];
  for (const x of r.results) {
    lines.push(
      [
        x.precision.padEnd(10),
        x.cosineMean.toFixed(6).padEnd(10),
        x.cosineMin.toFixed(6).padEnd(10),
        `${(x.top1Agreement * 100).toFixed(1)}%`.padEnd(8),
        x.maxAbsDiff.toExponential(2).padEnd(12),
        x.imageCosine === null ? '-' : x.imageCosine.toFixed(6),
      ].join(' '),
    );
  }
  return `${lines.join('\n')}\n`;
}
