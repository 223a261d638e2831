import { describe, expect, it } from 'vitest';
import { InputError } from '../../core/errors.ts';
import type { RunResult } from '../../core/result-types.ts';
import { cellIdentity, diffIdentities, diffVersions, identityKey, IDENTITY_FIELDS, NOT_RECORDED, parseAllowedDifferences } from '../../analysis/identity.ts';
import { boardCells, makeResult } from '../compare/make-result.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const clone = (r: RunResult): RunResult => JSON.parse(JSON.stringify(r)) as RunResult;

describe('configuration identity', () => {
  const base = makeResult({ seed: 1, cells: boardCells(), threads: 4 });

  it('reads every field from the result, and an identical copy has the same identity and key', () => {
    const id = cellIdentity(base, base.cells[1]!);
    expect(Object.keys(id.fields)).toEqual(IDENTITY_FIELDS.map((f) => f.name));
    expect(id.fields).toMatchObject({ model: 'internvl2_5-1b', precision: 'w8a16', threads: '4', execution_provider: 'cpu', images: '1', prompt_tokens: '384', image_tokens: '256', output_tokens: '16', target: 'local', weights: 'synthetic' });
    // The suite's model ref says full scale; the cell's model identity does not say: the suite's applies.
    expect(id.fields.scale).toBe('full');
    const copy = cellIdentity(clone(base), clone(base).cells[1]!);
    expect(diffIdentities(id, copy)).toEqual([]);
    expect(identityKey(copy)).toBe(identityKey(id));
  });

  it('names each differing field: scale, threads, output tokens', () => {
    const cand = clone(base);
    const cell = cand.cells[1]!;
    cell.model = { ...cell.model!, scale: 'tiny' };
    cell.settings['intraOpNumThreads'] = 1;
    cand.options.outputTokens = 8;
    const diffs = diffIdentities(cellIdentity(base, base.cells[1]!), cellIdentity(cand, cell), new Set(['threads']));
    expect(diffs.map((d) => [d.field, d.base, d.cand, d.allowed])).toEqual([
      ['scale', 'full', 'tiny', false],
      ['threads', '4', '1', true],
      ['output_tokens', '16', '8', false],
    ]);
    expect(identityKey(cellIdentity(cand, cell))).not.toBe(identityKey(cellIdentity(base, base.cells[1]!)));
  });

  it('a llama.cpp build with other SIMD is another configuration; cells that do not record it keep their key', () => {
    const keyBefore = identityKey(cellIdentity(base, base.cells[0]!));
    const withSimd = (simd: string): RunResult => {
      const r = clone(base);
      r.cells[0]!.settings['llamaBuildSimd'] = simd;
      return r;
    };
    const avx2 = withSimd('SSE3 SSSE3 AVX AVX2 FMA F16C');
    const none = withSimd('none');
    const diffs = diffIdentities(cellIdentity(avx2, avx2.cells[0]!), cellIdentity(none, none.cells[0]!));
    expect(diffs.map((d) => [d.field, d.base, d.cand])).toEqual([['execution_provider', 'cpu [build SIMD: SSE3 SSSE3 AVX AVX2 FMA F16C]', 'cpu [build SIMD: none]']]);
    expect(diffIdentities(cellIdentity(avx2, avx2.cells[0]!), cellIdentity(withSimd('SSE3 SSSE3 AVX AVX2 FMA F16C'), avx2.cells[0]!))).toEqual([]);
    // Stored history series of cells without the setting (ONNX Runtime) are found again.
    expect(identityKey(cellIdentity(clone(base), clone(base).cells[0]!))).toBe(keyBefore);
  });

  it('how the figures were obtained is part of the identity; measured cells keep the keys stored before the field existed', () => {
    const read = (name: string) => JSON.parse(readFileSync(join(import.meta.dirname, `../fixtures/reports/${name}.result.json`), 'utf8')) as RunResult;
    const ort = read('ort-tiny');
    // The keys these cells had before figure_sources (history series stored under them are found again).
    expect(ort.cells.slice(0, 2).map((c) => identityKey(cellIdentity(ort, c)))).toEqual(['e7e7d2640ec69d49', '8b011ff82b69f685']);
    expect(cellIdentity(ort, ort.cells[0]!).fields.figure_sources).toBe('measured');
    const llama = read('llamacpp-images');
    const cell = llama.cells.find((c) => c.settings['runner'] === 'llamacpp')!;
    const composedSplit = cellIdentity(llama, cell);
    expect(composedSplit.fields.figure_sources).toBe('measured; image_encode_ms=composed prefill_ms=composed preprocess_ms=composed');
    const measuredSplit = clone(llama);
    delete measuredSplit.cells.find((c) => c.id === cell.id)!.settings['figureSourceByMetric'];
    const diffs = diffIdentities(composedSplit, cellIdentity(measuredSplit, measuredSplit.cells.find((c) => c.id === cell.id)!));
    expect(diffs.map((d) => [d.field, d.cand])).toEqual([['figure_sources', 'measured']]);
    // A whole cell composed (the Axera method) is one word.
    const axera = read('axera-subgraph');
    expect(cellIdentity(axera, axera.cells[0]!).fields.figure_sources).toBe('composed');
  });

  it('keeps versions beside the identity without making a difference', () => {
    const cand = clone(base);
    cand.environment.versions['onnxruntime-node'] = '1.31.0';
    cand.suite.hash = 'otherhash0002';
    const a = cellIdentity(base, base.cells[0]!);
    const b = cellIdentity(cand, cand.cells[0]!);
    expect(diffIdentities(a, b)).toEqual([]);
    expect(diffVersions(a, b).map((d) => d.name)).toEqual(['onnxruntime-node', 'suite definition']);
  });

  it('a failed cell is compared only on the fields it recorded', () => {
    const cand = clone(base);
    const cell = cand.cells[0]!;
    cell.status = 'failed';
    cell.iterations = [];
    cell.settings = {};
    const b = cellIdentity(cand, cell);
    expect(b.complete).toBe(false);
    expect(b.fields.threads).toBe(NOT_RECORDED);
    expect(diffIdentities(cellIdentity(base, base.cells[0]!), b)).toEqual([]);
  });

  it('refuses an unknown --allow-difference field, naming the known ones', () => {
    expect([...parseAllowedDifferences(['threads,scale', 'power_mode'])]).toEqual(['threads', 'scale', 'power_mode']);
    expect(() => parseAllowedDifferences(['thread'])).toThrow(InputError);
    expect(() => parseAllowedDifferences(['thread'])).toThrow(/not an identity field; the fields are model, model_hash/);
  });
});
