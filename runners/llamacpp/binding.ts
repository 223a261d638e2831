/**
 * The llama.cpp instance of the process, through node-llama-cpp (pinned 3.21.1), for the build
 * the suite's cells run (mtmd-native/library.ts chooses it: node-llama-cpp's local build of the
 * flavour, else its prebuilt package). `build: 'never'` and `skipDownload` make a missing binary
 * an error instead of a download or a compile at run (or test) time; what node-llama-cpp loaded
 * is checked against the choice, so the text cells never run another build than the image cells.
 */
import { readFileSync } from 'node:fs';
import type { Llama } from 'node-llama-cpp';
import { errorMessage, InputError } from '../../core/errors.ts';
import { pinLlamaLibrary, type LlamaLibrary } from './mtmd-native/library.ts';

/** The installed binding's version (its package.json is not exported: found beside its entry, dist/index.js). */
export const NODE_LLAMA_CPP_VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.resolve('node-llama-cpp')), 'utf8')) as { version: string }
).version;

const instances = new Map<string, Promise<Llama>>();
/** llama.cpp warnings, kept for the cell settings (a warning about the model is worth seeing). */
const warnings: string[] = [];

/** node-llama-cpp's `gpu` option (and `llama.gpu`) of a library flavour. */
export function nodeLlamaCppGpu(library: LlamaLibrary): false | 'cuda' | 'vulkan' {
  return library.flavour === 'cpu' ? false : library.flavour;
}

/**
 * What node-llama-cpp loaded, against the chosen library: its gpu, its build type (a local build
 * or the prebuilt) and a local build's custom CMake options. undefined = the same build.
 */
export function loadedBuildMismatch(library: LlamaLibrary, loaded: { gpu: unknown; buildType: string; cmakeOptions: Readonly<Record<string, string>> }): string | undefined {
  const gpu = nodeLlamaCppGpu(library);
  if (loaded.gpu !== gpu) return `node-llama-cpp loaded a gpu=${String(loaded.gpu)} build, the cells' library is gpu=${String(gpu)}`;
  const expected = library.build === 'local' ? 'localBuild' : 'prebuilt';
  if (loaded.buildType !== expected) return `node-llama-cpp loaded its ${loaded.buildType} build, the cells' library is ${library.source}`;
  if (library.build === 'local') {
    const a = JSON.stringify(Object.entries(loaded.cmakeOptions).sort());
    const b = JSON.stringify(Object.entries(library.cmakeOptions ?? {}).sort());
    if (a !== b) return `node-llama-cpp loaded a local build with CMake options ${a}, ${library.source} has ${b}`;
  }
  return undefined;
}

/**
 * node-llama-cpp on the chosen build, loaded on first use (importing the runner, e.g. for `bench
 * list`, does not load it) and once per build. A folder node-llama-cpp does not load (build
 * 'folder') is refused: the text cells would run another build than the one recorded.
 */
export function llamaFor(library: LlamaLibrary): Promise<Llama> {
  if (library.build === 'folder') {
    return Promise.reject(
      new InputError(`llamacpp text cells: ${library.reason}; node-llama-cpp loads only its prebuilt packages and its local builds (node_modules/node-llama-cpp/llama/localBuilds/<name>/Release), so its text cells cannot run this build`),
    );
  }
  let instance = instances.get(library.dir);
  if (!instance) {
    instance = (async () => {
      pinLlamaLibrary(library);
      const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
      let llama: Llama;
      try {
        llama = await getLlama({
          gpu: nodeLlamaCppGpu(library),
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
        });
      } catch (err) {
        throw new Error(`node-llama-cpp ${NODE_LLAMA_CPP_VERSION} could not load ${library.source} (no download or build is attempted): ${errorMessage(err)}`);
      }
      const mismatch = loadedBuildMismatch(library, llama);
      if (mismatch) {
        await llama.dispose();
        throw new InputError(`llamacpp: ${mismatch}; text and image cells must run one build (${library.reason})`);
      }
      return llama;
    })();
    instance.catch(() => instances.delete(library.dir));
    instances.set(library.dir, instance);
  }
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
