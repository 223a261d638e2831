import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadSuite } from '../../harness/suite-loader.ts';
import { checkFigure, composeRow, printedDecimals } from '../../core/axera-compose.ts';
import { readSubgraphLogs } from '../../harness/subgraph-logs.ts';
import { composeSuite, renderComposition } from '../../reporters/axera-compose-report.ts';
import { tempDir } from '../helpers/tmp.ts';

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
      // 1460 and 2920 are whole numbers printed to the tens: 1459.48 and 2918.96 round to them.
      '4:prefill_ttft_ms', '4:decoder_ms', '4:tokens_per_s',
      '8:decoder_ms', '8:tokens_per_s',
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
    // Trailing zeros of a whole number may be rounding: 1460 covers 1455..1465, not 1465.1.
    expect(checkFigure('x', '1460', 1459.48).flagged).toBe(false);
    expect(checkFigure('x', '1460', 1465.1).flagged).toBe(true);
    expect(checkFigure('x', '1461', 1459.48).flagged).toBe(true);
    expect(checkFigure('x', '0', 0.4).flagged).toBe(false);
    expect(checkFigure('x', '0', 0.6).flagged).toBe(true);
    expect(checkFigure('x', '11.62', 1000 / 86.047).flagged).toBe(false);
  });

  it('refuses a prompt longer than the measured chunk graphs', () => {
    expect(() => composeRow(9, latencies, { layers: 28, chunkSize: 128, textTokens: 128, tokensPerImage: 256 })).toThrow(
      /9 image\(s\) give 2432 prompt tokens = 19 chunks of 128, but only g1\.\.g17 were measured/,
    );
  });
});

describe('bench compose with missing chunk logs (issue 12.5)', () => {
  it('composes the rows it can, names the missing graphs, exits 2 without a stack trace', async () => {
    const { cpSync, rmSync, readFileSync } = await import('node:fs');
    const { spawnSync } = await import('node:child_process');
    const dir = tempDir('bench-compose-');
    const logs = join(dir, 'logs');
    cpSync(fixtures, logs, { recursive: true });
    // Keep g1..g3 only: 0 and 1 image(s) need 1 and 3 chunks; 4 and 8 images need 9 and 17.
    for (let k = 4; k <= 17; k++) rmSync(join(logs, `g${k}.txt`));
    const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
    const r = spawnSync(process.execPath, [join(repo, 'bin', 'bench.mjs'), 'compose', '--suite', 'internvl-ax650', '--subgraph-logs', logs, '--out', join(dir, 'out')], {
      encoding: 'utf8',
      env: { ...process.env, CI: 'true' },
    });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toContain('2 row(s) not composed (4 image(s), 8 image(s))');
    expect(r.stderr).toMatch(/has no g4\.txt, g5\.txt, .*g17\.txt/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const md = readFileSync(join(dir, 'out', 'compose.md'), 'utf8');

    expect(md).toContain('## Rows not composed');
    expect(md).toContain('- 4 image(s): 4 image(s) give 1152 prompt tokens = 9 chunks of 128, but only g1..g3 were measured; missing logs: g4.txt');
    const json = JSON.parse(readFileSync(join(dir, 'out', 'compose.json'), 'utf8')) as { rows: Array<{ images: number; prefillTtftMs: number }> };
    expect(json.rows.map((row) => row.images)).toEqual([0, 1]);
    // Same figures as with every log present: the composed rows do not depend on the missing ones.
    expect(json.rows.map((row) => Number(row.prefillTtftMs.toFixed(3)))).toEqual([220.979, 862.291]);
  }, 60_000);
});
