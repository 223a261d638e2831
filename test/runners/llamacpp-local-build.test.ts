/**
 * A suite with a text cell and an image cell of the llamacpp runner on node-llama-cpp's LOCAL
 * build (its own source build, `npx --no node-llama-cpp source download --gpu false`, offline
 * from its bundled llama.cpp sources): both cells run that one build, the mtmd addon links its
 * libraries, and each cell records it as a build of its own (never the prebuilt's series).
 *
 * CI does not make the build (tens of minutes on 2 cores): without one, this file is skipped and
 * says why. On a Jetson the same test runs against the local CUDA build with
 * BENCH_TEST_LLAMA_LIBRARY=cuda.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cellIdentity } from '../../analysis/identity.ts';
import type { Suite } from '../../core/suite-types.ts';
import { readResult } from '../../harness/result-store.ts';
import { runSuite } from '../../harness/run-suite.ts';
import { llamaCppRunner } from '../../runners/llamacpp/index.ts';
import { localBuildCommand, localBuildFolderName, nodeLlamaCppInstall, parseLibraryOption, resolveLlamaLibrary, type LlamaLibrary } from '../../runners/llamacpp/mtmd-native/library.ts';
import { loaded, outDir, quietProgress, removeOutDirs } from '../targets/helpers/run.ts';

afterAll(() => removeOutDirs());

const requested = parseLibraryOption(process.env['BENCH_TEST_LLAMA_LIBRARY'] ?? 'cpu', 'BENCH_TEST_LLAMA_LIBRARY');
const flavour = requested === 'auto' ? 'cpu' : requested;
const library: LlamaLibrary | undefined = (() => {
  try {
    const lib = resolveLlamaLibrary(requested);
    return lib.build === 'local' ? lib : undefined;
  } catch {
    return undefined;
  }
})();
if (!library) {
  const folder = join(nodeLlamaCppInstall().localBuildsDir, localBuildFolderName(process.platform, process.arch, flavour));
  console.log(`llamacpp-local-build.test.ts skipped: node-llama-cpp has no complete local ${flavour} build (${folder}); make one with \`${localBuildCommand(flavour)}\` to run it`);
}

/** The shared-library files this process has mapped whose names start with `prefix` (Linux). */
function mapped(prefix: string): string[] {
  const paths = readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .map((l) => /\s(\/\S+)$/.exec(l)?.[1])
    .filter((p): p is string => !!p && p.split('/').pop()!.startsWith(prefix));
  return [...new Set(paths)].sort();
}

describe('llamacpp runner on node-llama-cpp\'s local build', () => {
  // Skipped from inside (not describe.skipIf), so the file's own hooks (its temp-folder check) still run.
  it('a text cell and an image cell run the one local build, and say so in their settings and identity', async (ctx) => {
    if (!library) return ctx.skip();
    const lib = library;
    const suite: Suite = {
      name: 'llamacpp-local-build-test',
      model: { zoo: 'internvl2_5-1b', scale: 'tiny', seed: 99 },
      target: 'local',
      runner: 'llamacpp',
      options: { llamaLibrary: flavour },
      defaults: { warmup: 0, iterations: 2, outputTokens: 3, threads: 1 },
      matrix: { images: [0, 1], prefill: [8], precision: ['int8'] },
    };
    const outcome = await runSuite({ suite: loaded(suite), target: 'local', filters: [], outDir: outDir(), runners: { llamacpp: llamaCppRunner }, progress: quietProgress() });
    expect(outcome.failedCells).toBe(0);
    const result = readResult(outcome.store.file);
    const [text, image] = result.cells;
    expect([text!.params['images'], image!.params['images']]).toEqual([0, 1]);
    const provider = `${flavour} (node-llama-cpp local build ${localBuildFolderName(process.platform, process.arch, flavour)})`;
    for (const c of [text!, image!]) {
      expect(c.metrics['ttft_ms']!.n).toBe(2);
      expect(c.settings).toMatchObject({ llamaLibrary: flavour, llamaBuild: 'local', llamaLibraryDir: lib.dir, executionProvider: provider });
      // The configuration identity keeps this build apart from the prebuilt's series.
      expect(cellIdentity(result, c).fields.execution_provider).toBe(`${provider} [build SIMD: ${String(c.settings['llamaBuildSimd'])}]`);
    }
    // node-llama-cpp itself loaded its local build; the addon was built against it.
    expect(text!.settings['llamaBuildType']).toBe('localBuild');
    expect(String(image!.settings['mtmdAddonBuild'])).toMatch(new RegExp(`-${flavour}-local-[0-9a-f]{12}$`));
    // One llama.cpp in the process, both bindings on it: the same system info, and every libllama
    // / libggml-base the process mapped is the local build's (none from the prebuilt package).
    expect(image!.settings['llamaSystemInfo']).toBe(text!.settings['llamaSystemInfo']);
    expect(mapped('libllama.')).toEqual([join(lib.dir, lib.llama)]);
    expect(mapped('libggml-base')).toEqual([join(lib.dir, lib.ggmlBase)]);
    // A CPU local build links ggml's native CPU backend (GGML_NATIVE, no per-CPU modules).
    if (flavour === 'cpu') expect(image!.settings['llamaCpuBackend']).toBe('libggml-cpu.so');
  });
});
