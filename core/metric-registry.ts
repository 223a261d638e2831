/**
 * The metric registry: one definition per metric the suite reports. Reports, compare, history,
 * progress lines and the schema docs read it; no other module keeps a list of metric names or
 * guesses from a name whether more is better.
 *
 * Families whose names are built at run time (energy per phase, power per phase) are defined by a
 * pattern; `metricDefinition(name)` resolves both fixed names and pattern families.
 */

import type { IterationRecord } from './events.ts';
import { chunkItlMs, decodeTokensPerS, e2eMs, imageEncodePerImageMs, phaseMs, prefillTokensPerS, tpotMs, ttftMs } from './iteration-events.ts';

export type Better = 'lower' | 'higher' | 'none';

/**
 * What else a metric is used for, declared on its definition (the lists below are read from
 * these, never written by hand):
 * - headline: published tables carry it, and `bench compare` / `bench history check` gate it by default;
 * - table: published comparison tables carry it;
 * - outlier-checked: per-iteration outliers are marked (Tukey fences) in the result;
 * - spread: its interval width and IQR are recorded per cell and judged for noise flags;
 * - adaptive-default: adaptive stopping waits for its interval unless the suite names metrics;
 * - ttft-part: a phase inside time to first token; report.md's "Share of TTFT by phase" splits
 *   TTFT into these (in the registry's order) and the time between them;
 * - serving: report.md's "Throughput, goodput and chunk ITL" table carries it.
 */
export type MetricRole = 'headline' | 'table' | 'outlier-checked' | 'spread' | 'adaptive-default' | 'ttft-part' | 'serving';

/** A model phase the roofline bounds (roofline/bounds.ts BoundPhase). */
export type RooflinePhase = 'image_encode' | 'prefill' | 'decode';

/** Per-iteration metrics have a value per measured request; cell metrics one value per cell. */
export type MetricScope = 'iteration' | 'cell';

export interface MetricDefinition {
  name: string;
  /** Short heading for tables. */
  label: string;
  unit: string;
  better: Better;
  scope: MetricScope;
  /** What the figure means, as written in report glossaries. */
  description: string;
  /** How it is derived and from what. */
  derivedFrom: string;
  /** Default number of decimals when printed. */
  digits: number;
  roles: readonly MetricRole[];
  /** How a per-iteration metric is computed from one request's events; absent/undefined/null = no value for that request. */
  fromIteration?: (rec: IterationRecord) => number | number[] | null | undefined;
  /** The phases whose windows it reads (its figure source follows theirs: core/figure-source.ts). */
  phases?: readonly string[];
  /** Shown in `bench run`'s line after each cell as "<label> <median> <unit>" (digits as above). */
  progress?: { label: string; unit: string };
  /** The roofline compares this metric's median (ms, one phase or one decode step) with that phase's hardware bound. */
  rooflinePhase?: RooflinePhase;
}

type Definition = Omit<MetricDefinition, 'digits' | 'roles'> & { digits?: number; roles?: readonly MetricRole[] };

const FIXED: readonly Definition[] = [
  {
    name: 'preprocess_ms', label: 'Preprocess', unit: 'ms', better: 'lower', scope: 'iteration',
    description: 'Image decode, resize, tiling and normalisation, and tokenisation, before the first model call.',
    derivedFrom: 'sum of the request\'s `preprocess` phase windows',
    phases: ['preprocess'],
    roles: ['ttft-part'],
    fromIteration: (rec) => phaseMs(rec, 'preprocess'),
  },
  {
    name: 'image_encode_ms', label: 'ImageEncoder', unit: 'ms', better: 'lower', scope: 'iteration',
    description: 'Vision encoder and projector over all images of the request.',
    derivedFrom: 'sum of the request\'s `image_encode` phase windows (requests with images only)',
    phases: ['image_encode'],
    roles: ['headline', 'table', 'outlier-checked', 'spread', 'ttft-part'],
    fromIteration: (rec) => (rec.images > 0 ? phaseMs(rec, 'image_encode') : undefined),
    rooflinePhase: 'image_encode',
  },
  {
    name: 'image_encode_per_image_ms', label: 'ImageEncoder per image', unit: 'ms', better: 'lower', scope: 'iteration',
    description: 'Vision encoder time of one image.',
    derivedFrom: 'each `image_encode` subgraph invocation when there is one per image, else the phase split evenly',
    phases: ['image_encode'],
    fromIteration: imageEncodePerImageMs,
  },
  {
    name: 'prefill_ms', label: 'Prefill', unit: 'ms', better: 'lower', scope: 'iteration',
    description: 'LLM forward over the whole prompt (image tokens included), all chunks; excludes image encoding (the Axera table\'s "Prefill TTFT").',
    derivedFrom: 'sum of the request\'s `prefill` phase windows',
    phases: ['prefill'],
    roles: ['headline', 'table', 'outlier-checked', 'spread', 'ttft-part'],
    fromIteration: (rec) => phaseMs(rec, 'prefill'),
    rooflinePhase: 'prefill',
  },
  {
    name: 'ttft_ms', label: 'TTFT', unit: 'ms', better: 'lower', scope: 'iteration',
    description: 'Time to first token, end to end: request start to the first generated token, including preprocessing, image encoding and prefill (and, for an endpoint, the network).',
    derivedFrom: 'first token arrival minus request start',
    roles: ['headline', 'table', 'outlier-checked', 'spread', 'adaptive-default'],
    fromIteration: ttftMs,
    progress: { label: 'TTFT', unit: 'ms' },
  },
  {
    name: 'tpot_ms', label: 'TPOT', unit: 'ms', better: 'lower', scope: 'iteration',
    description: 'Time per output token after the first: (t_last_token - t_first_token) / (n_output - 1).',
    derivedFrom: 'token arrivals; n_output is the larger of the tokens seen in the stream and the runner\'s own count',
    digits: 2,
    roles: ['table', 'outlier-checked', 'spread', 'adaptive-default'],
    fromIteration: tpotMs,
    rooflinePhase: 'decode',
  },
  {
    name: 'decode_tokens_per_s', label: 'Decode', unit: 'tokens/s', better: 'higher', scope: 'iteration',
    description: 'Decode speed: 1000 / TPOT.',
    derivedFrom: 'TPOT of the same request',
    digits: 2,
    roles: ['headline', 'table'],
    fromIteration: decodeTokensPerS,
    progress: { label: 'decode', unit: 'tok/s' },
  },
  {
    name: 'prefill_tokens_per_s', label: 'Prefill speed', unit: 'tokens/s', better: 'higher', scope: 'iteration',
    description: 'Prompt tokens (image tokens included) per second of prefill.',
    derivedFrom: 'prompt tokens / prefill_ms (an endpoint uses its TTFT window: a lower bound)',
    phases: ['prefill'],
    fromIteration: prefillTokensPerS,
  },
  {
    name: 'decode_ms', label: 'Decode total', unit: 'ms', better: 'lower', scope: 'iteration',
    description: 'All decode steps of the request.',
    derivedFrom: 'sum of the request\'s `decode` phase windows',
    phases: ['decode'],
    fromIteration: (rec) => phaseMs(rec, 'decode'),
  },
  {
    name: 'e2e_ms', label: 'End to end', unit: 'ms', better: 'lower', scope: 'iteration',
    description: 'Whole request, start to last token (successful requests only).',
    derivedFrom: 'request end minus request start',
    roles: ['outlier-checked', 'spread'],
    fromIteration: (rec) => (rec.error ? undefined : e2eMs(rec)),
  },
  {
    name: 'chunk_itl_ms', label: 'Chunk ITL', unit: 'ms', better: 'lower', scope: 'iteration',
    description: 'Gaps between successive streamed chunks (a chunk may carry several tokens); not per-token ITL.',
    derivedFrom: 'differences of successive token arrivals',
    roles: ['serving'],
    digits: 2,
    fromIteration: (rec) => {
      const gaps = chunkItlMs(rec);
      return gaps.length > 0 ? gaps : undefined;
    },
  },
  {
    name: 'load_ms', label: 'Load', unit: 'ms', better: 'lower', scope: 'cell',
    description: 'Time to load the model and create sessions for the cell.',
    derivedFrom: 'the runner\'s prepare step, once per cell',
  },
  {
    name: 'harness_overhead_pct', label: 'Harness overhead', unit: '%', better: 'lower', scope: 'cell',
    description: 'Share of the decode time the harness itself spent outside the runtime\'s graph calls (building feeds, recording events, choosing the token, promise hops); in-process runners only.',
    derivedFrom: 'over all decode steps of the measured iterations: sum of (step time minus the subgraph calls inside the step) over sum of step times (core/overhead.ts)',
    digits: 3,
  },
  {
    name: 'peak_rss_mb', label: 'Peak RSS', unit: 'MiB', better: 'lower', scope: 'cell',
    description: 'Peak resident memory of the benchmarking process during the cell (Linux VmHWM, reset per cell).',
    derivedFrom: '/proc/self/status after the cell',
  },
  {
    name: 'request_throughput', label: 'Request throughput', unit: 'requests/s', better: 'higher', scope: 'cell',
    description: 'Completed requests per second of busy time.',
    derivedFrom: 'completed requests / sum over load rounds of (last end - first start)',
    roles: ['serving'],
    digits: 3,
  },
  {
    name: 'output_throughput', label: 'Output throughput', unit: 'tokens/s', better: 'higher', scope: 'cell',
    description: 'Output tokens of completed requests per second of busy time.',
    derivedFrom: 'output tokens / busy time',
    roles: ['serving'],
  },
  {
    name: 'total_token_throughput', label: 'Total token throughput', unit: 'tokens/s', better: 'higher', scope: 'cell',
    description: 'Prompt plus output tokens of completed requests per second of busy time.',
    derivedFrom: '(prompt + output tokens) / busy time',
    roles: ['serving'],
  },
  {
    name: 'request_goodput', label: 'Goodput', unit: 'requests/s', better: 'higher', scope: 'cell',
    description: 'Requests per second that succeeded and met every latency target given (DistServe goodput).',
    derivedFrom: 'good requests / busy time',
    roles: ['serving'],
    digits: 3,
  },
  {
    name: 'goodput_fraction', label: 'Good requests', unit: 'fraction', better: 'higher', scope: 'cell',
    description: 'Share of measured requests that succeeded and met every latency target.',
    derivedFrom: 'good requests / measured requests',
    roles: ['serving'],
    digits: 3,
  },
  {
    name: 'power_idle_w', label: 'Idle power', unit: 'W', better: 'none', scope: 'cell',
    description: 'Power of the same reading (the power basis) sampled before the cell with nothing running: the baseline the net (above idle) energy figures subtract.',
    derivedFrom: 'time-weighted mean of the power samples of the idle window before the cell (`--baseline` seconds)',
    digits: 2,
  },
  {
    name: 'decode_j_per_token', label: 'Energy per token (incl. idle)', unit: 'J/token', better: 'lower', scope: 'iteration',
    description:
      'Energy of the decode phase per generated token, as the power reading measures it: on a Jetson the whole board\'s input rail (VDD_IN), idle power included. decode_net_j_per_token is the same above idle.',
    derivedFrom: 'integral of instantaneous power over the decode windows / decode tokens',
    digits: 3,
  },
  {
    name: 'decode_net_j_per_token', label: 'Energy per token (above idle)', unit: 'J/token', better: 'lower', scope: 'iteration',
    description: 'Energy of the decode phase per generated token above the idle baseline: what decoding adds to an idle machine.',
    derivedFrom: '(integral of instantaneous power over the decode windows - idle power x their duration) / decode tokens',
    digits: 3,
  },
  {
    name: 'image_encode_j_per_image', label: 'Energy per image (incl. idle)', unit: 'J/image', better: 'lower', scope: 'iteration',
    description:
      'Energy of the image_encode phase per image, as the power reading measures it: on a Jetson the whole board\'s input rail (VDD_IN), idle power included. image_encode_net_j_per_image is the same above idle.',
    derivedFrom: 'integral of instantaneous power over the image_encode windows / images',
    phases: ['image_encode'],
    digits: 3,
  },
  {
    name: 'image_encode_net_j_per_image', label: 'Energy per image (above idle)', unit: 'J/image', better: 'lower', scope: 'iteration',
    description: 'Energy of the image_encode phase per image above the idle baseline: what encoding adds to an idle machine.',
    derivedFrom: '(integral of instantaneous power over the image_encode windows - idle power x their duration) / images',
    digits: 3,
  },
];

interface Family {
  pattern: RegExp;
  define(match: RegExpMatchArray): Definition;
}

const FAMILIES: readonly Family[] = [
  {
    pattern: /^energy_(request|preprocess|image_encode|prefill|decode)(_net)?_j$/,
    define: ([name, phase, net]) => ({
      name: name!, label: `Energy ${phase} ${net ? '(above idle)' : '(incl. idle)'}`, unit: 'J', better: 'lower', scope: 'iteration',
      description: `Energy of the ${phase === 'request' ? 'whole request' : `${phase} phase`}${net ? ' above the idle baseline' : ' as the power reading measures it, idle power included'}.`,
      derivedFrom: 'trapezoid integral of instantaneous power over the phase windows' + (net ? ', minus idle power x duration' : ''),
      ...(phase === 'request' ? {} : { phases: [phase!] }),
      digits: 3,
    }),
  },
  {
    pattern: /^power_(request|preprocess|image_encode|prefill|decode)_w$/,
    define: ([name, phase]) => ({
      name: name!, label: `Power ${phase}`, unit: 'W', better: 'lower', scope: 'iteration',
      description: `Mean power during the ${phase === 'request' ? 'whole request' : `${phase} phase`}.`,
      derivedFrom: 'energy of the windows / their duration',
      ...(phase === 'request' ? {} : { phases: [phase!] }),
      digits: 2,
    }),
  },
];

function complete(d: Definition): MetricDefinition {
  return { ...d, digits: d.digits ?? 1, roles: d.roles ?? [] };
}

export const METRICS: readonly MetricDefinition[] = FIXED.map(complete);

const BY_NAME = new Map(METRICS.map((m) => [m.name, m]));

/** The definition of a metric, fixed or of a pattern family; undefined for an unknown name. */
export function metricDefinition(name: string): MetricDefinition | undefined {
  const fixed = BY_NAME.get(name);
  if (fixed) return fixed;
  for (const f of FAMILIES) {
    const match = name.match(f.pattern);
    if (match) return complete(f.define(match));
  }
  return undefined;
}

/** Unit of a metric, '' when unknown. */
export function metricUnit(name: string): string {
  return metricDefinition(name)?.unit ?? '';
}

/** Which direction is better; 'none' for an unknown metric (never guessed from its name). */
export function metricBetter(name: string): Better {
  return metricDefinition(name)?.better ?? 'none';
}

/** Names of the fixed metrics with a role, in the registry's order. */
export function metricsWithRole(role: MetricRole): readonly string[] {
  return METRICS.filter((m) => m.roles.includes(role)).map((m) => m.name);
}

/** The metrics published tables carry and compare gates by default (TPOT is the same signal as tokens/s). */
export const HEADLINE_METRICS = metricsWithRole('headline');

/** The figures published comparison tables carry: encode, prefill, TTFT, and decode speed both ways. */
export const TABLE_METRICS = metricsWithRole('table');

/** The phases inside TTFT, in the order they happen: the parts of the Share-of-TTFT table. */
export const TTFT_PARTS = metricsWithRole('ttft-part');
