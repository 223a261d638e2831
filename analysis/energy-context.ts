/**
 * What an energy comparison rests on, said beside its verdicts: an energy figure is the power
 * reading as measured (on a Jetson's VDD_IN, the whole board), idle power included, so a change
 * of idle power between the runs moves it without any change of the work; its twin above idle
 * subtracts the idle power each run measured before each cell.
 */
import { metricDefinition } from '../core/metric-registry.ts';
import type { CellResult } from '../core/result-types.ts';
import { median } from '../core/stats.ts';
import type { ContextWarning } from './comparison-types.ts';

const ENERGY_UNITS = new Set(['J', 'J/token', 'J/image']);

/** Idle power of the two runs differing by more than this share is named (a board's idle wanders by a few %). */
export const IDLE_DIFFERENCE_PCT = 5;

export function isEnergyMetric(metric: string): boolean {
  return ENERGY_UNITS.has(metricDefinition(metric)?.unit ?? '');
}

/** The above-idle twin of an energy figure that includes idle power; null for a figure that is already net. */
export function aboveIdleTwin(metric: string): string | null {
  if (metric.includes('_net_')) return null;
  const twin = metric === 'decode_j_per_token' ? 'decode_net_j_per_token' : metric === 'image_encode_j_per_image' ? 'image_encode_net_j_per_image' : metric.replace(/_j$/, '_net_j');
  return twin !== metric && metricDefinition(twin) ? twin : null;
}

const idleWatts = (c: CellResult): number | null => c.probes?.power?.baseline?.watts ?? null;
const fmtW = (w: number | null): string => (w === null ? 'not measured' : `${w.toFixed(2)} W`);

/**
 * Context for the energy metrics compared: what they include and the idle power of each run,
 * and the cells whose idle power moved by more than IDLE_DIFFERENCE_PCT between the runs.
 */
export function energyContextWarnings(metrics: readonly string[], matched: ReadonlyArray<readonly [CellResult, CellResult]>): ContextWarning[] {
  const energy = metrics.filter(isEnergyMetric);
  if (!energy.length || !matched.length) return [];
  const gross = energy.filter((m) => !m.includes('_net_'));
  const out: ContextWarning[] = [];
  const sideIdle = (i: 0 | 1): number | null => median(matched.map((p) => idleWatts(p[i])).filter((w): w is number => w !== null));
  const bases = [...new Set(matched.flatMap(([b, c]) => [b.probes?.power?.basis, c.probes?.power?.basis]).filter((x): x is string => Boolean(x)))];
  if (gross.length) {
    const twins = gross.map(aboveIdleTwin).filter((t): t is string => t !== null);
    out.push({
      kind: 'energy',
      message:
        `${gross.join(', ')}: the power reading as measured (${bases.join(' / ') || 'basis not recorded'}), idle power included` +
        `${twins.length ? `; the same above idle: ${twins.join(', ')}` : ''}. Idle power sampled before each cell (median over cells): base ${fmtW(sideIdle(0))}, candidate ${fmtW(sideIdle(1))}`,
    });
  }
  const moved = matched.filter(([b, c]) => {
    const a = idleWatts(b);
    const z = idleWatts(c);
    return a !== null && z !== null && a > 0 && Math.abs(z / a - 1) * 100 > IDLE_DIFFERENCE_PCT;
  });
  if (moved.length) {
    const [b, c] = moved[0]!;
    out.push({
      kind: 'energy',
      message:
        `idle power differs by more than ${IDLE_DIFFERENCE_PCT}% in ${moved.length} cell(s) (e.g. ${c.id}: base ${fmtW(idleWatts(b))}, candidate ${fmtW(idleWatts(c))}): ` +
        'energy figures incl. idle move with it without any change of the work; the above-idle figures compare what the work adds',
      cellIds: moved.map(([, x]) => x.id),
    });
  }
  return out;
}

/**
 * How one cell's energy figure was obtained, for a note beside it (the published site): the
 * power basis, whether idle power is included, and the idle power the cell measured.
 */
export function energyFigureNote(metric: string, cell: CellResult): string | null {
  if (!isEnergyMetric(metric)) return null;
  const power = cell.probes?.power;
  const basis = power?.basis ?? 'basis not recorded';
  const idle = power?.baseline ? `${power.baseline.watts.toFixed(2)} W (${power.baseline.samples} samples over ${(power.baseline.durationMs / 1000).toFixed(2)} s before the cell)` : 'not measured';
  return metric.includes('_net_') ? `${basis} above the idle power, ${idle}` : `${basis} as measured, idle power included (idle ${idle})`;
}
