/**
 * The accuracy gate's fp32 twin is not in the cell's peak RSS: the harness runs
 * `Runner.checkAccuracy` before the cell's memory window opens and records the gate's own cost
 * beside its verdict. A runner whose gate touches 384 MiB (and releases it, as the ORT gate
 * releases its sessions) stands in for the fp32 twin; the same allocation inside `prepare` is the
 * control that shows the window would see it. Linux only (the window resets VmHWM).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import type { IterationRecord } from '../../core/events.ts';
import type { AccuracyCheck, Runner } from '../../core/runner.ts';
import type { Suite } from '../../core/suite-types.ts';
import { readResult } from '../../harness/result-store.ts';
import { runSuite } from '../../harness/run-suite.ts';
import { hashSuite } from '../../harness/suite-loader.ts';
import { tempDir } from '../helpers/tmp.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const MiB = 2 ** 20;
const TWIN = 384 * MiB;

/** Touches `bytes` of fresh memory, then lets it go back to the system (a large block is mmapped). */
function touchAndRelease(bytes: number): void {
  let block: Buffer | null = Buffer.alloc(bytes, 1);
  if (block[bytes - 1] !== 1) throw new Error('not touched');
  block = null;
  gc();
}

const VERDICT: AccuracyCheck = {
  reference: 'fp32', precision: 'int8', scale: 'tiny', tokens: 8, cosine: 0.9995, cosineMin: 0.999, top1: 1, imageCosine: null, passed: true, failures: [],
  thresholds: { cosineMean: 0.99, top1: 0.6, imageCosine: 0.995 }, checkedOn: { cpu: 'test', arch: 'x64', flags: [], onnxruntime: 'test' }, checkedAt: '2026-12-05T00:00:00Z', modelHash: 'h', cached: false,
};

function runner(twinIn: 'gate' | 'prepare'): Runner {
  return {
    name: 'fake',
    async checkAccuracy() {
      if (twinIn === 'gate') touchAndRelease(TWIN);
      return VERDICT;
    },
    async prepare(_cell, _suite, ctx) {
      if (twinIn === 'prepare') touchAndRelease(TWIN);
      return {
        loadMs: 1,
        model: { architecture: 'fake', precision: 'int8', layout: 'none', synthetic: true },
        settings: {},
        ...(ctx.accuracy ? { accuracy: ctx.accuracy } : {}),
        async runIteration(index, warmup): Promise<IterationRecord> {
          const t = index * 20;
          return {
            index, warmup, startMs: t, endMs: t + 10, outputTokens: 2, promptTokens: 8, imageTokens: 0, images: 0,
            events: [{ kind: 'phase', phase: 'prefill', startMs: t, endMs: t + 4 }, { kind: 'token', tMs: t + 4, index: 0, count: 1 }, { kind: 'token', tMs: t + 10, index: 1, count: 1 }, { kind: 'phase', phase: 'decode', startMs: t + 4, endMs: t + 10 }],
          } as IterationRecord;
        },
        async close() {},
      };
    },
  };
}

async function measure(twinIn: 'gate' | 'prepare') {
  const out = tempDir('gate-window-');
  const suite: Suite = { name: 'gate-window', model: { name: 'm' }, target: 'local', runner: 'fake', defaults: { warmup: 0, iterations: 2, outputTokens: 2 }, matrix: { precision: ['int8'] } };
  const quiet = { runStart() {}, cellStart() {}, iterationStart() {}, iteration() {}, cellDone() {}, log() {}, runDone() {} };
  gc();
  const done = await runSuite({ suite: { suite, source: 'test', hash: hashSuite(suite) }, target: 'local', filters: [], outDir: out, runners: { fake: runner(twinIn) }, progress: quiet });
  return readResult(done.store.file).cells[0]!;
}

describe.runIf(process.platform === 'linux')('peak RSS of a cell and the accuracy gate', () => {
  it('leaves the gate out of the cell\'s peak and records the gate\'s own cost with its verdict', async () => {
    const control = await measure('prepare');
    const gated = await measure('gate');
    expect(control.settings['peakRssScope']).toBe('cell');
    // The control: the twin inside the cell's window is in its peak.
    expect(control.peakRssBytes! - gated.peakRssBytes!).toBeGreaterThan(0.8 * TWIN);
    // The gate's window saw the twin, and the verdict says what it cost.
    expect(gated.accuracy?.gateCost?.scope).toBe('cell');
    expect(gated.accuracy!.gateCost!.peakRssBytes).toBeGreaterThan(gated.peakRssBytes! + 0.8 * TWIN);
    expect(gated.accuracy!.gateCost!.ms).toBeGreaterThan(0);
    expect(gated.accuracy!.passed).toBe(true);
    expect(gated.metrics['peak_rss_mb']!.median).toBeCloseTo(gated.peakRssBytes! / MiB, 6);
  }, 60_000);
});
