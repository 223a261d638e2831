/**
 * The published site in headless Chromium (Debian's chromium via playwright-core, file://) says
 * per figure how it was obtained: a llama.cpp image cell's composed image_encode / prefill split
 * is marked "composed" with the runner's sentence in its tooltip, its measured TTFT and TPOT are
 * not, and the ORT cell beside it is measured throughout. Fixture: a real run (see
 * test/reporters/metric-figure-source.test.ts).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../core/result-types.ts';
import { metricDefinition } from '../../core/metric-registry.ts';
import { resultFiles } from '../../publish/collect.ts';
import { DEFAULT_SITE_OPTIONS } from '../../publish/site-model.ts';
import { publishSite } from '../../publish/write-site.ts';
import { fmt } from '../../reporters/format.ts';
import { tempDir } from '../helpers/tmp.ts';

const CHROMIUM = '/usr/bin/chromium';
const FIXTURE = join(import.meta.dirname, '../fixtures/reports/llamacpp-images.result.json');
const run = JSON.parse(readFileSync(FIXTURE, 'utf8')) as RunResult;
let browser: Browser;
let dir: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install Debian's chromium package (apt-get install -y chromium) to run the site tests`);
  dir = tempDir('metric-source-site-');
  mkdirSync(join(dir, 'in', 'runtimes-images'), { recursive: true });
  writeFileSync(join(dir, 'in', 'runtimes-images', 'result.json'), readFileSync(FIXTURE));
  await publishSite(resultFiles([join(dir, 'in')]), join(dir, 'site'), { ...DEFAULT_SITE_OPTIONS, rows: ['model', 'images', 'prefill'], columns: ['backend'], metrics: ['image_encode_ms', 'prefill_ms', 'ttft_ms', 'decode_tokens_per_s'] });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] });
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

describe('site: figure source per metric', () => {
  it('marks the composed split of the llamacpp column and nothing else', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(pathToFileURL(join(dir, 'site', 'index.html')).href, { waitUntil: 'load' });
    /** Text and tooltip of each figure of a table, by the column header. */
    const figures = (table: string) =>
      page.$$eval(`table[data-table="${table}"]`, (tables) => {
        const t = tables[0]!;
        const heads = [...t.querySelectorAll('thead th')].map((th) => (th as HTMLElement).innerText.trim());
        return [...t.querySelectorAll('tbody tr')].flatMap((tr) =>
          [...tr.querySelectorAll('td')].map((td, i) => ({ column: heads[i]!, text: (td as HTMLElement).innerText.trim(), title: td.getAttribute('title') ?? '', cls: td.className })),
        );
      });
    const llama = run.cells.find((c) => c.settings['runner'] === 'llamacpp')!;
    const ort = run.cells.find((c) => c.settings['runner'] === 'ort')!;
    const digits = (m: string) => metricDefinition(m)!.digits;
    const figureOf = async (metric: string, median: number) => {
      const found = (await figures(`compare-${metric}`)).filter((f) => f.text.startsWith(`${fmt(median, digits(metric))} `));
      expect(found, `${metric} ${median}`).toHaveLength(1);
      return found[0]!;
    };
    for (const metric of ['image_encode_ms', 'prefill_ms']) {
      const f = await figureOf(metric, llama.metrics[metric]!.median);
      expect(f.column).toMatch(/llamacpp/);
      expect(f.text).toContain(' composed');
      expect(f.title).toContain(`${metric} composed: inside the measured time to first token`);
      const o = await figureOf(metric, ort.metrics[metric]!.median);
      expect(o.text).not.toContain('composed');
    }
    for (const metric of ['ttft_ms', 'decode_tokens_per_s']) {
      const f = await figureOf(metric, llama.metrics[metric]!.median);
      expect(f.text).not.toContain('composed');
      expect(f.title).toContain("measured on the run's monotonic clock");
    }
    expect(errors).toEqual([]);
    await page.close();
  });
});
