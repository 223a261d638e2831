import type { Comparison } from '../../analysis/comparison-types.ts';

/**
 * The comparison as JSON, for tools: every row with its statistics, the context warnings, and
 * `regressedCells` (cell ids to re-run to confirm before alerting).
 */
export function formatComparisonJson(c: Comparison): string {
  return `${JSON.stringify(c, null, 2)}\n`;
}
