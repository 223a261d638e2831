/**
 * Strings from result files are untrusted: a model name, board name, error or warning holding
 * HTML, a script end tag, a javascript: link or a line break followed by a heading must reach
 * the published site, report.md and `publish --format md` as text. The site is opened in
 * Debian's Chromium; the Markdown is rendered to HTML by micromark with GFM (raw HTML allowed,
 * the most permissive renderer a step summary or a wiki might use) and opened there too.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { micromark } from 'micromark';
import { gfm, gfmHtml } from 'micromark-extension-gfm';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../core/result-types.ts';
import { checkResult } from '../../harness/result-schema.ts';
import { collectRuns, resultFiles } from '../../publish/collect.ts';
import { DEFAULT_SITE_OPTIONS } from '../../publish/site-model.ts';
import { publishSite, siteMarkdown } from '../../publish/write-site.ts';
import { compareRuns } from '../../analysis/compare-runs.ts';
import { buildReport } from '../../reporters/build-report.ts';
import { formatComparisonMarkdown } from '../../reporters/compare/markdown.ts';
import { boardCells, makeResult } from '../compare/make-result.ts';
import { markdownCode, markdownText, renderMarkdown } from '../../reporters/render/markdown.ts';
import { tempDir } from '../helpers/tmp.ts';

const CHROMIUM = '/usr/bin/chromium';
const fixtures = join(import.meta.dirname, '../fixtures/reports');

/** Each sets window.__pwned (or shows an image, or links javascript:) if it is not escaped. */
const IMG = '<img src=x onerror="window.__pwned=1">';
const SCRIPT = '</script><script>window.__pwned=2</script>';
const LINK = '[click](javascript:window.__pwned=3)';
const IMAGE = '![pixel](https://example.invalid/p.png)';
const HEADING = 'fine\n# injected heading';
const REFERENCE = '\n[ref]: javascript:window.__pwned=4';

let browser: Browser;
let inputs: string;
let site: string;
let hostile: RunResult;

beforeAll(async () => {
  hostile = JSON.parse(readFileSync(join(fixtures, 'ort-tiny.result.json'), 'utf8')) as RunResult;
  hostile.environment.board = { 'board.model': `board ${IMG}` };
  hostile.environment.host.cpu = `cpu ${LINK}`;
  for (const c of hostile.cells) c.model = { ...c.model!, architecture: `model ${SCRIPT} ${IMAGE}` };
  const failed = hostile.cells[1]!;
  Object.assign(failed, { status: 'failed', error: `${LINK} ${HEADING} ${IMG}`, metrics: {}, subgraphs: {}, iterations: [] });
  hostile.warnings.push(`${HEADING} ${REFERENCE} [ref] ${IMG}`);
  // Stored as `bench run` stores it: the schema accepts every one of these strings.
  checkResult(JSON.parse(JSON.stringify(hostile)), 'hostile');
  inputs = tempDir('hostile-in-');
  mkdirSync(join(inputs, 'run'), { recursive: true });
  writeFileSync(join(inputs, 'run', 'result.json'), JSON.stringify(hostile));
  site = tempDir('hostile-site-');
  await publishSite(resultFiles([inputs]), site, DEFAULT_SITE_OPTIONS);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] });
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

/** What an injection would leave in a page: the flag, images, javascript: links, extra headings and scripts. */
async function traces(page: Page): Promise<{ pwned: unknown; images: number; jsLinks: number; injectedHeadings: number; text: string }> {
  return page.evaluate(() => ({
    pwned: (window as unknown as { __pwned?: unknown }).__pwned,
    images: document.querySelectorAll('img').length,
    jsLinks: [...document.querySelectorAll('a')].filter((a) => /^\s*javascript:/i.test(a.getAttribute('href') ?? '')).length,
    injectedHeadings: [...document.querySelectorAll('h1,h2,h3,h4,h5,h6')].filter((h) => /injected heading/.test(h.textContent ?? '')).length,
    text: document.body.innerText,
  }));
}

async function openFile(path: string): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(pathToFileURL(path).href, { waitUntil: 'load' });
  // Charts draw labels (model and board names) as canvas text; let them draw.
  for (const canvas of await page.locator('canvas[data-chart]').all()) await canvas.scrollIntoViewIfNeeded();
  return page;
}

async function openHtml(html: string): Promise<Page> {
  const page = await browser.newPage();
  await page.setContent(`<!doctype html><html><body>${html}</body></html>`, { waitUntil: 'load' });
  return page;
}

describe('hostile strings in a result', () => {
  it('reach the published site as text (index and run page, in Chromium)', async () => {
    const index = await openFile(join(site, 'index.html'));
    const seen = await traces(index);
    expect(seen).toMatchObject({ pwned: undefined, images: 0, jsLinks: 0, injectedHeadings: 0 });
    // Shown, not dropped: the board name with its markup as text, the failed cell's reason in the table.
    expect(seen.text).toContain(`board ${IMG}`);
    expect(seen.text).toContain(`model ${SCRIPT}`);
    const runPage = await index.$eval('table[data-table="runs"] td a', (a) => a.getAttribute('href'));
    const run = await openFile(join(site, runPage!));
    const onRun = await traces(run);
    expect(onRun).toMatchObject({ pwned: undefined, images: 0, jsLinks: 0, injectedHeadings: 0 });
    expect(onRun.text).toContain(`FAILED: ${LINK} fine # injected heading ${IMG}`);
    // Our own scripts only: the chart data, chart.js and the site script.
    expect(await run.locator('script').count()).toBe(3);
  }, 60_000);

  for (const [name, markdown, shown] of [
    ['report.md', () => renderMarkdown(buildReport(hostile)), [`FAILED: ${LINK} fine # injected heading ${IMG}`, `fine # injected heading [ref]: javascript:window.__pwned=4 [ref] ${IMG}`]],
    ['publish --format md', () => siteMarkdown(collectRuns([inputs]), DEFAULT_SITE_OPTIONS), [`board ${IMG}`, `FAILED: ${LINK} fine # injected heading ${IMG}`]],
  ] as Array<[string, () => string, string[]]>) {
    it(`reach ${name} as text: no raw HTML, link, image or heading, rendered by a GFM renderer in Chromium`, async () => {
      const md = markdown();
      // The text: every hostile string is there, escaped.
      expect(md).not.toMatch(/(?<!\\)<(img|\/script|script)/);
      expect(md).not.toMatch(/(?<!\\)\]\(javascript:/);
      expect(md).not.toMatch(/^\s*(- )?# injected heading/m);
      expect(md).toContain('\\<img src=x onerror="window.__pwned=1">');
      // Rendered with raw HTML allowed, it is still only text.
      const html = micromark(md, { allowDangerousHtml: true, allowDangerousProtocol: true, extensions: [gfm()], htmlExtensions: [gfmHtml()] });
      const page = await openHtml(html);
      const seen = await traces(page);
      expect(seen).toMatchObject({ pwned: undefined, images: 0, jsLinks: 0, injectedHeadings: 0 });
      for (const text of [`model ${SCRIPT} ${IMAGE}`, ...shown]) expect(seen.text).toContain(text);
      // Tables keep their shape: no hostile pipe or line break split a row.
      const widths = await page.$$eval('table', (ts) => ts.map((t) => new Set([...t.querySelectorAll('tr')].map((r) => r.children.length)).size));
      expect(widths.every((w) => w === 1)).toBe(true);
    }, 60_000);
  }

  it('reach the bench compare Markdown (its step summary) as text', async () => {
    const cells = [...boardCells(), { images: 1, prefill: 64, precision: `q4 ${IMG} \` ${LINK}`, encodePerImage: 300, prefillMs: 200, step: 50 }];
    const base = makeResult({ seed: 1, cells, cv: 0.04, threads: 4 });
    const cand = makeResult({ seed: 2, cells, cv: 0.04, threads: 4 });
    base.target = cand.target = `board ${SCRIPT}`;
    cand.cells[1] = { ...cand.cells[1]!, status: 'failed', error: `${HEADING} ${IMG} ${LINK}`, iterations: [], metrics: {} };
    const md = formatComparisonMarkdown(compareRuns(base, cand, { thresholdPct: 5, baseSource: `${IMAGE}.json`, candSource: 'cand.json' }));
    // Outside code spans (whose text Markdown never reads as HTML) nothing is raw.
    const outsideCode = md.replace(/(`+)(?:(?!\1).)+\1/g, '');
    expect(outsideCode).not.toMatch(/(?<!\\)<(img|\/script|script)/);
    expect(md).not.toMatch(/^\s*(- )?# injected heading/m);
    const page = await openHtml(micromark(md, { allowDangerousHtml: true, allowDangerousProtocol: true, extensions: [gfm()], htmlExtensions: [gfmHtml()] }));
    const seen = await traces(page);
    expect(seen).toMatchObject({ pwned: undefined, images: 0, jsLinks: 0, injectedHeadings: 0 });
    expect(seen.text).toContain(`board ${SCRIPT}`);
    expect(seen.text).toContain(`fine # injected heading ${IMG} ${LINK}`);
  }, 60_000);

  it('markdownText and markdownCode keep ordinary text readable and make markup inert', () => {
    expect(markdownText('12.3 [11.9–12.8] n=8 ~noisy')).toBe('12.3 [11.9–12.8] n=8 ~noisy');
    expect(markdownText('run `bench calibrate --target <board>`')).toBe('run `bench calibrate --target <board>`');
    expect(markdownText('a | b')).toBe('a \\| b');
    expect(markdownText('# title')).toBe('\\# title');
    expect(markdownText('x\\')).toBe('x\\\\');
    expect(markdownText(LINK)).toBe('[click\\](javascript:window.__pwned=3)');
    expect(markdownCode('a`b|c')).toBe('``a`b\\|c``');
  });
});
