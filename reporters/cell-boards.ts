/**
 * Which board measured which cell, in a result of several boards (`bench merge` of shards run on
 * a pool of identical boards: CellResult.board). Where the cells' boards differ, every table whose
 * rows are cells gets a Board column after its Cell column (the summary tables, whose rows are
 * not named by cell, add their own); where every cell ran on one board, the header names it once.
 * A result of one board (not merged) is shown as before.
 */
import type { CellResult, RunResult } from '../core/result-types.ts';
import type { RunRef } from '../analysis/comparison-types.ts';
import { cellBoards as boardsOfCells } from '../analysis/merge-shards.ts';
import { terminalSafe } from '../core/terminal-text.ts';
import { cell, type Section, type TableCell } from './report-model.ts';

/** A board label from a result file, as one bounded line (result files are untrusted). */
export const boardLabel = (board: string): string => terminalSafe(board, { oneLine: true, maxChars: 80 });

/** Cell id -> the board it ran on (as shown), when the cells of the result ran on more than one board; else null. */
export function cellBoards(result: RunResult): Map<string, string> | null {
  const boards = boardsOfCells(result);
  return boards ? new Map([...boards].map(([id, board]) => [id, boardLabel(board)])) : null;
}

/** The Board cell of a comparison row: the board of each side's cell, or the run's target where its cells ran on one board. */
export function comparedBoards(base: RunRef, cand: RunRef, cellId: string): TableCell {
  const side = (r: RunRef) => boardLabel(r.cellBoards?.[cellId] ?? r.target);
  return cell(`${side(base)} / ${side(cand)}`);
}

/** The Board column's cell of one row. */
export function boardCell(boards: ReadonlyMap<string, string>, cellId: string): TableCell {
  const board = boards.get(cellId);
  return board === undefined ? cell('not recorded', { status: 'missing', note: 'the result does not say which board measured this cell' }) : cell(board);
}

/** " (board orin-2)" after a cell's name where the result's cells ran on several boards. */
export function onBoard(boards: ReadonlyMap<string, string> | null, c: CellResult): string {
  const board = boards?.get(c.id);
  return board === undefined ? '' : ` (board ${board})`;
}

/**
 * Adds a Board column after the Cell column of every table whose rows are cells (first column
 * "Cell", the cell's id in it). Tables that already have one (the summary) are left as they are.
 */
export function addBoardColumns(sections: readonly Section[], boards: ReadonlyMap<string, string>): void {
  for (const table of sections.flatMap((s) => s.tables)) {
    if (table.columns[0]?.header !== 'Cell' || table.columns.some((c) => c.header === 'Board')) continue;
    table.columns.splice(1, 0, { header: 'Board', align: 'left' });
    for (const row of table.rows) row.splice(1, 0, boardCell(boards, row[0]?.text ?? ''));
  }
}

/** The header's lines about the shards a merged result was joined from, or the shard a result is. */
export function shardFacts(result: RunResult): string[] {
  const m = result.merged;
  if (m) {
    const boards = [...new Set(result.cells.map((c) => c.board).filter((b): b is string => b !== undefined))].map(boardLabel);
    const shards = m.shards.map((s) => `${s.index}/${m.count} on ${boardLabel(s.board)} (host ${boardLabel(s.host)}, ${s.cells} cell(s), ${s.status})`).join('; ');
    const missing = m.missingShards.length ? `; MISSING shard(s) ${m.missingShards.map((k) => `${k}/${m.count}`).join(', ')}` : '';
    const where = boards.length > 1 ? 'the Board column of each table says which board measured each cell' : boards.length === 1 ? `every cell ran on board ${boards[0]}` : 'no cell was measured';
    return [`Merged from ${m.shards.length} of ${m.count} shard(s) of plan ${m.planHash} (bench merge): ${shards}${missing}; ${where}`];
  }
  const s = result.shard;
  return s ? [`Shard ${s.index}/${s.count} of plan ${s.planHash}, on board ${boardLabel(s.board)}: ${result.plannedCells.length} of the plan's ${s.planCells.length} cell(s)`] : [];
}
