import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bench as runBench } from '../hardening/cli-harness.ts';
import { tempDir } from '../helpers/tmp.ts';

let stdout = '';
let stderr = '';
/** The CLI in this process (test/hardening/cli-harness.ts), keeping the last output for the checks below. */
async function bench(...args: string[]): Promise<number> {
  const out = await runBench(...args);
  ({ stdout, stderr } = out);
  return out.code;
}

// No developer's history changes the plan.
beforeEach(() => delete process.env['BENCH_HISTORY_DB']);
const cwd = process.cwd();
afterEach(() => process.chdir(cwd));

interface PlanJson {
  count: number;
  costBasis: string;
  planHash: string;
  unknownCostCells: number;
  matrix: { shard?: string[]; include?: Array<{ shard: string; board: string }> };
  shards: Array<{ label: string; cells: string[] }>;
  cells: Array<{ id: string; shard: number; expectedSeconds: number | null }>;
}

describe('bench plan --json and bench run --shard', () => {
  it('prints the cells, shards and expected cost in the shape a workflow\'s fromJSON reads', async () => {
    const dir = tempDir('bench-plan-');
    process.chdir(dir); // no results/history.sqlite here: balanced by count
    expect(await bench('plan', '--suite', 'internvl-tiny', '--shards', '4', '--json'), stderr).toBe(0);
    const plan = JSON.parse(stdout) as PlanJson;
    expect(plan.count).toBe(4);
    expect(plan.costBasis).toBe('count');
    expect(plan.unknownCostCells).toBe(12);
    expect(plan.matrix).toEqual({ shard: ['1/4', '2/4', '3/4', '4/4'] });
    expect(plan.cells).toHaveLength(12);
    expect(plan.shards.map((s) => s.cells.length)).toEqual([3, 3, 3, 3]);
    expect(new Set(plan.shards.flatMap((s) => s.cells))).toEqual(new Set(plan.cells.map((c) => c.id)));
    // Deterministic: planned again, the same hash.
    expect(await bench('plan', '--suite', 'internvl-tiny', '--shards', '4', '--json')).toBe(0);
    expect((JSON.parse(stdout) as PlanJson).planHash).toBe(plan.planHash);

    expect(await bench('plan', '--suite', 'internvl-tiny', '--boards', 'orin-1,orin-2', '--filter', 'images=0', '--json')).toBe(0);
    expect((JSON.parse(stdout) as PlanJson).matrix).toEqual({ include: [{ shard: '1/2', board: 'orin-1' }, { shard: '2/2', board: 'orin-2' }] });

    expect(await bench('plan', '--suite', 'internvl-tiny', '--shards', '13')).toBe(2);
    expect(stderr).toMatch(/13 shards for 12 cell\(s\)/);
    expect(await bench('plan', '--suite', 'internvl-tiny', '--shards', '3', '--boards', 'a,b')).toBe(2);
    expect(stderr).toMatch(/--shards 3 and --boards with 2 board\(s\) disagree/);
    expect(await bench('plan', '--suite', 'internvl-tiny', '--db', join(dir, 'none.sqlite'))).toBe(2);
    expect(stderr).toMatch(/no such file/);

    // bench run refuses a plan that is not this run's, before anything runs.
    const planFile = join(dir, 'plan.json');
    writeFileSync(planFile, JSON.stringify(plan));
    expect(await bench('run', '--suite', 'internvl-tiny', '--shard', '1/4', '--plan', planFile, '--filter', 'images=0', '--out', join(dir, 'out'))).toBe(2);
    expect(stderr).toMatch(/--plan .*plan\.json: the plan's cells differ from the ones this suite and --filter select \(12 vs 4 cells\)/);
    expect(await bench('run', '--suite', 'internvl-tiny', '--shard', '1/3', '--plan', planFile, '--out', join(dir, 'out'))).toBe(2);
    expect(stderr).toMatch(/--shard 1\/3: the plan has 4 shard\(s\)/);
    expect(await bench('run', '--suite', 'internvl-tiny', '--shard', '5/4', '--out', join(dir, 'out'))).toBe(2);
    expect(stderr).toMatch(/K must be from 1 to N/);
    expect(await bench('run', '--suite', 'internvl-tiny', '--plan', planFile, '--out', join(dir, 'out'))).toBe(2);
    expect(stderr).toMatch(/only apply with --shard K\/N/);
    expect(await bench('run', '--suite', 'internvl-tiny', '--shard', '1/4', '--board', 'a b', '--out', join(dir, 'out'))).toBe(2);
    expect(stderr).toMatch(/--board: "a b" is not a board label/);
  });
});
