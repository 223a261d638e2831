/**
 * The llamacpp runner's inputs from the environment and the suite (issue 26, third pass). Its
 * image cells take no image file from the user (the frames are the suite's own synthetic PNGs of
 * the model's tile size, and options.images is refused for this runner), so no decompression bomb
 * reaches mtmd's stb_image; what a user does give is checked here.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../core/errors.ts';
import { loadSuite } from '../../harness/suite-loader.ts';
import { buildOnce } from '../../runners/llamacpp/mtmd-native/build.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('llamacpp runner inputs', () => {
  it('a BENCH_MTMD_CACHE_DIR that is a file is named in one line, and nothing is built', async () => {
    const file = join(tempDir('bench-mtmd-cache-'), 'not-a-folder');
    writeFileSync(file, 'x');
    let produced = false;
    const building = buildOnce(file, 'key', async () => {
      produced = true;
    });
    await expect(building).rejects.toThrow(InputError);
    await expect(buildOnce(file, 'key', async () => {})).rejects.toThrow(`cannot create the mtmd build cache (BENCH_MTMD_CACHE_DIR, else BENCH_CACHE_DIR/llama-mtmd, else .cache/llama-mtmd) ${file}: ${file}: is a file, not a folder`);
    expect(produced).toBe(false);
  });

  it('a llamacpp suite cannot give image files (its frames are synthetic): options.images is refused', () => {
    const suite = join(tempDir('bench-llama-images-'), 'suite.yaml');
    writeFileSync(suite, 'name: llama-images\nmodel: { zoo: internvl2_5-1b, scale: tiny, seed: 99 }\ntarget: local\nrunner: llamacpp\noptions: { images: { dir: . } }\ndefaults: { warmup: 0, iterations: 1, outputTokens: 4 }\nmatrix: { images: [1], prefill: [16], precision: [fp32] }\n');
    expect(() => loadSuite(suite)).toThrow(/field "options\.images": is not an option of the llamacpp runner/);
  });
});

describe('options.llamaLibraryDir (a folder whose libraries are loaded into the process)', () => {
  it('is refused before the run when it is not a folder', async () => {
    const { llamaCppRunner } = await import('../../runners/llamacpp/index.ts');
    const dir = tempDir('bench-llama-libdir-');
    const suite = loadSuite(writeSuite(dir, `llamaLibraryDir: ${join(dir, 'missing')}`)).suite;
    expect(() => llamaCppRunner.checkPlan!(suite, [])).toThrow(`options.llamaLibraryDir ${join(dir, 'missing')}: not a folder`);
  });
});

function writeSuite(dir: string, options: string): string {
  const file = join(dir, 'suite.yaml');
  writeFileSync(file, `name: llama-libdir\nmodel: { zoo: internvl2_5-1b, scale: tiny, seed: 99 }\ntarget: local\nrunner: llamacpp\noptions: { ${options} }\ndefaults: { warmup: 0, iterations: 1, outputTokens: 4 }\nmatrix: { images: [1], prefill: [16], precision: [fp32] }\n`);
  return file;
}
