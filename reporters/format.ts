import type { MetricStats } from '../core/stats.ts';

/** Fixed decimals chosen by magnitude so tables stay readable from 0.05 ms to 20 000 ms. */
export function fmt(value: number | undefined | null, digits?: number): string {
  if (value === undefined || value === null || !Number.isFinite(value)) return '–';
  const d = digits ?? (Math.abs(value) >= 100 ? 1 : Math.abs(value) >= 10 ? 2 : 3);
  return value.toFixed(d);
}

export function fmtStat(s: MetricStats | undefined, digits?: number): string {
  return s ? fmt(s.median, digits) : '–';
}

/** The distribution-free 95% interval of the median; "n < 6" when the sample is too small for one. */
export function fmtCi(s: MetricStats | undefined, digits?: number): string {
  if (!s) return '–';
  if (!s.ciMedian) return s.ciMedian === null ? 'n < 6' : '–';
  return `${fmt(s.ciMedian[0], digits)} – ${fmt(s.ciMedian[1], digits)}`;
}

export function fmtBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return '–';
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
  if (bytes >= 2 ** 20) return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  return `${(bytes / 1024).toFixed(1)} KiB`;
}
