/**
 * `bench publish`: a static site from any number of results, offline from file:// and on GitHub
 * Pages (no CDN: chart.js's UMD build is copied from node_modules into assets/). The index and
 * each run's page are the report model (reporters/) rendered as HTML, their charts drawn in the
 * browser from the same ChartSpec JSON and plugins that make the PNGs.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, linkSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { buildReport } from '../reporters/build-report.ts';
import { CHART_PLUGINS_SOURCE } from '../reporters/render/chart-plugins.ts';
import { escapeHtml, renderHtmlChart, renderHtmlReport, renderHtmlSection, renderHtmlTable } from '../reporters/render/html.ts';
import { markdownText, renderMarkdown } from '../reporters/render/markdown.ts';
import { allCharts, type ChartSpec, type Report } from '../reporters/report-model.ts';
import { CELL_JOURNAL_FILE, readResult } from '../harness/result-store.ts';
import { benchArgv } from '../core/commands.ts';
import { errorMessage, FileSystemError, fileSystemProblem, InputError, toError } from '../core/errors.ts';
import { baseSlug, slugger } from './collect.ts';
import { replaceSite, stagingFolder } from './site-folder.ts';
import { dimensionValue, FILTER_DIMENSIONS, indexView, siteIndex, type PublishedRun, type SiteOptions } from './site-model.ts';

const require = createRequire(import.meta.url);

const CSS = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5rem; color: #222; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ccc; padding: .2rem .45rem; vertical-align: top; }
th { background: #f3f3f3; position: sticky; top: 0; }
td.right, th.right { text-align: right; } td.center { text-align: center; }
td.failed { background: #fde2e2; color: #9b1c1c; font-weight: 600; }
td.missing { color: #888; font-style: italic; }
td.composed { background: #fff6dd; }
td.noisy, td.busy, td.flagged { background: #fff0c2; }
td.differs { background: #fde2e2; font-weight: 600; }
td.published { color: #555; }
p.figures { color: #555; font-style: italic; margin: .2rem 0; }
.filters { position: sticky; top: 0; background: #fff; padding: .4rem 0; border-bottom: 1px solid #ddd; z-index: 2; }
.filters label { margin-right: 1rem; }
figure.chart { margin: .5rem 0 1.5rem; overflow-x: auto; }
.hidden { display: none; }
ul.facts li { margin: .1rem 0; }
`;

/**
 * Draws each canvas from the page's chart JSON when it first comes into view (a chart below the
 * fold costs nothing until scrolled to; each drawn canvas gets data-drawn); wires the filters.
 * Plain browser JavaScript.
 */
const SITE_JS = `
(function () {
  var plugins = ${CHART_PLUGINS_SOURCE};
  var specs = JSON.parse(document.getElementById('chart-specs').textContent);
  var byId = {};
  specs.forEach(function (s) { byId[s.id] = s; });
  function draw(canvas) {
    if (canvas.hasAttribute('data-drawn')) return;
    var spec = byId[canvas.getAttribute('data-chart')];
    if (!spec) return;
    var config = Object.assign({}, spec.config, {
      options: Object.assign({}, spec.config.options, { animation: false, responsive: false, maintainAspectRatio: false }),
      plugins: plugins,
    });
    new Chart(canvas.getContext('2d'), config);
    canvas.setAttribute('data-drawn', '');
  }
  var canvases = document.querySelectorAll('canvas[data-chart]');
  if ('IntersectionObserver' in window) {
    var seen = new IntersectionObserver(function (entries) {
      entries.forEach(function (e) {
        if (e.isIntersecting) { seen.unobserve(e.target); draw(e.target); }
      });
    }, { rootMargin: '200px' });
    canvases.forEach(function (c) { seen.observe(c); });
  } else {
    canvases.forEach(draw);
  }
  var selects = document.querySelectorAll('select[data-filter]');
  function apply() {
    var active = {};
    selects.forEach(function (s) { if (s.value) active[s.getAttribute('data-filter')] = s.value; });
    function hides(el) {
      return Object.keys(active).some(function (dim) {
        var v = el.getAttribute('data-f-' + dim);
        return v !== null && v !== active[dim];
      });
    }
    document.querySelectorAll('tr[data-filtered]').forEach(function (row) { row.classList.toggle('hidden', hides(row)); });
    // Columns carry their values on the header only; a hidden column hides its cell in every row.
    document.querySelectorAll('table').forEach(function (table) {
      if (!table.tHead) return;
      var filtered = [];
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, i) {
        if (!th.hasAttribute('data-filtered')) return;
        var hide = hides(th);
        th.classList.toggle('hidden', hide);
        filtered.push([i, hide]);
      });
      if (!filtered.length) return;
      Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
        filtered.forEach(function (f) { if (row.cells[f[0]]) row.cells[f[0]].classList.toggle('hidden', f[1]); });
      });
    });
  }
  selects.forEach(function (s) { s.addEventListener('change', apply); });
  apply();
})();
`;

function page(title: string, body: string, charts: readonly ChartSpec[], assets: string): string {
  // "</" cannot appear inside the JSON script element.
  const json = JSON.stringify(charts).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="${assets}/site.css"></head>
<body>
${body}
<script type="application/json" id="chart-specs">${json}</script>
<script src="${assets}/chart.umd.js"></script>
<script src="${assets}/site.js"></script>
</body></html>
`;
}

/** data-f-<dim> attributes of a value set (only filter dimensions). */
function filterAttributes(values: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const d of FILTER_DIMENSIONS) if (values[d] !== undefined) out[`data-f-${d}`] = values[d]!;
  return Object.keys(out).length ? { 'data-filtered': '', ...out } : {};
}

/**
 * Rows of an index table shown before the rest is folded away: a site of a thousand runs has a
 * thousand provenance rows, and the index must open in a browser in well under two seconds.
 */
const INDEX_ROWS_SHOWN = 100;

export interface WrittenSite {
  index: string;
  pages: number;
  markdown?: string;
  /** Run pages this process wrote (the rest were written by worker processes). */
  pagesWrittenHere?: number;
}

export function siteMarkdown(runs: readonly PublishedRun[], options: SiteOptions): string {
  const { report } = siteIndex(runs, options);
  const md: Report = { ...report, sections: report.sections.map((s) => ({ ...s, charts: [] })) };
  // The provenance footer a README table needs, as llama-bench prints its build line.
  const footer = runs.map((p) => {
    const r = p.result;
    return `- ${markdownText(`${r.runId}: suite ${r.suite.name} (${r.suite.hash.slice(0, 10)}), ${dimensionValue(r, undefined, 'board')}, ${dimensionValue(r, undefined, 'backend')}, commit ${dimensionValue(r, undefined, 'commit')}, ${r.startedAt}`)}`;
  });
  return `${renderMarkdown(md)}\n## Provenance\n\n${footer.join('\n')}\n`;
}

/**
 * The raw result.json in the site: a hard link when the site is on the same file system (a
 * thousand runs are half a gigabyte that need not be copied), else a copy. A link is safe here
 * because nothing rewrites a result in place: `bench run` replaces result.json by renaming a new
 * file over it, which leaves the site's link on the version that was published. `to` is in a
 * fresh staging folder, emptied of this name first by writeRunPage. `from` is a real path (collect.ts follows links), so the site gets
 * the file and never a symbolic link.
 */
function shareFile(from: string, to: string): void {
  try {
    linkSync(from, to);
  } catch {
    copyFileSync(from, to);
  }
}

/** A run's page (its report as HTML) and its raw result.json beside it. */
function writeRunPage(p: PublishedRun, out: string): void {
  const runReport = buildReport(p.result);
  // Pages are written into publishSite's fresh staging folder; a name already there was written
  // by this publish (a duplicate's page written again under its final name) and is unlinked
  // below, never written through: it may be a hard link to another run's input.
  // Anchors per cell, so an index figure links to its cell.
  const anchors = p.result.cells.map((c) => `<span id="cell-${escapeHtml(encodeURIComponent(c.id))}"></span>`).join('');
  const html = `<p><a href="../index.html">← all results</a> · <a href="${escapeHtml(p.slug)}.json">raw result.json</a></p>${anchors}\n${renderHtmlReport(runReport)}`;
  writeFileSync(join(out, 'runs', `${p.slug}.html`), page(runReport.title, html, allCharts(runReport), '../assets'));
  // The raw data as read: a run still journalling cells (cells.jsonl beside it) is written merged.
  const raw = join(out, 'runs', `${p.slug}.json`);
  rmSync(raw, { force: true });
  if (existsSync(join(dirname(p.file), CELL_JOURNAL_FILE))) writeFileSync(raw, `${JSON.stringify(p.result)}\n`);
  else shareFile(p.file, raw);
}

/** One run's page, written under its base slug; the run comes back as the index reads it. */
function writeRunPageOf(file: string, out: string, metrics: readonly string[]): PublishedRun {
  const result = readResult(file);
  const run = { result, file, slug: baseSlug(result) };
  writeRunPage(run, out);
  return { ...run, result: indexView(result, metrics) };
}

/**
 * Run pages for a slice of the result files: each run is read, validated and given its page one
 * at a time, then kept as the index reads it, so memory stays bounded by one run's raw events.
 */
export function writeRunPages(files: readonly string[], out: string, metrics: readonly string[]): PublishedRun[] {
  mkdirSync(join(out, 'runs'), { recursive: true });
  return files.map((file) => writeRunPageOf(file, out, metrics));
}

export interface PublishParallelism {
  /** Processes writing pages, this one included unless thisProcessWrites is false (at most 4). */
  workers: number;
  /** Below this many runs one process is faster than starting another. */
  minRuns: number;
  /** Whether this process writes pages too (false only to exercise the worker processes). */
  thisProcessWrites?: boolean;
}

const DEFAULT_PARALLELISM: PublishParallelism = { workers: availableParallelism(), minRuns: 64 };

/**
 * What a `bench publish-pages` worker is sent: a slice of result files, and the metrics the index
 * shows (the runs come back with only those). It exits when the channel closes.
 */
interface PagesRequest {
  files: string[];
  metrics: string[];
}

/** What a worker answers: it is ready, the runs of the slice it was sent, or why it could not. */
type PagesReply = { ready: true } | { runs: PublishedRun[] } | { error: string; badInput: boolean; code?: string; path?: string; dest?: string };

/** Hands out slices of the file list in order; stops handing out after a failure. */
class SliceQueue {
  private next = 0;
  failure: Error | undefined;
  readonly done: PublishedRun[][];

  constructor(readonly slices: readonly string[][]) {
    this.done = new Array<PublishedRun[]>(slices.length);
  }

  take(): number {
    return this.failure || this.next >= this.slices.length ? -1 : this.next++;
  }

  fail(err: Error): void {
    this.failure ??= err;
  }
}

/**
 * The site from result files. With many runs, worker processes (`bench publish-pages`, one per
 * further CPU) write run pages beside this process: parsing, validating and rendering a run is
 * CPU work of its own. Work is handed out in small slices as each process asks for more, so a
 * worker that starts late or runs slow does not leave the others waiting at the end; the runs
 * come back in file order whoever wrote them. The index is built here from what they hand back.
 * Runs whose page names collide (the same suite and run id twice) are written again here under
 * their final, numbered names.
 */
export async function publishSite(files: readonly string[], site: string, options: SiteOptions, parallel: PublishParallelism = DEFAULT_PARALLELISM): Promise<WrittenSite> {
  // Written whole into a staging folder beside the site and renamed into place: a publish that
  // fails (bad input, disk full) leaves the old site as it was.
  const staging = stagingFolder(site);
  try {
    const written = await publishInto(files, staging, options, parallel);
    replaceSite(staging, site);
    return { ...written, index: join(site, 'index.html') };
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    const problem = fileSystemProblem(err);
    if (problem) throw new FileSystemError(`publish: ${problem}`, existsSync(join(site, 'index.html')) ? `kept: the old site in ${site}, as it was` : `no site written to ${site}`);
    throw err;
  }
}

async function publishInto(files: readonly string[], out: string, options: SiteOptions, parallel: PublishParallelism): Promise<WrittenSite> {
  mkdirSync(join(out, 'runs'), { recursive: true });
  const here = parallel.thisProcessWrites !== false;
  const processes = files.length >= parallel.minRuns ? Math.max(1, Math.min(parallel.workers, 4, files.length)) : 1;
  const workers = here ? processes - 1 : Math.max(1, processes);
  // Slices of at most 8 runs, shrinking towards the end (a quarter of what is left per process)
  // so that all processes finish within about one run of each other.
  const slices: string[][] = [];
  const sharing = workers + (here ? 1 : 0);
  for (let i = 0; i < files.length; ) {
    const size = Math.max(1, Math.min(8, Math.ceil((files.length - i) / (4 * sharing))));
    slices.push(files.slice(i, i + size));
    i += size;
  }
  const queue = new SliceQueue(slices);
  const children = Array.from({ length: workers }, () => pagesInWorker(queue, out, options.metrics));
  let pagesWrittenHere = 0;
  if (here) {
    for (let i = queue.take(); i >= 0; i = queue.take()) {
      const runs: PublishedRun[] = [];
      for (const file of queue.slices[i]!) {
        // Between runs, the workers' answers are read and their next slices sent: a worker must
        // not wait on this process's own work.
        if (workers > 0) await new Promise((resume) => setImmediate(resume));
        if (queue.failure) break;
        try {
          runs.push(writeRunPageOf(file, out, options.metrics));
        } catch (err) {
          queue.fail(toError(err));
          break;
        }
      }
      queue.done[i] = runs;
      pagesWrittenHere += runs.length;
    }
  }
  await Promise.allSettled(children);
  if (queue.failure) throw queue.failure;
  const runs = queue.done.flat();
  // Every run was written under its base name; a name that occurs twice was overwritten by its
  // later runs, so all runs of such a name are written again, under their final names.
  const slug = slugger();
  const finals = runs.map((run) => slug(run.result));
  const duplicated = new Set(runs.filter((run, i) => finals[i] !== run.slug).map((run) => run.slug));
  runs.forEach((run, i) => {
    const again = duplicated.has(run.slug);
    run.slug = finals[i]!;
    if (again) writeRunPage({ ...run, result: readResult(run.file) }, out);
  });
  return { ...writeSite(runs, out, options, { runPages: false }), pagesWrittenHere };
}

/** A worker's error as this process would have thrown it: with the errno code and path it had. */
function workerError(reply: { error: string; code?: string; path?: string; dest?: string }): Error {
  const err: NodeJS.ErrnoException & { dest?: string } = new Error(reply.error);
  if (reply.code !== undefined) err.code = reply.code;
  if (reply.path !== undefined) err.path = reply.path;
  if (reply.dest !== undefined) err.dest = reply.dest;
  return err;
}

/**
 * One `bench publish-pages` worker: keeps two slices in flight, stores the runs it answers with,
 * and closes its channel (which tells it to exit) once the queue is empty or failed and every
 * slice sent is answered. Settles then, or when the worker fails or exits early.
 */
function pagesInWorker(queue: SliceQueue, out: string, metrics: readonly string[]): Promise<void> {
  return new Promise<void>((finished) => {
    // 'advanced' serialization: the runs come back as structured clones, not JSON text.
    const child = spawn(process.execPath, benchArgv('publishPages', ['--out', out]), { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'advanced' });
    let stderr = '';
    // Slices sent and not yet answered, oldest first (the worker answers in order). Two are kept
    // in flight so the worker never waits for this process, busy with a slice of its own, to
    // answer its request for more.
    const sent: number[] = [];
    let reported = false;
    const fail = (err: Error) => {
      reported = true;
      queue.fail(err);
      child.kill();
    };
    const send = () => {
      const i = queue.take();
      if (i < 0) return;
      sent.push(i);
      const request: PagesRequest = { files: [...queue.slices[i]!], metrics: [...metrics] };
      child.send(request);
    };
    child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    child.on('message', (reply: PagesReply) => {
      if ('error' in reply) return fail(reply.badInput ? new InputError(reply.error) : workerError(reply));
      if ('runs' in reply) queue.done[sent.shift()!] = reply.runs;
      else send();
      send();
      // Closing the channel is what tells the worker to exit; this side closes it only once
      // every answer has arrived, so none is lost in a channel closing under it. Its pages are
      // written by then: the index need not wait for the process to wind down.
      if (sent.length === 0) {
        child.disconnect();
        finished();
      }
    });
    child.on('error', (err) => {
      fail(err);
      finished();
    });
    // 'close' never comes once this side has disconnected the channel (Node 20), so the end is
    // the process's exit and the end of its stderr.
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (code, signal) => resolve([code, signal])));
    const drained = new Promise<void>((resolve) => (child.stderr ? child.stderr.on('close', () => resolve()) : resolve()));
    void Promise.all([exited, drained]).then(([[code, signal]]) => {
      if (!reported && (code !== 0 || sent.length > 0)) {
        queue.fail(new Error(`bench publish-pages exited with ${code ?? signal}${stderr.trim() ? `: ${stderr.trim()}` : ''}`));
      }
      finished();
    });
  });
}

/**
 * The worker side of publishSite (`bench publish-pages`): writes the pages of each slice it is
 * sent and answers with its runs as the index reads them, until the channel is closed.
 */
export function servePages(out: string): Promise<void> {
  const send = (reply: PagesReply) => process.send!(reply);
  return new Promise<void>((finished) => {
    if (!process.send) throw new InputError('bench publish-pages runs only as a worker of bench publish (started by it over IPC); use bench publish');
    process.on('disconnect', finished);
    process.on('message', (request: PagesRequest) => {
      try {
        send({ runs: writeRunPages(request.files, out, request.metrics) });
      } catch (err) {
        // A file system error keeps its code and path across the channel, so publish reports it
        // in one line naming the path (disk full, permissions) as it does for its own writes.
        const e = err as NodeJS.ErrnoException & { dest?: unknown };
        const { code, path, dest } = e;
        send({ error: errorMessage(err), badInput: err instanceof InputError, ...(typeof code === 'string' ? { code } : {}), ...(typeof path === 'string' ? { path } : {}), ...(typeof dest === 'string' ? { dest } : {}) });
      }
    });
    send({ ready: true });
  });
}

/** The site from runs in memory; `runPages: false` when publishSite has written them. */
export function writeSite(runs: readonly PublishedRun[], out: string, options: SiteOptions, what: { runPages: boolean } = { runPages: true }): WrittenSite {
  mkdirSync(join(out, 'assets'), { recursive: true });
  mkdirSync(join(out, 'runs'), { recursive: true });
  copyFileSync(join(dirname(require.resolve('chart.js')), 'chart.umd.js'), join(out, 'assets', 'chart.umd.js'));
  writeFileSync(join(out, 'assets', 'site.css'), CSS);
  writeFileSync(join(out, 'assets', 'site.js'), SITE_JS);

  const { report, grid } = siteIndex(runs, options);
  // Filters: one select per dimension, values from every run's cells.
  const values = new Map<string, Set<string>>(FILTER_DIMENSIONS.map((d) => [d, new Set<string>()]));
  for (const p of runs) for (const c of p.result.cells) for (const d of FILTER_DIMENSIONS) values.get(d)!.add(dimensionValue(p.result, c, d));
  const filters = `<div class="filters">Filter: ${FILTER_DIMENSIONS.map(
    (d) => `<label>${d} <select data-filter="${d}"><option value="">all</option>${[...values.get(d)!].sort().map((v) => `<option>${escapeHtml(v)}</option>`).join('')}</select></label>`,
  ).join('')}</div>`;
  const body = [
    `<h1>${escapeHtml(report.title)}</h1>`,
    `<ul class="facts">${report.facts.map((f) => `<li>${escapeHtml(f)}</li>`).join('')}</ul>`,
    ...report.notes.map((n) => `<p>${escapeHtml(n)}</p>`),
    filters,
    ...report.sections.map((s) => {
      if (s.id === 'runs') {
        const t = s.tables[0]!;
        return `<section id="runs"><h2>${escapeHtml(s.heading)}</h2>${renderHtmlTable(t, {
          rowAttributes: (i) => filterAttributes({ board: dimensionValue(runs[i]!.result, undefined, 'board'), backend: dimensionValue(runs[i]!.result, undefined, 'backend') }),
          foldAfter: INDEX_ROWS_SHOWN,
        })}</section>`;
      }
      if (!s.id.startsWith('compare-')) return renderHtmlSection(s, { foldAfter: INDEX_ROWS_SHOWN });
      const t = s.tables[0]!;
      const first = grid.rowDims.length;
      return [
        `<section id="${escapeHtml(s.id)}"><h2>${escapeHtml(s.heading)}</h2>`,
        renderHtmlTable(t, {
          rowAttributes: (i) => filterAttributes(grid.rowValues.get(grid.rowKeys[i]!)!),
          columnAttributes: (ci) => (ci < first ? undefined : filterAttributes(grid.columnValues.get(grid.columnKeys[ci - first]!)!)),
          foldAfter: INDEX_ROWS_SHOWN,
          values: true,
        }),
        ...s.charts.map(renderHtmlChart),
        '</section>',
      ].join('\n');
    }),
  ].join('\n');
  const index = join(out, 'index.html');
  writeFileSync(index, page(report.title, body, allCharts(report), 'assets'));

  if (what.runPages) for (const p of runs) writeRunPage(p, out);
  return { index, pages: runs.length + 1 };
}
