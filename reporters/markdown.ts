import { markdownTable } from 'markdown-table';
import type { CellResult, RunResult } from '../core/result-types.ts';
import type { AxisValue } from '../core/suite-types.ts';
import { fmt, fmtBytes, fmtCi, fmtStat } from './format.ts';

const KNOWN_AXES = new Set(['images', 'prefill', 'precision']);

function okCells(result: RunResult): CellResult[] {
  return result.cells.filter((c) => c.status === 'ok');
}

function otherAxes(cell: CellResult): string {
  return Object.entries(cell.params)
    .filter(([k]) => !KNOWN_AXES.has(k))
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(', ');
}

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) out.set(key(item), [...(out.get(key(item)) ?? []), item]);
  return out;
}

function byNumber(a: AxisValue | undefined, b: AxisValue | undefined): number {
  return Number(a ?? 0) - Number(b ?? 0);
}

/** The seed's Axera table layout, one table per precision (and per extra-axis combination). */
export function axeraStyleTables(result: RunResult): string {
  const prefills = new Set(okCells(result).map((c) => String(c.params['prefill'] ?? '')));
  const groups = groupBy(okCells(result), (c) =>
    [
      String(c.params['precision'] ?? 'default'),
      prefills.size > 1 ? `${String(c.params['prefill'])} text tokens` : '',
      otherAxes(c),
    ]
      .filter(Boolean)
      .join(', '),
  );
  const parts: string[] = [];
  for (const [group, cells] of groups) {
    cells.sort((a, b) => byNumber(a.params['images'], b.params['images']) || byNumber(a.params['prefill'], b.params['prefill']));
    const rows = cells.map((c) => {
      const m = c.metrics;
      const counted = c.iterations.find((i) => !i.warmup)?.promptTokens;
      // A runner that cannot know the count records NaN (null once read back from JSON).
      const prompt = typeof counted === 'number' && Number.isFinite(counted) ? counted : undefined;
      return [
        String(c.params['images'] ?? 0),
        m['image_encode_ms'] ? `${fmtStat(m['image_encode_ms'])} ms` : '–',
        `${fmtStat(m['prefill_ms'])} ms (${prompt ?? '?'} tokens)`,
        `${fmtStat(m['ttft_ms'])} ms`,
        `${fmtStat(m['tpot_ms'])} ms`,
        `${fmtStat(m['decode_tokens_per_s'], 2)} tokens/sec`,
      ];
    });
    parts.push(
      `### ${group}\n\n` +
        markdownTable(
          [['Image num', 'ImageEncoder', 'Prefill TTFT', 'TTFT (end to end)', 'Decoder', 'tokens/s'], ...rows],
          { align: ['r', 'r', 'r', 'r', 'r', 'r'] },
        ),
    );
  }
  return parts.join('\n\n');
}

/** Per-subgraph latency: per invocation and per request, and the graph's share of the request. */
export function subgraphTable(result: RunResult): string {
  const rows: string[][] = [];
  for (const c of okCells(result)) {
    const e2e = c.metrics['e2e_ms']?.median;
    const entries = Object.entries(c.subgraphs).sort(([, a], [, b]) => b.perRequest.median - a.perRequest.median);
    for (const [key, s] of entries) {
      rows.push([
        c.id,
        key,
        fmt(s.invocationsPerRequest, 0),
        fmtStat(s.perInvocation),
        fmt(s.perInvocation.p90),
        fmtStat(s.perRequest),
        e2e ? `${fmt((s.perRequest.median / e2e) * 100, 1)}%` : '–',
      ]);
    }
  }
  if (rows.length === 0) return '_No subgraph timings._';
  return markdownTable(
    [['Cell', 'Graph / phase', 'Calls per request', 'Per call median (ms)', 'Per call p90 (ms)', 'Per request median (ms)', 'Share of request'], ...rows],
    { align: ['l', 'l', 'r', 'r', 'r', 'r', 'r'] },
  );
}

/**
 * Each phase's share of TTFT, from means so the shares add up: preprocess, image encode and
 * prefill, and whatever the runner spent between them ("other").
 */
export function phaseShareTable(result: RunResult): string {
  const rows = okCells(result).map((c) => {
    const ttft = c.metrics['ttft_ms']?.mean;
    const share = (name: string) => {
      const v = c.metrics[name]?.mean ?? 0;
      return ttft ? `${fmt((v / ttft) * 100, 1)}%` : '–';
    };
    const known = ['preprocess_ms', 'image_encode_ms', 'prefill_ms'].reduce((s, n) => s + (c.metrics[n]?.mean ?? 0), 0);
    const other = ttft ? `${fmt(((ttft - known) / ttft) * 100, 1)}%` : '–';
    return [c.id, `${fmt(ttft)} ms`, share('preprocess_ms'), share('image_encode_ms'), share('prefill_ms'), other];
  });
  return markdownTable([['Cell', 'TTFT mean', 'preprocess', 'image_encode', 'prefill', 'other'], ...rows], {
    align: ['l', 'r', 'r', 'r', 'r', 'r'],
  });
}

/** Power and energy per phase, with the sampling they rest on, and the throttling watch. */
export function energyTable(result: RunResult): string | null {
  const cells = result.cells.filter((c) => c.probes);
  if (cells.length === 0) return null;
  const rows = cells.map((c) => {
    const m = c.metrics;
    const p = c.probes!;
    const interval = p.runs.map((r) => `${r.probe} ${r.samples} @ ${r.intervalMs} ms`).join(', ');
    const t = p.thermal;
    return [
      c.id,
      p.power?.basis ?? 'no power reading',
      fmtStat(m['power_idle_w']),
      fmtStat(m['power_image_encode_w']),
      fmtStat(m['image_encode_j_per_image']),
      fmtStat(m['power_prefill_w']),
      fmtStat(m['energy_prefill_j']),
      fmtStat(m['power_decode_w']),
      fmtStat(m['decode_j_per_token']),
      interval,
      t.maxTempC === null ? '–' : `${fmt(t.maxTempC, 1)} °C (${t.maxTempSensor})`,
      c.throttled ? `throttled: ${(c.throttleReasons ?? []).join('; ')}` : 'no',
    ];
  });
  return markdownTable(
    [['Cell', 'Power basis', 'Idle W', 'Encode W', 'J/image', 'Prefill W', 'Prefill J', 'Decode W', 'J/token', 'Samples', 'Max temp', 'Throttling'], ...rows],
    { align: ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l', 'r', 'l'] },
  );
}

/** Kernel time per operator type of each graph, from the runtime's profiler (`--ort-profile`). */
export function operatorTable(result: RunResult, top = 8): string | null {
  const rows: string[][] = [];
  for (const c of result.cells) {
    for (const [graph, ops] of Object.entries(c.operatorProfile?.graphs ?? {})) {
      for (const o of ops.slice(0, top)) rows.push([c.id, graph, o.op, String(o.calls), fmt(o.totalMs), `${fmt(o.share * 100, 1)}%`]);
    }
  }
  if (rows.length === 0) return null;
  return markdownTable([['Cell', 'Graph', 'Operator', 'Calls', 'Kernel time (ms)', 'Share of graph'], ...rows], {
    align: ['l', 'l', 'l', 'r', 'r', 'r'],
  });
}

const DETAIL_METRICS = [
  'ttft_ms',
  'image_encode_ms',
  'image_encode_per_image_ms',
  'prefill_ms',
  'prefill_tokens_per_s',
  'tpot_ms',
  'decode_tokens_per_s',
  'e2e_ms',
  'load_ms',
  'peak_rss_mb',
  'power_idle_w',
  'power_request_w',
  'energy_request_j',
  'energy_prefill_j',
  'decode_j_per_token',
  'image_encode_j_per_image',
];

/** Every metric with its full statistics. */
export function statisticsTable(result: RunResult): string {
  const rows: string[][] = [];
  for (const c of okCells(result)) {
    for (const name of DETAIL_METRICS) {
      const s = c.metrics[name];
      if (!s) continue;
      rows.push([c.id, name, s.unit, String(s.n), fmt(s.median), fmt(s.mean), fmt(s.p90), fmt(s.p99), fmt(s.stdev), fmtCi(s)]);
    }
  }
  return markdownTable([['Cell', 'Metric', 'Unit', 'n', 'median', 'mean', 'p90', 'p99', 'stdev', '95% CI of median'], ...rows], {
    align: ['l', 'l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
  });
}

const pctOrDash = (v: number | null | undefined, digits = 1) => (v === null || v === undefined || !Number.isFinite(v) ? '–' : `${v.toFixed(digits)}%`);

/**
 * Per cell: how measuring stopped, how wide the median intervals of the key metrics are, what
 * the machine did meanwhile, and the cell's flags (thresholds: harness/cell-quality.ts).
 */
export function measurementQualityTable(result: RunResult): string | null {
  const cells = okCells(result).filter((c) => c.stopping || c.machine || c.flags);
  if (!cells.length) return null;
  const half = (c: CellResult, m: string) => {
    const w = c.spread?.[m]?.ciHalfWidthPct ?? c.stopping?.halfWidthPct[m];
    return w === null ? 'n < 6' : w === undefined ? '–' : `±${w.toFixed(1)}%`;
  };
  const rows = cells.map((c) => [
    c.id,
    String(c.stopping?.measured ?? c.iterations.filter((r) => !r.warmup && !r.error).length),
    c.stopping?.rule ?? '–',
    half(c, 'ttft_ms'),
    half(c, 'tpot_ms'),
    c.machine ? `${c.machine.loadAvg1Before.toFixed(1)} → ${c.machine.loadAvg1After.toFixed(1)} / ${c.machine.cpus}` : '–',
    pctOrDash(c.machine?.stealPct),
    pctOrDash(c.machine?.runQueueWaitPct),
    c.flags?.length ? c.flags.map((f) => `**${f.kind}**: ${f.message}`).join('<br>') : 'none',
  ]);
  return markdownTable([['Cell', 'n', 'Stopped by', 'TTFT 95% CI', 'TPOT 95% CI', 'Load (1 min) / CPUs', 'Steal', 'Run-queue wait', 'Flags'], ...rows], {
    align: ['l', 'r', 'l', 'r', 'r', 'r', 'r', 'r', 'l'],
  });
}

function optionsLine(result: RunResult): string {
  const o = result.options;
  const a = o.adaptive;
  const count = a
    ? `at least ${o.iterations} measured iteration(s), then on until the 95% CI of the median of ${(a.metrics?.length ? a.metrics : [a.metric ?? 'ttft_ms']).join(' and ')} is within ±${a.targetCiPct}% (at most ${a.maxIterations} iterations or ${a.maxCellSeconds} s per cell)`
    : `${o.iterations} measured iteration(s)`;
  return `- Options: ${o.warmup} warm-up + ${count} per cell, ${o.outputTokens} output tokens, ${o.threads} thread(s)${o.filters.length ? `, filters ${o.filters.join(' ')}` : ''}`;
}

function modelLines(result: RunResult): string[] {
  const seen = new Map<string, string>();
  for (const c of result.cells) {
    const m = c.model;
    if (!m) continue;
    const key = `${m.architecture} ${m.precision}`;
    const label = m.synthetic
      ? `**SYNTHETIC WEIGHTS** (random values, seed ${m.seed ?? '?'}, real architecture; not a trained model)`
      : `weights from files (${Object.entries(m.hashes ?? {}).map(([f, h]) => `${f} sha256 ${h.slice(0, 12)}`).join(', ')})`;
    const size = m.sizes ? fmtBytes(Object.values(m.sizes).reduce((s, v) => s + v, 0)) : '?';
    seen.set(key, `- ${m.architecture}, ${m.precision}, layout ${m.layout}${m.scale ? `, scale ${m.scale}` : ''}, ${size} on disk: ${label}`);
  }
  return [...seen.values()];
}

export function renderReport(result: RunResult): string {
  const env = result.environment;
  const failed = result.cells.filter((c) => c.status === 'failed');
  const missing = result.plannedCells.filter((id) => !result.cells.some((c) => c.id === id));
  const energy = energyTable(result);
  const operators = operatorTable(result);
  const quality = measurementQualityTable(result);
  const lines: string[] = [
    `# ${result.suite.name} — run ${result.runId}`,
    '',
    `- Target: ${result.target}; host ${env.host.cpu} (${env.host.physicalCores} physical cores, ${fmtBytes(env.host.memoryBytes)}), ${env.os.distro} ${env.os.release}, ${env.host.arch}`,
    `- Versions: ${Object.entries(env.versions).map(([k, v]) => `${k} ${v}`).join(', ')}; git ${env.git.revision?.slice(0, 10) ?? 'unknown'}${env.git.dirty ? ' (dirty)' : ''}`,
    optionsLine(result),
    `- Status: ${result.status}; ${result.cells.length - failed.length} cell(s) ok, ${failed.length} failed${missing.length ? `, ${missing.length} not run` : ''}`,
    ...modelLines(result),
    '',
    'All figures are medians of measured iterations on this run\'s monotonic clock. "Prefill TTFT" is the prefill phase alone (embedding, decoder over the whole prompt, lm_head for the first token), as in the Axera table; "TTFT (end to end)" adds preprocessing and image encoding. "Decoder" is TPOT = (t_last − t_first) / (n_output − 1).',
    '',
    '## Summary (Axera table layout)',
    '',
    axeraStyleTables(result) || '_No successful cell._',
    '',
    ...(quality
      ? [
          '## Measurement quality',
          '',
          'Half-widths of the distribution-free 95% interval of each median, the rule that stopped measuring, and what the machine did while the cell ran. Flagged cells deserve caution; thresholds are in harness/cell-quality.ts.',
          '',
          quality,
          '',
        ]
      : []),
    '## Per-subgraph latency',
    '',
    subgraphTable(result),
    '',
    '## Share of TTFT by phase',
    '',
    phaseShareTable(result),
    '',
    ...(energy
      ? [
          '## Power and energy',
          '',
          'Energy integrates instantaneous power samples (trapezoid, edges interpolated) over each phase window on the run clock; a tool\'s running average is never integrated. Medians over measured iterations; "Idle W" is sampled before each cell.',
          '',
          energy,
          '',
        ]
      : []),
    ...(operators
      ? [
          '## Time per operator (ONNX Runtime profiler)',
          '',
          'Kernel time summed over all iterations of the cell, warm-up included; profiling slows a run, so compare these shares, not the latencies above, with unprofiled runs.',
          '',
          operators,
          '',
        ]
      : []),
    '## Statistics',
    '',
    statisticsTable(result),
  ];
  if (failed.length) {
    lines.push('', '## Failed cells', '', ...failed.map((c) => `- ${c.id}: ${c.error ?? 'unknown error'}`));
  }
  if (missing.length) lines.push('', '## Not run', '', ...missing.map((id) => `- ${id}`));
  if (result.warnings.length) lines.push('', '## Warnings', '', ...result.warnings.map((w) => `- ${w}`));
  return `${lines.join('\n')}\n`;
}
