/**
 * Vitest global setup: builds llama.cpp's mtmd addon (runners/llamacpp/mtmd-native/build.ts)
 * once before the tests when the run includes tests that use it and no cached build fits, so the
 * first image test does not spend its timeout compiling. A run of other test files only skips it.
 * What it added is printed (a cached build: well under a second).
 */
import { ensureMtmdAddon } from '../../runners/llamacpp/mtmd-native/build.ts';
import { resolveLlamaLibrary } from '../../runners/llamacpp/mtmd-native/library.ts';

/** Test files that load the addon (directly or through an image cell of the llamacpp runner). */
const USES_ADDON = /llamacpp|mtmd/;

/** The positional file filters of `vitest run [filters]`: none means every test file. */
function needed(argv: readonly string[]): boolean {
  const filters = argv.slice(2).filter((a, i, all) => !a.startsWith('-') && a !== 'run' && !(all[i - 1] ?? '').match(/^--(config|project|reporter|outputFile|root|dir)$/));
  return filters.length === 0 || filters.some((f) => USES_ADDON.test(f) || 'test/runners/llamacpp-images.test.ts'.startsWith(f.replace(/^\.\//, '')));
}

export default async function setup(): Promise<void> {
  if (!needed(process.argv)) return;
  const started = Date.now();
  try {
    const build = await ensureMtmdAddon(resolveLlamaLibrary('auto'), {
      log: (m) => process.stderr.write(`test setup: ${m}\n`),
    });
    process.stderr.write(`test setup: mtmd addon ${build.built ? 'built' : 'cached'} (${build.info.key}), ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  } catch (err) {
    // The other tests still run; the image tests fail with the same reason when they load it.
    process.stderr.write(`test setup: the mtmd addon could not be built: ${err instanceof Error ? err.message : String(err)}\n`);
  }
}
