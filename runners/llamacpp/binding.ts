/**
 * The one llama.cpp instance of the process, through node-llama-cpp (pinned 3.21.1). Loaded
 * only from the prebuilt CPU binaries that ship in the npm package (@node-llama-cpp/<platform>):
 * `build: 'never'` and `skipDownload` make a missing binary an error instead of a download or a
 * compile at run (or test) time.
 */
import { readFileSync } from 'node:fs';
import type { Llama } from 'node-llama-cpp';
import { errorMessage } from '../../core/errors.ts';

/** The installed binding's version (its package.json is not exported: found beside its entry, dist/index.js). */
export const NODE_LLAMA_CPP_VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.resolve('node-llama-cpp')), 'utf8')) as { version: string }
).version;

let instance: Promise<Llama> | null = null;
/** llama.cpp warnings, kept for the cell settings (a warning about the model is worth seeing). */
const warnings: string[] = [];

/** Loaded on first use, so importing the runner (e.g. for `bench list`) does not load the binding. */
export function llamaCpu(): Promise<Llama> {
  instance ??= import('node-llama-cpp').then(({ getLlama, LlamaLogLevel }) => getLlama({
    gpu: false,
    build: 'never',
    skipDownload: true,
    usePrebuiltBinaries: true,
    progressLogs: false,
    // 0 = no cap: a context's `threads` is then exactly the number used (node-llama-cpp docs).
    maxThreads: 0,
    logLevel: LlamaLogLevel.warn,
    logger: (level, message) => {
      if (level === LlamaLogLevel.error || level === LlamaLogLevel.warn || level === LlamaLogLevel.fatal) {
        const line = message.trim();
        if (line && warnings.length < 20) warnings.push(line);
      }
    },
  })).catch((err: unknown) => {
    instance = null;
    throw new Error(
      `node-llama-cpp ${NODE_LLAMA_CPP_VERSION} could not load its prebuilt CPU binary (no download or build is attempted): ${errorMessage(err)}`,
    );
  });
  return instance;
}

export function takeLlamaWarnings(): string[] {
  return warnings.splice(0, warnings.length);
}

/** Build facts for a cell's settings. */
export function llamaBuildInfo(llama: Llama): Record<string, string> {
  return {
    binding: `node-llama-cpp ${NODE_LLAMA_CPP_VERSION}`,
    llamaCppRelease: `${llama.llamaCppRelease.repo}@${llama.llamaCppRelease.release}`,
    llamaBuildType: llama.buildType,
    llamaSystemInfo: llama.systemInfo.trim(),
    gpu: String(llama.gpu),
  };
}
