/**
 * Issue 24: the accuracy gate's fp32 twin once put 3.76 GB into the peak RSS of the first cell
 * of each precision. Running the gate before the cell's window fixed most of it, but at full
 * scale the process still held 580 MiB before the next cell (231-235 MiB with the gate in a
 * child) and the first cell read 829-840 MiB (753-759 MiB): memory the allocator kept after the
 * twin's sessions were released. The ORT runner's gate now
 * checks in a child process (`bench models gate`), so none of the twin enters the process whose
 * cells are measured.
 *
 * Real ONNX Runtime at tiny scale, on a cache of this file's own: this process's peak RSS over
 * an uncached gate must grow by less than the fp32 twin's weights (what any in-process check
 * has to load), while the gate's own process, whose peak is recorded as the gate's cost, held
 * them. The control runs the same check in process and shows the measurement sees the twin.
 * Linux only (the peak is reset through /proc/self/clear_refs).
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accuracyGate, accuracyGateInOwnProcess, decodeGateRequest } from '../../models/accuracy-gate.ts';
import { InputError } from '../../core/errors.ts';
import { ensureModel, type BuiltModel } from '../../models/zoo.ts';
import { tempDir } from '../helpers/tmp.ts';

const cacheDir = tempDir('gate-process-');
const previousCache = process.env.BENCH_CACHE_DIR;
let int8: BuiltModel;
let twinBytes: number;

beforeAll(async () => {
  // The child process finds the same builds through the environment.
  process.env.BENCH_CACHE_DIR = cacheDir;
  const request = { model: 'internvl2_5-1b', scale: 'tiny', layout: 'onnx-community', seed: 1234, cacheDir } as const;
  int8 = await ensureModel({ ...request, precision: 'int8', vision: false });
  const fp32 = await ensureModel({ ...request, precision: 'fp32' });
  twinBytes = Object.values(fp32.sizes).reduce((a, b) => a + b, 0);
}, 120_000);

afterAll(() => {
  if (previousCache === undefined) delete process.env.BENCH_CACHE_DIR;
  else process.env.BENCH_CACHE_DIR = previousCache;
});

const kib = (field: 'VmHWM' | 'VmRSS') => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;

/** How far this process's peak RSS rose above its RSS at the start while `work` ran. */
async function peakGrowth<T>(work: () => Promise<T>): Promise<{ value: T; growth: number }> {
  writeFileSync('/proc/self/clear_refs', '5');
  const before = kib('VmRSS');
  const value = await work();
  return { value, growth: kib('VmHWM') - before };
}

/** No verdict and no fp32 reference outputs cached: the next gate checks from scratch. */
const forget = () => rmSync(join(cacheDir, 'accuracy'), { recursive: true, force: true });

describe.runIf(process.platform === 'linux')('the accuracy gate in its own process', () => {
  it("leaves none of the fp32 twin in this process's peak RSS and records the gate process's peak as the gate's cost", async () => {
    expect(twinBytes).toBeGreaterThan(2 ** 20);
    forget();
    const own = await peakGrowth(() => accuracyGateInOwnProcess(int8, { cacheDir, threads: 1 }));
    const verdict = own.value!;
    expect(verdict).toMatchObject({ precision: 'int8', scale: 'tiny', cached: false, passed: true });
    expect(verdict.gateCost?.scope).toBe('gate-process');
    // The gate's process loaded the twin (and the runtime): its peak is well above the twin's weights.
    expect(verdict.gateCost!.peakRssBytes).toBeGreaterThan(twinBytes);
    expect(verdict.gateCost!.ms).toBeGreaterThan(0);
    // ...and this process did not.
    expect(own.growth).toBeLessThan(twinBytes);

    // The verdict it wrote is the one an in-process check reads back.
    const cached = await accuracyGateInOwnProcess(int8, { cacheDir, threads: 1 });
    expect(cached).toMatchObject({ cached: true, cosine: verdict.cosine, top1: verdict.top1 });
    expect(cached!.gateCost).toBeUndefined();

    // Control: the same check in this process raises its peak by more than the twin's weights.
    forget();
    const inProcess = await peakGrowth(() => accuracyGate(int8, { cacheDir, threads: 1 }));
    expect(inProcess.value).toMatchObject({ cached: false, cosine: verdict.cosine, top1: verdict.top1 });
    expect(inProcess.growth).toBeGreaterThan(twinBytes);
  }, 120_000);

  it('a gate process that fails is an error naming its exit code and last message, never a verdict', async () => {
    forget();
    // A build the child cannot find in the cache it is given (the hash names nothing there): the check fails there.
    const missing = { hash: int8.hash, request: { ...int8.request, model: 'no-such-model' } };
    await expect(accuracyGateInOwnProcess(missing, { cacheDir, threads: 1 })).rejects.toThrow(/accuracy gate process exited with [1-9]\d*: .*no-such-model/);
  }, 60_000);
});

describe('bench models gate --request', () => {
  it('refuses what is not a gate request as bad input (exit 2), not a stack trace', () => {
    for (const text of ['not base64 json', Buffer.from('{}').toString('base64'), Buffer.from('{"model":{"hash":1}}').toString('base64')]) {
      expect(() => decodeGateRequest(text)).toThrow(InputError);
    }
  });
});
