import { existsSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { accuracyGate, isVerdictCached, machineIdentity } from '../../models/accuracy-gate.ts';
import { checkPrecisions } from '../../models/check.ts';
import { readReference, referencePath, writeReference } from '../../models/reference-outputs.ts';
import { ensureModel, isModelCached, modelHash } from '../../models/zoo.ts';
import { tempDir } from '../helpers/tmp.ts';

// Real tiny builds and real ONNX Runtime sessions; the fp32 twin's outputs are cached per build,
// inputs, threads and machine, so a second gated precision does not load the twin again.
const cacheDir = tempDir('bench-reference-');

const model = 'internvl2_5-1b';
const base = { model, scale: 'tiny' as const, layout: 'onnx-community' as const, seed: 1234, cacheDir };
const referenceFiles = () => readdirSync(join(cacheDir, 'accuracy')).filter((f) => f.startsWith('fp32-outputs-') && f.endsWith('.bin'));

describe('fp32 reference outputs of the accuracy gate', () => {
  it('are computed once, reused for every later precision, and give the same verdict figures as computing them again', async () => {
    const machine = machineIdentity();
    const referenceCache = { dir: join(cacheDir, 'accuracy'), machineKey: machine.key };
    const lines: string[] = [];
    const first = await checkPrecisions({ model, scale: 'tiny', precisions: ['int8'], cacheDir, threads: 1, referenceCache, log: (m) => lines.push(m) });
    expect(referenceFiles()).toHaveLength(1);
    expect(lines.some((l) => /from the cache/.test(l))).toBe(false);

    // The twin is gone: a cached reference needs neither its files nor a rebuild.
    const fp32Dir = (await ensureModel({ ...base, precision: 'fp32' })).dir;
    rmSync(fp32Dir, { recursive: true, force: true });
    lines.length = 0;
    const second = await checkPrecisions({ model, scale: 'tiny', precisions: ['int8', 'int4'], cacheDir, threads: 1, referenceCache, log: (m) => lines.push(m) });
    expect(lines.filter((l) => /fp32 reference outputs from the cache/.test(l))).toHaveLength(1);
    expect(isModelCached({ ...base, precision: 'fp32' })).toBe(false);
    expect(second.results[0]).toEqual(first.results[0]);
    expect(second.results[1]!.precision).toBe('int4');
    expect(second.results[1]!.cosineMean).toBeLessThan(0.99999); // a quantised model was compared

    // Without the cache (bench models check), the same figures from a fresh fp32 run.
    const fresh = await checkPrecisions({ model, scale: 'tiny', precisions: ['int8', 'int4'], cacheDir, threads: 1 });
    expect(fresh.results).toEqual(second.results);
  }, 120_000);

  it('are keyed by threads and machine, and a damaged or foreign file is computed again', async () => {
    const fp32Hash = modelHash({ ...base, precision: 'fp32' });
    const key = { model, scale: 'tiny', fp32Hash, ids: [1, 2, 3], threads: 1 };
    const cache = { dir: join(cacheDir, 'keyed'), machineKey: 'aaaaaaaaaaaa' };
    const path = referencePath(cache, key);
    expect(referencePath(cache, { ...key, threads: 2 })).not.toBe(path);
    expect(referencePath({ ...cache, machineKey: 'bbbbbbbbbbbb' }, key)).not.toBe(path);
    expect(referencePath(cache, { ...key, ids: [1, 2, 4] })).not.toBe(path);

    const out = { logits: Float32Array.from([1, -2, 3.5, 4, 5, 6]), image: Float32Array.from([0.25, -0.5]) };
    writeReference(path, cache.dir, out);
    expect(readReference(path, 6)).toEqual(out);
    expect(readReference(path, 7)).toBeNull(); // another vocabulary or token count
    writeReference(path, cache.dir, { logits: out.logits, image: null });
    expect(readReference(path, 6)).toEqual({ logits: out.logits, image: null });
    truncateSync(path, statSync(path).size - 2);
    expect(readReference(path, 6)).toBeNull();
    writeFileSync(path, 'not a reference file at all');
    expect(readReference(path, 6)).toBeNull();
  });

  it('the gate writes its verdict and reference; a cached verdict is what prebuild reads to skip the twin', async () => {
    const int4 = await ensureModel({ ...base, precision: 'int4' });
    expect(isVerdictCached({ ...base, precision: 'int4' })).toBe(false);
    expect(isVerdictCached({ ...base, precision: 'fp32' })).toBe(true); // the reference is never gated
    const verdict = await accuracyGate(int4, { cacheDir, threads: 1 });
    expect(verdict).toMatchObject({ precision: 'int4', passed: true, cached: false });
    expect(isVerdictCached({ ...base, precision: 'int4' })).toBe(true);
    expect(isVerdictCached({ ...base, precision: 'int4' }, { machine: { ...machineIdentity(), key: 'ffffffffffff' } })).toBe(false);
    expect(existsSync(join(cacheDir, 'accuracy'))).toBe(true);
  }, 120_000);
});
