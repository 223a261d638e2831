import { InputError } from './errors.ts';
import type { AxisValue, Cell, Suite } from './suite-types.ts';

/** Text that needs no quoting in a cell id: no separator, no quote, no space. */
const PLAIN = /^[A-Za-z0-9_.+\-:/]+$/;

/** True when the text would read back as a number or a boolean. */
function readsAsTyped(text: string): boolean {
  return text === 'true' || text === 'false' || String(Number(text)) === text;
}

/** The runner a cell runs on: its `runner` axis value, else the suite's runner. */
export function cellRunnerName(suite: Pick<Suite, 'runner'>, params: Record<string, AxisValue>): string {
  const axis = params['runner'];
  if (axis !== undefined) return String(axis);
  if (suite.runner === undefined) throw new InputError('suite has neither a runner nor a matrix.runner axis');
  return suite.runner;
}

/** Every runner a suite uses (the `runner` axis, else the top-level runner), in order. */
export function suiteRunnerNames(suite: Pick<Suite, 'runner' | 'matrix'>): string[] {
  const axis = suite.matrix['runner'];
  if (axis) return axis.map(String);
  return suite.runner === undefined ? [] : [suite.runner];
}

/**
 * A string as it appears in a cell id: bare when it is plain and cannot be mistaken for a number
 * or a boolean ("int8", "448x448"), else JSON-quoted with "," and "=" escaped, so that the id
 * never holds a separator that is not one ("1" and 1 differ; "1,b=2" stays one value).
 */
function encodeText(text: string): string {
  if (PLAIN.test(text) && !readsAsTyped(text)) return text;
  return JSON.stringify(text).replace(/,/g, '\\u002c').replace(/=/g, '\\u003d');
}

function encodeValue(value: AxisValue): string {
  return typeof value === 'string' ? encodeText(value) : String(value);
}

function decodeText(text: string, what: string): string {
  if (!text.startsWith('"')) return text;
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v === 'string') return v;
  } catch {
    // reported below
  }
  throw new InputError(`cell id: unreadable quoted ${what} ${text.slice(0, 80)}`);
}

function decodeValue(text: string): AxisValue {
  if (text.startsWith('"')) return decodeText(text, 'value');
  if (text === 'true' || text === 'false') return text === 'true';
  return String(Number(text)) === text ? Number(text) : text;
}

/**
 * Stable cell id from params in axis order, e.g. "images=1,prefill=128,precision=int8". Ids are
 * unique and reversible (parseCellId): values of different types or holding "," or "=" are
 * quoted (tag=1 vs tag="1").
 */
export function cellId(params: Record<string, AxisValue>, axes: readonly string[]): string {
  return axes.map((a) => `${encodeText(a)}=${encodeValue(params[a]!)}`).join(',');
}

/** The params a cell id was made from, axes in id order. */
export function parseCellId(id: string): Record<string, AxisValue> {
  const params: Record<string, AxisValue> = {};
  for (const part of id.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new InputError(`cell id "${id.slice(0, 200)}": "${part.slice(0, 80)}" is not axis=value`);
    params[decodeText(part.slice(0, eq), 'axis')] = decodeValue(part.slice(eq + 1));
  }
  return params;
}

/**
 * Cartesian product of the matrix axes, in the order the axes are written (last axis fastest).
 * A value listed twice on one axis would measure the same cell twice under one id: refused.
 */
export function expandMatrix(matrix: Suite['matrix']): Cell[] {
  const axes = Object.keys(matrix);
  for (const axis of axes) {
    const seen = new Set<string>();
    for (const value of matrix[axis]!) {
      const key = encodeValue(value);
      if (seen.has(key)) throw new InputError(`matrix axis "${axis}" lists ${JSON.stringify(value)} twice; each value once`);
      seen.add(key);
    }
  }
  let combos: Array<Record<string, AxisValue>> = [{}];
  for (const axis of axes) {
    const next: Array<Record<string, AxisValue>> = [];
    for (const combo of combos) for (const value of matrix[axis]!) next.push({ ...combo, [axis]: value });
    combos = next;
  }
  return combos.map((params, index) => ({ id: cellId(params, axes), index, params }));
}

/** The number of cells of a matrix, without expanding it. */
export function matrixSize(matrix: Suite['matrix']): number {
  return Object.values(matrix).reduce((n, values) => n * values.length, 1);
}

export interface CellFilter {
  axis: string;
  values: string[];
}

/**
 * Parses `key=value` filters; `key=a,b` matches either value. Filters on the same axis are
 * merged (either matches); filters on different axes must all match.
 */
export function parseFilters(specs: readonly string[], matrix: Suite['matrix']): CellFilter[] {
  const byAxis = new Map<string, string[]>();
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    if (eq <= 0 || eq === spec.length - 1) {
      throw new InputError(`--filter "${spec}": expected key=value (e.g. images=1 or precision=int8,int4)`);
    }
    const axis = spec.slice(0, eq).trim();
    const values = spec.slice(eq + 1).split(',').map((v) => v.trim()).filter(Boolean);
    const known = matrix[axis];
    if (!known) {
      throw new InputError(`--filter "${spec}": unknown axis "${axis}"; the suite's axes are ${Object.keys(matrix).join(', ')}`);
    }
    const knownText = known.map(String);
    for (const v of values) {
      if (!knownText.includes(v)) {
        throw new InputError(`--filter "${spec}": axis "${axis}" has no value "${v}"; its values are ${knownText.join(', ')}`);
      }
    }
    byAxis.set(axis, [...(byAxis.get(axis) ?? []), ...values]);
  }
  return [...byAxis].map(([axis, values]) => ({ axis, values }));
}

export function applyFilters(cells: readonly Cell[], filters: readonly CellFilter[]): Cell[] {
  return cells.filter((c) => filters.every((f) => f.values.includes(String(c.params[f.axis]))));
}
