/**
 * Issue 30 on a simulated Jetson and AX650 through the real CLI against a REAL loopback sshd
 * whose PATH holds the fake board's tools (helpers/fake-board.ts: tegrastats replaying a recorded
 * Orin line, VDD_IN 12479 mW; llava-cli printing a recorded llama.cpp run, slowed so each command
 * lasts as long as a real one; ax_run_model printing the seed's per-graph figures):
 *  - energy says what it is: J/token and J/image incl. idle and above idle, the idle power and
 *    how it was sampled, in result.json and report.md; the probe covers each iteration to its end
 *    and a low-confidence warning names the real cause;
 *  - `bench compare --metric decode_j_per_token` judges per-iteration values (or exits 2);
 *  - after `bench calibrate --target`, the roofline table of the Jetson suite has bounds;
 *  - the AX650 progress line shows the wall time and names the composed request time.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Comparison } from '../../analysis/comparison-types.ts';
import { main } from '../../cli/main.ts';
import type { RunResult } from '../../core/result-types.ts';
import { DEFAULT_SITE_OPTIONS, indexView, siteIndex } from '../../publish/site-model.ts';
import { rooflineRecord } from '../../roofline/record.ts';
import { InputError } from '../../core/errors.ts';
import { loadSuite } from '../../harness/suite-loader.ts';
import { parseCommandOptions } from '../../runners/command/options.ts';
import { createFakeBoard, LAYER_GRAPH, POST_GRAPH, VIT_GRAPH, type FakeBoard } from './helpers/fake-board.ts';
import { repoRoot } from './helpers/fixtures.ts';
import { startSshd, type TestSshd } from './helpers/sshd.ts';
import { tempDir } from '../helpers/tmp.ts';

const REPLAYED_W = 12.479;

let board: FakeBoard;
let sshd: TestSshd;
let dir: string;
let env: NodeJS.ProcessEnv;
let jetson: { result: RunResult; report: string; stderr: string };

function bench(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'bench.mjs'), ...args], { cwd: dir, env, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function runDir(out: string, suite: string): string {
  const base = join(dir, out, suite);
  return join(base, readdirSync(base)[0]!);
}

beforeAll(async () => {
  board = createFakeBoard();
  sshd = await startSshd([board.binDir]);
  dir = tempDir('bench-board-energy-');
  // A lock folder of this test's own: the "board" is this machine, shared with other runs.
  mkdirSync(join(dir, 'locks'));
  env = { ...process.env, CI: 'true', BENCH_LOCK_DIR: join(dir, 'locks') };
  for (const g of [VIT_GRAPH, LAYER_GRAPH, POST_GRAPH]) {
    mkdirSync(join(board.dir, g, '..'), { recursive: true });
    writeFileSync(join(board.dir, g), `stand-in for ${g}\n`);
  }
  const { source: _o, ...orin } = sshd.target('orin-nx', { workDir: board.dir, probes: ['tegrastats'] });
  const { source: _a, ...ax } = sshd.target('ax650', { workDir: board.dir });
  writeFileSync(join(dir, 'targets.yaml'), stringify({ targets: [orin, ax] }));
  // The shipped Jetson suite on the fake's llava-cli, asking the 7 tokens its recorded run generates.
  const suite = readFileSync(join(repoRoot, 'suites', 'internvl-orin-nx.yaml'), 'utf8')
    .replace('    - llama-mtmd-cli\n', '    - llava-cli\n')
    .replace('  cooldownSeconds: 5\n', '  cooldownSeconds: 0\n')
    .replace('  outputTokens: 64\n', '  outputTokens: 7\n');
  writeFileSync(join(dir, 'orin.yaml'), suite);
  writeFileSync(join(dir, 'ax.yaml'), readFileSync(join(repoRoot, 'suites', 'internvl-ax650.yaml'), 'utf8'));

  const cal = bench(['calibrate', '--target', 'orin-nx-16gb', '--label', 'orin-nx']);
  expect(cal.status, cal.stderr).toBe(0);
  // Each llava-cli call lasts 0.8 s, about as long as the phases it reports.
  board.setDelayMs(800);
  const r = bench(['run', '--suite', 'orin.yaml', '--target', 'orin-nx', '--targets', 'targets.yaml', '--out', 'out', '--filter', 'prefill=128', '--filter', 'images=1', '--iterations', '5', '--warmup', '0']);
  board.setDelayMs(0);
  expect(r.status, r.stderr).toBe(0);
  const rd = runDir('out', 'internvl-orin-nx');
  jetson = { result: JSON.parse(readFileSync(join(rd, 'result.json'), 'utf8')) as RunResult, report: readFileSync(join(rd, 'report.md'), 'utf8'), stderr: r.stderr };
}, 180_000);

afterAll(() => {
  sshd?.stop();
  board?.remove();
});

describe('energy on a Jetson says what it is', () => {
  it('gives J/token and J/image incl. idle and above idle, with the idle power and how it was sampled', () => {
    const cell = jetson.result.cells[0]!;
    expect(cell.status).toBe('ok');
    const m = cell.metrics;
    for (const name of ['decode_j_per_token', 'decode_net_j_per_token', 'image_encode_j_per_image', 'image_encode_net_j_per_image', 'energy_prefill_j', 'energy_prefill_net_j']) {
      expect(m[name]?.n, name).toBe(5);
    }
    // The figure: J/token = replayed power x llama.cpp's per-token decode time (15.25 ms).
    expect(m['decode_j_per_token']!.median).toBeCloseTo((REPLAYED_W * m['tpot_ms']!.median) / 1000, 9);
    expect(m['decode_j_per_token']!.median).toBeCloseTo(0.19, 3);
    const idle = cell.probes!.power!.baseline!;
    expect(idle.watts).toBeCloseTo(REPLAYED_W, 9);
    expect(idle.samples).toBeGreaterThanOrEqual(2);
    expect(m['power_idle_w']!.median).toBeCloseTo(REPLAYED_W, 9);
    // Constant power: the work adds nothing above idle, exactly.
    expect(m['decode_net_j_per_token']!.median).toBeCloseTo(0, 9);
    expect(m['image_encode_net_j_per_image']!.median).toBeCloseTo(0, 9);

    const report = jetson.report;
    const header = report.split('\n').find((l) => l.startsWith('| Cell') && l.includes('J/token incl. idle'))!;
    expect(header).toContain('J/image above idle');
    expect(header).toContain('J/token above idle');
    expect(header).toContain('Prefill J above idle');
    const row = report.split('\n')[report.split('\n').indexOf(header) + 2]!.split('|').map((s) => s.trim());
    const col = (name: string) => row[header.split('|').map((s) => s.trim()).indexOf(name)]!;
    expect(col('Power basis')).toBe('VDD_IN');
    expect(col('Idle W')).toBe(`12.48 (${idle.samples} samples over ${(idle.durationMs / 1000).toFixed(2)} s, sd 0.00 W)`);
    expect(col('J/token incl. idle')).toMatch(/^0\.190\b/);
    expect(col('J/token above idle')).toMatch(/^(-?)0\.000\b/);
    expect(report).toMatch(/"incl\. idle": the power reading as it is \(the basis column: VDD_IN is the whole board's input\), idle power included; "above idle": minus the idle power x the phase's duration/);
    expect(report).toMatch(/the phase windows are the tool's durations placed on the run clock/);
  });

  it('samples past the last iteration, and names the real cause of a low-confidence figure', () => {
    const cell = jetson.result.cells[0]!;
    const last = cell.iterations[cell.iterations.length - 1]!;
    const samples = cell.probes!.samples;
    expect(samples[samples.length - 1]!.tMs).toBeGreaterThan(last.endMs);
    const warnings = jetson.result.warnings.join('\n');
    expect(warnings).not.toMatch(/held|stopped before the window ended|not fully covered/);
    // llama.cpp's decode of 6 tokens lasts 91.5 ms: shorter than two 100 ms intervals, and said so with the figures.
    const decode = jetson.result.warnings.find((w) => w.includes('decode_j_per_token'))!;
    expect(decode).toMatch(
      /energy_decode_j, power_decode_w, energy_decode_net_j, decode_j_per_token, decode_net_j_per_token: 5 of 5 value\(s\) low confidence: 5 on a window shorter than two sampling intervals \(shortest 91\.5 ms; two intervals = \d{3}\.\d ms at \d{2,3}\.\d ms per sample\)/,
    );
    // The long phases (image encode, prefill: about 300 ms each) are never called short (on a
    // loaded machine a late line from the board can still leave a gap, which is named as such).
    const long = jetson.result.warnings.filter((w) => /energy_prefill_j|image_encode_j_per_image/.test(w));
    for (const w of long) {
      expect(w).not.toMatch(/shorter than two sampling intervals/);
      expect(w).toMatch(/across a gap in the samples \(longest \d+\.\d ms at a mean interval of \d+\.\d ms\)/);
    }
  });
});

describe('energy on the published site', () => {
  it('shows both figures, each saying its basis and the idle power, and defines them', () => {
    const runs = [{ result: indexView(jetson.result, ['decode_j_per_token', 'decode_net_j_per_token']), file: 'run0.json', slug: 'run0' }];
    const { report } = siteIndex(runs, { ...DEFAULT_SITE_OPTIONS, metrics: ['decode_j_per_token', 'decode_net_j_per_token'] });
    const figure = (metric: string) => report.sections.find((s) => s.id === `compare-${metric}`)!.tables[0]!.rows.flat().find((c) => c.link?.includes('run0'))!;
    const idle = jetson.result.cells[0]!.probes!.power!.baseline!;
    const measuredIdle = `12.48 W (${idle.samples} samples over ${(idle.durationMs / 1000).toFixed(2)} s before the cell)`;
    expect(figure('decode_j_per_token').value).toBeCloseTo(jetson.result.cells[0]!.metrics['decode_j_per_token']!.median, 12);
    expect(figure('decode_j_per_token').note).toContain(`energy: VDD_IN as measured, idle power included (idle ${measuredIdle})`);
    expect(figure('decode_net_j_per_token').note).toContain(`energy: VDD_IN above the idle power, ${measuredIdle}`);
    expect(report.sections.find((s) => s.id === 'compare-decode_j_per_token')!.heading).toMatch(/^Energy per token \(incl\. idle\)/);
    expect(report.sections.find((s) => s.id === 'compare-decode_net_j_per_token')!.heading).toMatch(/^Energy per token \(above idle\)/);
  });
});

describe('bench compare on an energy metric', () => {
  let stdout = '';
  const copy = (r: RunResult): RunResult => JSON.parse(JSON.stringify(r)) as RunResult;
  /** Machine-load flags dropped: this loaded test machine would make every regression "cannot judge". */
  const quiet = (r: RunResult): RunResult => {
    const q = copy(r);
    for (const c of q.cells) c.flags = (c.flags ?? []).filter((f) => !['busy', 'steal', 'run-queue'].includes(f.kind));
    return q;
  };
  let n = 0;
  const save = (r: RunResult): string => {
    const file = join(dir, `cmp-${n++}.json`);
    writeFileSync(file, JSON.stringify(r));
    return file;
  };
  async function compare(base: RunResult, cand: RunResult): Promise<{ code: number; json: Comparison }> {
    stdout = '';
    const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdout += String(chunk);
      return true;
    });
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      process.exitCode = undefined;
      const code = await main(['node', 'bench', 'compare', save(base), save(cand), '--metric', 'decode_j_per_token', '--format', 'json']);
      process.exitCode = undefined;
      return { code, json: JSON.parse(stdout) as Comparison };
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
  }

  it('judges from the per-iteration values integrated again from the stored samples', async () => {
    const same = await compare(quiet(jetson.result), quiet(jetson.result));
    expect(same.code).toBe(0);
    expect(same.json.rows).toHaveLength(1);
    expect(same.json.rows[0]).toMatchObject({ metric: 'decode_j_per_token', base: { n: 5 }, cand: { n: 5 }, verdict: 'no significant change' });
    // What the figure includes, and each run's idle power, beside the verdict.
    const energy = same.json.warnings.filter((w) => w.kind === 'energy');
    expect(energy.map((w) => w.message)).toEqual([
      'decode_j_per_token: the power reading as measured (VDD_IN), idle power included; the same above idle: decode_net_j_per_token. Idle power sampled before each cell (median over cells): base 12.48 W, candidate 12.48 W',
    ]);

    // The candidate's board drew 25% more power: 25% more J/token, a regression.
    const hungry = quiet(jetson.result);
    for (const s of hungry.cells[0]!.probes!.samples) for (const rail of s.rails ?? []) if (rail.powerMw !== null) rail.powerMw *= 1.25;
    const worse = await compare(quiet(jetson.result), hungry);
    expect(worse.code).toBe(1);
    expect(worse.json.rows[0]!.changePct).toBeCloseTo(25, 6);
    expect(worse.json.findings.map((f) => [f.kind, f.metric])).toEqual([['regression', 'decode_j_per_token']]);
  });

  it('says it cannot judge (exit 2) when the values are not there, never passes', async () => {
    // Only the summary stored (the samples dropped): no per-iteration values.
    const summaryOnly = quiet(jetson.result);
    summaryOnly.cells[0]!.probes!.samples = [];
    const a = await compare(summaryOnly, summaryOnly);
    expect(a.code).toBe(2);
    expect(a.json.findings).toEqual([
      expect.objectContaining({ kind: 'not-judged', outcome: 'cannot judge', metric: 'decode_j_per_token', reason: expect.stringMatching(/only summary statistics stored \(n=5\)/) }),
    ]);
    // The base run had no power probe: the metric asked for cannot be judged.
    const noProbe = quiet(jetson.result);
    delete noProbe.cells[0]!.probes;
    for (const k of Object.keys(noProbe.cells[0]!.metrics)) if (/_j$|_w$|_j_per_/.test(k)) delete noProbe.cells[0]!.metrics[k];
    const b = await compare(noProbe, quiet(jetson.result));
    expect(b.code).toBe(2);
    expect(b.json.findings.map((f) => f.reason)).toEqual(['decode_j_per_token not judged: the base cell has no decode_j_per_token (not measured in the base run)']);
  });
});

describe('roofline after bench calibrate --target', () => {
  it('bounds the Jetson suite\'s cells from the published figures', () => {
    // The suite names the GGUF's weight type (weightFormat: q8_0, the -hf tag it pins).
    expect(jetson.result.cells[0]!.model!.precision).toBe('q8_0');
    expect(board.llavaCalls()[0]!.slice(0, 2)).toEqual(['-hf', 'ggml-org/InternVL2_5-1B-GGUF:Q8_0']);
    const rows = jetson.result.roofline!.rows;
    expect(rows.map((r) => r.phase)).toEqual(['image_encode', 'prefill', 'decode']);
    for (const r of rows) {
      expect(r.boundMs, r.phase).toBeGreaterThan(0);
      expect(r.percentOfBound, r.phase).toBeGreaterThan(0);
      // Only what the published figures lack (no fp32 peak for attention), never "no descriptor" or an unknown precision.
      expect(r.notes, r.phase).toEqual(['no matmul peak in the calibration that computes fp32 (fp32): attention not in the compute bound']);
    }
    // Decode is memory bound on the published 102.4 GB/s: the bound is the bytes read / bandwidth.
    const decode = rows.find((r) => r.phase === 'decode')!;
    expect(decode.limitedBy).toBe('memory');
    expect(decode.memoryMs).toBeCloseTo((decode.work!.bytes / 102.4e9) * 1000, 6);
    const table = jetson.report.slice(jetson.report.indexOf('## Roofline'));
    expect(table).toMatch(/\| images=1,prefill=128 +\| decode \(per token\) +\| +[\d.]+ GB[^|]*\| +[\d.]+ ms \| memory/);
  });

  it('takes weightFormat as a plain type name, refusing anything else with the field named', () => {
    const shipped = loadSuite('internvl-orin-nx').suite;
    expect(parseCommandOptions(shipped).weightFormat).toBe('q8_0');
    expect(parseCommandOptions({ ...shipped, options: { ...shipped.options, weightFormat: 'Q4_0' } }).weightFormat).toBe('q4_0');
    for (const bad of ['q8_0; rm -rf /', '', 8, '../x']) {
      expect(() => parseCommandOptions({ ...shipped, options: { ...shipped.options, weightFormat: bad } })).toThrow(
        new InputError(`suite "internvl-orin-nx": options.weightFormat: expected a weight type name such as q8_0, q4_0, f16 (got ${JSON.stringify(bad)})`),
      );
    }
  });

  it('says what to add when the suite does not name the weight type the command runs', () => {
    // The suite without weightFormat: the runner cannot see what -hf downloaded.
    const unnamed = JSON.parse(JSON.stringify(jetson.result)) as RunResult;
    const c = unnamed.cells[0]!;
    delete c.settings['rooflineFormat'];
    c.model = { ...c.model!, precision: 'as built' };
    const record = rooflineRecord(unnamed, jetson.result.roofline!.calibration);
    expect(record.rows.every((r) => r.boundMs === null)).toBe(true);
    expect(record.rows[0]!.notes.join(' ')).toMatch(/precision "as built" has no weight format.*name it \(the command runner's options\.weightFormat, e\.g\. weightFormat: q8_0 for a Q8_0 GGUF\)/);
  });
});

describe('AX650 progress line', () => {
  it('shows the wall time of each iteration and names the composed request time', () => {
    const r = bench(['run', '--suite', 'ax.yaml', '--target', 'ax650', '--targets', 'targets.yaml', '--out', 'out-ax', '--filter', 'images=1', '--iterations', '2', '--warmup', '0']);
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(readFileSync(join(runDir('out-ax', 'internvl-ax650'), 'result.json'), 'utf8')) as RunResult;
    const it0 = result.cells[0]!.iterations[0]!;
    const composed = it0.endMs - it0.startMs;
    // The seed's composition for one image: 364.870 + 862.291 ms (ViT + prefill TTFT).
    expect(composed).toBeCloseTo(1227.2, 1);
    const line = r.stderr.split('\n').find((l) => l.includes('iteration 1/2'))!;
    const m = /iteration 1\/2 (\d+) ms wall \(composed request ([\d.]+) ms\)/.exec(line);
    expect(m, line).not.toBeNull();
    expect(Number(m![2])).toBeCloseTo(composed, 1);
    // The cell's line names its figures composed.
    expect(r.stderr).toMatch(/\[1\/1\] images=1,prefill=128,precision=w8a16: TTFT 1227\.2 ms, load [\d.]+ s \(composed figures\)/);
    // The wall time is what the iteration's ax_run_model calls took (and the runner around them), not the composition.
    expect(Number(m![1])).toBeGreaterThanOrEqual(Math.floor(it0.reported!['measure.wall_ms']!));
  });
});
