/**
 * The suite's own mtmd addon (addon.cc), loaded from its cached build (build.ts) for one llama.cpp
 * library (library.ts). Typed here: the native module's surface is only what this file declares.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { errorMessage } from '../../../core/errors.ts';
import { ensureMtmdAddon, type MtmdAddonBuild } from './build.ts';
import { pinLlamaLibrary, type LlamaLibrary } from './library.ts';

export interface MtmdChunk {
  type: 'text' | 'image' | 'audio';
  /** Tokens the chunk puts in the KV memory (an image's embeddings count one each). */
  nTokens: number;
  /** Positions it advances (M-RoPE: an image of rows x cols tokens takes max(rows, cols)). */
  nPos: number;
  /** An image chunk's token grid (columns, rows). */
  nx?: number;
  ny?: number;
}

export interface LlamaPerf {
  loadMs: number;
  promptEvalMs: number;
  promptEvalTokens: number;
  evalMs: number;
  evalTokens: number;
  graphReuses: number;
}

export interface MtmdSession {
  /** Images decoded and preprocessed, the prompt tokenised into chunks (the PREPROCESS phase). */
  prepare(text: string, imagePaths: string[]): Promise<MtmdChunk[]>;
  /** The vision encoder on one image chunk (IMAGE_ENCODE); its embeddings are kept for prefill. */
  encodeImage(chunkIndex: number): Promise<void>;
  /**
   * An encoded image chunk's embeddings, tokens x nEmbdInp row-major: n_embd, or for Qwen3-VL
   * n_embd x (1 + DeepStack levels) (the merger's output, then each level).
   */
  imageEmbedding(chunkIndex: number): Float32Array;
  /** Every chunk into the KV memory (PREFILL): the positions evaluated and the first token (argmax of the last row). */
  prefill(): Promise<{ positions: number; token: number }>;
  /** One DECODE step: the last chosen token evaluated, the next one chosen (argmax, EOS not special). */
  step(): Promise<number>;
  /** KV memory cleared, prepared prompt dropped, llama.cpp's perf counters zeroed. */
  reset(): void;
  perf(): LlamaPerf;
  info(): { nCtx: number; nBatch: number; nEmbdInp: number; mrope: boolean; vision: boolean; marker: string; nPast: number };
  close(): void;
}

export interface MtmdOpenOptions {
  model: string;
  mmproj: string;
  nCtx: number;
  nBatch: number;
  nThreads: number;
  /** LLM layers on the GPU (0 = CPU). */
  nGpuLayers?: number;
  mmprojUseGpu?: boolean;
  /** mtmd's --image-min-tokens / --image-max-tokens (dynamic-resolution projectors). */
  imageMinTokens?: number;
  imageMaxTokens?: number;
}

export interface MtmdAddon {
  init(libraryDir: string): void;
  systemInfo(): string;
  devices(): Array<{ name: string; description: string; backend: string; type: string }>;
  open(options: MtmdOpenOptions): Promise<MtmdSession>;
}

export interface LoadedMtmdAddon {
  addon: MtmdAddon;
  build: MtmdAddonBuild;
  library: LlamaLibrary;
}

const loaded = new Map<string, Promise<LoadedMtmdAddon>>();

/** The addon for a library, built on first use and loaded once per process. */
export function loadMtmdAddon(library: LlamaLibrary, log: (msg: string) => void = () => {}): Promise<LoadedMtmdAddon> {
  let p = loaded.get(library.dir);
  if (!p) {
    // Before anything loads: one build's libraries per process (library.ts).
    pinLlamaLibrary(library);
    p = ensureMtmdAddon(library, { log }).then((build) => {
      let addon: MtmdAddon;
      try {
        addon = createRequire(import.meta.url)(build.addonPath) as MtmdAddon;
      } catch (err) {
        throw new Error(`the mtmd addon ${build.addonPath} did not load: ${errorMessage(err)}`);
      }
      addon.init(library.dir);
      return { addon, build, library };
    });
    p.catch(() => loaded.delete(library.dir));
    loaded.set(library.dir, p);
  }
  return p;
}

/** The ggml CPU backend module the process loaded (Linux: from /proc/self/maps), e.g. libggml-cpu-haswell.so. */
export function loadedCpuBackend(): string {
  try {
    const names = new Set(readFileSync('/proc/self/maps', 'utf8').split('\n').map((l) => /\/(libggml-cpu[^/\s]*\.so)\s*$/.exec(l)?.[1]).filter((n): n is string => !!n));
    return [...names].join(' ') || 'unknown';
  } catch {
    return 'unknown';
  }
}
