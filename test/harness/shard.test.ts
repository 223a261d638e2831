import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../core/random.ts';
import { checkPlanFor, checkShardRecord, parseShard, planShards, plannedCellIds, shardCellIds, shardRecord } from '../../harness/shard.ts';

const ids = (n: number) => Array.from({ length: n }, (_, i) => `cell=${i}`);

describe('planShards', () => {
  it('property: for random plans, shard counts and costs, N shards cover every cell exactly once and stay balanced', () => {
    const rand = seededRandom(28);
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + Math.floor(rand() * 60);
      const count = 1 + Math.floor(rand() * Math.min(n, 9));
      const cellIds = ids(n);
      const mode = trial % 3; // 0: no history, 1: every cell known, 2: some known
      const costs = new Map<string, number>();
      if (mode > 0) for (const id of cellIds) if (mode === 1 || rand() < 0.5) costs.set(id, 0.5 + rand() * 100);
      const plan = planShards({ suiteHash: 'h', cellIds, count, costs });

      // Exactly once: the union of the shards is the plan, and no cell is in two shards.
      const all = plan.shards.flatMap((s) => s.cells);
      expect(all.length).toBe(n);
      expect(new Set(all)).toEqual(new Set(cellIds));
      expect(plan.shards.map((s) => s.label)).toEqual(Array.from({ length: count }, (_, i) => `${i + 1}/${count}`));
      // Every shard has a cell, and its cells are in plan order.
      for (const s of plan.shards) {
        expect(s.cells.length).toBeGreaterThan(0);
        expect(s.cells).toEqual([...s.cells].sort((a, b) => cellIds.indexOf(a) - cellIds.indexOf(b)));
      }
      const sizes = plan.shards.map((s) => s.cells.length);
      if (mode === 0) {
        expect(plan.costBasis).toBe('count');
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      } else if (mode === 1 && costs.size === n) {
        expect(plan.costBasis).toBe('history');
        // Longest first leaves no shard more than one cell's cost above another.
        const loads = plan.shards.map((s) => s.expectedSeconds);
        expect(Math.max(...loads) - Math.min(...loads)).toBeLessThanOrEqual(Math.max(...costs.values()) + 1e-9);
        expect(loads.reduce((a, b) => a + b, 0)).toBeCloseTo([...costs.values()].reduce((a, b) => a + b, 0), 6);
      }
      // Deterministic: the same inputs (costs inserted in another order) give the same plan and hash.
      const reversed = new Map([...costs].reverse());
      expect(planShards({ suiteHash: 'h', cellIds, count, costs: reversed })).toEqual(plan);
    }
  });

  it('balances by cost: one long cell gets a shard to itself, the short ones share the other', () => {
    const costs = new Map([['cell=0', 10], ['cell=1', 100], ['cell=2', 20], ['cell=3', 30], ['cell=4', 40]]);
    const plan = planShards({ suiteHash: 'h', cellIds: ids(5), count: 2, costs });
    expect(plan.shards.map((s) => s.cells)).toEqual([['cell=1'], ['cell=0', 'cell=2', 'cell=3', 'cell=4']]);
    expect(plan.shards.map((s) => s.expectedSeconds)).toEqual([100, 100]);
    // By count (no history) the same cells are dealt out in turn.
    expect(planShards({ suiteHash: 'h', cellIds: ids(5), count: 2 }).shards.map((s) => s.cells)).toEqual([
      ['cell=0', 'cell=2', 'cell=4'],
      ['cell=1', 'cell=3'],
    ]);
  });

  it('fills unknown costs with the median of the known ones, and says so', () => {
    const plan = planShards({ suiteHash: 'h', cellIds: ids(4), count: 2, costs: new Map([['cell=0', 50], ['cell=1', 10], ['cell=2', 30]]) });
    expect(plan.costBasis).toBe('history+median');
    expect(plan.cells.find((c) => c.id === 'cell=3')!.expectedSeconds).toBeNull();
    // Weights 50, 10, 30, 30 (median): {50, 10} and {30, 30}.
    expect(plan.shards.map((s) => s.cells)).toEqual([['cell=0', 'cell=1'], ['cell=2', 'cell=3']]);
    expect(plan.shards.map((s) => s.unknownCostCells)).toEqual([0, 1]);
  });

  it('changes the plan hash with the suite, the cells, the count and the costs that move a cell', () => {
    const base = planShards({ suiteHash: 'h', cellIds: ids(6), count: 2 }).planHash;
    expect(planShards({ suiteHash: 'other', cellIds: ids(6), count: 2 }).planHash).not.toBe(base);
    expect(planShards({ suiteHash: 'h', cellIds: ids(5), count: 2 }).planHash).not.toBe(base);
    expect(planShards({ suiteHash: 'h', cellIds: ids(6), count: 3 }).planHash).not.toBe(base);
    expect(planShards({ suiteHash: 'h', cellIds: ids(6), count: 2, costs: new Map(ids(6).map((id) => [id, id === 'cell=5' ? 1000 : 1])) }).planHash).not.toBe(base);
  });

  it('refuses more shards than cells, bad K/N, and ignores costs that are not positive numbers', () => {
    expect(() => planShards({ suiteHash: 'h', cellIds: ids(2), count: 3 })).toThrow(/3 shards for 2 cell\(s\)/);
    expect(() => parseShard('0/3')).toThrow(/K must be from 1 to N/);
    expect(() => parseShard('4/3')).toThrow(/K must be from 1 to N/);
    expect(() => parseShard('1-3')).toThrow(/expected K\/N/);
    expect(parseShard(' 2/3 ')).toEqual({ index: 2, count: 3 });
    const plan = planShards({ suiteHash: 'h', cellIds: ids(3), count: 1, costs: new Map([['cell=0', Number.NaN], ['cell=1', -4], ['cell=2', Infinity]]) });
    expect(plan.costBasis).toBe('count');
  });
});

describe('shard records and plan files', () => {
  const suite = { name: 's', matrix: { images: [0, 1, 2], precision: ['int8', 'int4'] } };

  it('records the whole plan so that a shard knows its own cells, and detects an edited record', () => {
    const cellIds = plannedCellIds(suite, ['images=1,2']);
    expect(cellIds).toEqual(['images=1,precision=int8', 'images=1,precision=int4', 'images=2,precision=int8', 'images=2,precision=int4']);
    const plan = planShards({ suiteHash: 'h', cellIds, count: 2 });
    const rec = shardRecord(plan, { index: 2, count: 2 }, 'board-b');
    expect(shardCellIds(rec)).toEqual(plan.shards[1]!.cells);
    expect(() => checkShardRecord(rec, 'h', 'f.json')).not.toThrow();
    expect(() => checkShardRecord({ ...rec, planShards: [1, 1, 1, 2] }, 'h', 'f.json')).toThrow(/f\.json: shard\.planHash does not match/);
    expect(() => shardRecord(plan, { index: 1, count: 3 }, 'b')).toThrow(/the plan has 2 shard/);
  });

  it('accepts a plan file of this suite and filters only', () => {
    const cellIds = plannedCellIds(suite, []);
    const plan = planShards({ suiteHash: 'h', cellIds, count: 3 });
    const json = JSON.parse(JSON.stringify(plan)) as unknown;
    expect(checkPlanFor(json, 'h', cellIds, 'plan.json').planHash).toBe(plan.planHash);
    expect(() => checkPlanFor(json, 'other', cellIds, 'plan.json')).toThrow(/another suite definition/);
    expect(() => checkPlanFor(json, 'h', cellIds.slice(1), 'plan.json')).toThrow(/cells differ/);
    const edited = JSON.parse(JSON.stringify(plan)) as { cells: Array<{ shard: number }> };
    edited.cells[0]!.shard = edited.cells[0]!.shard === 1 ? 2 : 1;
    expect(() => checkPlanFor(edited, 'h', cellIds, 'plan.json')).toThrow(/planHash does not match/);
    expect(() => checkPlanFor({ hello: 1 }, 'h', cellIds, 'plan.json')).toThrow(/not a plan/);
  });
});
