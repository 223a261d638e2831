/**
 * Scale check for `bench publish` (issue 14): 1,000 runs of 20 cells (10 boards, 4 precisions,
 * dates over a month; each cell 1 warm-up + 3 measured iterations of raw events; written as
 * `bench run` writes result.json) published by the real CLI in a child process; then the index
 * opened from file:// in headless Chromium.
 * Budgets: publish under 10 s, index open under 2 s.
 *
 *   npm run bench:publish-scale [-- --runs 1000 --cells 20 --repeat 3]
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { syntheticResult } from './report-scale.ts';

const PUBLISH_BUDGET_S = 10;
const OPEN_BUDGET_S = 2;
const CHROMIUM = '/usr/bin/chromium';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} expects a positive integer`);
  return v;
}

/** Writes the inputs (run in a child process: see main). Returns their bytes. */
function generate(dir: string, runs: number, cells: number): number {
  let bytes = 0;
  const precisions = ['fp32', 'fp16', 'int8', 'int4'];
  for (let i = 0; i < runs; i++) {
    const r = syntheticResult(cells, i + 1);
    r.runId = `run-${String(i).padStart(4, '0')}`;
    r.target = `board-${i % 10}`;
    r.environment.board = { 'board.model': `Board ${i % 10}`, 'power.nvpmodel': i % 3 ? 'MAXN' : '15W' };
    r.startedAt = new Date(Date.UTC(2026, 10, 1 + (i % 30), i % 24)).toISOString();
    // A commit per ten runs, as a fleet publishing after each commit has.
    r.environment.git.revision = createHash('sha1').update(`commit ${Math.floor(i / 10)}`).digest('hex');
    // Each run one precision, as a suite per precision runs: the index compares all four.
    const precision = precisions[Math.floor(i / 10) % precisions.length]!;
    for (const c of r.cells) {
      c.params['precision'] = precision;
      if (c.model) c.model.precision = precision;
      c.id = Object.entries(c.params).map(([k, v]) => `${k}=${v}`).join(',');
    }
    r.plannedCells = r.cells.map((c) => c.id);
    const folder = join(dir, r.target, r.runId);
    mkdirSync(folder, { recursive: true });
    // As `bench run` writes it (harness/result-store.ts): one space of indent.
    const text = `${JSON.stringify(r, null, 1)}\n`;
    bytes += text.length;
    writeFileSync(join(folder, 'result.json'), text);
  }
  return bytes;
}

async function main(): Promise<void> {
  const runs = arg('--runs', 1000);
  const cells = arg('--cells', 20);
  const repeats = arg('--repeat', 3);
  const repo = join(import.meta.dirname, '..');
  const dir = mkdtempSync(join(tmpdir(), 'publish-scale-'));
  console.log(`bench publish at scale: ${runs} runs x ${cells} cells; ${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  try {
    // Generated in a child process: building half a gigabyte of JSON here would leave this
    // process's garbage collector busy on one of the two CPUs while the publish is timed.
    const gen = spawnSync(process.execPath, [...process.execArgv, import.meta.filename, '--generate', join(dir, 'in'), '--runs', String(runs), '--cells', String(cells)], { encoding: 'utf8' });
    if (gen.status !== 0) throw new Error(`generating the inputs failed: ${gen.stderr.slice(-2000)}`);
    // The inputs are on disk before the clock starts, as a user's results are: without this the
    // publish would also pay for the kernel writing back half a gigabyte just written.
    spawnSync('sync');
    console.log(`inputs: ${(Number(gen.stdout.trim()) / 2 ** 20).toFixed(1)} MiB of result.json (as bench run writes them)`);
    const site = join(dir, 'site');
    const times: number[] = [];
    for (let k = 0; k < repeats; k++) {
      rmSync(site, { recursive: true, force: true });
      const started = process.hrtime.bigint();
      const child = spawnSync(process.execPath, ['--import', join(repo, 'bench/print-peak-rss.mjs'), join(repo, 'bin/bench.mjs'), 'publish', join(dir, 'in'), '--out', site], { encoding: 'utf8' });
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (child.status !== 0) throw new Error(`bench publish failed: ${child.stderr.slice(-2000)}`);
      times.push(seconds);
      const rss = Number(/peak-rss-kib (\d+)/.exec(child.stderr)?.[1] ?? NaN) / 1024;
      console.log(`publish ${k + 1}/${repeats}: ${seconds.toFixed(2)} s (budget ${PUBLISH_BUDGET_S} s), peak RSS of the main process ${rss.toFixed(0)} MiB, index.html ${(statSync(join(site, 'index.html')).size / 2 ** 20).toFixed(1)} MiB`);
    }
    const sorted = [...times].sort((a, b) => a - b);
    console.log(`publish: median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(2)} s, range ${sorted[0]!.toFixed(2)}-${sorted[sorted.length - 1]!.toFixed(2)} s over ${repeats} (budget ${PUBLISH_BUDGET_S} s)`);
    if (!existsSync(CHROMIUM)) {
      console.log(`index open: skipped (${CHROMIUM} not installed)`);
      return;
    }
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      const t0 = process.hrtime.bigint();
      await page.goto(pathToFileURL(join(site, 'index.html')).href, { waitUntil: 'load' });
      const openS = Number(process.hrtime.bigint() - t0) / 1e9;
      const inView = await page.$$eval('canvas[data-chart][data-drawn]', (cs) => cs.length);
      console.log(`index open (load event; the ${inView} chart(s) in view drawn): ${openS.toFixed(2)} s (budget ${OPEN_BUDGET_S} s)${errors.length ? `; page errors: ${errors.join('; ')}` : ''}`);
      // The other charts are drawn as they are scrolled to: the time to draw them all, for the record.
      const t1 = process.hrtime.bigint();
      for (const canvas of await page.locator('canvas[data-chart]').all()) await canvas.scrollIntoViewIfNeeded();
      await page.waitForFunction(() => document.querySelectorAll('canvas[data-chart]:not([data-drawn])').length === 0);
      const all = await page.$$eval('canvas[data-chart]', (cs) => cs.length);
      console.log(`all ${all} charts drawn after scrolling through the page: ${(Number(process.hrtime.bigint() - t1) / 1e9).toFixed(2)} s more`);
    } finally {
      await browser.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const generateInto = process.argv.indexOf('--generate');
if (generateInto >= 0) process.stdout.write(`${generate(process.argv[generateInto + 1]!, arg('--runs', 1000), arg('--cells', 20))}\n`);
else await main();
