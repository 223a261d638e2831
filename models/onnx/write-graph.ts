import { statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { ExternalDataSink } from './external-data.ts';
import { DEFAULT_OPSET, GraphBuilder, MS_DOMAIN } from './graph-builder.ts';

export interface WrittenGraph {
  /** Absolute path of the .onnx file. */
  path: string;
  /** File name -> bytes, including the external data file when there is one. */
  sizes: Record<string, number>;
}

/**
 * Builds one graph into `<dir>/<fileStem>.onnx` (+ `<fileStem>.onnx_data` for the weights,
 * the name transformers.js and ORT expect next to the model).
 */
export function writeGraph(dir: string, fileStem: string, docString: string, build: (g: GraphBuilder) => void): WrittenGraph {
  const dataName = `${fileStem}.onnx_data`;
  const dataPath = join(dir, dataName);
  const sink = new ExternalDataSink(dataPath);
  const g = new GraphBuilder(fileStem, sink);
  try {
    build(g);
  } finally {
    sink.close();
  }
  const path = join(dir, `${fileStem}.onnx`);
  const modelBytes = g.writeModel(path, { '': DEFAULT_OPSET, [MS_DOMAIN]: 1 }, docString);
  const sizes: Record<string, number> = { [`${fileStem}.onnx`]: modelBytes };
  if (sink.bytesWritten > 0) sizes[dataName] = statSync(dataPath).size;
  else unlinkSync(dataPath);
  return { path, sizes };
}
