/**
 * Which 4-bit weight form for the zoo's linears: accuracy and speed of every 4-bit form ONNX
 * Runtime's CPU provider offers, on the shapes the suite runs, interleaved.
 *
 *   npm run bench:int4-forms                    # accuracy gate + interleaved timing
 *   npm run bench:int4-forms -- --accuracy      # accuracy only (e.g. under `qemu-x86_64 -cpu Haswell`)
 *   npm run bench:int4-forms -- --forms nb32-al4,nb128-al4 --rounds 20   # an A/B of some forms
 *   npm run bench:int4-forms -- --shapes prefill,decode                  # a subset of the shapes
 *
 * Candidates (ORT CPU EP):
 *   nbBB[-zp][-f16]-alA  com.microsoft.MatMulNBits bits 4, block BB (32, 64, 128); -zp: asymmetric
 *                        blocks with uint8-packed zero points (else symmetric, implicit zero
 *                        point 8, the zoo's quantiser); -f16: fp16 scales, which MatMulNBits only
 *                        takes with fp16 activations, so x is Cast to fp16 and y back; accuracy_level
 *                        A: 0/1 fp32 compute (dequantised weights), 4 int8 compute (activations
 *                        quantised per block)
 *   dq-int4-bBB          opset-21 DequantizeLinear of an int4 [K, N] weight (block BB along K) +
 *                        MatMul: ONNX's standard 4-bit form, which ORT fuses into MatMulNBits or
 *                        folds to fp32 weights at session creation
 * References (not 4-bit): fp32 MatMul, and the zoo's int8 form (DynamicQuantizeMatMul, 7-bit codes).
 *
 * Shapes: prefill = 128 prompt rows through the LLM's MLP (K=896 N=4864 and K=4864 N=896 for
 * InternVL2.5-1B's Qwen2.5-0.5B), decode = the same at 1 row, vision = one 448 px tile's rows
 * through InternViT-300M's MLP.
 *
 * Accuracy, on LLM-like activations (8 rows): "error vs W" is the relative RMS error of y
 * against float64 x W with the unquantised W (what the block size and zero points cost);
 * "kernel error" is against float64 x deq(W), the form's own dequantised weights. The gate is
 * the kernel error of a 4-bit form: at most that of the zoo's int8 form on the same data (its
 * per-tensor int8 activations are the coarsest activation rounding the suite accepts; a
 * saturating or wrong kernel, like s8 codes on AVX2 without VNNI, is far above it). A 4-bit form
 * failing it is not timed; the references are always timed. The zoo's choice must then pass the model-level
 * gate too (`bench models check`, models/check.ts thresholds).
 */
import { cpus, loadavg } from 'node:os';
import * as ort from 'onnxruntime-node';
import { encodeAttr, int, MS_DOMAIN } from '../models/onnx/graph-builder.ts';
import type { NodeProtoInit, TensorProtoInit } from '../models/onnx/proto.ts';
import { toHalfBits } from '../models/weights/encode.ts';
import { INT8_CODE_LIMIT } from '../models/weights/int8-form.ts';
import { DEFAULT_LINEAR_OPTIONS } from '../models/layers/linear.ts';
import { machineIdentity } from '../models/accuracy-gate.ts';
import { getDescriptor } from '../models/zoo.ts';
import { encodeForm, llmActivations, randomWeight, relativeError, tensor, timeInterleaved, type TimedForm } from './matmul-form-kit.ts';

interface Int4Form {
  id: string;
  kind: 'nbits' | 'dq' | 'fp32' | 'int8';
  block: number;
  zeroPoints: boolean;
  fp16Scales: boolean;
  accuracyLevel: number;
}

function int4Forms(): Int4Form[] {
  const forms: Int4Form[] = [
    { id: 'fp32', kind: 'fp32', block: 0, zeroPoints: false, fp16Scales: false, accuracyLevel: 0 },
    { id: 'int8-s7-dqmm', kind: 'int8', block: 0, zeroPoints: false, fp16Scales: false, accuracyLevel: 0 },
  ];
  for (const block of [32, 64, 128]) {
    for (const zeroPoints of [false, true]) {
      for (const accuracyLevel of [0, 1, 4]) {
        forms.push({ id: `nb${block}${zeroPoints ? '-zp' : ''}-al${accuracyLevel}`, kind: 'nbits', block, zeroPoints, fp16Scales: false, accuracyLevel });
      }
    }
    forms.push({ id: `nb${block}-f16-al4`, kind: 'nbits', block, zeroPoints: false, fp16Scales: true, accuracyLevel: 4 });
    forms.push({ id: `dq-int4-b${block}`, kind: 'dq', block, zeroPoints: false, fp16Scales: false, accuracyLevel: 0 });
  }
  return forms;
}

/** The zoo's current int4 form (models/layers/linear.ts). */
const ZOO_FORM = `nb${DEFAULT_LINEAR_OPTIONS.int4BlockSize}-al${DEFAULT_LINEAR_OPTIONS.int4AccuracyLevel}`;

/** Blockwise 4-bit codes of W `[k, n]` per output column: symmetric (zoo quantiser) or asymmetric with a zero point. */
function quantize(w: Float32Array, k: number, n: number, block: number, zeroPoints: boolean) {
  const blocks = k / block;
  const codes = new Uint8Array(n * k); // one code (0..15) per element, [n, k]
  const scales = new Float32Array(n * blocks);
  const zps = new Uint8Array(n * blocks).fill(8);
  for (let j = 0; j < n; j++) {
    for (let b = 0; b < blocks; b++) {
      let lo = Infinity;
      let hi = -Infinity;
      let extreme = 0;
      for (let i = 0; i < block; i++) {
        const v = w[(b * block + i) * n + j]!;
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
        if (Math.abs(v) > Math.abs(extreme)) extreme = v;
      }
      let scale: number;
      let zp = 8;
      if (zeroPoints) {
        lo = Math.min(lo, 0);
        hi = Math.max(hi, 0);
        scale = (hi - lo) / 15 || 1;
        zp = Math.min(15, Math.max(0, Math.round(-lo / scale)));
      } else {
        scale = extreme !== 0 ? extreme / -8 : 1;
      }
      scales[j * blocks + b] = scale;
      zps[j * blocks + b] = zp;
      for (let i = 0; i < block; i++) {
        codes[j * k + b * block + i] = Math.min(15, Math.max(0, Math.round(w[(b * block + i) * n + j]! / scale) + zp));
      }
    }
  }
  return { blocks, codes, scales, zps };
}

/** The weights a form multiplies by, `[k, n]`: what its kernel should compute with. */
function dequantised(form: Int4Form, w: Float32Array, k: number, n: number): Float32Array {
  if (form.kind === 'fp32') return w;
  if (form.kind === 'int8') {
    const { codes, scales } = int8Codes(w, k, n);
    return Float32Array.from(codes, (c, idx) => c * scales[idx % n]!);
  }
  const q = quantize(w, k, n, form.block, form.zeroPoints);
  const out = new Float32Array(k * n);
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < k; i++) {
      const b = j * q.blocks + Math.floor(i / form.block);
      const scale = form.fp16Scales ? Math.fround(halfRound(q.scales[b]!)) : q.scales[b]!;
      out[i * n + j] = (q.codes[j * k + i]! - q.zps[b]!) * scale;
    }
  }
  return out;
}

/** A float rounded to the nearest fp16 value. */
function halfRound(v: number): number {
  const bits = toHalfBits(v);
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 31;
  const frac = bits & 1023;
  return sign * (exp === 0 ? frac * 2 ** -24 : (1 + frac / 1024) * 2 ** (exp - 15));
}

/** The zoo's int8 encoding: per-output-channel 7-bit codes. */
function int8Codes(w: Float32Array, k: number, n: number): { codes: Int8Array; scales: Float32Array } {
  const scales = new Float32Array(n);
  for (let j = 0; j < n; j++) {
    let max = 0;
    for (let i = 0; i < k; i++) max = Math.max(max, Math.abs(w[i * n + j]!));
    scales[j] = max / INT8_CODE_LIMIT || 1;
  }
  return { codes: Int8Array.from({ length: k * n }, (_, idx) => Math.round(w[idx]! / scales[idx % n]!)), scales };
}

const packNibbles = (codes: ArrayLike<number>, length: number): Uint8Array => {
  const out = new Uint8Array(Math.ceil(length / 2));
  for (let i = 0; i < length; i++) out[i >> 1]! |= (codes[i]! & 15) << ((i & 1) * 4);
  return out;
};

function build(form: Int4Form, w: Float32Array, k: number, n: number): Uint8Array {
  if (form.kind === 'fp32') return encodeForm([{ opType: 'MatMul', input: ['x', 'w'], output: ['y'] }], [tensor('w', 'float32', [k, n], w)], k, n);
  if (form.kind === 'int8') {
    const { codes, scales } = int8Codes(w, k, n);
    return encodeForm(
      [{ opType: 'DynamicQuantizeMatMul', domain: MS_DOMAIN, input: ['x', 'w', 's'], output: ['y'] }],
      [tensor('w', 'int8', [k, n], codes), tensor('s', 'float32', [n], scales)],
      k,
      n,
    );
  }
  const q = quantize(w, k, n, form.block, form.zeroPoints);
  if (form.kind === 'dq') {
    // int4 [K, N] (signed, code - 8), blocked along K: scale [K/block, N].
    const signed = new Uint8Array(k * n);
    const scaleKN = new Float32Array(q.blocks * n);
    for (let j = 0; j < n; j++) {
      for (let i = 0; i < k; i++) signed[i * n + j] = (q.codes[j * k + i]! - 8) & 15;
      for (let b = 0; b < q.blocks; b++) scaleKN[b * n + j] = q.scales[j * q.blocks + b]!;
    }
    const wInt4: TensorProtoInit = { name: 'w', dims: [k, n], dataType: 22 /* INT4 */, rawData: packNibbles(signed, k * n) };
    return encodeForm(
      [
        { opType: 'DequantizeLinear', input: ['w', 's'], output: ['wf'], attribute: [encodeAttr('axis', int(0)), encodeAttr('block_size', int(form.block))] },
        { opType: 'MatMul', input: ['x', 'wf'], output: ['y'] },
      ],
      [wInt4, tensor('s', 'float32', [q.blocks, n], scaleKN)],
      k,
      n,
      21,
    );
  }
  const packed = new Uint8Array(n * q.blocks * (form.block / 2));
  for (let j = 0; j < n; j++) packed.set(packNibbles(q.codes.subarray(j * k, (j + 1) * k), k), j * (k / 2));
  const scales = form.fp16Scales ? Uint16Array.from(q.scales, toHalfBits) : q.scales;
  const inits = [tensor('w', 'uint8', [n, q.blocks, form.block / 2], packed), tensor('s', form.fp16Scales ? 'float16' : 'float32', [n, q.blocks], scales)];
  const inputs = [form.fp16Scales ? 'xh' : 'x', 'w', 's'];
  if (form.zeroPoints) {
    const perRow = Math.ceil(q.blocks / 2);
    const zp = new Uint8Array(n * perRow);
    for (let j = 0; j < n; j++) zp.set(packNibbles(q.zps.subarray(j * q.blocks, (j + 1) * q.blocks), q.blocks), j * perRow);
    inits.push(tensor('zp', 'uint8', [n * perRow], zp));
    inputs.push('zp');
  }
  const attrs = [encodeAttr('K', int(k)), encodeAttr('N', int(n)), encodeAttr('bits', int(4)), encodeAttr('block_size', int(form.block)), encodeAttr('accuracy_level', int(form.accuracyLevel))];
  const nodes: NodeProtoInit[] = [{ opType: 'MatMulNBits', domain: MS_DOMAIN, input: inputs, output: [form.fp16Scales ? 'yh' : 'y'], attribute: attrs }];
  if (form.fp16Scales) {
    nodes.unshift({ opType: 'Cast', input: ['x'], output: ['xh'], attribute: [encodeAttr('to', int(10))] });
    nodes.push({ opType: 'Cast', input: ['yh'], output: ['y'], attribute: [encodeAttr('to', int(1))] });
  }
  return encodeForm(nodes, inits, k, n);
}

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

interface Shape {
  name: 'prefill' | 'decode' | 'vision';
  m: number;
  k: number;
  n: number;
}

const fmt = (v: number, d = 2): string => (Number.isFinite(v) ? v.toFixed(d) : '–');

async function main(): Promise<void> {
  const accuracyOnly = process.argv.includes('--accuracy');
  const all = int4Forms();
  const chosenIds = argValue('--forms')?.split(',') ?? all.map((f) => f.id);
  const unknown = chosenIds.filter((id) => !all.some((f) => f.id === id));
  if (unknown.length) throw new Error(`unknown form(s) ${unknown.join(', ')}; known: ${all.map((f) => f.id).join(', ')}`);
  // The references always run: the zoo's int4 form is what every ratio is read against.
  const ids = new Set([...chosenIds, 'fp32', 'int8-s7-dqmm', ZOO_FORM]);
  const forms = all.filter((f) => ids.has(f.id));
  const rounds = Number(argValue('--rounds') ?? 7);
  const threads = Number(process.env['THREADS'] ?? 2);
  const d = getDescriptor('internvl2_5-1b', 'full');
  const tileRows = (d.vision.imageSize / d.vision.patchSize) ** 2 + 1;
  const allShapes: Shape[] = [
    { name: 'prefill', m: 128, k: d.llm.hidden, n: d.llm.intermediate },
    { name: 'prefill', m: 128, k: d.llm.intermediate, n: d.llm.hidden },
    { name: 'decode', m: 1, k: d.llm.hidden, n: d.llm.intermediate },
    { name: 'decode', m: 1, k: d.llm.intermediate, n: d.llm.hidden },
    { name: 'vision', m: tileRows, k: d.vision.hidden, n: d.vision.intermediate },
  ];
  const shapeNames = argValue('--shapes')?.split(',') ?? ['prefill', 'decode', 'vision'];
  const shapes = allShapes.filter((s) => shapeNames.includes(s.name));
  const options: ort.InferenceSession.SessionOptions = { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' };
  const id = machineIdentity();
  console.log(`# 4-bit weight forms, ONNX Runtime ${ort.env.versions.node}, ${threads} intra-op threads${accuracyOnly ? ', accuracy only' : ''}`);
  console.log(`CPU ${cpus()[0]?.model ?? '?'}; kernel flags: ${id.flags.join(' ') || 'none'}; load average ${loadavg().map((v) => v.toFixed(2)).join(' ')} (${cpus().length} logical CPUs)`);
  console.log(`reference for ratios: the zoo's int4 form ${ZOO_FORM}; rounds ${rounds}, forms interleaved, order rotated each round\n`);

  // Accuracy per weight shape (8 rows; the error does not depend on M for these kernels except through per-row quantisation).
  const weights = new Map<string, { w: Float32Array; k: number; n: number }>();
  const passing = new Map<string, Set<string>>();
  console.log('| weight K×N | form | error vs W | kernel error | gate |');
  console.log('| :-- | :-- | --: | --: | :-- |');
  for (const s of shapes) {
    const key = `${s.k}x${s.n}`;
    if (weights.has(key)) continue;
    const w = randomWeight(s.k, s.n, s.k * 31 + s.n);
    weights.set(key, { w, k: s.k, n: s.n });
    const m = 8;
    const x = llmActivations(m, s.k, s.k + s.n);
    const ok = new Set<string>();
    let limit = NaN; // the int8 reference's kernel error, measured first (forms keep the references first)
    for (const form of forms) {
      const session = await ort.InferenceSession.create(build(form, w, s.k, s.n), options);
      const y = (await session.run({ x: new ort.Tensor('float32', x, [m, s.k]) }))['y']!.data as Float32Array;
      await session.release();
      const error = relativeError(x, w, y, m, s.k, s.n);
      const kernelError = relativeError(x, dequantised(form, w, s.k, s.n), y, m, s.k, s.n);
      const reference = form.kind === 'fp32' || form.kind === 'int8';
      if (form.kind === 'int8') limit = kernelError;
      const pass = reference || (Number.isFinite(kernelError) && kernelError <= limit);
      if (pass) ok.add(form.id);
      console.log(`| ${key} | ${form.id} | ${fmt(error, 4)} | ${fmt(kernelError, 4)} | ${reference ? 'reference' : pass ? 'pass' : `FAIL (> int8's ${fmt(limit, 4)})`} |`);
    }
    passing.set(key, ok);
  }
  if (accuracyOnly) return;

  const results: Array<{ shape: Shape; timed: Map<string, TimedForm> }> = [];
  for (const s of shapes) {
    const key = `${s.k}x${s.n}`;
    const { w } = weights.get(key)!;
    const ok = passing.get(key)!;
    const sessions = new Map<string, ort.InferenceSession>();
    for (const form of forms) if (ok.has(form.id)) sessions.set(form.id, await ort.InferenceSession.create(build(form, w, s.k, s.n), options));
    const feed = { x: new ort.Tensor('float32', llmActivations(s.m, s.k, 99), [s.m, s.k]) };
    process.stderr.write(`timing ${s.name} M=${s.m} ${key}: ${sessions.size} forms x ${rounds} rounds\n`);
    const reps = s.m === 1 ? 40 : s.m <= 128 ? 3 : 1;
    const timed = await timeInterleaved(sessions, feed, rounds, reps, sessions.has(ZOO_FORM) ? ZOO_FORM : [...sessions.keys()][0]!);
    for (const session of sessions.values()) await session.release();
    results.push({ shape: s, timed });
  }

  console.log(`\n| form | ${results.map((r) => `${r.shape.name} M=${r.shape.m} ${r.shape.k}×${r.shape.n}: ms (G op/s) · ×zoo`).join(' | ')} |`);
  console.log(`| :-- | ${results.map(() => '--:').join(' | ')} |`);
  for (const form of forms) {
    const cells = results.map((r) => {
      const t = r.timed.get(form.id);
      if (!t) return 'gate failed';
      const gops = (2 * r.shape.m * r.shape.k * r.shape.n) / (t.median * 1e6);
      return `${fmt(t.median, 3)} (${fmt(gops, 0)}) · ${fmt(t.ratioToReference, 2)}`;
    });
    console.log(`| ${form.id === ZOO_FORM ? `**${form.id}** (zoo)` : form.id} | ${cells.join(' | ')} |`);
  }
  // The fastest gated 4-bit form per phase, by the geometric mean of its ratios to the zoo's form.
  for (const phase of ['prefill', 'decode', 'vision'] as const) {
    const rs = results.filter((r) => r.shape.name === phase);
    if (!rs.length) continue;
    let best: { id: string; ratio: number } | null = null;
    for (const form of forms.filter((f) => f.kind === 'nbits' || f.kind === 'dq')) {
      const ratios = rs.map((r) => r.timed.get(form.id)?.ratioToReference ?? NaN);
      if (ratios.some((v) => !Number.isFinite(v))) continue;
      const g = Math.exp(ratios.reduce((a, v) => a + Math.log(v), 0) / ratios.length);
      if (!best || g < best.ratio) best = { id: form.id, ratio: g };
    }
    const int8 = rs.map((r) => r.timed.get('int8-s7-dqmm')?.ratioToReference ?? NaN);
    const fp32 = rs.map((r) => r.timed.get('fp32')?.ratioToReference ?? NaN);
    const gm = (v: number[]): number => Math.exp(v.reduce((a, x) => a + Math.log(x), 0) / v.length);
    console.log(`${phase}: fastest gated 4-bit form ${best?.id ?? '–'} at ${fmt(best?.ratio ?? NaN)}× the zoo's time; int8 (zoo form) ${fmt(gm(int8))}×, fp32 ${fmt(gm(fp32))}×`);
  }
  console.log(`\nload average (1, 5, 15 min) at end: ${loadavg().map((v) => v.toFixed(2)).join(' ')} — a shared machine: read the ×zoo ratios (per round), not the absolute times`);
}

await main();
