/**
 * Issue 18 (1, 4, 5, 9, "Also") through harness/run-suite.ts with a runner that produces real
 * iteration records in process (no model), so the run loop, the store and the checks are what
 * is tested: resume counters, the cell journal, plan bounds, failed-iteration thresholds,
 * refusals before any run folder exists, and query secrets never recorded.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../core/errors.ts';
import type { IterationRecord } from '../../core/events.ts';
import { CELL_JOURNAL_FILE, readResult, ResultStore, writeFileAtomic, removeStaleTempFiles } from '../../harness/result-store.ts';
import { checkResumeFlags, chooseTargetName, plannedCellCount } from '../../harness/run-plan.ts';
import { runSuite, type ProgressSink } from '../../harness/run-suite.ts';
import type { Runner } from '../../core/runner.ts';
import { hashSuite } from '../../harness/suite-loader.ts';
import type { Suite } from '../../core/suite-types.ts';
import { redactQuerySecrets } from '../../core/redact.ts';
import { tempDir } from '../helpers/tmp.ts';

const tmp = (): string => tempDir('bench-harden-');

/** Iterations of `failEvery`-th index fail; others give a 10 ms request with 2 tokens. */
function fakeRunner(opts: { failing?: (cellId: string, index: number) => boolean; onCell?: (id: string) => void } = {}): Runner & { calls: string[] } {
  const calls: string[] = [];
  return {
    name: 'fake',
    calls,
    async prepare(cell) {
      calls.push(cell.id);
      opts.onCell?.(cell.id);
      return {
        loadMs: 1,
        model: { architecture: 'fake', precision: 'fp32', layout: 'none', synthetic: true },
        settings: {},
        async runIteration(index, warmup): Promise<IterationRecord> {
          const t = index * 20;
          const failed = opts.failing?.(cell.id, index) ?? false;
          return {
            index,
            warmup,
            startMs: t,
            endMs: t + 10,
            events: failed
              ? []
              : [
                  { kind: 'phase', phase: 'prefill', startMs: t, endMs: t + 4 },
                  { kind: 'token', tMs: t + 4, index: 0, count: 1 },
                  { kind: 'token', tMs: t + 10, index: 1, count: 1 },
                  { kind: 'phase', phase: 'decode', startMs: t + 4, endMs: t + 10 },
                ],
            outputTokens: failed ? 0 : 2,
            promptTokens: 8,
            imageTokens: 0,
            images: 0,
            ...(failed ? { error: 'simulated failure' } : {}),
          } as IterationRecord;
        },
        async close() {},
      };
    },
  };
}

function suite(matrix: Suite['matrix'], extra: Partial<Suite> = {}): Suite {
  return { name: 'fake-suite', model: { name: 'm' }, target: 'local', runner: 'fake', defaults: { warmup: 0, iterations: 2, outputTokens: 2 }, matrix, ...extra };
}

function quiet(lines: string[] = []): ProgressSink & { positions: Array<[number, number]> } {
  const positions: Array<[number, number]> = [];
  return {
    positions,
    runStart: () => undefined,
    cellStart: (i) => positions.push([i.position, i.total]),
    iterationStart: () => undefined,
    iteration: () => undefined,
    cellDone: () => undefined,
    log: (m) => lines.push(m),
    runDone: () => undefined,
  };
}

async function run(s: Suite, out: string, runner: Runner, more: Partial<Parameters<typeof runSuite>[0]> = {}) {
  return runSuite({ suite: { suite: s, source: 'test', hash: hashSuite(s) }, target: 'local', filters: [], outDir: out, runners: { fake: runner }, progress: quiet(), ...more });
}

describe('resume (18.1)', () => {
  it('--retry-failed counts positions within the plan: never [5/4]', async () => {
    const out = tmp();
    const s = suite({ a: [1, 2, 3, 4] });
    const first = await run(s, out, fakeRunner({ failing: (id) => id === 'a=2' || id === 'a=4' }));
    expect(first.failedCells).toBe(2);
    const progress = quiet();
    const again = await runSuite({ target: 'local', filters: [], outDir: out, resumeDir: first.store.runDir, retryFailed: true, runners: { fake: fakeRunner() }, progress });
    expect(progress.positions).toEqual([
      [3, 4],
      [4, 4],
    ]);
    expect(again.failedCells).toBe(0);
    expect(readResult(again.store.file).cells.map((c) => [c.id, c.status])).toEqual([
      ['a=1', 'ok'],
      ['a=2', 'ok'],
      ['a=3', 'ok'],
      ['a=4', 'ok'],
    ]);
  });

  it('a flag that contradicts the run is refused naming the flag and the run\'s value; equal flags pass', async () => {
    const out = tmp();
    const done = await run(suite({ a: [1] }), out, fakeRunner());
    const r = readResult(done.store.file);
    const host = r.environment.host.hostname;
    expect(() => checkResumeFlags({ ...r, target: 'good' }, { target: 'local' }, 'DIR', host)).toThrow(
      /--resume DIR: --target local conflicts with the run's target "good"/,
    );
    expect(() => checkResumeFlags(r, { iterations: 5 }, 'DIR', host)).toThrow(/--iterations 5 conflicts with the run's iterations 2/);
    expect(() => checkResumeFlags(r, { iterations: 2, target: 'local', filters: [] }, 'DIR', host)).not.toThrow();
    expect(() => checkResumeFlags(r, {}, 'DIR', 'another-host')).toThrow(/measured on host .* this is "another-host": finishing it here would mix machines/);
  });

  it('without --target a resumed run goes to its own target, and a board suite to its own target', () => {
    const r = { target: 'good' } as Parameters<typeof chooseTargetName>[0]['resumed'];
    expect(chooseTargetName({ resumed: r, knownTargets: ['local', 'good'], targetsFile: null })).toBe('good');
    expect(chooseTargetName({ explicit: 'local', suite: suite({ a: [1] }, { target: 'ax650' }), knownTargets: ['local'], targetsFile: null })).toBe('local');
    expect(chooseTargetName({ suite: suite({ a: [1] }, { target: 'ax650' }), knownTargets: ['local', 'ax650'], targetsFile: '/x/targets.yaml' })).toBe('ax650');
    expect(() => chooseTargetName({ suite: suite({ a: [1] }, { name: 'internvl-ax650', target: 'ax650' }), knownTargets: ['local'], targetsFile: '/x/targets.yaml' })).toThrow(
      /suite "internvl-ax650" is meant for target "ax650", and no target of that name is defined in \/x\/targets\.yaml: add one named "ax650" .* \(--target local runs it on this machine\)/,
    );
    expect(chooseTargetName({ suite: suite({ a: [1] }, { target: 'endpoint' }), knownTargets: ['local'], targetsFile: null })).toBe('local');
  });
});

describe('the cell journal (18.4): each cell costs its own size, a kill never loses a finished cell', () => {
  it('cells go to cells.jsonl as they finish; readers see them; the end folds them into result.json', async () => {
    const out = tmp();
    let journalSeen = 0;
    let dir = '';
    const runner = fakeRunner({
      onCell: () => {
        if (!dir) return;
        // While the run goes, result.json holds no cell yet, the journal holds the finished ones.
        const onDisk = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as { cells: unknown[] };
        expect(onDisk.cells).toHaveLength(0);
        journalSeen = readResult(join(dir, 'result.json')).cells.length;
      },
    });
    const outcome = await run(suite({ a: [1, 2, 3] }), out, runner, { onStore: (s) => (dir = s.runDir) });
    expect(journalSeen).toBe(2);
    expect(readFileSync(join(outcome.store.runDir, CELL_JOURNAL_FILE), 'utf8')).toBe('');
    const final = JSON.parse(readFileSync(outcome.store.file, 'utf8')) as { cells: Array<{ id: string }>; status: string };
    expect(final.cells.map((c) => c.id)).toEqual(['a=1', 'a=2', 'a=3']);
    expect(final.status).toBe('complete');
  });

  it('a torn last journal line (killed mid-append) is dropped and cut off; whole lines are kept; resume reruns only missing cells', async () => {
    const out = tmp();
    const outcome = await run(suite({ a: [1, 2, 3, 4] }), out, fakeRunner());
    const dir = outcome.store.runDir;
    // Rebuild the state of a run killed after 2 cells and in the middle of writing the third.
    const full = readResult(outcome.store.file);
    const header = { ...full, status: 'running', finishedAt: null, cells: [] };
    writeFileAtomic(join(dir, 'result.json'), JSON.stringify(header));
    const lines = full.cells.map((c) => JSON.stringify(c));
    writeFileSync(join(dir, CELL_JOURNAL_FILE), `${lines[0]}\n${lines[1]}\n${lines[2]!.slice(0, 200)}`);
    writeFileSync(join(dir, `result.json.999999.abcdef.tmp`), '{"partial');
    expect(readResult(join(dir, 'result.json')).cells.map((c) => c.id)).toEqual(['a=1', 'a=2']);

    const runner = fakeRunner();
    const resumed = await runSuite({ target: 'local', filters: [], outDir: out, resumeDir: dir, runners: { fake: runner }, progress: quiet() });
    expect(runner.calls).toEqual(['a=3', 'a=4']);
    const after = readResult(resumed.store.file);
    expect(after.cells.map((c) => c.id)).toEqual(['a=1', 'a=2', 'a=3', 'a=4']);
    expect(after.cells[0]!.startedAt).toBe(full.cells[0]!.startedAt);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('a kill between compaction and emptying the journal repeats records that read back as one', async () => {
    const out = tmp();
    const outcome = await run(suite({ a: [1, 2] }), out, fakeRunner());
    const full = readResult(outcome.store.file);
    appendFileSync(join(outcome.store.runDir, CELL_JOURNAL_FILE), full.cells.map((c) => `${JSON.stringify(c)}\n`).join(''));
    expect(readResult(outcome.store.file).cells.map((c) => c.id)).toEqual(['a=1', 'a=2']);
  });

  it('recording a cell costs about the same at 50 cells as at 1,000 (no rewrite of the whole run)', () => {
    const out = tmp();
    const base = { suite: { name: 'scale', source: 't', hash: 'h', definition: suite({ a: [1] }) }, target: 'local', status: 'running' as const, startedAt: 'x', finishedAt: null, options: { iterations: 1, warmup: 0, outputTokens: 1, threads: 1, filters: [] }, environment: { host: { hostname: 'h', cpu: 'c', cores: 1, physicalCores: 1, memoryBytes: 1, arch: 'x' }, os: { platform: 'p', distro: 'd', release: 'r', kernel: 'k' }, versions: {}, git: { revision: null, dirty: null } }, cells: [], plannedCells: [], warnings: [] };
    const store = ResultStore.create(out, base);
    const cell = (i: number) => ({ id: `a=${i}`, index: i, params: { a: i }, status: 'ok' as const, startedAt: 'x', finishedAt: 'x', loadMs: 1, model: null, settings: {}, iterations: [], metrics: {}, subgraphs: {}, peakRssBytes: null, stopReason: 'x'.repeat(4000) });
    const timeCells = (from: number, n: number) => {
      const t0 = performance.now();
      for (let i = from; i < from + n; i++) store.addCell(cell(i));
      return (performance.now() - t0) / n;
    };
    timeCells(0, 20);
    const early = timeCells(20, 30);
    timeCells(50, 900);
    const late = timeCells(950, 50);
    // A whole rewrite per cell would make the late cells about 20x dearer (4 MB vs 0.2 MB).
    expect(late / early).toBeLessThan(6);
    store.flush();
    expect(readResult(store.file).cells).toHaveLength(1000);
  });

  it('stale temp files of a dead writer are removed, a live writer\'s are kept', () => {
    const d = tmp();
    writeFileSync(join(d, 'result.json.999999.ab12cd.tmp'), 'x');
    writeFileSync(join(d, `result.json.${process.ppid}.ab12cd.tmp`), 'x');
    expect(removeStaleTempFiles(d, 'result.json')).toEqual(['result.json.999999.ab12cd.tmp']);
    expect(existsSync(join(d, `result.json.${process.ppid}.ab12cd.tmp`))).toBe(true);
  });
});

describe('plan bounds (18.4)', () => {
  it('counts 10^9 cells without building them and refuses with the numbers', async () => {
    const axis = Array.from({ length: 1000 }, (_, i) => i);
    const huge = suite({ a: axis, b: axis, c: axis });
    expect(plannedCellCount(huge.matrix, [])).toBe(1e9);
    expect(plannedCellCount(huge.matrix, ['a=1,2', 'b=3'])).toBe(2000);
    const out = tmp();
    await expect(run(huge, out, fakeRunner())).rejects.toThrow(/1,000,000,000 cells x 2 iterations .* more than 1,000,000 cells is never run/);
    await expect(run(huge, out, fakeRunner(), { confirmPlan: true })).rejects.toThrow(InputError);
    const big = suite({ a: axis, b: [1, 2, 3] });
    await expect(run(big, out, fakeRunner())).rejects.toThrow(/3,000 cells x 2 iterations \(0 warm-up \+ 2 measured\) = 6,000 iterations; estimated 1.7 h at 1 s per iteration .* pass --yes/);
    expect(readdirSync(out)).toEqual([]);
  });
});

describe('failed iterations and bad input (18.9)', () => {
  it('a cell with failed iterations beyond --max-failed-fraction is failed; figures of the good ones are kept', async () => {
    const failing = (_: string, index: number) => index % 3 === 0;
    const strict = await run(suite({ a: [1] }, { defaults: { warmup: 0, iterations: 6, outputTokens: 2 } }), tmp(), fakeRunner({ failing }));
    const cell = strict.store.result.cells[0]!;
    expect(strict.failedCells).toBe(1);
    expect(cell.status).toBe('failed');
    expect(cell.error).toMatch(/^2 of 6 iteration\(s\) failed \(above --max-failed-fraction 0\): simulated failure/);
    expect(cell.metrics['ttft_ms']!.n).toBe(4);
    const lenient = await run(suite({ a: [1] }, { defaults: { warmup: 0, iterations: 6, outputTokens: 2 } }), tmp(), fakeRunner({ failing }), { maxFailedFraction: 0.5 });
    expect(lenient.failedCells).toBe(0);
    expect(lenient.store.result.options.maxFailedFraction).toBe(0.5);
  });

  it('an unknown runner is refused before a run folder exists', async () => {
    const out = tmp();
    await expect(run(suite({ a: [1] }, { runner: 'nope' }), out, fakeRunner())).rejects.toThrow(/unknown runner "nope"/);
    expect(readdirSync(out)).toEqual([]);
  });

  it('Runner.checkPlan runs before the folder is made', async () => {
    const out = tmp();
    const runner = { ...fakeRunner(), checkPlan: () => { throw new InputError('no such model'); } };
    await expect(run(suite({ a: [1] }), out, runner)).rejects.toThrow(/no such model/);
    expect(readdirSync(out)).toEqual([]);
  });
});

describe('query secrets (Also)', () => {
  it('are redacted in the recorded suite and source; the run itself used the real URL', async () => {
    const s = suite({ a: [1] }, { options: { url: 'http://h:1/v1?api_key=SEKRET&x=1&token=T0K', nested: ['https://x/?key=K3Y'] } });
    const seen: string[] = [];
    const runner = fakeRunner();
    const wrapped: Runner = { ...runner, prepare: (cell, su, ctx) => (seen.push(String(su.options!['url'])), runner.prepare(cell, su, ctx)) };
    const outcome = await runSuite({ suite: { suite: s, source: 'endpoint:http://h:1/v1?api_key=SEKRET', hash: hashSuite(s) }, target: 'local', filters: [], outDir: tmp(), runners: { fake: wrapped }, progress: quiet() });
    const text = readFileSync(outcome.store.file, 'utf8');
    expect(text).not.toMatch(/SEKRET|T0K|K3Y/);
    expect(text).toContain('api_key=REDACTED&x=1&token=REDACTED');
    expect(seen).toEqual(['http://h:1/v1?api_key=SEKRET&x=1&token=T0K']);
    expect(redactQuerySecrets('GET /a?access_token=abc#f and ?Key=1')).toBe('GET /a?access_token=REDACTED#f and ?Key=REDACTED');
  });
});
