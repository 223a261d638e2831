import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';
import { mtmdCacheRoot } from './runners/llamacpp/mtmd-native/build.ts';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Installs the system programs tests drive for real (sshd, Chromium) when missing.
    // Then builds llama.cpp's mtmd addon once when missing (image cells of the llamacpp runner).
    globalSetup: ['test/setup/system-packages.ts', 'test/setup/mtmd-addon.ts'],
    testTimeout: 120_000,
    // Runs take a lock on their board (targets/run-lock.ts); the tests' runs lock a folder of
    // their own, so a developer's run (or another checkout's tests) on this machine is not in the way.
    // Tests that point BENCH_CACHE_DIR at a temp folder still use the one mtmd addon build.
    env: { BENCH_LOCK_DIR: mkdtempSync(join(tmpdir(), 'bench-test-locks-')), BENCH_MTMD_CACHE_DIR: mtmdCacheRoot() },
    hookTimeout: 300_000,
    // Two cores: ONNX Runtime sessions in parallel workers would distort each other's timings
    // and memory; files run one after another.
    fileParallelism: false,
    pool: 'forks',
    // The JSON summary lets .ci/run print a plain "N passed, N failed" closing line.
    reporters: ['default', ['json', { outputFile: '.vitest-results.json' }]],
  },
});
