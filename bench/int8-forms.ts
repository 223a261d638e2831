/**
 * Which int8 form for the zoo's linears: accuracy and speed of the candidates on this machine.
 *
 *   npm run bench:int8-forms                 # accuracy + interleaved timing, 896x4864 and 4864x896
 *   npm run bench:int8-forms -- --accuracy   # accuracy only (e.g. under `qemu-x86_64 -cpu Haswell`,
 *                                            # to see the AVX2 path on a VNNI machine)
 *   npm run bench:int8-forms -- --forms s8-dqmm,s7-dqmm --rounds 40   # an A/B of some forms
 *
 * Candidates (ORT CPU EP):
 *   s8-dqmm     DynamicQuantizeMatMul, s8 codes [-127, 127] (the zoo's form before BUILDER_VERSION 1.3.0)
 *   s7-dqmm     DynamicQuantizeMatMul, 7-bit codes [-64, 64] (the zoo's form, models/weights/int8-form.ts)
 *   u8-dqmm     DynamicQuantizeMatMul, u8 codes with zero point 128 (MLAS U8U8 kernels)
 *   nbits8-bNN  MatMulNBits bits 8, block NN, accuracy_level 4 (int8 activations per block)
 *   s7-mmi      DynamicQuantizeLinear + MatMulInteger + rescale, 7-bit codes
 * Accuracy: relative RMS error of y = x W against float64 with the unquantised W, on
 * LLM-like activations (Gaussian, every 97th channel x8). Timing: rounds interleave the forms
 * so load changes hit all of them alike, each round starting at the next form so none always
 * runs after the same neighbour; median and best of the rounds.
 */
import * as ort from 'onnxruntime-node';
import { encodeAttr, int, MS_DOMAIN } from '../models/onnx/graph-builder.ts';
import { INT8_CODE_LIMIT } from '../models/weights/int8-form.ts';
import { encodeForm as encode, gaussian, relativeError, tensor, timeInterleaved } from './matmul-form-kit.ts';

type Form = 'fp32' | 's8-dqmm' | 's7-dqmm' | 'u8-dqmm' | 'nbits8-b32' | 'nbits8-b128' | 's7-mmi';
const FORMS: Form[] = ['fp32', 's8-dqmm', 's7-dqmm', 'u8-dqmm', 'nbits8-b32', 'nbits8-b128', 's7-mmi'];
const SHAPES: Array<[number, number]> = [[896, 4864], [4864, 896]];

/** The candidate's graph for W `[k, n]` (row-major, x W). */
function build(form: Form, w: Float32Array, k: number, n: number): Uint8Array {
  if (form === 'fp32') return encode([{ opType: 'MatMul', input: ['x', 'w'], output: ['y'] }], [tensor('w', 'float32', [k, n], w)], k, n);
  if (form === 'nbits8-b32' || form === 'nbits8-b128') {
    const bs = form === 'nbits8-b32' ? 32 : 128;
    const blocks = k / bs;
    const codes = new Uint8Array(n * k);
    const scales = new Float32Array(n * blocks);
    for (let j = 0; j < n; j++) {
      for (let b = 0; b < blocks; b++) {
        let max = 0;
        for (let i = 0; i < bs; i++) max = Math.max(max, Math.abs(w[(b * bs + i) * n + j]!));
        const scale = max / 127 || 1;
        scales[j * blocks + b] = scale;
        for (let i = 0; i < bs; i++) codes[j * k + b * bs + i] = Math.round(w[(b * bs + i) * n + j]! / scale) + 128;
      }
    }
    const attrs = [encodeAttr('K', int(k)), encodeAttr('N', int(n)), encodeAttr('bits', int(8)), encodeAttr('block_size', int(bs)), encodeAttr('accuracy_level', int(4))];
    return encode(
      [{ opType: 'MatMulNBits', domain: MS_DOMAIN, input: ['x', 'w', 's'], output: ['y'], attribute: attrs }],
      [tensor('w', 'uint8', [n, blocks, bs], codes), tensor('s', 'float32', [n * blocks], scales)],
      k,
      n,
    );
  }
  const limit = form === 's8-dqmm' || form === 'u8-dqmm' ? 127 : INT8_CODE_LIMIT;
  const scales = new Float32Array(n);
  for (let j = 0; j < n; j++) {
    let max = 0;
    for (let i = 0; i < k; i++) max = Math.max(max, Math.abs(w[i * n + j]!));
    scales[j] = max / limit || 1;
  }
  const unsigned = form === 'u8-dqmm';
  const codes = unsigned ? new Uint8Array(k * n) : new Int8Array(k * n);
  for (let i = 0; i < k; i++) for (let j = 0; j < n; j++) codes[i * n + j] = Math.round(w[i * n + j]! / scales[j]!) + (unsigned ? 128 : 0);
  const inits = [tensor('w', unsigned ? 'uint8' : 'int8', [k, n], codes), tensor('s', 'float32', [n], scales)];
  if (form === 's7-mmi') {
    return encode(
      [
        { opType: 'DynamicQuantizeLinear', input: ['x'], output: ['xq', 'xs', 'xz'] },
        { opType: 'MatMulInteger', input: ['xq', 'w', 'xz'], output: ['acc'] },
        { opType: 'Cast', input: ['acc'], output: ['accf'], attribute: [encodeAttr('to', int(1))] },
        { opType: 'Mul', input: ['xs', 's'], output: ['scale'] },
        { opType: 'Mul', input: ['accf', 'scale'], output: ['y'] },
      ],
      inits,
      k,
      n,
    );
  }
  const input = ['x', 'w', 's'];
  if (unsigned) {
    inits.push(tensor('zp', 'uint8', [n], new Uint8Array(n).fill(128)));
    input.push('zp');
  }
  return encode([{ opType: 'DynamicQuantizeMatMul', domain: MS_DOMAIN, input, output: ['y'] }], inits, k, n);
}

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const accuracyOnly = process.argv.includes('--accuracy');
  const chosen = argValue('--forms')?.split(',') ?? FORMS;
  const unknown = chosen.filter((f) => !FORMS.includes(f as Form));
  if (unknown.length) throw new Error(`unknown form(s) ${unknown.join(', ')}; known: ${FORMS.join(', ')}`);
  const forms = chosen as Form[];
  const rounds = Number(argValue('--rounds') ?? 15);
  const threads = Number(process.env.THREADS ?? 2);
  const options: ort.InferenceSession.SessionOptions = { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' };
  console.log(`int8 forms, ORT ${ort.env.versions.node}, ${threads} intra-op threads${accuracyOnly ? ', accuracy only' : ''}`);
  for (const [k, n] of accuracyOnly ? [[896, 512] as [number, number]] : SHAPES) {
    const g = gaussian(k * 31 + n);
    const w = Float32Array.from({ length: k * n }, () => g() / Math.sqrt(k));
    const sessions = new Map<Form, ort.InferenceSession>();
    const m = 8;
    const x = Float32Array.from({ length: m * k }, (_, i) => g() * (i % k % 97 === 0 ? 8 : 1));
    for (const form of forms) {
      const s = await ort.InferenceSession.create(build(form, w, k, n), options);
      sessions.set(form, s);
      const y = (await s.run({ x: new ort.Tensor('float32', x, [m, k]) }))['y']!.data as Float32Array;
      console.log(`${k}x${n} ${form.padEnd(12)} relative error vs fp32 weights ${relativeError(x, w, y, m, k, n).toFixed(4)}`);
    }
    if (!accuracyOnly) {
      for (const rows of [1, 128]) {
        const feed = { x: new ort.Tensor('float32', Float32Array.from({ length: rows * k }, () => g()), [rows, k]) };
        const reps = rows === 1 ? 50 : 5;
        const timed = await timeInterleaved(sessions, feed, rounds, reps, forms[0]!);
        for (const [form, t] of timed) {
          console.log(`${k}x${n} M=${String(rows).padEnd(3)} ${form.padEnd(12)} median ${t.median.toFixed(3)} ms, best ${t.best.toFixed(3)} ms, ${t.ratioToReference.toFixed(2)}x ${forms[0]}`);
        }
      }
    }
    for (const s of sessions.values()) await s.release();
  }
}

await main();
