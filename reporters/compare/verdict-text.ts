import { fmt } from '../format.ts';
import type { Comparison, MetricComparison } from '../../analysis/comparison-types.ts';

/** "+10.3%" / "-4.0%": a sign on every change so a reader never guesses the direction. */
export function fmtPct(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  const s = value.toFixed(Math.abs(value) >= 100 ? 0 : 1);
  return value >= 0 ? `+${s}%` : `${s}%`;
}

export function fmtCiPct(ci: [number, number] | null): string {
  return ci ? `${fmtPct(ci[0])} … ${fmtPct(ci[1])}` : '–';
}

export function fmtMedian(value: number | null, unit: string): string {
  return value === null ? '–' : `${fmt(value)}${unit ? ` ${unit}` : ''}`;
}

/** The verdict with what the threshold made of it, as one phrase. */
export function verdictText(row: MetricComparison, thresholdPct: number): string {
  let text: string;
  if (row.regression) text = 'slower: regression';
  else if (row.improvement) text = 'faster: improvement';
  else if (row.verdict === 'slower' || row.verdict === 'faster') text = `${row.verdict} (within ${thresholdPct}%)`;
  else text = row.verdict;
  if (row.note && row.verdict === 'insufficient data') text += ` (${row.note})`;
  if (row.unjudged) text += `; the median moved beyond ${thresholdPct}%: cannot judge`;
  if (row.throttled) text += `; throttled in ${row.throttled === 'both' ? 'both runs' : row.throttled === 'base' ? 'base' : 'candidate'}`;
  return text;
}

/** One-line outcome of the gate, for headings and CI logs. */
export function gateLine(c: Comparison): string {
  const cond = `threshold ${c.thresholdPct}%, ${c.confidence * 100}% confidence`;
  const parts: string[] = [];
  if (c.summary.regressions) {
    parts.push(`${c.summary.regressions} regression${c.summary.regressions === 1 ? '' : 's'} in ${c.regressedCells.length} cell${c.regressedCells.length === 1 ? '' : 's'}`);
  }
  if (c.newlyFailedCells.length) parts.push(`${c.newlyFailedCells.length} cell${c.newlyFailedCells.length === 1 ? '' : 's'} newly failing`);
  const unjudged = unjudgedPhrase(c);
  if (parts.length) return `FAIL: ${parts.join(', ')}${unjudged ? `; also ${unjudged}` : ''} (${cond})`;
  if (unjudged) return `CANNOT JUDGE (not a pass): ${unjudged} (${cond})`;
  return `pass: no regression beyond ${c.thresholdPct}% (${cond})`;
}

/** "3 metric(s) in 2 cell(s) got worse by more than 5% but ... ", or '' when every row could be judged. */
function unjudgedPhrase(c: Comparison): string {
  const rows = c.rows.filter((r) => r.unjudged);
  if (!rows.length) return '';
  const cells = c.unjudgedCells.length;
  const worst = rows.reduce((w, r) => (Math.abs(r.changePct ?? 0) > Math.abs(w.changePct ?? 0) ? r : w));
  return (
    `${rows.length} median${rows.length === 1 ? '' : 's'} in ${cells} cell${cells === 1 ? '' : 's'} moved beyond the ${c.thresholdPct}% threshold ` +
    `the bad way (up to ${fmtPct(worst.changePct)}, ${worst.metric} of ${worst.cellId}) but no verdict is possible` +
    (worst.note ? `: ${worst.note}` : '')
  );
}

export function summaryLine(c: Comparison): string {
  const s = c.summary;
  return (
    `${s.compared} comparisons (cell × metric): ${s.slower} slower (${s.regressions} beyond the threshold), ` +
    `${s.faster} faster (${s.improvements} beyond the threshold), ${s.unchanged} no significant change, ${s.insufficient} insufficient data`
  );
}
