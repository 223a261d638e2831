import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bench } from '../hardening/cli-harness.ts';
import type { RunResult } from '../../core/result-types.ts';
import { mergeShards } from '../../analysis/merge-shards.ts';
import { cellIdentity, diffIdentities, identityKey } from '../../analysis/identity.ts';
import { readResult } from '../../harness/result-store.ts';
import { boardCells, makeResult } from '../compare/make-result.ts';
import { inputs, shardResults } from '../helpers/shard-results.ts';
import { tempDir } from '../helpers/tmp.ts';



describe('mergeShards', () => {
  it('joins the shards of one plan: every cell once, in plan order, each with the board it ran on', () => {
    const shards = shardResults(2);
    const { result, record } = mergeShards(inputs(shards));
    expect(result.cells.map((c) => c.id)).toEqual(shards[0]!.shard!.planCells);
    expect(result.plannedCells).toEqual(shards[0]!.shard!.planCells);
    for (const c of result.cells) {
      const from = shards.find((s) => s.cells.some((x) => x.id === c.id))!;
      expect(c.board).toBe(from.shard!.board);
      // The cell's figures are the shard's, untouched.
      expect(c.metrics['ttft_ms']!.median).toBe(from.cells.find((x) => x.id === c.id)!.metrics['ttft_ms']!.median);
    }
    expect(result.status).toBe('complete');
    expect(record).toMatchObject({ count: 2, missingShards: [], missingCells: [] });
    expect(record.shards.map((s) => [s.index, s.board, s.host])).toEqual([[1, 'orin-01', 'orin-01'], [2, 'orin-02', 'orin-02']]);
    expect(result.shard).toBeUndefined();
  });

  it('reports a missing shard and leaves its cells missing: the result is not complete', () => {
    const shards = shardResults(3);
    const { result, record } = mergeShards(inputs([shards[0]!, shards[2]!]));
    expect(record.missingShards).toEqual([2]);
    expect(record.missingCells).toEqual(shards[1]!.plannedCells);
    expect(result.status).toBe('interrupted');
    expect(result.warnings.some((w) => /shard\(s\) 2\/3 missing: 1 planned cell/.test(w))).toBe(true);
  });

  it('refuses a shard given twice, naming both files', () => {
    const shards = shardResults(2);
    expect(() => mergeShards([{ file: 'a.json', result: shards[0]! }, { file: 'b.json', result: structuredClone(shards[0]!) }])).toThrow(/shard 1\/2 is given twice \(a\.json and b\.json\)/);
  });

  it('refuses shards of different plans, suites, builds or settings, naming the field', () => {
    const cases: Array<[string, (r: RunResult) => void]> = [
      ['options.iterations', (r) => (r.options.iterations = 5)],
      ['options.threads', (r) => (r.options.threads = 8)],
      ['environment.versions.onnxruntime-node', (r) => (r.environment.versions['onnxruntime-node'] = '1.29.0')],
      ['environment.git.revision', (r) => (r.environment.git.revision = 'ffff')],
      ['identity field machine (CPU, architecture and core count (environment.host))', (r) => (r.environment.host.cpu = 'Other CPU')],
      ['identity field threads (compute threads (cells[].settings.intraOpNumThreads / threads, else the threads axis))', (r) => r.cells.forEach((c) => (c.settings['intraOpNumThreads'] = 1))],
    ];
    for (const [field, change] of cases) {
      const shards = shardResults(2);
      change(shards[1]!);
      expect(() => mergeShards(inputs(shards)), field).toThrow(new RegExp(`${field.replace(/[.()[\]/]/g, '\\$&')} differs \\(shard1\\.json: .*; shard2\\.json: `));
    }
    // Another plan (3 shards of the same suite): the plan hash differs.
    const two = shardResults(2);
    const three = shardResults(3);
    expect(() => mergeShards(inputs([two[0]!, three[1]!]))).toThrow(/shard\.planHash differs/);
    // Model builds: the same precision built differently on two boards.
    const built = shardResults(2);
    built[0]!.cells.forEach((c) => (c.model!.hashes = { 'model.onnx': 'aaa' }));
    built[1]!.cells.forEach((c) => (c.model!.hashes = { 'model.onnx': 'bbb' }));
    expect(() => mergeShards(inputs(built))).toThrow(/cells\[\]\.model\.hashes \(internvl2_5-1b w(8|4)a16/);
  });

  it('refuses a result that is not a shard, and a shard whose record was edited', () => {
    const shards = shardResults(2);
    const plain = makeResult({ seed: 3, cells: boardCells() });
    expect(() => mergeShards([{ file: 'plain.json', result: plain }])).toThrow(/plain\.json: not a shard result/);
    shards[0]!.shard!.planShards = shards[0]!.shard!.planShards.map(() => 1);
    expect(() => mergeShards(inputs(shards))).toThrow(/shard1\.json: shard\.planHash does not match/);
  });
});

/** The real CLI in this process (a child per command costs seconds of start-up on a loaded machine), run in `cwd` with its own history. */
async function bench_(args: string[], cwd: string): Promise<{ status: number; stdout: string; stderr: string }> {
  const here = process.cwd();
  process.chdir(cwd);
  process.env['BENCH_HISTORY_DB'] = join(cwd, 'history.sqlite');
  delete process.env['GITHUB_STEP_SUMMARY'];
  try {
    const { code, stdout, stderr } = await bench(...args);
    return { status: code, stdout, stderr };
  } finally {
    process.chdir(here);
    delete process.env['BENCH_HISTORY_DB'];
  }
}

describe('the configuration identity of a merged result', () => {
  const ORIN = { 'board.model': 'NVIDIA Jetson Orin NX 16GB', 'power.nvpmodel': 'MAXN' };
  const keys = (r: RunResult) => new Map(r.cells.map((c) => [c.id, identityKey(cellIdentity(r, c))]));

  it('is that of a run on one board of the pool: board model and power mode, not the host or the board\'s name', () => {
    for (const ssh of [false, true]) {
      const merged = mergeShards(inputs(shardResults(2, { sshTargets: ssh, board: ORIN }))).result;
      // An unsharded run on one board of the pool (another host name, its own target name).
      const single = makeResult({ seed: 7, cells: boardCells(), hostname: 'orin-09', board: ORIN, ...(ssh ? { target: 'orin-09' } : {}) });
      expect(keys(merged), ssh ? 'boards over SSH' : 'runners on the boards').toEqual(keys(single));
      for (const c of merged.cells) {
        expect(diffIdentities(cellIdentity(merged, c), cellIdentity(single, single.cells.find((x) => x.id === c.id)!))).toEqual([]);
      }
      // The host and the board of each shard stay recorded (the run's context facts name the host).
      expect(merged.merged!.shards.map((s) => [s.board, s.host])).toEqual([['orin-01', 'orin-01'], ['orin-02', 'orin-02']]);
    }
    // Another power mode is another configuration, merged or not.
    const merged = mergeShards(inputs(shardResults(2, { sshTargets: true, board: ORIN }))).result;
    const other = makeResult({ seed: 7, cells: boardCells(), target: 'orin-09', board: { ...ORIN, 'power.nvpmodel': '15W' } });
    const d = diffIdentities(cellIdentity(merged, merged.cells[0]!), cellIdentity(other, other.cells[0]!));
    expect(d.map((x) => x.field)).toEqual(['power_mode']);
  });

  it('without a recorded board model, boards over SSH are told apart by their names only: not one configuration (fails closed)', () => {
    const merged = mergeShards(inputs(shardResults(2, { sshTargets: true }))).result;
    const single = makeResult({ seed: 7, cells: boardCells(), target: 'orin-01' });
    const d = diffIdentities(cellIdentity(merged, merged.cells[0]!), cellIdentity(single, single.cells[0]!));
    expect(d.map((x) => [x.field, x.base, x.cand])).toEqual([['target', 'orin-01,orin-02', 'orin-01']]);
  });
});

describe('bench merge, then report, compare, history and publish read the merged result', () => {
  it('takes the merged result like any other', async () => {
    const dir = tempDir('bench-merge-');
    const write = (name: string, r: RunResult) => {
      mkdirSync(join(dir, name), { recursive: true });
      writeFileSync(join(dir, name, 'result.json'), JSON.stringify(r));
      return join(dir, name, 'result.json');
    };
    // Two plans' worth of shards: a base, and a candidate 30% slower on one cell.
    const base = shardResults(2, { seed: 1 });
    const slowCell = 'images=1,prefill=128,precision=w4a16';
    const cand = shardResults(2, { seed: 2, factor: { [slowCell]: 1.3 } });
    base.forEach((r, i) => write(`base/s${i + 1}`, r));
    cand.forEach((r, i) => write(`cand/s${i + 1}`, r));

    const merged = await bench_(['merge', 'base', '--out', 'merged-base'], dir);
    expect(merged.status, merged.stderr).toBe(0);
    expect(merged.stdout).toMatch(/merged 2 of 2 shard\(s\) of plan [0-9a-f]{20}: 4 of 4 cell\(s\)/);
    expect((await bench_(['merge', 'cand', '--out', 'merged-cand'], dir)).status).toBe(0);
    const m = readResult(join(dir, 'merged-base', 'result.json'));
    expect(new Set(m.cells.map((c) => c.board))).toEqual(new Set(['orin-01', 'orin-02']));
    expect(existsSync(join(dir, 'merged-base', 'report.md'))).toBe(true);

    // Output never overwrites an input, and a non-empty folder is refused.
    const over = await bench_(['merge', 'base', '--out', 'base'], dir);
    expect(over.status).toBe(2);
    expect(over.stderr).toMatch(/the output contains the input/);
    expect((await bench_(['merge', 'cand', '--out', 'merged-base'], dir)).stderr).toMatch(/exists and is not empty/);
    // One shard only (the same file named twice is read once): shard 2/2 is reported missing, exit 1.
    const mixed = await bench_(['merge', 'base/s1', 'base/s1/../s1/result.json', '--out', 'mixed'], dir);
    expect(mixed.status).toBe(1);
    expect(mixed.stdout).toMatch(/MISSING shard\(s\) 2\/2: 2 cell\(s\) not measured/);

    // compare: the merged candidate regresses on the slowed cell (exit 1).
    const cmp = await bench_(['compare', 'merged-base', 'merged-cand', '--format', 'json'], dir);
    expect(cmp.status, cmp.stderr).toBe(1);
    const verdict = JSON.parse(cmp.stdout) as { regressedCells?: string[] };
    expect(verdict.regressedCells).toContain(slowCell);

    // history: add the merged base, check the merged candidate against it.
    expect((await bench_(['history', 'add', 'merged-base', '--board', 'orin-pool'], dir)).status).toBe(0);
    const listed = await bench_(['history', 'list', '--board', 'orin-pool'], dir);
    expect(listed.stdout).toContain(m.runId);

    // publish: one run on the site; report again into another folder.
    const site = await bench_(['publish', 'merged-base', 'merged-cand', '--out', 'site'], dir);
    expect(site.status, site.stderr).toBe(0);
    expect(readFileSync(join(dir, 'site', 'index.html'), 'utf8')).toContain(m.runId);
    expect((await bench_(['report', 'merged-cand/result.json', '--out', 'report-cand'], dir)).status).toBe(0);
    expect(readFileSync(join(dir, 'report-cand', 'report.md'), 'utf8')).toMatch(/w4a16/);
  });
});
