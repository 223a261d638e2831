import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadSuite } from '../../harness/suite-loader.ts';
import { checkFigure, composeRow, printedDecimals } from '../../runners/axera/compose.ts';
import { composeSuite, readSubgraphLogs, renderComposition } from '../../reporters/axera-compose-report.ts';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'compose-seed');

describe('Axera composition from per-subgraph ax_run_model logs', () => {
  // The saved outputs carry the seed's per-subgraph timings (see fixtures/compose-seed/README.md).
  const { latencies, logs } = readSubgraphLogs(fixtures);
  const { suite } = loadSuite('internvl-ax650');
  const c = composeSuite(suite, latencies, logs);

  it('reads every graph from ax_run_model output', () => {
    expect(latencies.vit).toBe(364.87);
    expect(latencies.g0).toBe(2.664);
    expect(latencies.post).toBe(11.455);
    expect(latencies.prefill).toHaveLength(17);
    expect(latencies.prefill[8]).toBe(29.124);
  });

  it('reproduces the seed table from its own subgraph figures (28 layers)', () => {
    expect(c.rows.map((r) => r.images)).toEqual([0, 1, 4, 8]);
    expect(c.rows.map((r) => r.promptTokens)).toEqual([128, 384, 1152, 2176]);
    expect(c.rows.map((r) => r.chunks)).toEqual([1, 3, 9, 17]);
    const ttft = c.rows.map((r) => Number(r.prefillTtftMs.toFixed(3)));
    expect(ttft).toEqual([220.979, 862.291, 4588.783, 13904.383]);
    expect(c.rows[2]!.imageEncoderMs).toBeCloseTo(1459.48, 9);
    expect(c.rows[0]!.decoderMs).toBeCloseTo(86.047, 9);
    expect(c.rows[0]!.tokensPerS).toBeCloseTo(11.6216, 3);
  });

  it('flags the published figures its own subgraphs do not give, and only those', () => {
    const flagged = c.checks.flatMap((ch) => ch.figures.filter((f) => f.flagged).map((f) => `${ch.images}:${f.name}`));
    expect(flagged).toEqual([
      '0:decoder_ms', '0:tokens_per_s',
      '1:decoder_ms', '1:tokens_per_s',
      '4:image_encoder_ms', '4:prefill_ttft_ms', '4:decoder_ms', '4:tokens_per_s',
      '8:image_encoder_ms', '8:decoder_ms', '8:tokens_per_s',
    ]);
    const md = renderComposition(suite, c);
    expect(md).toContain('COMPOSED');
    expect(md).toMatch(/\|\s+4 \| prefill_ttft_ms\s+\|\s+4588\.79 \|\s+4588\.783 \|\s+-0\.007 \| DIFFERS/);
    expect(md).toMatch(/\|\s+8 \| prefill_ttft_ms\s+\|\s+13904\.383 \|\s+13904\.383 \|\s+0\.000 \| ok \(rounding\)/);
  });

  it('judges rounding by the printed decimals', () => {
    expect(printedDecimals('11.50')).toBe(2);
    expect(printedDecimals(1460)).toBe(0);
    expect(checkFigure('x', '4588.78', 4588.783).flagged).toBe(false);
    expect(checkFigure('x', '4588.79', 4588.783).flagged).toBe(true);
    expect(checkFigure('x', '1459', 1459.48).flagged).toBe(false);
    expect(checkFigure('x', '11.62', 1000 / 86.047).flagged).toBe(false);
  });

  it('refuses a prompt longer than the measured chunk graphs', () => {
    expect(() => composeRow(9, latencies, { layers: 28, chunkSize: 128, textTokens: 128, tokensPerImage: 256 })).toThrow(
      /9 image\(s\) give 2432 prompt tokens = 19 chunks of 128, but only g1\.\.g17 were measured/,
    );
  });
});
