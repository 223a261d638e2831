/**
 * A three-node ONNX model (MatMul -> Relu -> Add) built in memory, and a helper that runs it
 * under ONNX Runtime profiling: gives the ORT profile parser real output of the installed
 * onnxruntime-node, with model_run events, in well under a second.
 */
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { tempDir } from '../helpers/tmp.ts';

const { onnx } = onnxProto;

export function tinyModelBytes(): Uint8Array {
  const weights = new Float32Array(16).map((_, i) => (i % 5) * 0.1);
  const tensor4 = { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }, { dimValue: 4 }] } } };
  const model = onnx.ModelProto.create({
    irVersion: 7,
    opsetImport: [{ domain: '', version: 13 }],
    producerName: 'vlm-edge-bench test',
    graph: {
      name: 'tiny',
      node: [
        { opType: 'MatMul', input: ['x', 'w'], output: ['h'], name: 'proj' },
        { opType: 'Relu', input: ['h'], output: ['r'], name: 'act' },
        { opType: 'Add', input: ['r', 'x'], output: ['y'], name: 'residual' },
      ],
      initializer: [{ name: 'w', dims: [4, 4], dataType: 1, rawData: new Uint8Array(weights.buffer) }],
      input: [{ name: 'x', type: tensor4 }],
      output: [{ name: 'y', type: tensor4 }],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Runs the tiny model `runs` times with profiling on; returns the profile file's text. */
export async function profileTinyModel(runs: number): Promise<string> {
  const dir = tempDir('parsers-ort-');
  try {
    const session = await ort.InferenceSession.create(tinyModelBytes(), {
      enableProfiling: true,
      profileFilePrefix: join(dir, 'profile'),
      intraOpNumThreads: 1,
      graphOptimizationLevel: 'disabled',
    });
    const input = new ort.Tensor('float32', new Float32Array([1, -2, 3, -4]), [1, 4]);
    for (let i = 0; i < runs; i++) await session.run({ x: input });
    session.endProfiling();
    await session.release();
    const file = readdirSync(dir).find((f) => f.endsWith('.json'));
    if (!file) throw new Error('ONNX Runtime wrote no profile file');
    return readFileSync(join(dir, file), 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
