import { rmSync } from 'node:fs';
import type { ProgressSink } from '../../../harness/run-suite.ts';
import { hashSuite } from '../../../harness/suite-loader.ts';
import type { LoadedSuite, Suite } from '../../../core/suite-types.ts';
import { tempDir } from '../../helpers/tmp.ts';

/** A ProgressSink that keeps log lines; `onCellStart` lets a test act when a cell begins. */
export function quietProgress(onCellStart?: (position: number) => void): ProgressSink & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    runStart: () => undefined,
    cellStart: (info) => onCellStart?.(info.position),
    iterationStart: () => undefined,
    iteration: () => undefined,
    cellDone: () => undefined,
    log: (m) => lines.push(m),
    runDone: () => undefined,
  };
}

export function loaded(suite: Suite, source = 'test'): LoadedSuite {
  return { suite, source, hash: hashSuite(suite) };
}

const made: string[] = [];

/** A run's output folder, removed after the test (or file) that asked for it (test/helpers/tmp.ts). */
export function outDir(): string {
  const d = tempDir('bench-targets-run-');
  made.push(d);
  return d;
}

/**
 * Removes every folder outDir() made so far. Not needed (tempDir removes them); kept for the
 * llama.cpp image test files until they move to tempDir.
 */
export function removeOutDirs(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}
