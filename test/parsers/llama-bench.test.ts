import { describe, expect, it } from 'vitest';
import { ParseError } from '../../core/errors.ts';
import { llamaBenchTestLabel, parseLlamaBench, summarizeLlamaBench } from '../../parsers/llama-bench.ts';
import { section } from './fixture-sections.ts';
import { parseError } from './parse-error.ts';

const FIXTURE = 'parsers-llamacpp.txt';
const GiB = 1024 ** 3;

describe('parseLlamaBench: markdown', () => {
  it('reads the legacy table with "pp 512" / "tg 128" labels', () => {
    const result = parseLlamaBench(section(FIXTURE, 'legacy "pp 512"').text);
    expect(result.format).toBe('markdown');
    expect(result.build).toBeUndefined();
    expect(result.rows).toEqual([
      {
        line: 3,
        model: 'llama 7B mostly Q4_0',
        sizeBytes: Math.round(3.56 * GiB),
        params: 6.74e9,
        backend: 'CUDA',
        ngl: 99,
        test: 'pp 512',
        nPrompt: 512,
        nGen: 0,
        nDepth: 0,
        tokensPerSecond: 2368.8,
        tokensPerSecondStdev: 93.24,
        extra: {},
      },
      {
        line: 4,
        model: 'llama 7B mostly Q4_0',
        sizeBytes: Math.round(3.56 * GiB),
        params: 6.74e9,
        backend: 'CUDA',
        ngl: 99,
        test: 'tg 128',
        nPrompt: 0,
        nGen: 128,
        nDepth: 0,
        tokensPerSecond: 131.42,
        tokensPerSecondStdev: 0.59,
        extra: {},
      },
    ]);
  });

  it('reads "@ d512" depth labels', () => {
    const { rows } = parseLlamaBench(section(FIXTURE, 'llama-bench -d 0,512').text);
    expect(rows.map((r) => [r.test, r.nPrompt, r.nGen, r.nDepth, r.tokensPerSecond, r.tokensPerSecondStdev])).toEqual([
      ['pp512', 512, 0, 0, 7340.2, 23.45],
      ['tg128', 0, 128, 0, 120.6, 0.59],
      ['pp512 @ d512', 512, 0, 512, 6425.91, 18.88],
      ['tg128 @ d512', 0, 128, 512, 116.71, 0.6],
    ]);
    expect(rows.every((r) => r.model === 'qwen2 7B Q4_K - Medium' && r.sizeBytes === Math.round(4.36 * GiB) && r.params === 7.62e9)).toBe(true);
  });

  it('reads the CPU thread sweep ("threads" column instead of "ngl")', () => {
    const { rows } = parseLlamaBench(section(FIXTURE, 'CPU thread sweep').text);
    expect(rows.map((r) => [r.threads, r.test, r.tokensPerSecond, r.tokensPerSecondStdev])).toEqual([
      [1, 'pp 64', 6.17, 0.07],
      [1, 'tg 16', 4.05, 0.02],
      [2, 'pp 64', 12.31, 0.13],
      [2, 'tg 16', 7.8, 0.07],
      [4, 'pp 64', 23.18, 0.06],
      [4, 'tg 16', 12.22, 0.07],
      [8, 'pp 64', 32.29, 1.21],
      [8, 'tg 16', 16.71, 0.66],
      [16, 'pp 64', 33.52, 0.03],
      [16, 'tg 16', 15.32, 0.05],
      [32, 'pp 64', 59, 1.11],
      [32, 'tg 16', 16.41, 0.79],
    ]);
    expect(rows.every((r) => r.ngl === undefined && r.backend === 'CPU')).toBe(true);
  });

  it('reads an author-reformatted table (":---" alignment, units in headers)', () => {
    const { rows } = parseLlamaBench(section(FIXTURE, 'table re-formatted by the author').text);
    expect(rows.map((r) => [r.ngl, r.tokensPerSecond, r.tokensPerSecondStdev])).toEqual([
      [18, 25.22, 0.57],
      [19, 25.46, 0.49],
      [20, 25.22, 0.93],
      [21, 23.92, 1.15],
      [22, 23.7, 1.37],
      [23, 24.85, 0.94],
    ]);
    expect(rows[0]).toMatchObject({
      model: 'qwen3moe 30B.A3B IQ4_XS - 4.25 bpw',
      sizeBytes: Math.round(15.25 * GiB),
      params: 30.53e9,
      backend: 'CUDA',
      test: 'tg128',
      nPrompt: 0,
      nGen: 128,
    });
  });

  it('takes the "build:" line printed under the table', () => {
    const text = `${section(FIXTURE, 'legacy "pp 512"').text.trim()}\n\nbuild: 8cf427ff (5163)\n`;
    const result = parseLlamaBench(text);
    expect(result.build).toEqual({ commit: '8cf427ff', number: 5163 });
    expect(result.rows[1]).toMatchObject({ buildCommit: '8cf427ff', buildNumber: 5163 });
  });
});

describe('parseLlamaBench: csv, json, jsonl', () => {
  it('reads -o csv', () => {
    const result = parseLlamaBench(section(FIXTURE, 'llama-bench -o csv').text);
    expect(result.format).toBe('csv');
    expect(result.rows).toHaveLength(2);
    expect(result.rows[0]).toMatchObject({
      line: 2,
      model: 'qwen2 7B Q4_K - Medium',
      modelFile: 'models/Qwen2.5-7B-Instruct-Q4_K_M.gguf',
      sizeBytes: 4677120000,
      params: 7615616512,
      backend: 'CUDA',
      ngl: 99,
      threads: 8,
      test: 'pp512',
      nPrompt: 512,
      nGen: 0,
      nDepth: 0,
      tokensPerSecond: 7285.676949,
      tokensPerSecondStdev: 100.064434,
      buildCommit: '8cf427ff',
      buildNumber: 5163,
      testTime: '2025-04-24T11:57:09Z',
    });
    expect(result.rows[0]!.avgMs).toBeCloseTo(70.28566, 9);
    expect(result.rows[0]!.stdevMs).toBeCloseTo(0.98204, 9);
    expect(result.rows[0]!.extra).toMatchObject({ cpu_info: 'AMD Ryzen 7 7800X3D 8-Core Processor', gpu_info: 'NVIDIA GeForce RTX 4080', n_batch: '2048', flash_attn: '0' });
    expect(result.rows[1]).toMatchObject({ test: 'tg128', nPrompt: 0, nGen: 128, tokensPerSecond: 119.915244, tokensPerSecondStdev: 0.430617 });
    expect(result.rows[1]!.avgMs).toBeCloseTo(1067.4316, 9);
  });

  it('reads -o json with per-repetition samples', () => {
    const result = parseLlamaBench(section(FIXTURE, 'llama-bench -o json,').text);
    expect(result.format).toBe('json');
    expect(result.rows.map((r) => [r.line, r.test, r.tokensPerSecond, r.tokensPerSecondStdev, r.testTime])).toEqual([
      [2, 'pp512', 7100.002165, 140.34152, '2025-04-24T11:58:50Z'],
      [39, 'tg128', 118.881588, 1.041811, '2025-04-24T11:58:51Z'],
    ]);
    expect(result.rows[0]!.samplesTokensPerSecond).toEqual([6863.1, 7147.55, 7136.37, 7115.79, 7237.21]);
    expect(result.rows[0]!.samplesMs).toEqual([74.6019, 71.6329, 71.7452, 71.9527, 70.7455]);
    expect(result.rows[1]!.samplesMs).toEqual([1075.3613, 1065.0894, 1071.7612, 1081.9349, 1089.6926]);
    expect(result.rows[0]!.extra).toMatchObject({ flash_attn: false, use_mmap: true, n_ubatch: 512 });
  });

  it('reads -o jsonl (no space before "samples_ts")', () => {
    const result = parseLlamaBench(section(FIXTURE, 'llama-bench -o jsonl').text);
    expect(result.format).toBe('jsonl');
    expect(result.rows.map((r) => [r.line, r.test, r.tokensPerSecond, r.tokensPerSecondStdev])).toEqual([
      [1, 'pp512', 7263.609157, 90.940578],
      [2, 'tg128', 119.844681, 0.699739],
    ]);
    expect(result.rows[1]!.samplesTokensPerSecond).toEqual([120.038, 120.203, 118.624, 120.377, 119.982]);
  });

  it('labels tests the way llama-bench does', () => {
    expect(llamaBenchTestLabel(512, 0, 0)).toBe('pp512');
    expect(llamaBenchTestLabel(0, 128, 512)).toBe('tg128 @ d512');
    expect(llamaBenchTestLabel(512, 128, 0)).toBe('pp512+tg128');
  });

  it('summarizes rows', () => {
    const summary = summarizeLlamaBench(parseLlamaBench(section(FIXTURE, 'llama-bench -o csv').text));
    expect(summary).toContain('| qwen2 7B Q4_K - Medium | CUDA | 99 | 8 | pp512 | 7285.68 | 100.06 |');
  });
});

describe('parseLlamaBench: errors', () => {
  it('rejects truncated JSON at the last line', () => {
    const lines = section(FIXTURE, 'llama-bench -o json,').text.split('\n').slice(0, 50);
    const err = parseError(() => parseLlamaBench(lines.join('\n'), 'bench.json'));
    expect(err.reason).toMatch(/truncated llama-bench JSON/);
    expect(err.line).toBe(50);
  });

  it('rejects a cut JSONL line and a table row with a missing cell', () => {
    const jsonl = section(FIXTURE, 'llama-bench -o jsonl').text.trim();
    expect(parseError(() => parseLlamaBench(jsonl.slice(0, jsonl.length - 40))).line).toBe(2);
    const md = section(FIXTURE, 'legacy "pp 512"').text.replace('|  99 | tg 128     |', '| tg 128     |');
    const err = parseError(() => parseLlamaBench(md));
    expect([err.line, err.reason]).toEqual([4, 'llama-bench table row has 6 cells, the header has 7']);
  });

  it('rejects an unreadable t/s cell and records missing required fields', () => {
    const md = section(FIXTURE, 'legacy "pp 512"').text.replace('2368.80 ± 93.24', 'n/a');
    expect(parseError(() => parseLlamaBench(md)).reason).toBe('unreadable t/s "n/a" (expected "<mean> ± <stdev>")');
    expect(parseError(() => parseLlamaBench('[{"model_type": "x", "n_prompt": 1}]')).reason).toBe('llama-bench record lacks "n_gen"');
  });

  it('rejects garbage and llama.cpp logs', () => {
    expect(parseError(() => parseLlamaBench('nothing here', 'x')).reason).toMatch(/no llama-bench results found/);
    expect(() => parseLlamaBench(section(FIXTURE, 'COMMA decimal-separator').text)).toThrow(ParseError);
    expect(() => parseLlamaBench('')).toThrow(/empty input/);
  });
});
