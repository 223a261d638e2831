import { describe, expect, it } from 'vitest';
import { publishedCalibration } from '../../roofline/calibrate/published.ts';
import { getDescriptor } from '../../models/zoo.ts';
import { rooflineChart, rooflineSection, rooflineTable } from '../../reporters/roofline/index.ts';
import { rooflineRecord, zooDescriptorFor, zooIdForName } from '../../roofline/record.ts';
import { writeReport } from '../../reporters/write-report.ts';
import { checkResult } from '../../harness/result-schema.ts';
import { cellShape, rooflineRows } from '../../roofline/rows.ts';
import { measured, okCell, runWith, testCalibration } from './fixtures.ts';
import { tempDir } from '../helpers/tmp.ts';

const d = getDescriptor('internvl2_5-1b', 'full');

// One int4 cell with one image: prompt 384, 16 output tokens (decode context 392).
// Decode bound (bounds.test.ts): 318 499 600 B at 20 GB/s = 15.92498 ms; a TPOT of twice that
// is 50% of bound, at 10 GB/s. Prefill bound 719.49800832 ms (compute, int4 widened to the
// 400 G op/s int8 kernel); measured 5565.23498496 ms = 12.93% of it and 50% of ORT's own int4
// ceiling 2782.61749248 ms (100 G op/s). Image encode bound 2072.9094144 ms; measured 8000 ms =
// 25.91%, ceiling 6742.4280576 ms = 84.28%.
const cell = okCell(
  'images=1,prefill=128,precision=int4',
  { images: 1, prefill: 128, precision: 'int4' },
  { tpot_ms: 2 * 15.92498, prefill_ms: 5565.23498496, image_encode_ms: 8000, ttft_ms: 14000 },
  { images: 1, promptTokens: 384, outputTokens: 16 },
);
const textOnly = okCell(
  'images=0,prefill=128,precision=fp16',
  { images: 0, prefill: 128, precision: 'fp16' },
  { prefill_ms: 1000 },
  { images: 0, promptTokens: 128, outputTokens: 1 },
);
const run = runWith([cell, textOnly]);
const cal = testCalibration();

describe('roofline rows and table', () => {
  it('takes the cell shape from its measured iterations', () => {
    expect(cellShape(cell, run, d)).toEqual({ images: 1, promptTokens: 384, outputTokens: 16, precision: 'int4', chunkSize: 0 });
  });

  it('falls back to params and descriptor for counts a runner could not know', () => {
    // A board tool that prints no prompt count: NaN in memory, null once read back from JSON.
    for (const unknown of [Number.NaN, null]) {
      const blind = JSON.parse(JSON.stringify(cell)) as typeof cell;
      for (const it of blind.iterations) (it as { promptTokens: number | null }).promptTokens = unknown;
      // prefill 128 + one 256-token tile
      expect(cellShape(blind, run, d).promptTokens).toBe(384);
    }
  });

  it('computes achieved % of bound per phase', () => {
    const rows = rooflineRows(run, cal, () => d);
    const byPhase = Object.fromEntries(rows.filter((r) => r.cellId === cell.id).map((r) => [r.phase, r]));
    expect(Object.keys(byPhase)).toEqual(['image_encode', 'prefill', 'decode']);
    expect(byPhase['decode']!.percentOfBound).toBeCloseTo(50, 3);
    expect(byPhase['prefill']!.percentOfBound).toBeCloseTo((719.49800832 / 5565.23498496) * 100, 6);
    expect(byPhase['prefill']!.percentOfKernelCeiling).toBeCloseTo(50, 6);
    expect(byPhase['image_encode']!.percentOfBound).toBeCloseTo((2072.9094144 / 8000) * 100, 6);
    expect(byPhase['image_encode']!.percentOfKernelCeiling).toBeCloseTo((6742.4280576 / 8000) * 100, 6);
    expect(rows.every((r) => !r.boundWrong && !r.kernelCeilingWrong)).toBe(true);
    // A cell without decode steps has only the prefill row.
    expect(rows.filter((r) => r.cellId === textOnly.id).map((r) => r.phase)).toEqual(['prefill']);
  });

  it('renders bound, limit, achieved, rate and percentage', () => {
    const md = rooflineTable(run, cal, () => d);
    expect(md).toContain('Calibration: testhost (Test CPU, 2 threads), target local, 2025-01-02T03:04:05.000Z; read bandwidth 20.00 GB/s (measured)');
    expect(tableRow(md, cell.id, 'decode (per token)')).toEqual(['0.318 GB, 1.02 G op', '15.92 ms', 'memory', '31.85 ms', '10.00 GB/s', '50.0%', '–']);
    // prefill: 384 x 560 + 223 927 808 + 84 937 440 + 9 437 184 = 318 517 472 B; 281.44 G op in 5.565 s = 50.57 G op/s
    expect(tableRow(md, cell.id, 'prefill')).toEqual(['0.319 GB, 281.44 G op', '719.5 ms', 'compute', '5565.2 ms', '50.57 G op/s', '12.9%', '2782.6 ms (50.0%)']);
    expect(tableRow(md, cell.id, 'image encode (all images)')).toEqual(['0.200 GB, 725.88 G op', '2072.9 ms', 'compute', '8000.0 ms', '90.74 G op/s', '25.9%', '6742.4 ms (84.3%)']);
    // The kernel each compute bound's rate comes from is named with its rate.
    expect(md).toContain('- compute bound of int4 weight matmuls: 400.0 G op/s, matmul.int8 (int4 widened to int8): test figure');
    expect(md).toContain('- fp16 runs as fp32: ORT CPU folds the Cast of fp16 weights.');
    // A measured calibration without weight-stream rates (made before they were measured) says so.
    expect(md).toContain('- no decode kernel ceiling: the calibration has no weight-stream rate for the precision');
  });

  it('shows the decode kernel ceiling and the % of it reached', () => {
    // Ceiling 31.353932 ms (bounds.test.ts) against a TPOT of 31.84996 ms: 98.44% of it, 50% of the bound.
    const withStream = testCalibration({ weightStream: { int4: measured(10) } });
    const rows = rooflineRows(run, withStream, () => d);
    const decode = rows.find((r) => r.cellId === cell.id && r.phase === 'decode')!;
    expect(decode.percentOfKernelCeiling).toBeCloseTo((31.353932 / 31.84996) * 100, 6);
    // Text-only fp16 (run as fp32) prefill: its ceiling is the fp32 kernel, the same as its bound.
    expect(rows.find((r) => r.cellId === textOnly.id)!.percentOfKernelCeiling).toBeCloseTo(rows.find((r) => r.cellId === textOnly.id)!.percentOfBound!, 9);
    const md = rooflineTable(run, withStream, () => d);
    expect(tableRow(md, cell.id, 'decode (per token)').slice(5)).toEqual(['50.0%', '31.35 ms (98.4%)']);
    expect(tableRow(md, cell.id, 'prefill').at(-1)).toBe('2782.6 ms (50.0%)');
    expect(md).not.toContain('no decode kernel ceiling');
    const chart = rooflineChart(run, withStream, () => d);
    const ceiling = chart.data.datasets.find((s) => s.label === 'decode, % of kernel ceiling')!;
    expect(ceiling.data[0]).toBeCloseTo(98.44, 1);
  });

  it('says why a cell has no bound', () => {
    const md = rooflineTable(run, cal, () => null);
    expect(md).toContain('- no model descriptor for this cell (images=1,prefill=128,precision=int4; images=0,prefill=128,precision=fp16)');
    const odd = runWith([okCell('q', { images: 0, prefill: 8, precision: 'q4_k_m' }, { prefill_ms: 5 }, { images: 0, promptTokens: 8, outputTokens: 1 })]);
    expect(rooflineTable(odd, cal, () => d)).toContain('- precision "q4_k_m" has no weight format for roofline bounds; known: fp32, fp16, int8, int4, w8a16, w4a16, q8_0, q4_0, f32, f16 (q)');
  });

  it('says the bound is wrong when a measurement beats it beyond its interval, never more than 100%', () => {
    // Every measured value (min = max = median, 3 iterations: no interval of the median) is below the bound.
    const fast = runWith([okCell('fast', { images: 0, prefill: 128, precision: 'int4' }, { prefill_ms: 100, tpot_ms: 1 }, { images: 0, promptTokens: 128, outputTokens: 16 })]);
    const rows = rooflineRows(fast, cal, () => d);
    expect(rows.map((r) => [r.phase, r.boundWrong])).toEqual([['prefill', true], ['decode', true]]);
    const md = rooflineTable(fast, cal, () => d);
    expect(tableRow(md, 'fast', 'prefill')[5]).toBe('bound is wrong');
    expect(tableRow(md, 'fast', 'decode (per token)')[5]).toBe('bound is wrong');
    expect(md).not.toMatch(/\d{3,}\.\d%/);
    expect(md).toContain('- the bound is wrong: measured faster than it beyond the interval of the median, so a figure it uses is too low (read bandwidth 20.00 GB/s, weight matmuls int4 at 400.0 G op/s (matmul.int8), attention fp32 at 200.0 G op/s (matmul.fp32))');
    expect(rooflineChart(fast, cal, () => d).data.datasets.find((s) => s.label === 'prefill')!.data[0]).toBeNull();

    // Faster than the bound by the median, but the interval of the median reaches above it: noise, not a wrong bound.
    const bound = rows.find((r) => r.phase === 'prefill')!.bound!.boundMs!;
    const near = okCell('near', { images: 0, prefill: 128, precision: 'int4' }, { prefill_ms: bound * 0.98 }, { images: 0, promptTokens: 128, outputTokens: 1 });
    near.metrics['prefill_ms'] = { ...near.metrics['prefill_ms']!, n: 10, min: bound * 0.9, max: bound * 1.2, ciMedian: [bound * 0.95, bound * 1.05] };
    const nearRun = runWith([near]);
    const nearRow = rooflineRows(nearRun, cal, () => d)[0]!;
    expect(nearRow.boundWrong).toBe(false);
    expect(nearRow.percentOfBound).toBeGreaterThan(100);
    const nearCells = tableRow(rooflineTable(nearRun, cal, () => d), 'near', 'prefill');
    expect(nearCells[5]).toBe('≈100%, within interval');
    // The ceiling column wraps the same wording in one pair of parentheses, not nested ones.
    expect(nearCells[6]).toMatch(/^[\d.]+ ms \([^()]+\)$/);
    // Faster than the ceiling by the median, the interval reaching above it: the same words, in one pair of parentheses.
    const kernelMs = nearRow.bound!.kernelMs!;
    near.metrics['prefill_ms'] = { ...near.metrics['prefill_ms']!, ciMedian: [bound * 0.95, kernelMs * 1.05], max: kernelMs * 1.2 };
    expect(tableRow(rooflineTable(runWith([near]), cal, () => d), 'near', 'prefill')[6]).toBe(`${kernelMs.toFixed(1)} ms (≈100%, within interval)`);
    // The same median with its whole interval below the bound is a wrong bound.
    near.metrics['prefill_ms'] = { ...near.metrics['prefill_ms']!, ciMedian: [bound * 0.96, bound * 0.99] };
    expect(rooflineRows(runWith([near]), cal, () => d)[0]!.boundWrong).toBe(true);
  });

  it('bounds a board from published peaks, marking what they cannot bound', () => {
    // The Axera seed table's one-image row: 364.87 ms ViT, 862.291 ms prefill, 86.969 ms/token.
    const axera = runWith([
      okCell('images=1,prefill=128,precision=w8a16', { images: 1, prefill: 128, precision: 'w8a16' }, { tpot_ms: 86.969, prefill_ms: 862.291, image_encode_ms: 364.87 }, { images: 1, promptTokens: 384, outputTokens: 16 }),
    ]);
    const md = rooflineTable(axera, publishedCalibration('ax650', 'ax650', new Date('2025-05-05T00:00:00Z')), () => d);
    expect(md).toContain('Calibration: AXERA AX650N (published figures), target ax650, 2025-05-05T00:00:00.000Z; read bandwidth: none, int8 matmul 18000.0 G op/s (published), int4 matmul 72000.0 G op/s (published).');
    // w8a16 linears at the INT8 peak: 2 x 384 x 357 826 560 + 2 x 135 899 904 = 275 082 597 888 ops / 18e12 = 15.28 ms
    expect(tableRow(md, 'images=1,prefill=128,precision=w8a16', 'prefill').slice(1, 3)).toEqual(['15.28 ms', 'compute (partial)']);
    expect(tableRow(md, 'images=1,prefill=128,precision=w8a16', 'decode (per token)')).toEqual(['0.499 GB, 1.02 G op', '–', '–', '86.97 ms', '–', '–', '–']);
    expect(md).toContain('- decode is bounded by memory bandwidth alone here: no bound without it (images=1,prefill=128,precision=w8a16 decode)');
  });

  it('finds zoo descriptors from the cell model and the suite', () => {
    const lookup = zooDescriptorFor(run);
    expect(lookup(cell)?.llm.hidden).toBe(896);
    const tiny = { ...cell, model: { ...cell.model!, scale: 'tiny' } };
    expect(lookup(tiny)?.llm.hidden).toBe(64);
    const real = { ...cell, model: { ...cell.model!, architecture: 'my-export', synthetic: false } };
    expect(lookup(real)?.id).toBe('internvl2_5-1b'); // falls back to the suite's zoo model
    // A board model named after the architecture (the Axera suite's model.name).
    const named = runWith([cell]);
    named.suite.definition.model = { name: 'InternVL2_5-1B-MPO' };
    expect(zooDescriptorFor(named)({ ...cell, model: null })?.id).toBe('internvl2_5-1b');
    named.suite.definition.model = { name: 'qwen2.5-vl-3b-instruct-q4_k_m' };
    expect(zooDescriptorFor(named)({ ...cell, model: null })?.id).toBe('qwen2_5-vl-3b');
    named.suite.definition.model = { name: 'gemma-3-4b-it-q4_k_m' };
    expect(zooDescriptorFor(named)({ ...cell, model: null })).toBeNull();
  });

  it('maps model names to zoo ids only on a whole-name prefix', () => {
    expect(zooIdForName('internvl2_5-1b')).toBe('internvl2_5-1b');
    expect(zooIdForName('InternVL2.5-1B')).toBe('internvl2_5-1b');
    expect(zooIdForName('Qwen2-VL-2B-Instruct')).toBe('qwen2-vl-2b');
    expect(zooIdForName('SmolVLM-256M-Instruct')).toBe('smolvlm-256m');
    expect(zooIdForName('InternVL3_5-1B')).toBe('internvl3_5-1b');
    expect(zooIdForName('Qwen2.5-VL-3B-Instruct')).toBe('qwen2_5-vl-3b');
    expect(zooIdForName('Qwen3-VL-2B-Instruct')).toBe('qwen3-vl-2b');
    expect(zooIdForName('Qwen2-VL-2B5')).toBeNull();
    expect(zooIdForName('InternVL2_5-1B2')).toBeNull();
    expect(zooIdForName('llava-1.5-7b')).toBeNull();
  });

  it('report section: a hint without calibration, the table with one', () => {
    expect(rooflineSection(run, { calibration: null })).toContain('No calibration for target "local" on host testhost: run `bench calibrate`');
    const section = rooflineSection(run, { calibration: cal });
    expect(section.startsWith('## Roofline: achieved % of hardware bound')).toBe(true);
    expect(section).toContain('50.0%');
  });
});

describe('roofline in the result', () => {
  it('records calibration, work, bounds and percentages per cell and phase, valid against the result schema', () => {
    const withStream = testCalibration({ weightStream: { int4: measured(10) } });
    const record = rooflineRecord(run, withStream, () => d);
    expect(record.calibration).toBe(withStream);
    const decode = record.rows.find((r) => r.cellId === cell.id && r.phase === 'decode')!;
    expect(decode).toMatchObject({ per: 'output token', limitedBy: 'memory', achievedMs: 2 * 15.92498 });
    expect(decode.work).toEqual({ bytes: 318_499_600, matmulWeightBytes: 308_579_040, kvBytes: 9_633_792, linearOps: 987_452_928, attentionOps: 4 * 24 * 14 * 64 * 392 });
    expect(decode.boundMs).toBeCloseTo(15.92498, 9);
    expect(decode.kernelMs).toBeCloseTo(31.353932, 9);
    expect(decode.percentOfBound).toBeCloseTo(50, 3);
    expect(decode.percentOfKernelCeiling).toBeCloseTo((31.353932 / 31.84996) * 100, 6);
    expect(record.rows.map((r) => `${r.cellId} ${r.phase}`)).toEqual([
      `${cell.id} image_encode`,
      `${cell.id} prefill`,
      `${cell.id} decode`,
      `${textOnly.id} prefill`,
    ]);
    // A cell without a descriptor keeps its row, with the reason and no figures.
    const none = rooflineRecord(run, withStream, () => null).rows[0]!;
    expect(none).toMatchObject({ work: null, boundMs: null, percentOfBound: null, notes: ['no model descriptor for this cell'] });
    const doc = JSON.parse(JSON.stringify({ ...run, roofline: record }));
    expect(checkResult(doc, 'mem').roofline?.rows).toHaveLength(4);
    doc.roofline.rows[0].phase = 'vision';
    expect(() => checkResult(doc, 'mem')).toThrow(/roofline/);
  });

  it('a report regenerated from the result uses the calibration the run recorded', async () => {
    const recorded = testCalibration({ host: 'recorded-host', weightStream: { int4: measured(10) } });
    const dir = tempDir('roofline-report-');
    const cwd = process.cwd();
    process.chdir(dir); // no results/calibration here
    try {
      const written = await writeReport({ ...run, roofline: rooflineRecord(run, recorded, () => d) }, dir);
      expect(written.markdown).toContain('Calibration: recorded-host (Test CPU, 2 threads)');
      // The decode ceiling's kernel is named with its rate, its share of the read bandwidth
      // (10 / 20 GB/s) and the most of the bound the ceiling leaves reachable (bound / ceiling).
      const decode = rooflineRecord(run, recorded, () => d).rows.find((r) => r.cellId === cell.id && r.phase === 'decode')!;
      const reachable = ((decode.boundMs! / decode.kernelMs!) * 100).toFixed(1);
      expect(Number(reachable)).toBeLessThan(60);
      expect(written.markdown).toContain(
        `decode int4 is held by ONNX Runtime's batch-1 weight kernel: test figure streams 10.00 GB/s of weights (weightStream.int4, 50.0% of the read bandwidth), so its ceiling allows at most ${reachable}% of the bound`,
      );
      expect(written.charts.some((c) => c.endsWith('roofline-percent-of-bound.png'))).toBe(true);
    } finally {
      process.chdir(cwd);
    }
  });
});

describe('roofline chart', () => {
  it('plots % of bound per cell and phase', () => {
    const config = rooflineChart(run, cal, () => d);
    expect(config.type).toBe('bar');
    expect(config.data.labels).toEqual([cell.id, textOnly.id]);
    const sets = Object.fromEntries(config.data.datasets.map((s) => [s.label, s.data as Array<number | null>]));
    expect(Object.keys(sets)).toEqual(['image encode', 'prefill', 'decode']);
    expect(sets['decode']![0]).toBeCloseTo(50, 3);
    expect(sets['decode']![1]).toBeNull();
    expect(sets['prefill']![1]).toBeCloseTo((cellPrefillBound() / 1000) * 100, 6);
  });
});

/** The cells after Cell and Phase of one Markdown table row, trimmed. */
function tableRow(md: string, cellId: string, phase: string): string[] {
  const line = md.split('\n').find((l) => {
    const cells = l.split('|').map((c) => c.trim());
    return cells[1] === cellId && cells[2] === phase;
  });
  if (!line) throw new Error(`no row for ${cellId} / ${phase}`);
  return line.split('|').map((c) => c.trim()).slice(3, -1);
}

/** fp16 (run as fp32) prefill of 128 tokens: compute 2x128x357 826 560 + 2x135 899 904 at 200 G + attention 2x24x14x64x128x129 at 200 G. */
function cellPrefillBound(): number {
  return (2 * 128 * 357_826_560 + 2 * 135_899_904) / 200e6 + (2 * 24 * 14 * 64 * 128 * 129) / 200e6;
}
