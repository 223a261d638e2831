import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProgressSink } from '../../../harness/run-suite.ts';
import { hashSuite } from '../../../harness/suite-loader.ts';
import type { LoadedSuite, Suite } from '../../../core/suite-types.ts';

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

export function outDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'bench-targets-run-'));
  made.push(d);
  return d;
}

/** Removes every folder outDir() made. */
export function removeOutDirs(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}
