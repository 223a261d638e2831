import { defineConfig } from 'vitest/config';
import { mtmdCacheRoot } from './runners/llamacpp/mtmd-native/build.ts';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // system-packages.ts installs the system programs tests drive for real (sshd, Chromium, g++)
    // when missing; mtmd-addon.ts then builds llama.cpp's mtmd addon once when missing (image
    // cells of the llamacpp runner). temp-root.ts makes a temporary root per run and
    // temp-per-file.ts a folder per test file inside it, made the file's TMPDIR and checked empty
    // when the file ends: a test that leaves a folder or a running process behind fails, and the
    // run leaves nothing in /tmp.
    globalSetup: ['test/setup/system-packages.ts', 'test/setup/mtmd-addon.ts', 'test/setup/temp-root.ts'],
    setupFiles: ['test/setup/temp-per-file.ts'],
    testTimeout: 120_000,
    // Tests that point BENCH_CACHE_DIR at a temp folder still use the one mtmd addon build.
    env: { BENCH_MTMD_CACHE_DIR: mtmdCacheRoot() },
    hookTimeout: 300_000,
    // Two cores: ONNX Runtime sessions in parallel workers would distort each other's timings
    // and memory; files run one after another.
    fileParallelism: false,
    pool: 'forks',
    // The JSON summary lets .ci/run print a plain "N passed, N failed" closing line.
    reporters: ['default', ['json', { outputFile: '.vitest-results.json' }]],
  },
});
