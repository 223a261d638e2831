/**
 * Scale check for `bench publish` (issue 14): 1,000 runs of 20 cells (10 boards, 4 precisions,
 * dates over a month; each cell 1 warm-up + 3 measured iterations of raw events; written as
 * `bench run` writes result.json) published by the real CLI in a child process; then the index
 * opened from file:// in headless Chromium.
 * Budgets: publish under 10 s, index open under 2 s.
 *
 *   npm run bench:publish-scale [-- --runs 1000 --cells 20]
 */
import { spawnSync } from 'node:child_process';
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

async function main(): Promise<void> {
  const runs = arg('--runs', 1000);
  const cells = arg('--cells', 20);
  const repo = join(import.meta.dirname, '..');
  const dir = mkdtempSync(join(tmpdir(), 'publish-scale-'));
  console.log(`bench publish at scale: ${runs} runs x ${cells} cells; ${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  try {
    let bytes = 0;
    const precisions = ['fp32', 'fp16', 'int8', 'int4'];
    for (let i = 0; i < runs; i++) {
      const r = syntheticResult(cells, i + 1);
      r.runId = `run-${String(i).padStart(4, '0')}`;
      r.target = `board-${i % 10}`;
      r.environment.board = { 'board.model': `Board ${i % 10}`, 'power.nvpmodel': i % 3 ? 'MAXN' : '15W' };
      r.startedAt = new Date(Date.UTC(2026, 10, 1 + (i % 30), i % 24)).toISOString();
      r.environment.git.revision = (i * 2654435761).toString(16).padStart(40, '0').slice(0, 40);
      // Each run one precision, as a suite per precision runs: the index compares all four.
      const precision = precisions[Math.floor(i / 10) % precisions.length]!;
      for (const c of r.cells) {
        c.params['precision'] = precision;
        if (c.model) c.model.precision = precision;
        c.id = Object.entries(c.params).map(([k, v]) => `${k}=${v}`).join(',');
      }
      r.plannedCells = r.cells.map((c) => c.id);
      const folder = join(dir, 'in', r.target, r.runId);
      mkdirSync(folder, { recursive: true });
      // As `bench run` writes it (harness/result-store.ts): one space of indent.
      const text = `${JSON.stringify(r, null, 1)}\n`;
      bytes += text.length;
      writeFileSync(join(folder, 'result.json'), text);
    }
    console.log(`inputs: ${(bytes / 2 ** 20).toFixed(1)} MiB of result.json`);
    const site = join(dir, 'site');
    const started = process.hrtime.bigint();
    const child = spawnSync(process.execPath, ['--import', join(repo, 'bench/print-peak-rss.mjs'), join(repo, 'bin/bench.mjs'), 'publish', join(dir, 'in'), '--out', site], { encoding: 'utf8' });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (child.status !== 0) throw new Error(`bench publish failed: ${child.stderr.slice(-2000)}`);
    const rss = Number(/peak-rss-kib (\d+)/.exec(child.stderr)?.[1] ?? NaN) / 1024;
    console.log(`publish: ${seconds.toFixed(2)} s (budget ${PUBLISH_BUDGET_S} s), peak RSS ${rss.toFixed(0)} MiB, index.html ${(statSync(join(site, 'index.html')).size / 2 ** 20).toFixed(1)} MiB`);
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
      console.log(`index open (load event, charts drawn): ${openS.toFixed(2)} s (budget ${OPEN_BUDGET_S} s)${errors.length ? `; page errors: ${errors.join('; ')}` : ''}`);
    } finally {
      await browser.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
