import type { VlmDescriptor } from '../descriptors.ts';
import type { LinearOptions } from '../layers/linear.ts';
import type { MmprojWeightType } from '../gguf/mmproj.ts';

/** Everything a layout builder needs; it writes into `dir` (a temp folder renamed when done). */
export interface LayoutBuild {
  dir: string;
  descriptor: VlmDescriptor;
  lin: LinearOptions;
  lmHead: 'separate' | 'merged';
  /** False: leave the vision encoder out (onnx-community only); default true. */
  vision?: boolean;
  /** gguf only: the mmproj's form when not the precision's default (models/gguf/mmproj.ts). */
  mmprojType?: MmprojWeightType;
  log: (msg: string) => void;
}

export interface LayoutResult {
  /** Session name -> absolute .onnx path. */
  files: Record<string, string>;
  /** Non-ONNX files a host needs (e.g. the embedding table the Axera layout looks up on the CPU). */
  assets: Record<string, string>;
  /** File name -> bytes for every file written. */
  sizes: Record<string, number>;
  /** Host-loop parameters the layout was designed for (Axera: prefill chunk, KV cache length). */
  params: Record<string, number>;
}
