/**
 * The suite format. Suites are YAML/JSON files under suites/ (or anywhere, by path) validated
 * against schema/suite.schema.json; these are the types the validated document has.
 */

export type AxisValue = string | number | boolean;

export interface SuiteDefaults {
  warmup: number;
  iterations: number;
  /** Tokens to generate per request (decode steps + the first token). */
  outputTokens: number;
  /** Intra-op threads for in-process runners; absent = number of physical cores. */
  threads?: number;
  /** Prefill chunk size in tokens; absent or 0 = the whole prompt in one call. */
  chunkSize?: number;
  /**
   * Measure until the 95% CI of the median of every key metric (`metrics`, default ttft_ms and
   * tpot_ms; `metric` names a single one) is within targetCiPct % of it.
   */
  adaptive?: { metric?: string; metrics?: string[]; targetCiPct: number; maxIterations?: number; maxCellSeconds?: number };
  /** Pause between cells, seconds. */
  cooldownSeconds?: number;
  /** Run cells in a seeded random order (the seed is recorded). */
  shuffle?: boolean;
  /** Sampling interval of the hardware probes, ms (default 100). */
  probeIntervalMs?: number;
  /** Idle power sampling before each cell, seconds (default 2 when a probe reads power). */
  baselineSeconds?: number;
  /** A cell whose hottest sensor reaches this temperature is flagged throttled. */
  tempLimitC?: number;
  /** With a power_mode axis: also run `jetson_clocks` after each mode change (restored at the end). */
  jetsonClocks?: boolean;
  /** With a power_mode axis: seconds to wait after a mode change before the cell (default 5). */
  powerModeSettleSeconds?: number;
}

export interface SyntheticModelRef {
  /** A model-zoo id, e.g. "internvl2_5-1b". */
  zoo: string;
  scale: 'full' | 'tiny';
  /** Graph layout to synthesise: onnx-community files or the Axera per-layer split. */
  layout?: 'onnx-community' | 'axera';
  seed?: number;
}

export interface PathModelRef {
  /** A folder of ONNX files in the onnx-community layout (real exports). */
  path: string;
}

/** A model that lives on the target (a board's demo, a server's model name). */
export interface NamedModelRef {
  name: string;
}

export type ModelRef = SyntheticModelRef | PathModelRef | NamedModelRef;

/** Figures published elsewhere for this workload, shown beside ours and never mixed with them. */
export interface PublishedReference {
  source: string;
  rows: Array<{ params: Record<string, AxisValue>; figures: Record<string, number | string> }>;
}

export interface Suite {
  name: string;
  description?: string;
  model: ModelRef;
  /** Kind of target the suite is meant for: "local", "ax650", "jetson", ... */
  target: string;
  /**
   * Runner name: "ort", "llamacpp", "endpoint", "command", ... May be left out when the matrix
   * has a `runner` axis (runners side by side); a cell's runner is its `runner` param if any.
   */
  runner?: string;
  defaults: SuiteDefaults;
  /**
   * Axes of the matrix. Each runner declares the axes it uses and the values it can use
   * (runners/<runner>/spec.ts); the loader refuses any other axis.
   */
  matrix: Record<string, AxisValue[]>;
  /** Hardware probes sampled while each cell runs. */
  probes?: string[];
  /** Runner-specific options. */
  options?: Record<string, unknown>;
  reference?: PublishedReference;
}

/** One point of the matrix. */
export interface Cell {
  /** Stable id built from the params, e.g. "images=1,prefill=128,precision=int8". */
  id: string;
  index: number;
  params: Record<string, AxisValue>;
}

/** A suite as loaded: the document plus where it came from. */
export interface LoadedSuite {
  suite: Suite;
  /** File path, or "builtin:<name>". */
  source: string;
  /** sha256 of the canonical JSON of the suite, to tell a resumed run it is the same suite. */
  hash: string;
}
