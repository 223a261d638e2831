/**
 * Issue 26, third pass, on surfaces added since the first: shard results for `bench merge`, plan
 * files for `bench run --plan`, power samples and energy figures in a result, and result text
 * reaching report.md and the terminal. Each case was reproduced on main before its fix: a board
 * label of escape sequences and HTML printed by merge and written to report.md; a 3 GiB result
 * file read whole (36 s, 4 GiB) before it was refused; a plan whose costBasis the result schema
 * refuses made a run whose result.json nothing could read; negative watts compared as a change of
 * -100000100% and 1e300 W as +2e301%.
 */
import { closeSync, existsSync, ftruncateSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunResult } from '../../core/result-types.ts';
import { checkResult } from '../../harness/result-schema.ts';
import { MAX_RESULT_BYTES, readResult } from '../../harness/result-store.ts';
import { planShards, shardRecord } from '../../harness/shard.ts';
import { markdownCode, markdownText } from '../../reporters/render/markdown.ts';
import { failedCellsNote } from '../../cli/run.ts';
import { loadSuite } from '../../harness/suite-loader.ts';
import { bench } from './cli-harness.ts';
import { startBoardStateWindow } from '../../harness/board-quality.ts';
import { createClock } from '../../core/clock.ts';
import { tempDir } from '../helpers/tmp.ts';
import { layPowerTrace } from '../helpers/power-trace.ts';

const fixture = join(import.meta.dirname, '../fixtures/reports/ort-tiny.result.json');
const real = (): RunResult => JSON.parse(readFileSync(fixture, 'utf8')) as RunResult;
/** Any C0/C1 control but newline (ESC, BEL, CSI...). */
const CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/;
const HOSTILE = '\x1b]0;pwned\x07\x1b[2J<script>alert(1)</script>|**x**';

let dir: string;
beforeAll(() => {
  dir = tempDir('bench-untrusted-');
});

/** The fixture run split into two shards of one plan, written as run folders. */
function writeShards(board2: string): string[] {
  const whole = real();
  const plan = planShards({ suiteHash: whole.suite.hash, cellIds: whole.plannedCells, count: 2 });
  return plan.shards.map((s) => {
    const r = real();
    r.runId = `shard-${s.shard}`;
    r.cells = r.cells.filter((c) => s.cells.includes(c.id));
    r.plannedCells = [...s.cells];
    r.shard = { ...shardRecord(plan, { index: s.shard, count: 2 }, `board-${s.shard}`), ...(s.shard === 2 ? { board: board2 } : {}) };
    const folder = join(dir, `shard-${board2.length}-${s.shard}`);
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'result.json'), JSON.stringify(r));
    return folder;
  });
}

describe('bench merge with hostile shards', () => {
  it('a board label carrying escape sequences or HTML is refused naming the field; nothing is written', async () => {
    const out = join(dir, 'merged-hostile');
    const r = await bench('merge', ...writeShards(HOSTILE), '--out', out);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/result\.json: not a valid result: field "shard\.board"/);
    expect(r.stderr).not.toMatch(CONTROL);
    expect(r.stdout).toBe('');
    expect(existsSync(out)).toBe(false);
    // The same shards with a label `bench run --board` takes are merged.
    const ok = join(dir, 'merged-ok');
    const good = await bench('merge', ...writeShards('orin-02'), '--out', ok);
    expect(good.code, good.stderr).toBe(0);
    expect(good.stdout).toContain('shard 2/2 on orin-02');
  });

  it('a merged result whose cell board or plan hash is not a label/hash is refused when read', () => {
    const r = real();
    r.cells[0]!.board = 'a\x1b[2Jb';
    expect(() => checkResult(r, 'x.json')).toThrow(/field "cells\[0\]\.board"/);
  });

  it('a result file above the size limit is refused from its size, without being read', async () => {
    const folder = join(dir, 'huge');
    mkdirSync(folder);
    const file = join(folder, 'result.json');
    // Sparse: one byte over the limit costs no disk.
    const fd = openSync(file, 'w');
    ftruncateSync(fd, MAX_RESULT_BYTES + 1);
    closeSync(fd);
    const t0 = Date.now();
    expect(() => readResult(file)).toThrow(`result file ${file}: ${MAX_RESULT_BYTES + 1} bytes, more than the limit of ${MAX_RESULT_BYTES} bytes (512 MiB)`);
    const r = await bench('merge', folder, '--out', join(dir, 'merged-huge'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/more than the limit of \d+ bytes \(512 MiB\)/);
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});

describe('bench run --plan with a hostile plan file', () => {
  const cwd = process.cwd();
  beforeEach(() => delete process.env['BENCH_HISTORY_DB']);
  afterEach(() => process.chdir(cwd));

  it('a costBasis or count the result could not hold is refused before anything runs', async () => {
    const work = join(dir, 'plan');
    mkdirSync(work);
    process.chdir(work);
    const planned = await bench('plan', '--suite', 'internvl-tiny', '--shards', '2', '--filter', 'images=0', '--json');
    expect(planned.code, planned.stderr).toBe(0);
    const plan = JSON.parse(planned.stdout) as Record<string, unknown>;
    for (const [field, value, message] of [
      ['costBasis', '\x1b[2Jevil', /costBasis must be one of history, history\+median, count/],
      ['count', 2.5, /count must be an integer from 1 to 256/],
    ] as const) {
      const file = join(work, `${field}.json`);
      writeFileSync(file, JSON.stringify({ ...plan, [field]: value }));
      const out = join(work, `out-${field}`);
      const r = await bench('run', '--suite', 'internvl-tiny', '--shard', '1/2', '--plan', file, '--filter', 'images=0', '--out', out);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(CONTROL);
      expect(existsSync(out)).toBe(false);
    }
  });
});

describe('power samples and energy figures a machine cannot give', () => {
  /** A constructed VDD_IN trace (labelled: no power probe here) over every iteration of the fixture run. */
  const withPower = (watts: number): RunResult => layPowerTrace(real(), watts, 0.5);
  const save = (name: string, r: RunResult): string => {
    const file = join(dir, `${name}.json`);
    writeFileSync(file, JSON.stringify(r));
    return file;
  };

  it('negative or 1e300 watts in the samples are refused by compare (exit 2), naming the sample', async () => {
    const base = save('power-5w', withPower(5));
    // Judged at all with a plausible trace (the check refuses only what is impossible).
    const fine = await bench('compare', base, save('power-6w', withPower(6)), '--metric', 'decode_j_per_token');
    expect(fine.stderr).not.toMatch(/not a valid result/);
    for (const [name, watts, bound] of [['power-negative', -5e6, '>= -1000'], ['power-huge', 1e300, '<= 100000000']] as const) {
      const r = await bench('compare', base, save(name, withPower(watts)), '--metric', 'decode_j_per_token');
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`${name}.json: not a valid result: field "cells[0].probes.samples[0].rails[0].powerMw": expected a value that must be ${bound}`);
      expect(r.stdout).not.toMatch(/-100000100%|e\+30\d%/);
    }
  });

  it('a stored energy or power figure below zero or beyond any machine is refused; a net figure may be below zero', () => {
    const r = withPower(5);
    r.cells[1]!.metrics['decode_j_per_token'] = { ...r.cells[1]!.metrics['decode_j_per_token']!, min: -0.5 };
    expect(() => checkResult(r, 'e.json')).toThrow('e.json: not a valid result: field "cells[1].metrics.decode_j_per_token.min": -0.5 J/token, outside 0 to 1000000000');
    const huge = withPower(5);
    huge.cells[0]!.metrics['power_request_w'] = { ...huge.cells[0]!.metrics['tpot_ms']!, unit: 'W', max: 1e300 };
    expect(() => checkResult(huge, 'p.json')).toThrow(/field "cells\[0\]\.metrics\.power_request_w\.max": 1e\+300 W, outside 0 to 100000/);
    const net = withPower(5);
    net.cells[0]!.metrics['decode_net_j_per_token'] = { ...net.cells[0]!.metrics['tpot_ms']!, unit: 'J/token', min: -0.01 };
    expect(() => checkResult(net, 'n.json')).not.toThrow();
    const idle = withPower(5);
    idle.cells[0]!.probes!.power = { basis: 'VDD_IN', points: 2, baseline: { watts: -3 } as never, warnings: [] };
    expect(() => checkResult(idle, 'i.json')).toThrow(/field "cells\[0\]\.probes\.power\.baseline/);
  });
});

describe('result text reaching report.md and the terminal', () => {
  it('markdownText and markdownCode drop escape sequences and controls and keep the text', () => {
    expect(markdownText('ok \x1b]0;T\x07\x1b[2Jclear\x9b31m <b>')).toBe('ok clear \\<b>');
    expect(markdownCode('a\x1b[31mred\x07')).toBe('`ared`');
    // Line breaks still become spaces.
    expect(markdownText('a\r\nb\rc')).toBe('a b c');
  });

  it('bench report of a result whose warning and cell error carry escape sequences writes none', async () => {
    const r = real();
    r.warnings.push(`${HOSTILE} warning`);
    r.cells[0]!.status = 'failed';
    r.cells[0]!.error = `${HOSTILE}\nsecond line`;
    const folder = join(dir, 'report-hostile');
    mkdirSync(folder);
    writeFileSync(join(folder, 'result.json'), JSON.stringify(r));
    const out = await bench('report', folder, '--out', join(dir, 'report-hostile'));
    expect(out.code, out.stderr).toBe(0);
    const md = readFileSync(join(dir, 'report-hostile', 'report.md'), 'utf8');
    expect(md).toContain('warning');
    expect(md).not.toMatch(CONTROL);
    expect(out.stdout).not.toMatch(CONTROL);
    // The failed-cells lines of `bench run`: one line per cell, no control character.
    const note = failedCellsNote(r, folder);
    expect(note).toContain(`  ${r.cells[0]!.id}: <script>alert(1)</script>|**x** second line\n`);
    expect(note).not.toMatch(CONTROL);
  });
});

describe('llamacpp suite options', () => {
  it('options.mmprojType (documented in README) is taken by the suite loader and checked by the runner', async () => {
    const file = join(dir, 'mmproj.yaml');
    writeFileSync(file, 'name: mmproj-q8\nmodel: { zoo: internvl2_5-1b, scale: tiny, seed: 99 }\ntarget: local\nrunner: llamacpp\noptions: { mmprojType: Q8_0 }\ndefaults: { warmup: 0, iterations: 1, outputTokens: 4 }\nmatrix: { images: [1], prefill: [16], precision: [fp32] }\n');
    expect(loadSuite(file).suite.options?.['mmprojType']).toBe('Q8_0');
    writeFileSync(file, readFileSync(file, 'utf8').replace('Q8_0', 'Q9'));
    const out = join(dir, 'mmproj-out');
    const r = await bench('run', '--suite', file, '--out', out, '--no-calibrate');
    expect(r.code).toBe(2);
    expect(existsSync(out)).toBe(false);
    expect(r.stderr).toMatch(/options\.mmprojType must be one of F32, F16, Q8_0, got "Q9"/);
  });
});

describe('names a result gives the history and the terminal', () => {
  it('a run id, suite, target or host name with escape sequences is refused by history add (exit 2); nothing is stored', async () => {
    const db = join(dir, 'names.sqlite');
    for (const [field, set] of [
      ['runId', (r: RunResult) => (r.runId = 'run-\x1b[2J')],
      ['suite.name', (r: RunResult) => (r.suite.name = 'suite\x1b]0;title\x07')],
      ['target', (r: RunResult) => (r.target = 'local\x1b[1m')],
      ['environment.host.hostname', (r: RunResult) => (r.environment.host.hostname = 'vm\u202eevil')],
    ] as const) {
      const r = real();
      set(r);
      const file = join(dir, `name-${field}.json`);
      writeFileSync(file, JSON.stringify(r));
      const out = await bench('history', 'add', file, '--db', db);
      expect(out.code, field).toBe(2);
      expect(out.stderr).toContain(`not a valid result: field "${field}": expected one line of at most 200 characters without control characters`);
      expect(out.stderr + out.stdout).not.toMatch(CONTROL);
    }
    expect(existsSync(db)).toBe(false);
  });
});

describe('board state text read from a board', () => {
  it('a power mode, clock or thermal zone name with escape sequences or 10,000 characters is kept as one short clean line', async () => {
    // A board's answer to the board-state script (hw-probes/board-state.ts READ), replayed by a
    // transport standing in for ssh: the text a hostile or broken nvpmodel/jetson_clocks could print.
    const long = 'M'.repeat(10_000);
    const stdout = [
      '## nvpmodel',
      `NV Power Mode: \x1b]0;PWN\x07\x1b[2JMAXN<b>x</b>${long}`,
      '0',
      '## sysfs',
      'cpufreq policy0\x1b[31m 729600 729600 1510400 \x1b[2Jschedutil',
      `thermal cpu-\x1b]8;;http://x\x07thermal${long} 45000`,
      '',
    ].join('\n');
    const board = { name: 'ssh:replayed', run: async () => ({ stdout, stderr: '', code: 0 }), spawn: () => { throw new Error('not used'); }, alignClock: async () => ({ offsetMs: 0, errorMs: 0, method: 'none' as const }) };
    const window = await startBoardStateWindow(board as never, createClock(), { sampler: null, intervalMs: 500 });
    const state = await window.finish();
    expect(state).not.toBeNull();
    const { before } = state!;
    expect(before.powerMode!.name).toBe(`MAXN<b>x</b>${'M'.repeat(100 - 'MAXN<b>x</b>'.length)}`);
    expect(before.powerMode!.id).toBe(0);
    const text = JSON.stringify(state);
    expect(text).not.toMatch(/\\u001b|\\u0007/);
    for (const name of [...Object.keys(before.clocks), ...Object.keys(before.temperaturesC)]) expect(name.length).toBeLessThanOrEqual(100);
    expect(Object.values(before.temperaturesC)).toEqual([45]);
  });
});
