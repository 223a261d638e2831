// scratch: accuracy + speed of int8 candidates (to be turned into bench/int8-forms.ts)
import * as ort from 'onnxruntime-node';
import { encodeAttr, int, MS_DOMAIN, valueInfo } from '../models/onnx/graph-builder.ts';
import { onnx, ONNX_DATA_TYPE, type ElemType, type NodeProtoInit, type TensorProtoInit } from '../models/onnx/proto.ts';

function tensor(name: string, type: ElemType, dims: number[], data: ArrayBufferView): TensorProtoInit {
  return { name, dims, dataType: ONNX_DATA_TYPE[type], rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}
function model(nodes: NodeProtoInit[], inits: TensorProtoInit[], m: number, k: number, n: number): Uint8Array {
  return onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: '', version: 17 }, { domain: MS_DOMAIN, version: 1 }],
    graph: { name: 'g', node: nodes, input: [valueInfo('x', 'float32', ['m', k])], output: [valueInfo('y', 'float32', ['m', n])], initializer: inits } })).finish();
}
let s = 12345;
const rnd = () => { s ^= s << 13; s ^= s >>> 17; s ^= s << 5; return (s >>> 0) / 4294967296; };
const gauss = () => Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd());

type Form = 's8-dqmm' | 's7-dqmm' | 'u8-dqmm' | 'nbits8-b32' | 'nbits8-b128' | 's8-mmi' | 'fp32';
function build(form: Form, W: Float32Array, k: number, n: number): { bytes: Uint8Array; deq: Float64Array } {
  const deq = new Float64Array(k * n);
  if (form === 'fp32') { deq.set(W); return { bytes: model([{ opType: 'MatMul', input: ['x', 'w'], output: ['y'] }], [tensor('w', 'float32', [k, n], W)], 1, k, n), deq }; }
  if (form.startsWith('nbits8')) {
    const bs = form === 'nbits8-b32' ? 32 : 128; const blocks = k / bs;
    const codes = new Uint8Array(n * k); const scales = new Float32Array(n * blocks);
    for (let j = 0; j < n; j++) for (let b = 0; b < blocks; b++) {
      let mx = 0; for (let i = 0; i < bs; i++) mx = Math.max(mx, Math.abs(W[(b * bs + i) * n + j]!));
      const sc = mx / 127 || 1; scales[j * blocks + b] = sc;
      for (let i = 0; i < bs; i++) { const kk = b * bs + i; const q = Math.max(-127, Math.min(127, Math.round(W[kk * n + j]! / sc))); codes[j * k + kk] = q + 128; deq[kk * n + j] = q * sc; }
    }
    return { bytes: model([{ opType: 'MatMulNBits', domain: MS_DOMAIN, input: ['x', 'w', 's'], output: ['y'], attribute: [encodeAttr('K', int(k)), encodeAttr('N', int(n)), encodeAttr('bits', int(8)), encodeAttr('block_size', int(bs)), encodeAttr('accuracy_level', int(4))] }],
      [tensor('w', 'uint8', [n, blocks, bs], codes), tensor('s', 'float32', [n * blocks], scales)], 1, k, n), deq };
  }
  const qmax = form === 's7-dqmm' ? 63 : 127; const qmin = form === 's7-dqmm' ? -64 : -127;
  const scales = new Float32Array(n);
  for (let j = 0; j < n; j++) { let mx = 0; for (let kk = 0; kk < k; kk++) mx = Math.max(mx, Math.abs(W[kk * n + j]!)); scales[j] = mx / (form === 's7-dqmm' ? 64 : 127) || 1; }
  const u8 = form === 'u8-dqmm';
  const codes = u8 ? new Uint8Array(k * n) : new Int8Array(k * n);
  for (let kk = 0; kk < k; kk++) for (let j = 0; j < n; j++) { const q = Math.max(qmin, Math.min(qmax, Math.round(W[kk * n + j]! / scales[j]!))); codes[kk * n + j] = u8 ? q + 128 : q; deq[kk * n + j] = q * scales[j]!; }
  const inits = [tensor('w', u8 ? 'uint8' : 'int8', [k, n], codes), tensor('s', 'float32', [n], scales)];
  if (form === 's8-mmi') {
    return { bytes: model([
      { opType: 'DynamicQuantizeLinear', input: ['x'], output: ['xq', 'xs', 'xz'] },
      { opType: 'MatMulInteger', input: ['xq', 'w', 'xz'], output: ['acc'] },
      { opType: 'Cast', input: ['acc'], output: ['accf'], attribute: [encodeAttr('to', int(1))] },
      { opType: 'Mul', input: ['xs', 's'], output: ['sc'] }, { opType: 'Mul', input: ['accf', 'sc'], output: ['y'] }], inits, 1, k, n), deq };
  }
  const input = ['x', 'w', 's'];
  if (u8) { inits.push(tensor('zp', 'uint8', [n], new Uint8Array(n).fill(128))); input.push('zp'); }
  return { bytes: model([{ opType: 'DynamicQuantizeMatMul', domain: MS_DOMAIN, input, output: ['y'] }], inits, 1, k, n), deq };
}

const forms = (process.argv[2] ?? 'fp32,s8-dqmm,s7-dqmm,u8-dqmm,nbits8-b32,nbits8-b128,s8-mmi').split(',') as Form[];
const timeIt = process.argv[3] !== 'accuracy';
const shapes = (process.argv[4] ?? '896x4864,4864x896').split(',').map((t) => t.split('x').map(Number) as [number, number]);
const opts: ort.InferenceSession.SessionOptions = { intraOpNumThreads: Number(process.env.THREADS ?? 2), interOpNumThreads: 1, graphOptimizationLevel: 'all' };
for (const [k, n] of shapes) {
  const W = Float32Array.from({ length: k * n }, () => (process.env.WDIST === "uniform" ? (rnd() * 2 - 1) : gauss()) / Math.sqrt(k));
  const sessions: Record<string, ort.InferenceSession> = {};
  for (const f of forms) {
    const { bytes, deq } = build(f, W, k, n);
    sessions[f] = await ort.InferenceSession.create(bytes, opts);
    // accuracy on M=8 rows of gaussian activations (LLM-like, with a couple of outlier channels)
    const m = 8; const x = Float32Array.from({ length: m * k }, (_, i) => gauss() * ((i % k) % 97 === 0 ? 8 : 1));
    const y = (await sessions[f].run({ x: new ort.Tensor('float32', x, [m, k]) }))['y']!.data as Float32Array;
    let num = 0, den = 0, numq = 0;
    for (let r = 0; r < m; r++) for (let j = 0; j < n; j++) {
      let ref = 0, refq = 0; for (let kk = 0; kk < k; kk++) { ref += x[r * k + kk]! * W[kk * n + j]!; refq += x[r * k + kk]! * deq[kk * n + j]!; }
      const d = y[r * n + j]! - ref; num += d * d; den += ref * ref; const dq = y[r * n + j]! - refq; numq += dq * dq;
    }
    console.log(`${k}x${n} ${f.padEnd(12)} rel.err vs fp32 W ${Math.sqrt(num / den).toFixed(4)}  vs its own dequantised W ${Math.sqrt(numq / den).toFixed(4)}`);
  }
  if (!timeIt) continue;
  for (const m of [1, 128]) {
    const x = new ort.Tensor('float32', Float32Array.from({ length: m * k }, () => gauss()), [m, k]);
    const times: Record<string, number[]> = Object.fromEntries(forms.map((f) => [f, []]));
    for (const f of forms) for (let i = 0; i < 5; i++) await sessions[f]!.run({ x });
    const reps = m === 1 ? 50 : 5;
    for (let round = 0; round < 15; round++) for (const f of forms) {
      const t0 = performance.now(); for (let i = 0; i < reps; i++) await sessions[f]!.run({ x }); times[f]!.push((performance.now() - t0) / reps);
    }
    for (const f of forms) { const t = times[f]!.sort((a, b) => a - b); console.log(`${k}x${n} M=${m} ${f.padEnd(12)} median ${t[7]!.toFixed(3)} ms  best ${t[0]!.toFixed(3)} ms`); }
  }
  for (const s2 of Object.values(sessions)) await s2.release();
}
