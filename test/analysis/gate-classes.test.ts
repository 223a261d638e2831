/**
 * Issue 24: the gate fails closed. One real tiny run (ORT, synthetic tiny InternVL weights, 8
 * measured iterations per cell) is the base; each candidate is a copy of it edited into one
 * class of trouble, and `bench compare` must give that class's exit code and name the cell and
 * reason in Markdown, JSON and JUnit alike.
 *
 * `bench history check` gets the same classes against a history of copies of that run.
 *
 * On a loaded machine the run's cells carry busy / steal / run-queue flags, which (rightly) turn
 * a would-be regression into "cannot judge". Tests of other classes clear those flags on both
 * sides (`quiet`), as a run on a quiet machine would record them; the busy class sets them.
 * A tiny cell's iterations on a loaded 2-core machine spread over a factor of ~20 (1 to 18 ms
 * prefill seen), so a planted slowdown that must be significant at 99% with 8 iterations per
 * side is planted far beyond that spread (x100).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CellResult, RunResult } from '../../core/result-types.ts';
import type { Comparison } from '../../analysis/comparison-types.ts';
import { registerCompareCommand } from '../../cli/compare.ts';
import { findAll, parseXml } from '../compare/xml-check.ts';
import { main } from '../../cli/main.ts';
import type { HistoryCheck } from '../../history/check.ts';
import { HistoryStore } from '../../history/store.ts';
import { tempDir } from '../helpers/tmp.ts';
import { layPowerTrace } from '../helpers/power-trace.ts';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

let dir: string;
let real: RunResult;
let stdout = '';
let stderr = '';

const copy = (r: RunResult): RunResult => JSON.parse(JSON.stringify(r)) as RunResult;

/** The run as a quiet machine would have recorded it: no machine-load flags. */
function quiet(r: RunResult): RunResult {
  const q = copy(r);
  for (const c of q.cells) c.flags = (c.flags ?? []).filter((f) => !['busy', 'steal', 'run-queue'].includes(f.kind));
  return q;
}

/** Every time of every iteration stretched by `factor` from the iteration's start: uniformly slower. */
function slower(cell: CellResult, factor: number): void {
  for (const it of cell.iterations) {
    const t0 = it.startMs;
    const s = (t: number) => t0 + (t - t0) * factor;
    it.endMs = s(it.endMs);
    for (const e of it.events) {
      if (e.kind === 'token') e.tMs = s(e.tMs);
      else if ('startMs' in e) {
        e.startMs = s(e.startMs);
        e.endMs = s(e.endMs);
      }
    }
  }
}

let n = 0;
function save(r: RunResult): string {
  const file = join(dir, `r${n++}.json`);
  writeFileSync(file, JSON.stringify(r));
  return file;
}

async function compare(base: RunResult, cand: RunResult, ...args: string[]): Promise<{ code: number; json: Comparison; md: string; xml: string }> {
  const b = save(base);
  const c = save(cand);
  const run = async (format: string): Promise<[number, string]> => {
    stdout = '';
    process.exitCode = undefined;
    const p = new Command('bench').exitOverride();
    p.configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
    registerCompareCommand(p);
    await p.parseAsync(['node', 'bench', 'compare', b, c, '--format', format, ...args]);
    return [Number(process.exitCode ?? 0), stdout];
  };
  const [code, json] = await run('json');
  const [mdCode, md] = await run('md');
  const [xmlCode, xml] = await run('junit');
  // The three formats give the same verdict.
  expect([mdCode, xmlCode]).toEqual([code, code]);
  return { code, json: JSON.parse(json) as Comparison, md, xml };
}

beforeAll(() => {
  dir = tempDir('bench-gate-');
  const out = join(dir, 'run');
  const r = spawnSync(
    process.execPath,
    [join(repo, 'bin', 'bench.mjs'), 'run', '--suite', 'internvl-tiny', '--filter', 'prefill=16', '--filter', 'images=0,1', '--iterations', '8', '--warmup', '1', '--out', out],
    { encoding: 'utf8', env: { ...process.env, CI: 'true' } },
  );
  expect(r.status, r.stderr).toBe(0);
  const runDir = join(out, 'internvl-tiny', readdirSync(join(out, 'internvl-tiny'))[0]!);
  real = JSON.parse(readFileSync(join(runDir, 'result.json'), 'utf8')) as RunResult;
  expect(real.cells.map((c) => c.status)).toEqual(['ok', 'ok', 'ok', 'ok']);
}, 180_000);

beforeEach(() => {
  vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((stdout += String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((stderr += String(s)), true));
  delete process.env['GITHUB_STEP_SUMMARY'];
});

afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

const INT4 = 'images=0,prefill=16,precision=int4';
const IMG = 'images=1,prefill=16,precision=fp32';
const SLOWER = 100;

describe('bench compare on a real tiny run: controls', () => {
  it('an identical copy passes (exit 0)', async () => {
    const r = await compare(quiet(real), quiet(real));
    expect(r.code).toBe(0);
    expect(r.json.outcome).toBe('pass');
    expect(r.json.findings).toEqual([]);
    expect(r.json.rows.length).toBeGreaterThanOrEqual(4 * 3);
    expect(r.md).toContain('**pass: no regression beyond 5%');
  });

  it('a uniformly slower copy (x100) is a regression (exit 1) in every cell', async () => {
    const cand = quiet(real);
    for (const c of cand.cells) slower(c, SLOWER);
    const r = await compare(quiet(real), cand);
    expect(r.code).toBe(1);
    expect(r.json.regressedCells).toEqual(real.cells.map((c) => c.id));
    expect(r.json.findings.every((f) => f.kind === 'regression')).toBe(true);
    expect(r.md).toMatch(/\*\*FAIL: \d+ regressions in 4 cells/);
    expect(findAll(parseXml(r.xml), 'failure').length).toBe(r.json.findings.length);
  });
});

describe('bench compare on a real tiny run: each class fails closed', () => {
  it('a lost cell: exit 1 naming it', async () => {
    const cand = quiet(real);
    cand.cells = cand.cells.filter((c) => c.id !== INT4);
    const r = await compare(quiet(real), cand);
    expect(r.code).toBe(1);
    expect(r.json.findings).toEqual([expect.objectContaining({ kind: 'lost-cell', outcome: 'fail', cellId: INT4 })]);
    expect(r.md).toContain('(lost-cell) images=0,prefill=16,precision=int4: in the base run but not in the candidate');
    const gate = findAll(parseXml(r.xml), 'testcase').filter((t) => t.attrs['classname']!.endsWith('.gate.lost-cell'));
    expect(gate.map((t) => t.attrs['name'])).toEqual([INT4]);
  });

  it('a broken decode (one output token per request, in one cell): gated metric missing and fewer output tokens than asked, exit 1', async () => {
    const cand = quiet(real);
    const cell = cand.cells.find((c) => c.id === INT4)!;
    for (const it of cell.iterations) {
      it.outputTokens = 1;
      it.events = it.events.filter((e) => !(e.kind === 'token' && e.index > 0) && !(e.kind === 'phase' && e.phase === 'decode') && !('phase' in e && e.phase === 'decode'));
    }
    delete cell.metrics['tpot_ms'];
    delete cell.metrics['decode_tokens_per_s'];
    const r = await compare(quiet(real), cand);
    expect(r.code).toBe(1);
    const kinds = r.json.findings.map((f) => `${f.kind} ${f.cellId} ${f.metric ?? ''}`.trim());
    expect(kinds).toContain(`missing-metric ${INT4} decode_tokens_per_s`);
    expect(kinds).toContain(`short-output ${INT4}`);
    expect(r.json.findings.find((f) => f.kind === 'short-output')!.reason).toBe('8 of 8 measured requests generated fewer output tokens than asked 8 (fewest 1)');
  });

  it('a failing accuracy verdict, and one worse than the base: exit 1', async () => {
    const failing = quiet(real);
    const acc = failing.cells.find((c) => c.id === INT4)!.accuracy!;
    acc.passed = false;
    acc.failures = ['top-1 agreement 40.0% < 50%'];
    let r = await compare(quiet(real), failing);
    expect(r.code).toBe(1);
    expect(r.json.findings).toEqual([expect.objectContaining({ kind: 'accuracy', cellId: INT4, reason: 'accuracy gate failed against fp32: top-1 agreement 40.0% < 50%' })]);

    const worse = quiet(real);
    worse.cells.find((c) => c.id === INT4)!.accuracy!.top1 -= 1 / 32;
    r = await compare(quiet(real), worse);
    expect(r.code).toBe(1);
    expect(r.json.findings[0]!.reason).toMatch(/^accuracy worse than the base: top-1 agreement 53\.1% -> 50\.0%/);
  });

  it('a newly failing cell: exit 1', async () => {
    const cand = quiet(real);
    const cell = cand.cells.find((c) => c.id === IMG)!;
    cell.status = 'failed';
    cell.error = 'session run failed';
    const r = await compare(quiet(real), cand);
    expect(r.code).toBe(1);
    expect(r.json.findings).toEqual([expect.objectContaining({ kind: 'newly-failing', cellId: IMG })]);
  });

  it('a cell marked ok with nothing measured (warm-up only, or every iteration an error): newly failing, exit 1, saying so', async () => {
    for (const strip of [(c: CellResult) => (c.iterations = c.iterations.filter((it) => it.warmup)), (c: CellResult) => c.iterations.forEach((it) => (it.error = 'session run failed'))]) {
      const cand = quiet(real);
      const cell = cand.cells.find((c) => c.id === IMG)!;
      strip(cell);
      expect(cell.status).toBe('ok');
      const r = await compare(quiet(real), cand);
      expect(r.code).toBe(1);
      expect(r.json.findings).toEqual([expect.objectContaining({ kind: 'newly-failing', cellId: IMG, reason: expect.stringContaining('marked ok but nothing was measured') })]);
    }
  });

  it('another scale, thread count or output token count: exit 2 naming each field; --allow-difference compares and labels it', async () => {
    const scale = quiet(real);
    for (const c of scale.cells) c.model!.scale = 'full';
    let r = await compare(quiet(real), scale);
    expect(r.code).toBe(2);
    expect(r.json.identity.differences).toEqual([expect.objectContaining({ field: 'scale', base: 'tiny', cand: 'full', allowed: false, cellIds: real.cells.map((c) => c.id) })]);
    expect(r.json.rows).toEqual([]);
    expect(r.md).toContain('CANNOT JUDGE (not a pass): 4 cells of another configuration');
    expect(r.md).toContain('scale: base tiny, candidate full');

    r = await compare(quiet(real), scale, '--allow-difference', 'scale');
    expect(r.code).toBe(0);
    expect(r.json.identity.allowed).toEqual(['scale']);
    expect(r.md).toContain('compared across allowed configuration differences: scale (base tiny, candidate full)');
    expect(parseXml(r.xml).attrs['name']).toContain('compared across allowed configuration differences: scale');

    const threads = quiet(real);
    for (const c of threads.cells) c.settings['intraOpNumThreads'] = 1;
    r = await compare(quiet(real), threads);
    expect(r.code).toBe(2);
    expect(r.json.identity.differences.map((d) => [d.field, d.base, d.cand])).toEqual([['threads', '2', '1']]);

    const tokens = quiet(real);
    for (const c of tokens.cells) c.settings['outputTokens'] = 4;
    r = await compare(quiet(real), tokens);
    expect(r.code).toBe(2);
    expect(r.json.identity.differences.map((d) => d.field)).toEqual(['output_tokens']);
  });

  it('a would-be regression measured on a busy machine: cannot judge (exit 2) naming the flag', async () => {
    const cand = quiet(real);
    for (const c of cand.cells) slower(c, SLOWER);
    const cell = cand.cells.find((c) => c.id === IMG)!;
    cell.flags = [...(cell.flags ?? []), { kind: 'run-queue', message: 'threads waited for a CPU 35% of their runnable time' }];
    const r = await compare(quiet(real), cand);
    // Three quiet cells regress (exit 1 wins); the busy one is not called a regression.
    expect(r.code).toBe(1);
    expect(r.json.regressedCells).not.toContain(IMG);
    const busy = r.json.findings.filter((f) => f.cellId === IMG);
    expect(busy.length).toBeGreaterThan(0);
    expect(busy.every((f) => f.kind === 'machine-load' && f.outcome === 'cannot judge' && f.reason.includes('run-queue in the candidate run'))).toBe(true);

    // Only the busy cell slower: cannot judge.
    const one = quiet(real);
    const slow = one.cells.find((c) => c.id === IMG)!;
    slower(slow, SLOWER);
    slow.flags = [{ kind: 'busy', message: 'busy machine' }];
    const only = await compare(quiet(real), one);
    expect(only.code).toBe(2);
    expect(only.md).toContain('would-be regression');
    expect(only.md).toContain('flagged busy in the candidate run');
    // The summary does not read "0 beyond the threshold" as if nothing had slowed down.
    const disturbed = only.json.rows.filter((row) => row.disturbed).length;
    expect(disturbed).toBeGreaterThan(0);
    expect(only.md).toContain(`(0 beyond the threshold; ${disturbed} more beyond it on a busy or throttled machine, not judged)`);
  });

  it('a would-be regression measured while the board throttled: cannot judge (exit 2) naming the flag, as for a busy machine', async () => {
    const cand = quiet(real);
    const slow = cand.cells.find((c) => c.id === IMG)!;
    slower(slow, SLOWER);
    slow.throttled = true;
    slow.throttleReasons = ['CPU 97 C above the 95 C limit'];
    slow.flags = [{ kind: 'throttled', message: 'throttled: CPU 97 C above the 95 C limit' }];
    const r = await compare(quiet(real), cand);
    expect(r.code).toBe(2);
    expect(r.json.regressedCells).toEqual([]);
    const load = r.json.findings.filter((f) => f.cellId === IMG);
    expect(load.length).toBeGreaterThan(0);
    expect(load.every((f) => f.kind === 'machine-load' && f.outcome === 'cannot judge' && f.reason.includes('flagged throttled in the candidate run'))).toBe(true);
    expect(r.md).toContain('would-be regression');
    expect(r.md).toContain('busy or throttled machine');
  });

  it('energy per token is judged from per-iteration values, or cannot judge: never a pass', async () => {
    // No power probe on this machine: a constructed VDD_IN trace (labelled there) every 0.25 ms.
    const withPower = (r: RunResult, watts: number): RunResult => layPowerTrace(quiet(r), watts, 0.25);
    let r = await compare(withPower(real, 5), withPower(real, 5), '--metric', 'decode_j_per_token');
    expect(r.code).toBe(0);
    expect(r.json.rows.every((row) => row.base.n === 8 && row.cand.n === 8 && row.verdict === 'no significant change')).toBe(true);

    r = await compare(withPower(real, 5), withPower(real, 5 * SLOWER), '--metric', 'decode_j_per_token');
    expect(r.code).toBe(1);
    expect(r.json.findings.every((f) => f.kind === 'regression' && f.metric === 'decode_j_per_token')).toBe(true);

    // Only the summary stored (no samples): cannot judge.
    const summaryOnly = (x: RunResult) => {
      const q = withPower(x, 5);
      for (const c of q.cells) delete c.probes;
      return q;
    };
    r = await compare(summaryOnly(real), summaryOnly(real), '--metric', 'decode_j_per_token');
    expect(r.code).toBe(2);
    expect(r.json.findings.every((f) => f.kind === 'not-judged')).toBe(true);
  });
});

/** A copy of the run as measured at commit `i` (one day apart), as CI would record successive commits. */
function atCommit(r: RunResult, i: number, prefix = 'c0ffee'): RunResult {
  const q = copy(r);
  q.runId = `history-${i}`;
  q.environment.git.revision = `${prefix}${String(i).padStart(2, '0')}${'0'.repeat(32)}`;
  q.startedAt = new Date(Date.UTC(2026, 10, 1) + i * 86_400_000).toISOString();
  return q;
}

async function history(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  stdout = '';
  stderr = '';
  process.exitCode = undefined;
  const code = await main(['node', 'bench', 'history', ...args]);
  process.exitCode = undefined;
  return { code, out: stdout, err: stderr };
}

/** A database of `runs` quiet copies of the real run at successive commits. */
async function historyOf(runs: number, prefix = 'c0ffee'): Promise<string> {
  const db = join(dir, `h${n++}.sqlite`);
  const files = Array.from({ length: runs }, (_, i) => save(atCommit(quiet(real), i, prefix)));
  const r = await history('add', ...files, '--db', db, '--board', 'vm', '--commit-date', '2026-11-01T00:00:00Z');
  expect(r.code, r.err).toBe(0);
  return db;
}

async function check(db: string, cand: RunResult, ...args: string[]): Promise<{ code: number; json: HistoryCheck; md: string; xml: string }> {
  const file = save(cand);
  const base = ['check', file, '--db', db, '--board', 'vm', '--commit-date', '2026-12-01T00:00:00Z', ...args];
  const j = await history(...base, '--format', 'json');
  const m = await history(...base, '--format', 'md');
  const x = await history(...base, '--format', 'junit');
  expect([m.code, x.code]).toEqual([j.code, j.code]);
  return { code: j.code, json: JSON.parse(j.out) as HistoryCheck, md: m.out, xml: x.out };
}

describe('bench history check on a real tiny run: fails closed like compare', () => {
  it('controls: an identical run passes (exit 0); a uniformly slower one is a regression (exit 1, two-run test gated)', async () => {
    const db = await historyOf(8);
    const same = await check(db, atCommit(quiet(real), 8));
    expect(same.code).toBe(0);
    expect(same.json.outcome).toBe('pass');
    expect(same.json.rows.every((r) => r.status === 'ok')).toBe(true);

    const slow = atCommit(quiet(real), 8);
    for (const c of slow.cells) slower(c, SLOWER);
    const r = await check(db, slow, '--gate-two-run');
    expect(r.code).toBe(1);
    expect(r.json.regressedCells).toEqual(real.cells.map((c) => c.id));
    expect(r.md).toMatch(/\*\*FAIL: \d+ regressions in 4 cells/);
  }, 60_000);

  it('lost cell, broken decode, failing accuracy, newly failing cell: exit 1 naming cell and reason', async () => {
    const db = await historyOf(8);
    const lost = atCommit(quiet(real), 8);
    lost.cells = lost.cells.filter((c) => c.id !== INT4);
    let r = await check(db, lost);
    expect(r.code).toBe(1);
    expect(r.json.findings).toEqual([expect.objectContaining({ kind: 'lost-cell', cellId: INT4 })]);

    const broken = atCommit(quiet(real), 8);
    const cell = broken.cells.find((c) => c.id === INT4)!;
    for (const it of cell.iterations) {
      it.outputTokens = 1;
      it.events = it.events.filter((e) => !(e.kind === 'token' && e.index > 0) && !('phase' in e && e.phase === 'decode'));
    }
    delete cell.metrics['tpot_ms'];
    delete cell.metrics['decode_tokens_per_s'];
    delete cell.metrics['decode_ms'];
    r = await check(db, broken);
    expect(r.code).toBe(1);
    const kinds = r.json.findings.map((f) => `${f.kind} ${f.cellId} ${f.metric ?? ''}`.trim());
    expect(kinds).toEqual(expect.arrayContaining([`missing-metric ${INT4} decode_tokens_per_s`, `short-output ${INT4}`]));
    expect(findAll(parseXml(r.xml), 'failure').some((f) => f.attrs['type'] === 'missing-metric')).toBe(true);

    const wrong = atCommit(quiet(real), 8);
    wrong.cells.find((c) => c.id === INT4)!.accuracy!.passed = false;
    r = await check(db, wrong);
    expect(r.code).toBe(1);
    expect(r.json.findings).toEqual([expect.objectContaining({ kind: 'accuracy', cellId: INT4 })]);

    const failing = atCommit(quiet(real), 8);
    Object.assign(failing.cells.find((c) => c.id === IMG)!, { status: 'failed', error: 'session run failed' });
    r = await check(db, failing);
    expect(r.code).toBe(1);
    expect(r.json.findings).toEqual([expect.objectContaining({ kind: 'newly-failing', cellId: IMG })]);

    // Marked ok with only its warm-up left: its summary medians are still there, but nothing was measured.
    const empty = atCommit(quiet(real), 8);
    const emptied = empty.cells.find((c) => c.id === IMG)!;
    emptied.iterations = emptied.iterations.filter((it) => it.warmup);
    r = await check(db, empty);
    expect(r.code).toBe(1);
    expect(r.json.findings).toEqual([expect.objectContaining({ kind: 'newly-failing', cellId: IMG })]);
    expect(r.md).toContain('marked ok but nothing was measured');
  }, 90_000);

  it('another configuration (scale) is cannot judge (exit 2), never mixed into the series; --allow-difference judges and labels it', async () => {
    const db = await historyOf(8);
    const full = atCommit(quiet(real), 8);
    for (const c of full.cells) c.model!.scale = 'full';
    let r = await check(db, full);
    expect(r.code).toBe(2);
    expect(r.json.identity.differences).toEqual([expect.objectContaining({ field: 'scale', base: 'tiny', cand: 'full', allowed: false })]);
    expect(r.json.findings.map((f) => f.kind)).toEqual([...real.cells.map(() => 'identity'), 'nothing-compared']);

    r = await check(db, full, '--allow-difference', 'scale');
    expect(r.code).toBe(0);
    expect(r.md).toContain('judged across allowed configuration differences: scale (history tiny, run full)');

    // Stored, the other scale starts series of its own: none of the tiny series gets a point of it.
    const added = await history('add', save(full), '--db', db, '--board', 'vm', '--commit-date', '2026-12-01T00:00:00Z');
    expect(added.code, added.err).toBe(0);
    const store = HistoryStore.open(db, { create: false });
    try {
      const series = store.series({ suite: 'internvl-tiny', board: 'vm', cellId: INT4, metric: 'ttft_ms' });
      expect(series).toHaveLength(2);
      expect(series.map((s) => store.points(s.id).length).sort()).toEqual([1, 8]);
    } finally {
      store.close();
    }
  }, 90_000);

  it('a would-be regression on a busy machine is cannot judge (exit 2) naming the flag', async () => {
    const db = await historyOf(8);
    const slow = atCommit(quiet(real), 8);
    for (const c of slow.cells) {
      slower(c, SLOWER);
      c.flags = [{ kind: 'steal', message: 'CPU steal 9% of CPU time' }];
    }
    const r = await check(db, slow, '--gate-two-run');
    expect(r.code).toBe(2);
    expect(r.json.regressedCells).toEqual([]);
    const load = r.json.findings.filter((f) => f.kind === 'machine-load');
    expect(load.length).toBe(r.json.rows.length);
    expect(load.every((f) => f.outcome === 'cannot judge' && f.reason.includes('flagged steal'))).toBe(true);
    // Nothing else was judged either: said as such.
    expect(r.json.findings.filter((f) => f.kind !== 'machine-load').map((f) => f.kind)).toEqual(['nothing-compared']);
  }, 60_000);

  it('a would-be regression of a cell flagged throttled is cannot judge (exit 2) naming the flag', async () => {
    const db = await historyOf(8);
    const slow = atCommit(quiet(real), 8);
    const cell = slow.cells.find((c) => c.id === IMG)!;
    slower(cell, SLOWER);
    cell.throttled = true;
    cell.flags = [{ kind: 'throttled', message: 'throttled: CPU 97 C above the 95 C limit' }];
    const r = await check(db, slow, '--gate-two-run');
    expect(r.code).toBe(2);
    expect(r.json.regressedCells).toEqual([]);
    const load = r.json.findings.filter((f) => f.kind === 'machine-load');
    expect(load.length).toBeGreaterThan(0);
    expect(load.every((f) => f.cellId === IMG && f.reason.includes('flagged throttled'))).toBe(true);
  }, 60_000);

  it('issue 26 item 10: a check that compared nothing is not a pass; a changed suite is said', async () => {
    const db = await historyOf(2);
    const next = atCommit(quiet(real), 2);
    next.suite.hash = 'edited0suite0hash';
    const r = await check(db, next);
    expect(r.code).toBe(2);
    expect(r.json.findings.some((f) => f.kind === 'nothing-compared')).toBe(true);
    expect(r.json.findings.filter((f) => f.kind === 'not-judged').length).toBe(r.json.rows.length);
    expect(r.json.suiteChanged).toMatchObject({ to: 'edited0suite0hash' });
    expect(r.md).toContain('The suite definition changed since the previous stored run');
    expect(r.md).toContain('CANNOT JUDGE (not a pass)');

    // With --gate-two-run the two-run test judges a short history: an identical run passes.
    const judged = await check(db, atCommit(quiet(real), 2), '--gate-two-run');
    expect(judged.code).toBe(0);
    expect(judged.json.findings).toEqual([]);
  }, 60_000);

  it('a llama.cpp image cell whose image_encode / prefill split changed method (composed -> measured): cannot judge (exit 2) naming figure_sources, never one series', async () => {
    // The real llama.cpp image run stored in the fixtures (its split composed inside a measured TTFT).
    const llama = JSON.parse(readFileSync(join(repo, 'test/fixtures/reports/llamacpp-images.result.json'), 'utf8')) as RunResult;
    const LLAMA = 'runner=llamacpp,images=1,prefill=16,precision=int8';
    const db = join(dir, `h${n++}.sqlite`);
    const files = [0, 1, 2].map((i) => save(atCommit(quiet(llama), i)));
    const added = await history('add', ...files, '--db', db, '--board', 'vm', '--commit-date', '2026-11-01T00:00:00Z');
    expect(added.code, added.err).toBe(0);
    const measured = atCommit(quiet(llama), 3);
    delete measured.cells.find((c) => c.id === LLAMA)!.settings['figureSourceByMetric'];
    const r = await check(db, measured, '--gate-two-run');
    expect(r.code).toBe(2);
    expect(r.json.findings.filter((f) => f.kind === 'identity').map((f) => f.cellId)).toEqual([LLAMA]);
    expect(r.json.identity.differences.map((d) => [d.field, d.cand])).toEqual([['figure_sources', 'measured']]);
    expect(r.md).toContain('(figure_sources: base measured; image_encode_ms=composed prefill_ms=composed preprocess_ms=composed, candidate measured); allow with --allow-difference figure_sources');
    // The same method judges as before: an identical run passes.
    expect((await check(db, atCommit(quiet(llama), 3), '--gate-two-run')).code).toBe(0);
  }, 60_000);

  it('issue 26 item 10: history accept refuses an empty --commit and an ambiguous prefix, naming the candidates', async () => {
    const db = await historyOf(3, 'abcd');
    let r = await history('accept', '--db', db, '--commit', '');
    expect(r.code).toBe(2);
    expect(r.err).toContain('--commit is empty');
    r = await history('accept', '--db', db, '--commit', '  ');
    expect(r.code).toBe(2);
    r = await history('accept', '--db', db, '--commit', 'abcd0');
    expect(r.code).toBe(2);
    expect(r.err).toContain('--commit abcd0: ambiguous, 3 stored commits of internvl-tiny on vm begin with it: abcd00');
    r = await history('accept', '--db', db, '--commit', 'abcd01');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^accepted .+ new level from run history-1 \(commit abcd01/m);
  }, 60_000);
});
