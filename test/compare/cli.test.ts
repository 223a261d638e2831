import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InputError } from '../../core/errors.ts';
import type { RunResult } from '../../core/result-types.ts';
import { registerBaselineCommand } from '../../cli/baseline.ts';
import { registerCompareCommand } from '../../cli/compare.ts';
import type { Comparison } from '../../analysis/comparison-types.ts';
import { boardCells, cellId, makeResult } from './make-result.ts';
import { findAll, parseXml } from './xml-check.ts';
import { tempDir } from '../helpers/tmp.ts';

const SLOW = 'images=1,prefill=128,precision=w8a16';

function program(): Command {
  const p = new Command('bench').exitOverride();
  p.configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  registerCompareCommand(p);
  registerBaselineCommand(p);
  return p;
}

async function bench(...args: string[]): Promise<number | undefined> {
  await program().parseAsync(['node', 'bench', ...args]);
  return typeof process.exitCode === 'number' ? process.exitCode : undefined;
}

let dir: string;
let stdout: string;
let stderr: string;

function save(name: string, r: RunResult, asRunFolder = false): string {
  const folder = join(dir, name);
  mkdirSync(folder, { recursive: true });
  const file = join(folder, asRunFolder ? 'result.json' : `${name}.json`);
  writeFileSync(file, JSON.stringify(r));
  return asRunFolder ? folder : file;
}

beforeEach(() => {
  dir = tempDir('bench-compare-');
  stdout = '';
  stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((stdout += String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((stderr += String(s)), true));
  delete process.env['GITHUB_STEP_SUMMARY'];
});

afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
  delete process.env['GITHUB_STEP_SUMMARY'];
});

describe('bench compare (through commander)', () => {
  const base = makeResult({ seed: 101, cells: boardCells(), cv: 0.04 });
  const slower = makeResult({ seed: 102, cells: boardCells({ [SLOW]: 1.1 }), cv: 0.04 });
  const same = makeResult({ seed: 103, cells: boardCells(), cv: 0.04 });

  it('exits 1 on a regression, with a run folder as candidate, and prints Markdown', async () => {
    const code = await bench('compare', save('base', base), save('cand', slower, true));
    expect(code).toBe(1);
    expect(stdout).toContain('## Comparison: internvl-board');
    expect(stdout).toContain('**slower: regression**');
    expect(stderr).toContain('compare: FAIL: 4 regressions in 1 cell (threshold 5%, 99% confidence)');
  });

  it('exits 0 without a regression, and when the threshold is above the change', async () => {
    expect(await bench('compare', save('base', base), save('same', same))).toBe(0);
    expect(stderr).toContain('compare: pass: no regression beyond 5%');
    expect(await bench('compare', save('base', base), save('cand', slower), '--threshold', '15%')).toBe(0);
  });

  it('exits 2 (cannot judge, not a pass) when a median moved beyond the threshold but too few iterations allow no verdict', async () => {
    // The case: 3 measured iterations per cell, every cell slower by ~25%.
    const all = Object.fromEntries(boardCells().map((c) => [cellId(c), 1.25]));
    const few = makeResult({ seed: 111, cells: boardCells(), cv: 0.04, iterations: 3 });
    const fewSlower = makeResult({ seed: 112, cells: boardCells(all), cv: 0.04, iterations: 3 });
    expect(await bench('compare', save('few', few), save('few-slower', fewSlower), '--format', 'json')).toBe(2);
    const json = JSON.parse(stdout) as Comparison;
    expect(json.regressedCells).toEqual([]);
    expect(json.unjudgedCells).toHaveLength(4);
    expect(json.rows.filter((r) => r.unjudged).length).toBeGreaterThanOrEqual(12);
    expect(json.rows.every((r) => r.verdict === 'insufficient data')).toBe(true);
    expect(stderr).toMatch(/compare: CANNOT JUDGE \(not a pass\): 1\d gated metrics not judged \(e\.g\. .+: \w+ not judged: 3 vs 3 iterations: no outcome can be significant at 99%; at least 5 per side are needed\)/);
    expect(stderr).not.toContain('pass: no regression');

    // Issue 24: every gated metric must be judged. Same few iterations and no median moved past
    // the threshold: still nothing was judged, so not a pass (this was exit 0 before).
    process.exitCode = undefined;
    const fewSame = makeResult({ seed: 113, cells: boardCells(), cv: 0.01, iterations: 3 });
    expect(await bench('compare', save('few', few), save('few-same', fewSame), '--threshold', '20%')).toBe(2);

    // With enough iterations the same slowdown gets its verdict: a regression, exit 1.
    process.exitCode = undefined;
    const enough = makeResult({ seed: 114, cells: boardCells(), cv: 0.04, iterations: 8 });
    const enoughSlower = makeResult({ seed: 115, cells: boardCells(all), cv: 0.04, iterations: 8 });
    expect(await bench('compare', save('enough', enough), save('enough-slower', enoughSlower))).toBe(1);
    expect(stderr).toMatch(/compare: FAIL: 1\d regressions in 4 cells/);
  });

  it('writes JUnit to --out, JSON with regressed cells, and appends Markdown to the step summary', async () => {
    const summary = join(dir, 'step-summary.md');
    writeFileSync(summary, '# earlier step\n');
    process.env['GITHUB_STEP_SUMMARY'] = summary;
    const out = join(dir, 'reports', 'compare.xml');
    expect(await bench('compare', save('base', base), save('cand', slower), '--format', 'junit', '--out', out)).toBe(1);
    const root = parseXml(readFileSync(out, 'utf8'));
    expect(findAll(root, 'failure')).toHaveLength(4);
    expect(stdout).toBe('');
    const md = readFileSync(summary, 'utf8');
    expect(md.startsWith('# earlier step\n## Comparison: internvl-board')).toBe(true);
    expect(md).toContain('**FAIL: 4 regressions in 1 cell');

    process.exitCode = undefined;
    expect(await bench('compare', save('base', base), save('cand', slower), '--format', 'json', '--metric', 'ttft_ms,prefill_ms')).toBe(1);
    const json = JSON.parse(stdout) as Comparison;
    expect(json.regressedCells).toEqual([SLOW]);
    expect(json.metrics).toEqual(['ttft_ms', 'prefill_ms']);
    expect(json.base.source).toMatch(/base\.json$/);
  });

  it('throws InputError (exit 2 in main) when the runs cannot be compared or an argument is bad', async () => {
    const other = makeResult({ seed: 104, cells: boardCells(), suite: 'qwen2vl-board' });
    await expect(bench('compare', save('base', base), save('other', other))).rejects.toThrow(InputError);
    await expect(bench('compare', save('base', base), save('other', other))).rejects.toThrow(/different suites/);
    const disjoint = makeResult({ seed: 105, cells: boardCells().map((c) => ({ ...c, prefill: 256 })) });
    await expect(bench('compare', save('base', base), save('disjoint', disjoint))).rejects.toThrow(/no cell in common/);
    await expect(bench('compare', join(dir, 'missing.json'), save('base', base))).rejects.toThrow(new InputError(`base ${join(dir, 'missing.json')}: no such file or folder`));
    await expect(bench('compare', dir, save('base', base))).rejects.toThrow(/the folder has no result\.json/);
    writeFileSync(join(dir, 'broken.json'), '{"schemaVersion": 1, "runId": 3}');
    await expect(bench('compare', join(dir, 'broken.json'), save('base', base))).rejects.toThrow(/broken\.json: not a valid result/);
    await expect(bench('compare', save('base', base), save('same', same), '--threshold', 'five')).rejects.toThrow(
      new InputError('--threshold expects a percentage such as 5% or 2.5, got "five"'),
    );
    await expect(bench('compare', save('base', base), save('same', same), '--format', 'html')).rejects.toBeInstanceOf(CommanderError);
    expect(process.exitCode).toBeUndefined();
  });
});

describe('bench baseline', () => {
  it('copies a result verbatim into <dir>/<suite>/<board>.json and compares against it', async () => {
    const run = makeResult({ seed: 201, cells: boardCells() });
    const runFolder = save('run', run, true);
    const baselines = join(dir, 'baselines');
    await bench('baseline', 'update', runFolder, '--board', 'orin-nx-16gb', '--dir', baselines);
    const file = join(baselines, 'internvl-board', 'orin-nx-16gb.json');
    expect(readFileSync(file, 'utf8')).toBe(readFileSync(join(runFolder, 'result.json'), 'utf8'));
    expect(stdout).toContain('baseline internvl-board/orin-nx-16gb: run run-201 (new)');

    // A second update names what it replaced and notices a different host under the same label.
    const next = makeResult({ seed: 202, cells: boardCells(), hostname: 'orin-07' });
    await bench('baseline', 'update', save('next', next), '--board', 'orin-nx-16gb', '--dir', baselines);
    expect(stdout).toContain('(replaces run run-201 of 2026-11-25T00:00:00Z)');
    expect(stderr).toContain('warning: board "orin-nx-16gb" had a baseline from host orin-01 (ARMv8 Cortex-A78AE); this run is from orin-07');

    stdout = '';
    await bench('baseline', 'show', '--dir', baselines);
    expect(stdout).toMatch(/\| internvl-board \| orin-nx-16gb \| run-202 \| local\s+\| orin-07 \(ARMv8 Cortex-A78AE\) \|/);
    stdout = '';
    await bench('baseline', 'show', '--dir', baselines, '--suite', 'internvl-board', '--board', 'orin-nx-16gb');
    expect(stdout).toContain('- thread count (options.threads): 4');

    const cand = makeResult({ seed: 203, cells: boardCells({ [SLOW]: 1.1 }), hostname: 'orin-07' });
    expect(await bench('compare', file, save('cand', cand), '--format', 'junit')).toBe(1);
    expect(findAll(parseXml(stdout.slice(stdout.indexOf('<?xml'))), 'failure').length).toBeGreaterThan(0);
  });

  it('refuses incomplete runs, bad board labels and unknown baselines', async () => {
    const run = makeResult({ seed: 204, cells: boardCells() });
    run.status = 'interrupted';
    const baselines = join(dir, 'baselines');
    await expect(bench('baseline', 'update', save('run', run), '--board', 'orin', '--dir', baselines)).rejects.toThrow(
      /run status is "interrupted" \(4 of 4 cells\): a baseline should be a complete run; pass --allow-incomplete/,
    );
    await bench('baseline', 'update', save('run', run), '--board', 'orin', '--dir', baselines, '--allow-incomplete');
    expect(readFileSync(join(baselines, 'internvl-board', 'orin.json'), 'utf8')).toContain('"interrupted"');
    await expect(bench('baseline', 'update', save('run', run), '--board', '../etc', '--dir', baselines, '--allow-incomplete')).rejects.toThrow(
      new InputError('--board "../etc" is not usable as a file name: use letters, digits, ".", "_" and "-" (e.g. orin-nx-16gb)'),
    );
    await expect(bench('baseline', 'show', '--dir', baselines, '--board', 'xavier')).rejects.toThrow(/no baseline for board xavier/);
  });
});
