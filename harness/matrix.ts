import { InputError } from '../core/errors.ts';
import type { AxisValue, Cell, Suite } from '../core/suite-types.ts';

/** Stable cell id from params in axis order, e.g. "images=1,prefill=128,precision=int8". */
export function cellId(params: Record<string, AxisValue>, axes: readonly string[]): string {
  return axes.map((a) => `${a}=${String(params[a])}`).join(',');
}

/** Cartesian product of the matrix axes, in the order the axes are written (last axis fastest). */
export function expandMatrix(matrix: Suite['matrix']): Cell[] {
  const axes = Object.keys(matrix);
  let combos: Array<Record<string, AxisValue>> = [{}];
  for (const axis of axes) {
    const next: Array<Record<string, AxisValue>> = [];
    for (const combo of combos) for (const value of matrix[axis]!) next.push({ ...combo, [axis]: value });
    combos = next;
  }
  return combos.map((params, index) => ({ id: cellId(params, axes), index, params }));
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
