import { InputError } from '../../core/errors.ts';
import type { CellResult, RunResult } from '../../core/result-types.ts';
import { figureSourceOf } from '../../core/figure-source.ts';
import { runFacts } from '../../analysis/run-facts.ts';
import { cellRunnerName } from '../../core/matrix.ts';

export type CompareBy = 'target' | 'backend' | 'precision';
export const COMPARE_BY: readonly CompareBy[] = ['target', 'backend', 'precision'];

/**
 * A grid of cells from several runs: one column per value of the compare-by axis, one row per
 * remaining combination (cell params without that axis, plus target/backend when they vary and
 * are not the axis). Each (row, column) holds at most one cell; two candidates is an error, so
 * that a published table never silently picks one of two runs.
 */
export interface GridEntry {
  cell: CellResult;
  /** Index of the run in the input list. */
  run: number;
}

export interface ComparisonGrid {
  compareBy: CompareBy;
  columns: string[];
  rows: Array<{ key: string; entries: Array<GridEntry | null> }>;
  /** For each column, the indexes of the runs that contributed to it. */
  columnRuns: number[][];
  /**
   * What was folded into the columns rather than split into rows (compare-by target: each
   * board's backend and precision are how that board runs the workload), with each column's value.
   */
  folded: Array<{ label: string; values: string[] }>;
}

/** The backend that produced a cell: the runner, refined by what the runner recorded about itself. */
export function backendOf(result: RunResult, cell: CellResult): string {
  const s = cell.settings;
  if (typeof s['backend'] === 'string') return s['backend'];
  const recorded = s['runner'];
  const runner = typeof recorded === 'string' ? recorded : cellRunnerName(result.suite.definition, cell.params);
  const ep = s['executionProvider'];
  const server = s['server'];
  return `${runner}${typeof ep === 'string' ? `/${ep}` : ''}${typeof server === 'string' ? ` (${server})` : ''}`;
}

export function precisionOf(cell: CellResult): string {
  return String(cell.params['precision'] ?? cell.model?.precision ?? 'default');
}

/** Target labels, made unique by host (and then run id) when two runs share a target name. */
function targetLabels(results: readonly RunResult[]): string[] {
  const labels = results.map((r) => r.target);
  const clash = (ls: string[], i: number) => ls.some((l, j) => j !== i && l === ls[i]);
  const hostOf = (i: number) => results[i]!.environment.host.hostname;
  const withHost = labels.map((l, i) =>
    clash(labels, i) && results.some((r, j) => r.target === l && hostOf(j) !== hostOf(i)) ? `${l} (${hostOf(i)})` : l,
  );
  // Same target on the same host: the runs are alternatives of one column; keep them apart by run id.
  return withHost.map((l, i) => (clash(withHost, i) ? `${l} (${results[i]!.runId})` : l));
}

function paramsKey(cell: CellResult, drop: string | null): string {
  // The cell id is built from all params already.
  if (drop === null || !(drop in cell.params)) return cell.id;
  return Object.entries(cell.params)
    .filter(([k]) => k !== drop)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(',');
}

export function buildComparisonGrid(results: readonly RunResult[], compareBy: CompareBy): ComparisonGrid {
  if (!results.length) throw new InputError('a comparison table needs at least one result');
  if (!COMPARE_BY.includes(compareBy)) throw new InputError(`--compare-by must be one of ${COMPARE_BY.join(', ')}, got "${String(compareBy)}"`);
  const seen = new Set<string>();
  for (const r of results) {
    if (seen.has(r.runId)) throw new InputError(`run ${r.runId} (suite ${r.suite.name}) is given twice`);
    seen.add(r.runId);
  }
  const targets = targetLabels(results);
  const instances = results.flatMap((r, run) =>
    r.cells.map((cell) => ({ cell, run, target: targets[run]!, backend: backendOf(r, cell), precision: precisionOf(cell) })),
  );
  const varies = (f: (i: (typeof instances)[number]) => string) => instances.some((i) => f(i) !== f(instances[0]!));
  // Compared by target, rows are the workload: a board's backend (axera-subgraph, command...) and
  // precision are how that board runs it, so they go with the column unless one column has several.
  const perColumn = (f: (i: (typeof instances)[number]) => string) => {
    const sets = new Map<string, Set<string>>();
    for (const i of instances) {
      const set = sets.get(i[compareBy]) ?? new Set<string>();
      set.add(f(i));
      sets.set(i[compareBy], set);
    }
    return sets;
  };
  const oneEach = (sets: Map<string, Set<string>>) => [...sets.values()].every((set) => set.size === 1);
  const backends = perColumn((i) => i.backend);
  const precisions = perColumn((i) => i.precision);
  const foldBackend = compareBy === 'target' && oneEach(backends);
  const foldPrecision = compareBy === 'target' && oneEach(precisions) && new Set([...precisions.values()].map((set) => [...set][0])).size > 1;
  const rowTarget = compareBy !== 'target' && varies((i) => i.target);
  const rowBackend = compareBy !== 'backend' && !foldBackend && varies((i) => i.backend);

  // Insertion-ordered sets: first appearance (input order, then matrix order) is the table order.
  const columns = new Set<string>();
  const rowKeys = new Set<string>();
  const slots = new Map<string, GridEntry>();
  for (const inst of instances) {
    const column = inst[compareBy];
    const parts = [
      ...(rowTarget ? [`target=${inst.target}`] : []),
      ...(rowBackend ? [`backend=${inst.backend}`] : []),
      paramsKey(inst.cell, compareBy === 'precision' || foldPrecision ? 'precision' : null),
    ].filter(Boolean);
    const row = parts.join(',') || '(all)';
    columns.add(column);
    rowKeys.add(row);
    const slot = `${row}\u0000${column}`;
    const prior = slots.get(slot);
    if (prior) {
      const a = results[prior.run]!;
      const b = results[inst.run]!;
      throw new InputError(
        `two results fill the same table entry (row ${row}, ${compareBy} ${column}): run ${a.runId} (suite ${a.suite.name}) ` +
          `and run ${b.runId} (suite ${b.suite.name}); pass one of them`,
      );
    }
    slots.set(slot, { cell: inst.cell, run: inst.run });
  }
  const columnList = [...columns];
  const columnRuns = columnList.map((col) => [...new Set(instances.filter((i) => i[compareBy] === col).map((i) => i.run))]);
  const folded: ComparisonGrid['folded'] = [];
  const valuesOf = (sets: Map<string, Set<string>>) => columnList.map((col) => [...(sets.get(col) ?? [])].join(' / '));
  if (foldBackend && varies((i) => i.backend)) folded.push({ label: 'backend', values: valuesOf(backends) });
  if (foldPrecision) folded.push({ label: 'precision', values: valuesOf(precisions) });
  return {
    compareBy,
    folded,
    columns: columnList,
    rows: [...rowKeys].map((key) => ({ key, entries: columnList.map((col) => slots.get(`${key}\u0000${col}`) ?? null) })),
    columnRuns,
  };
}

/**
 * What differs between the columns' environments: for each fact, the value(s) of each column;
 * only facts that are not the same in every column are returned.
 */
export function columnDifferences(results: readonly RunResult[], grid: ComparisonGrid): Array<{ label: string; values: string[] }> {
  const facts = results.map(runFacts);
  const keys = [...new Set(facts.flatMap((f) => [...f.keys()]))];
  const out: Array<{ label: string; values: string[] }> = [];
  for (const key of keys) {
    // The compare-by axis itself differs by construction; saying so would be noise.
    if (grid.compareBy === 'target' && key === 'target') continue;
    const label = facts.find((f) => f.has(key))!.get(key)!.label;
    const values = grid.columnRuns.map((runs) => [...new Set(runs.map((i) => facts[i]!.get(key)?.value ?? '(not recorded)'))].join(' / '));
    if (new Set(values).size > 1) out.push({ label, values });
  }
  const models = grid.columns.map((_, ci) => {
    const archs = new Set(grid.rows.map((r) => r.entries[ci]?.cell.model?.architecture).filter((a): a is string => a !== undefined));
    return [...archs].join(' / ') || '(not recorded)';
  });
  if (new Set(models).size > 1) out.push({ label: 'model', values: models });
  const sources = grid.columns.map((_, ci) => {
    const kinds = new Set(grid.rows.map((r) => r.entries[ci]).filter((e): e is GridEntry => e !== null).map((e) => figureSourceOf(e.cell.settings)));
    return [...kinds].join(' / ') || '(none)';
  });
  if (new Set(sources).size > 1) out.push({ label: 'how the figures were obtained', values: sources });
  return [...grid.folded, ...out];
}
