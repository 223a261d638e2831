import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Installs the system programs tests drive for real (sshd, Chromium) when missing.
    globalSetup: ['test/setup/system-packages.ts'],
    testTimeout: 120_000,
    // Runs take a lock on their board (targets/run-lock.ts); the tests' runs lock a folder of
    // their own, so a developer's run (or another checkout's tests) on this machine is not in the way.
    env: { BENCH_LOCK_DIR: mkdtempSync(join(tmpdir(), 'bench-test-locks-')) },
    hookTimeout: 300_000,
    // Two cores: ONNX Runtime sessions in parallel workers would distort each other's timings
    // and memory; files run one after another.
    fileParallelism: false,
    pool: 'forks',
    // The JSON summary lets .ci/run print a plain "N passed, N failed" closing line.
    reporters: ['default', ['json', { outputFile: '.vitest-results.json' }]],
  },
});
