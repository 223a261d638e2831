/**
 * llama.cpp's multimodal library (mtmd) in process, through @fugood/llama.node (pinned 1.7.15):
 * the binding with an image API (`initMultimodal` with an mmproj GGUF, `completion` with
 * `media_paths`). node-llama-cpp 3.x, which serves the text cells, has none.
 *
 * Only the prebuilt binary of the installed platform package is loaded (no download, no build at
 * run or test time). Its linux-x64 CPU build has no SIMD (its system info lists no AVX), so the
 * runner records the build's CPU features in every cell and flags its timings (runners/llamacpp/simd.ts).
 *
 * llama.cpp and mtmd write their log to the process's stderr (the binding offers no level
 * switch); mtmd's per-image encode times are only there, so the runner does not rely on them.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { errorMessage } from '../../core/errors.ts';
import { llamaNodePackageName, type LlamaNodeVariant, type VariantChoice } from './llama-node-variant.ts';

const require = createRequire(import.meta.url);

export const LLAMA_NODE_PACKAGE = '@fugood/llama.node';

/** The installed binding's version (read from its package.json beside its entry point). */
export function llamaNodeVersion(): string {
  const entry = require.resolve(LLAMA_NODE_PACKAGE);
  const pkg = JSON.parse(readFileSync(entry.replace(/lib[\\/]index\.js$/, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/** The part of the binding's context API the runner uses (its own .d.ts types are looser). */
export interface MtmdContext {
  getSystemInfo(): string;
  initMultimodal(options: { path: string; use_gpu?: boolean }): boolean | Promise<boolean>;
  isMultimodalEnabled(): boolean;
  clearCache(clearData?: boolean): void;
  tokenize(text: string, options: { media_paths?: string[] }): Promise<{ tokens: Int32Array; has_media: boolean }>;
  completion(options: { prompt: string; media_paths?: string[]; n_predict: number; temperature: number; top_k?: number; ignore_eos?: boolean }): Promise<MtmdCompletion>;
  release(): Promise<void>;
}

export interface MtmdCompletion {
  tokens_predicted: number;
  tokens_evaluated: number;
  timings: { prompt_n: number; prompt_ms: number; predicted_n: number; predicted_ms: number };
}

interface LlamaNodeModule {
  loadModel(options: Record<string, unknown>): Promise<MtmdContext>;
  getBackendDevicesInfo(variant: LlamaNodeVariant): Promise<Array<{ backend: string; type: string; deviceName: string }>>;
}

/**
 * Loads the native build of a chosen variant as llama.node's loadModule would (`import` of its
 * platform package), so that a build that is missing or fails to load is known here: llama.node
 * itself would fall back to the CPU build with only a console warning. An auto choice falls back
 * to the default build with the reason recorded; a variant the suite named is an error.
 */
export async function loadVariant(choice: VariantChoice): Promise<VariantChoice> {
  if (choice.variant === 'default') return choice;
  try {
    // Required from the binding's own location, as its lib/binding.js does (`require(packageName)`).
    createRequire(require.resolve(LLAMA_NODE_PACKAGE))(choice.packageName);
    return choice;
  } catch (err) {
    const why = `${choice.packageName} did not load: ${errorMessage(err).split('\n')[0]}`;
    if (choice.explicit) throw new Error(`${LLAMA_NODE_PACKAGE}: ${why} (${choice.reason})`);
    return { ...choice, variant: 'default', packageName: llamaNodePackageName(process.platform, process.arch, 'default'), reason: `${choice.reason}; ${why}, so the default build runs` };
  }
}

let module: Promise<LlamaNodeModule> | null = null;

/** Loaded on first use, so listing runners does not load a native module. */
export function llamaNode(): Promise<LlamaNodeModule> {
  module ??= (import(LLAMA_NODE_PACKAGE) as Promise<LlamaNodeModule>).catch((err: unknown) => {
    module = null;
    throw new Error(`${LLAMA_NODE_PACKAGE} could not load its prebuilt binary (no download or build is attempted): ${errorMessage(err)}`);
  });
  return module;
}
