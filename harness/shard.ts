/**
 * Sharding a run's plan over N identical boards (issue 28): a pure function from the planned
 * cells (and, where the history knows them, their expected costs) to a deterministic, balanced
 * assignment of every cell to exactly one shard, plus the plan's hash that every shard records so
 * that `bench merge` joins only shards of one plan.
 *
 * Deterministic: the same cells, costs and shard count give the same assignment on every machine
 * (no clock, no randomness, no dependence on Map order). Balanced: greedy "longest first" on the
 * expected cost (each cell to the least loaded shard), which leaves no shard more than one cell's
 * cost above another; without costs every cell weighs the same and shard sizes differ by at most 1.
 */
import { createHash } from 'node:crypto';
import { InputError } from '../core/errors.ts';
import type { CostBasis, ShardRecord } from '../core/result-types.ts';
import type { Suite } from '../core/suite-types.ts';
import { applyFilters, expandMatrix, parseFilters } from '../core/matrix.ts';
import { HARD_CELL_LIMIT, plannedCellCount } from './run-plan.ts';

export type { CostBasis, ShardRecord };

/** Shard K of N, 1-based as written on the command line (`--shard 2/4`). */
export interface ShardSpec {
  index: number;
  count: number;
}

/** Shards beyond this are refused: a plan is split over a pool of boards, not thousands of jobs. */
export const MAX_SHARDS = 256;

/** How a plan's shards were balanced (the result schema's shard.costBasis). */
const COST_BASES: readonly CostBasis[] = ['history', 'history+median', 'count'];

/** Parses `K/N` (1 <= K <= N <= MAX_SHARDS). */
export function parseShard(text: string, flag = '--shard'): ShardSpec {
  const m = /^(\d{1,4})\/(\d{1,4})$/.exec(text.trim());
  if (!m) throw new InputError(`${flag} "${text}": expected K/N, e.g. 1/3 (shard K of N, counted from 1)`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || count > MAX_SHARDS) throw new InputError(`${flag} "${text}": N must be from 1 to ${MAX_SHARDS}`);
  if (index < 1 || index > count) throw new InputError(`${flag} "${text}": K must be from 1 to N (${count})`);
  return { index, count };
}

/** A board label as recorded in a shard and named in CI: letters, digits and . _ : @ + - (at most 100). */
export function checkBoardLabel(label: string, flag: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,99}$/.test(label)) throw new InputError(`${flag}: "${label.slice(0, 100)}" is not a board label (letters, digits and . _ : @ + -, at most 100)`);
  return label;
}

/** Parses a shard count (`--shards N`). */
export function parseShardCount(value: number, flag = '--shards'): number {
  if (!Number.isInteger(value) || value < 1 || value > MAX_SHARDS) throw new InputError(`${flag} expects an integer from 1 to ${MAX_SHARDS}, got ${String(value)}`);
  return value;
}

/** What a cell is expected to cost, when a history knows it. */
export type CellCosts = ReadonlyMap<string, number>;


export interface PlannedShardCell {
  id: string;
  /** 1-based shard the cell runs on. */
  shard: number;
  /** Expected seconds from the history; null when the history does not know the cell. */
  expectedSeconds: number | null;
}

export interface PlannedShard {
  shard: number;
  /** "K/N", the value of `bench run --shard`. */
  label: string;
  /** The shard's cells, in plan order. */
  cells: string[];
  /** Sum of the expected seconds the history knows for this shard's cells. */
  expectedSeconds: number;
  /** Cells of this shard the history does not know (not in expectedSeconds). */
  unknownCostCells: number;
}

export interface ShardPlan {
  /** Hash of the suite, the planned cells in order, the shard count and the assignment. */
  planHash: string;
  suiteHash: string;
  count: number;
  costBasis: CostBasis;
  /** Every planned cell in plan order with its shard. */
  cells: PlannedShardCell[];
  shards: PlannedShard[];
}

/** The plan hash: changes with the suite, the cells (filters), the shard count or the assignment. */
export function planHash(suiteHash: string, cellIds: readonly string[], shardOfCell: readonly number[], count: number): string {
  const text = JSON.stringify({ v: 1, suiteHash, count, cells: cellIds, shards: shardOfCell });
  return createHash('sha256').update(text).digest('hex').slice(0, 20);
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * Splits the planned cells (in plan order) into `count` shards. Costs that are not finite and
 * positive are ignored (a history value is untrusted input).
 */
export function planShards(input: { suiteHash: string; cellIds: readonly string[]; count: number; costs?: CellCosts }): ShardPlan {
  const { suiteHash, cellIds, count } = input;
  parseShardCount(count);
  if (new Set(cellIds).size !== cellIds.length) throw new InputError('the plan lists a cell twice; each cell once');
  if (count > cellIds.length) throw new InputError(`${count} shards for ${cellIds.length} cell(s): a shard would have no cell; use at most ${cellIds.length}`);
  const known = cellIds.map((id) => {
    const c = input.costs?.get(id);
    return c !== undefined && Number.isFinite(c) && c > 0 ? c : null;
  });
  const knownValues = known.filter((c): c is number => c !== null);
  const costBasis: CostBasis = knownValues.length === 0 ? 'count' : knownValues.length === cellIds.length ? 'history' : 'history+median';
  const fill = knownValues.length ? median(knownValues) : 1;
  const weight = known.map((c) => (costBasis === 'count' ? 1 : (c ?? fill)));

  // Longest first; equal weights keep plan order, so a count-balanced split deals cells out in turn.
  const order = cellIds.map((_, i) => i).sort((a, b) => weight[b]! - weight[a]! || a - b);
  const load = new Array<number>(count).fill(0);
  const size = new Array<number>(count).fill(0);
  const shardOf = new Array<number>(cellIds.length).fill(0);
  for (const i of order) {
    let best = 0;
    for (let s = 1; s < count; s++) {
      if (load[s]! < load[best]! || (load[s] === load[best] && size[s]! < size[best]!)) best = s;
    }
    load[best]! += weight[i]!;
    size[best]! += 1;
    shardOf[i] = best + 1;
  }
  const cells = cellIds.map((id, i) => ({ id, shard: shardOf[i]!, expectedSeconds: known[i]! }));
  const shards: PlannedShard[] = Array.from({ length: count }, (_, s) => {
    const mine = cells.filter((c) => c.shard === s + 1);
    return {
      shard: s + 1,
      label: `${s + 1}/${count}`,
      cells: mine.map((c) => c.id),
      expectedSeconds: mine.reduce((sum, c) => sum + (c.expectedSeconds ?? 0), 0),
      unknownCostCells: mine.filter((c) => c.expectedSeconds === null).length,
    };
  });
  return { planHash: planHash(suiteHash, cellIds, shardOf, count), suiteHash, count, costBasis, cells, shards };
}

/** The record of shard `spec` of a plan. */
export function shardRecord(plan: ShardPlan, spec: ShardSpec, board: string): ShardRecord {
  if (spec.count !== plan.count) throw new InputError(`--shard ${spec.index}/${spec.count}: the plan has ${plan.count} shard(s)`);
  return {
    index: spec.index,
    count: spec.count,
    planHash: plan.planHash,
    board,
    costBasis: plan.costBasis,
    planCells: plan.cells.map((c) => c.id),
    planShards: plan.cells.map((c) => c.shard),
  };
}

/** The cells of the record's own shard, in plan order. */
export function shardCellIds(record: ShardRecord): string[] {
  return record.planCells.filter((_, i) => record.planShards[i] === record.index);
}

/** Checks a recorded shard is self-consistent (its hash matches its plan); a result file is untrusted. */
export function checkShardRecord(record: ShardRecord, suiteHash: string, where: string): void {
  if (record.planCells.length !== record.planShards.length) throw new InputError(`${where}: shard.planCells and shard.planShards differ in length`);
  if (record.planShards.some((s) => !Number.isInteger(s) || s < 1 || s > record.count)) throw new InputError(`${where}: shard.planShards holds a shard outside 1..${record.count}`);
  if (planHash(suiteHash, record.planCells, record.planShards, record.count) !== record.planHash) {
    throw new InputError(`${where}: shard.planHash does not match the plan recorded with it (the file was edited, or written by another version)`);
  }
}

/**
 * The cells a run of the suite with these filters plans, in matrix order (the order shards are
 * dealt from; a shard may still shuffle its own cells). Sized before the matrix is expanded.
 */
export function plannedCellIds(suite: Pick<Suite, 'name' | 'matrix'>, filters: readonly string[]): string[] {
  const n = plannedCellCount(suite.matrix, filters);
  if (n > HARD_CELL_LIMIT) throw new InputError(`suite "${suite.name}": ${n.toLocaleString('en-US')} cells; more than ${HARD_CELL_LIMIT.toLocaleString('en-US')} is never planned: narrow the matrix or --filter`);
  const ids = applyFilters(expandMatrix(suite.matrix), parseFilters(filters, suite.matrix)).map((c) => c.id);
  if (ids.length === 0) throw new InputError(`--filter ${filters.join(' ')} selects no cell of suite "${suite.name}"`);
  return ids;
}

/**
 * A plan read from `bench plan --json` (untrusted) must be this suite's, with these cells: a shard
 * run from another plan would cover the wrong cells. Returns the checked plan.
 */
export function checkPlanFor(plan: unknown, suiteHash: string, cellIds: readonly string[], where: string): ShardPlan {
  const p = plan as Partial<ShardPlan> | null;
  if (!p || typeof p !== 'object' || typeof p.planHash !== 'string' || !Array.isArray(p.cells) || typeof p.count !== 'number') {
    throw new InputError(`${where}: not a plan written by \`bench plan --json\` (needs planHash, count, cells)`);
  }
  // Recorded in the shard's result as they are: a value the result schema refuses would leave the
  // measured run unreadable by report, merge and history.
  if (!Number.isInteger(p.count) || p.count < 1 || p.count > MAX_SHARDS) throw new InputError(`${where}: count must be an integer from 1 to ${MAX_SHARDS}`);
  if (!COST_BASES.includes(p.costBasis as CostBasis)) throw new InputError(`${where}: costBasis must be one of ${COST_BASES.join(', ')}`);
  if (p.suiteHash !== suiteHash) throw new InputError(`${where}: the plan is of another suite definition (suiteHash ${String(p.suiteHash).slice(0, 40)}, this suite ${suiteHash})`);
  const ids = p.cells.map((c) => String((c as PlannedShardCell | null)?.id));
  const shards = p.cells.map((c) => Number((c as PlannedShardCell | null)?.shard));
  if (ids.length !== cellIds.length || ids.some((id, i) => id !== cellIds[i])) {
    throw new InputError(`${where}: the plan's cells differ from the ones this suite and --filter select (${ids.length} vs ${cellIds.length} cells); plan again with the same --filter`);
  }
  if (shards.some((s) => !Number.isInteger(s) || s < 1 || s > p.count!) || planHash(suiteHash, ids, shards, p.count) !== p.planHash) {
    throw new InputError(`${where}: planHash does not match the plan's cells and shards (edited, or written by another version)`);
  }
  return p as ShardPlan;
}
