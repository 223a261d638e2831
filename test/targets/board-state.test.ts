/**
 * Board runs sample the board (issue 30 items 2 and 5): its power mode, clocks and temperatures
 * are read on the board through the run's transport before and after each cell and sampled while
 * it measures; a cell that ran in another power mode than the run's header, or with clocks not
 * locked, is flagged on its figures, its configuration identity carries its own mode, and
 * report.md says what differed per cell.
 *
 * The board is the project's fake board (helpers/fake-board.ts) behind a REAL sshd on loopback:
 * its `nvpmodel`, `jetson_clocks` and `tegrastats` are stand-ins that print RECORDED REAL OUTPUTS
 * (an Orin NX at MAXN_SUPER with its GPU at 306 of 624.75 MHz; an Orin Nano at 15W; an Orin
 * tegrastats line). Only the vendor programs are stand-ins: ssh, the remote shell, the kernel
 * files the board-state script reads and the harness are real.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cellIdentity, diffIdentities } from '../../analysis/identity.ts';
import { cellContextWarnings } from '../../analysis/run-facts.ts';
import type { CellResult, RunResult } from '../../core/result-types.ts';
import type { Suite } from '../../core/suite-types.ts';
import { createProgress } from '../../cli/progress.ts';
import { createClock } from '../../core/clock.ts';
import { headerWithPowerMode, judgeBoardState, ownBoardSampler, startBoardStateWindow } from '../../harness/board-quality.ts';
import { preflight } from '../../harness/preflight.ts';
import { readResult } from '../../harness/result-store.ts';
import { runSuite } from '../../harness/run-suite.ts';
import { loadSuite } from '../../harness/suite-loader.ts';
import { parseBoardState, readBoardState, unlockedClocks } from '../../hw-probes/board-state.ts';
import type { Probe } from '../../hw-probes/probe.ts';
import { parseTegrastatsLine, tegrastatsToSample } from '../../hw-probes/tegrastats/parse.ts';
import { DEFAULT_SITE_OPTIONS, dimensionValue } from '../../publish/site-model.ts';
import { publishSite } from '../../publish/write-site.ts';
import { buildReport } from '../../reporters/build-report.ts';
import { renderMarkdown } from '../../reporters/render/markdown.ts';
import { createCommandRunner } from '../../runners/command/index.ts';
import { LocalTransport } from '../../targets/command-transport.ts';
import { SshTransport } from '../../targets/ssh-transport.ts';
import { createFakeBoard, type FakeBoard } from './helpers/fake-board.ts';
import { fixtureBody, fixtureSection } from './helpers/fixtures.ts';
import { loaded, outDir, quietProgress } from './helpers/run.ts';
import { startSshd, type TestSshd } from './helpers/sshd.ts';
import { tempDir } from '../helpers/tmp.ts';

const CHROMIUM = '/usr/bin/chromium';
const MAXN_SUPER = fixtureSection('targets-orin-nx-power.txt', 'nvpmodel -q');
const CLOCKS_UNLOCKED = fixtureSection('targets-orin-nx-power.txt', 'jetson_clocks --show');
const MODE_15W = fixtureSection('targets-orin-nano-15w.txt', 'nvpmodel -q');

/** What the board-state script prints, around recorded tool outputs. */
const scriptOutput = (nvpmodel: string, clocks: string, sysfs = '') => `## nvpmodel\n${nvpmodel}## jetson_clocks\n${clocks}## sysfs\n${sysfs}`;

describe('board state readings', () => {
  it('reads the power mode and every clock from recorded nvpmodel -q and jetson_clocks --show', () => {
    const r = parseBoardState(scriptOutput(MAXN_SUPER, CLOCKS_UNLOCKED))!;
    expect(r.powerMode).toEqual({ name: 'MAXN_SUPER', id: 2 });
    expect(r.sources).toEqual(['nvpmodel -q', 'jetson_clocks --show']);
    expect(r.clocks['gpu']).toEqual({ curMhz: 306, minMhz: 306, maxMhz: 624.75 });
    expect(r.clocks['emc']).toEqual({ curMhz: 2133, minMhz: 204, maxMhz: 2133 });
    expect(r.clocks['cpu4']).toEqual({ curMhz: 729.6, minMhz: 729.6, maxMhz: 1510.4 });
    // cpu0 and the EMC were at their maximum; the GPU and five cores were not.
    expect(unlockedClocks(r)).toEqual(['gpu', 'cpu1', 'cpu2', 'cpu3', 'cpu4', 'cpu5']);
  });

  it('falls back to the kernel files when jetson_clocks --show does not answer (it needs root)', () => {
    const sysfs = [
      'cpufreq policy0 1190400 729600 1510400 schedutil',
      'devfreq 17000000.ga10b 624750000 624750000 624750000 nvhost_podgov',
      'thermal cpu-thermal 53968',
      'thermal cv0-thermal -256000', // Tegra's "sensor off"
      'thermal tj-thermal 54500',
    ].join('\n');
    const r = parseBoardState(scriptOutput('', '', sysfs))!;
    expect(r.powerMode).toBeNull();
    expect(r.sources).toEqual(['sysfs']);
    expect(r.clocks).toEqual({
      'cpu policy0': { curMhz: 1190.4, minMhz: 729.6, maxMhz: 1510.4, governor: 'schedutil' },
      '17000000.ga10b': { curMhz: 624.75, minMhz: 624.75, maxMhz: 624.75, governor: 'nvhost_podgov' },
    });
    expect(r.temperaturesC).toEqual({ 'cpu-thermal': 53.968, 'tj-thermal': 54.5 });
    expect(unlockedClocks(r)).toEqual(['cpu policy0']);
    expect(parseBoardState('NV Power Mode: MAXN\n')).toBeNull();
  });

  it('runs its script on a real shell: on this machine (no nvpmodel) it reads no power mode', async () => {
    const r = await readBoardState(new LocalTransport(), 5);
    expect(r).not.toBeNull();
    expect(r!.tMs).toBe(5);
    expect(r!.powerMode).toBeNull();
  });

  it('a board that does not answer gives no state (the run warns), and its sampler is never started', async () => {
    let started = 0;
    const refusing = { name: 'ssh:gone', run: async () => ({ stdout: '', stderr: 'Connection closed', code: 255 }), spawn: () => { throw new Error('not used'); }, alignClock: async () => ({ offsetMs: 0, errorMs: 0, method: 'none' }) };
    const sampler = { name: 'tegrastats', start: async () => { started += 1; } } as unknown as Probe;
    const window = await startBoardStateWindow(refusing, createClock(), { sampler, intervalMs: 500 });
    expect(await window.finish()).toBeNull();
    expect(started).toBe(0);
  });

  it('flags a power mode that changed while the cell measured, and clock limits that moved', () => {
    const before = { ...parseBoardState(scriptOutput(MAXN_SUPER, CLOCKS_UNLOCKED))!, tMs: 0 };
    const lowered = CLOCKS_UNLOCKED.replace('GPU MinFreq=306000000 MaxFreq=624750000', 'GPU MinFreq=306000000 MaxFreq=510000000');
    const after = { ...parseBoardState(scriptOutput(MODE_15W, lowered))!, tMs: 1000 };
    const header = { 'power.nvpmodel': 'MAXN_SUPER', 'power.nvpmodel_id': '2', 'clock.gpu_mhz': '306/624.75' };
    const j = judgeBoardState({ window: { before, after, samples: [], source: null, warnings: [] }, header });
    expect(j.state.differences).toEqual(['power mode changed while measuring: MAXN_SUPER (id 2) -> 15W (id 0)', 'clock limits changed while measuring: gpu 306–624.75 -> 306–510 MHz']);
    expect(j.flags.map((f) => f.kind)).toEqual(['power-mode', 'clocks']);
    expect(j.flags[1]!.message).toContain('clocks not locked: gpu 306 of 624.75 MHz, cpu1 1497.6 of 1510.4 MHz, cpu2 1190.4 of 1510.4 MHz and 3 more before the cell');
    // The same reading against its own header: nothing differed, but the clocks were still not locked.
    const same = judgeBoardState({ window: { before, after: before, samples: [], source: null, warnings: [] }, header });
    expect(same.state.differences).toEqual([]);
    expect(same.flags.map((f) => f.kind)).toEqual(['clocks']);
  });

  it('throttling comes from the board\'s own samples while measuring (a recorded Orin tegrastats line)', () => {
    const before = { ...parseBoardState(scriptOutput(MAXN_SUPER, CLOCKS_UNLOCKED))!, tMs: 0 };
    const line = fixtureBody('targets-tegrastats-orin.txt').trim();
    const samples = [100, 600].map((t) => tegrastatsToSample(parseTegrastatsLine(line), t));
    const header = { 'power.nvpmodel': 'MAXN_SUPER', 'power.nvpmodel_id': '2' };
    const hot = judgeBoardState({ window: { before, after: { ...before, tMs: 1000 }, samples, source: 'tegrastats', warnings: [] }, header, tempLimitC: 53 });
    expect(hot.thermal.throttled).toBe(true);
    expect(hot.thermal.reasons).toEqual(['cpu reached 54.0 °C (limit 53 °C)']);
    expect(hot.state.during).toEqual({ source: 'tegrastats', samples: 2, maxTempC: 53.968, maxTempSensor: 'cpu', clockRangesMhz: { gpu: [621, 621], emc: [2133, 2133], cpu0: [729, 729], cpu1: [729, 729], cpu2: [729, 729], cpu3: [729, 729], cpu4: [729, 729], cpu5: [729, 729] } });
    // Samples outside the measured window (the idle baseline before it) are not the cell's.
    const outside = judgeBoardState({ window: { before, after: { ...before, tMs: 1000 }, samples: [], source: null, warnings: [] }, probeSamples: samples.map((s) => ({ ...s, tMs: s.tMs + 5000 })), header, tempLimitC: 53 });
    expect(outside.state.during).toBeNull();
    expect(outside.thermal.throttled).toBe(false);
  });

  it('gives a header without a power mode the one the first reading found', () => {
    const first = parseBoardState(scriptOutput(MAXN_SUPER, CLOCKS_UNLOCKED))!;
    expect(headerWithPowerMode({ os: 'Linux' }, first)).toEqual({ os: 'Linux', 'power.nvpmodel': 'MAXN_SUPER', 'power.nvpmodel_id': '2' });
    const header = { 'power.nvpmodel': '15W', 'power.nvpmodel_id': '0' };
    expect(headerWithPowerMode(header, first)).toBe(header);
  });
});

describe('a board run reads the board around each cell (fake Jetson over real sshd)', () => {
  let board: FakeBoard;
  let sshd: TestSshd;
  let ssh: SshTransport;
  let result: RunResult;
  let resultFile: string;
  const shipped = loadSuite('internvl-orin-nx').suite;

  beforeAll(async () => {
    board = createFakeBoard();
    sshd = await startSshd([board.binDir]);
    // As targets.example.yaml lists it: tegrastats samples the board (its samples are the board state's while measuring).
    const target = sshd.target('orin-nx', { workDir: board.dir, probes: ['tegrastats'] });
    ssh = new SshTransport(target);
    // The header: what the preflight read before the first cell (MAXN_SUPER, GPU at 306 of 624.75 MHz).
    const pre = await preflight(target, { transport: ssh });
    const command = [...(shipped.options!['command'] as unknown[])];
    command[0] = 'llava-cli';
    const suite: Suite = { ...shipped, options: { ...shipped.options, command } };
    // Each request takes 0.6 s, so tegrastats (every 0.5 s) prints while the cell measures.
    board.setDelayMs(600);
    const outcome = await runSuite({
      suite: loaded(suite),
      target: 'orin-nx',
      filters: ['prefill=128', 'images=0,1'],
      iterations: 2,
      warmup: 0,
      cooldownSeconds: 0,
      outDir: outDir(),
      transport: ssh,
      boardFacts: pre.facts,
      runners: { command: createCommandRunner({ transport: ssh }) },
      // Before the second cell someone puts the board in 15W (a recorded Orin Nano nvpmodel -q).
      progress: quietProgress((position) => {
        if (position === 2) board.setOutput('nvpmodel', MODE_15W);
      }),
    });
    // readResult validates against schema/result.schema.json.
    resultFile = outcome.store.file;
    result = readResult(resultFile);
  }, 120_000);

  afterAll(async () => {
    await ssh?.close();
    sshd?.stop();
    board?.remove();
  });

  const cellAt = (i: number): CellResult => result.cells[i]!;

  it('records the power mode, clocks and temperatures before, during and after each cell', () => {
    expect(result.environment.board).toMatchObject({ 'power.nvpmodel': 'MAXN_SUPER', 'clock.gpu_mhz': '306/624.75' });
    const first = cellAt(0);
    expect(first.status, first.error).toBe('ok');
    const s = first.boardState!;
    expect(s.before.powerMode).toEqual({ name: 'MAXN_SUPER', id: 2 });
    expect(s.after!.powerMode).toEqual({ name: 'MAXN_SUPER', id: 2 });
    expect(s.before.sources).toEqual(expect.arrayContaining(['nvpmodel -q', 'jetson_clocks --show']));
    expect(s.before.clocks['gpu']).toEqual({ curMhz: 306, minMhz: 306, maxMhz: 624.75 });
    expect(s.before.tMs!).toBeLessThan(s.after!.tMs!);
    // tegrastats while measuring: the recorded Orin line (GPU 621 MHz, tj 53.968 °C), parsed by the suite's parser.
    expect(s.during).toMatchObject({ source: 'tegrastats', maxTempC: 53.968, maxTempSensor: 'cpu' });
    expect(s.during!.samples).toBeGreaterThanOrEqual(1);
    expect(s.during!.clockRangesMhz['gpu']).toEqual([621, 621]);
    expect(s.differences).toEqual([]);
    expect(result.warnings.filter((w) => /board state|could not be read/.test(w))).toEqual([]);
  });

  it('flags clocks not locked on every figure, and another power mode than the header on the cell that ran in it', () => {
    const [first, second] = [cellAt(0), cellAt(1)];
    expect(first.flags!.find((f) => f.kind === 'clocks')!.message).toContain('gpu 306 of 624.75 MHz');
    expect(first.flags!.some((f) => f.kind === 'power-mode')).toBe(false);
    expect(second.status, second.error).toBe('ok');
    expect(second.boardState!.before.powerMode).toEqual({ name: '15W', id: 0 });
    expect(second.boardState!.differences).toEqual(["power mode 15W (id 0), not the run's MAXN_SUPER (id 2)"]);
    expect(second.flags!.find((f) => f.kind === 'power-mode')!.message).toBe("power mode 15W (id 0), not the run's MAXN_SUPER (id 2)");
    // On the figures themselves, so every table marks them.
    const kinds = (c: CellResult) => (c.metrics['ttft_ms'] as { flags?: Array<{ kind: string }> }).flags!.map((f) => f.kind);
    expect(kinds(first)).toContain('clocks');
    expect(kinds(first)).not.toContain('power-mode');
    expect(kinds(second)).toEqual(expect.arrayContaining(['clocks', 'power-mode']));
  });

  it('starts the board\'s tegrastats itself when no probe of the run samples the board', async () => {
    expect(await ownBoardSampler(ssh, ['tegrastats'])).toBeNull();
    const sampler = await ownBoardSampler(ssh, []);
    expect(sampler?.name).toBe('tegrastats');
    const clock = createClock();
    const window = await startBoardStateWindow(ssh, clock, { sampler, intervalMs: 200 });
    await new Promise((r) => setTimeout(r, 700));
    const read = (await window.finish())!;
    expect(await window.finish()).toBe(read); // once: a cell's cleanup may call it again
    expect(read.source).toBe('tegrastats');
    expect(read.samples.length).toBeGreaterThanOrEqual(2);
    expect(read.samples[0]!.gpus![0]!.mhz).toBe(621);
    expect(read.before.powerMode).toEqual({ name: '15W', id: 0 }); // the fake still prints the second cell's mode
    expect(read.warnings).toEqual([]);
  });

  it('the progress line after a cell says what the board did differently', () => {
    const written: string[] = [];
    const stream = { isTTY: false, write: (t: string) => written.push(t) > 0 } as unknown as NodeJS.WriteStream;
    const progress = createProgress(stream);
    progress.runStart({ suite: 'internvl-orin-nx', runDir: 'run', cells: 2, alreadyDone: 0 });
    for (const [i, c] of [cellAt(0), cellAt(1)].entries()) {
      progress.cellStart({ position: i + 1, total: 2, cell: { id: c.id, index: c.index, params: c.params } });
      progress.cellDone(c);
    }
    progress.runDone();
    const lines = written.join('').split('\n');
    expect(lines.filter((l) => l.includes('board state:'))).toEqual(["  board state: power mode 15W (id 0), not the run's MAXN_SUPER (id 2)"]);
    expect(lines[lines.findIndex((l) => l.includes('board state:')) - 1]).toContain(`[2/2] ${cellAt(1).id}: `);
  });

  it('makes the power mode a cell ran in part of its configuration identity', () => {
    const a = cellIdentity(result, cellAt(0));
    const b = cellIdentity(result, cellAt(1));
    expect(a.fields.power_mode).toContain('power.nvpmodel=MAXN_SUPER');
    expect(b.fields.power_mode).toContain('power.nvpmodel=15W');
    // Same workload apart from images: the power mode is a difference a verdict cannot cross silently.
    expect(diffIdentities(a, b).map((d) => d.field)).toContain('power_mode');
  });

  it('a comparison of matched cells names what the board did in each run', () => {
    const warnings = cellContextWarnings([[cellAt(0), cellAt(1)]]);
    expect(warnings.filter((w) => w.kind === 'clocks').map((w) => w.message)).toEqual([
      "board state flagged in both runs: the board's clocks were not locked, or their limits or speed changed, while the cell measured: its figures depend on DVFS (each cell's boardState in result.json says which clocks or mode)",
    ]);
    expect(warnings.filter((w) => w.kind === 'power-mode').map((w) => w.message)).toEqual([
      "board state flagged in the candidate run: the board was in another power mode than its run's header while the cell measured (each cell's boardState in result.json says which clocks or mode)",
    ]);
  });

  it('report.md states the run\'s board state once and what differed per cell', () => {
    const md = renderMarkdown(buildReport(result));
    expect(md).toContain('Board: ');
    expect(md).toMatch(/Board state, read on the board around each of 2 cell\(s\) \(nvpmodel -q, jetson_clocks --show, tegrastats while measuring\): power mode MAXN_SUPER \(id 2\), 15W \(id 0\); clocks not locked before every cell \([^)]*gpu[^)]*\); hottest 54\.0 °C \(cpu, [^)]+\); 1 cell\(s\) differed from the Board line/);
    const section = md.slice(md.indexOf('## Board state'));
    expect(section).toContain(`${cellAt(1).id}: power mode 15W (id 0), not the run's MAXN_SUPER (id 2)`);
    expect(section.slice(0, section.indexOf('\n## ', 5))).not.toContain(`${cellAt(0).id}:`);
    expect(md).toContain('~power-mode');
    expect(md).toContain('`~clocks`: board clocks not locked');
  });

  it('the published site shows the board state: the run page\'s section and marks, the runs table\'s Board state column (Chromium)', async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install Debian's chromium package to run the site tests`);
    const site = tempDir('board-state-site-');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] });
    try {
      await publishSite([resultFile], site, DEFAULT_SITE_OPTIONS);
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(pathToFileURL(join(site, 'index.html')).href, { waitUntil: 'load' });
      const headers = await page.$$eval('table[data-table="runs"] thead th', (ths) => ths.map((th) => (th as HTMLElement).innerText.trim()));
      const rows = await page.$$eval('table[data-table="runs"] tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => (td as HTMLElement).innerText.trim())));
      expect(rows).toHaveLength(1);
      expect(rows[0]![headers.indexOf('Board state')]).toBe(`1 of 2 cell(s) differed from the run's header: ${cellAt(1).id} (power mode 15W (id 0), not the run's MAXN_SUPER (id 2)); clocks not locked in every cell`);
      // The power mode dimension is each cell's own.
      expect([dimensionValue(result, cellAt(0), 'power_mode'), dimensionValue(result, cellAt(1), 'power_mode')]).toEqual(['MAXN_SUPER', '15W']);
      const href = await page.$eval('table[data-table="runs"] td a[href$=".html"]', (a) => a.getAttribute('href'));
      await page.goto(pathToFileURL(join(site, href!)).href, { waitUntil: 'load' });
      const text = await page.innerText('body');
      expect(text).toContain(`Board state\n`);
      expect(text).toContain(`${cellAt(1).id}: power mode 15W (id 0), not the run's MAXN_SUPER (id 2)`);
      expect(text).toMatch(/Board state, read on the board around each of 2 cell\(s\)/);
      expect(await page.locator('td', { hasText: '~power-mode' }).count()).toBeGreaterThan(0);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 60_000);
});
