import type { Clock } from './clock.ts';
import type { IterationRecord } from './events.ts';
import type { Cell, Suite } from './suite-types.ts';

/** What a result says about the model that was measured. */
export interface ModelIdentity {
  /** Architecture / zoo id, e.g. "internvl2_5-1b". */
  architecture: string;
  /** Precision of the graphs (of the LLM graphs when visionPrecision is set). */
  precision: string;
  /** Set when the vision encoder runs at another precision than the LLM (vision_precision axis). */
  visionPrecision?: string;
  layout: string;
  /** True when weights are random values synthesised by this suite. */
  synthetic: boolean;
  seed?: number;
  scale?: string;
  /** File name -> sha256 (real models) or the build hash (synthetic). */
  hashes?: Record<string, string>;
  /** File name -> bytes. */
  sizes?: Record<string, number>;
  builderVersion?: string;
  /**
   * int8 models: the operator form of their linears (e.g. `s7-dynamic-quantize-matmul`), since
   * int8 speed and accuracy depend on it; absent for other precisions and for files not built here.
   */
  int8Form?: string;
}

/**
 * A quantised model's agreement with its fp32 build on the machine that timed it (the
 * accuracy gate, models/accuracy-gate.ts). `passed: false` = the cell's numbers come from a
 * model that computes wrong outputs on this CPU: report them as numerically wrong.
 */
export interface AccuracyCheck {
  reference: 'fp32';
  precision: string;
  scale: string;
  /** Token positions compared. */
  tokens: number;
  /** Mean logit cosine vs fp32 over positions. */
  cosine: number;
  cosineMin: number;
  /** Share of positions whose argmax equals fp32's. */
  top1: number;
  /** Cosine of the image features vs fp32; null without a vision encoder. */
  imageCosine: number | null;
  passed: boolean;
  /** What missed its threshold; empty when passed. */
  failures: string[];
  thresholds: { cosineMean: number; top1: number; imageCosine: number };
  /** CPU model, arch, the CPU features that select integer kernels, ONNX Runtime version. */
  checkedOn: { cpu: string; arch: string; flags: string[]; onnxruntime: string };
  checkedAt: string;
  /** Build hash of the checked model. */
  modelHash: string;
  /** True when the verdict was cached from an earlier check on this machine. */
  cached: boolean;
  /**
   * What running the gate cost in this run, before the cell's memory window opens (its fp32
   * twin is not in the cell's peak RSS): wall time and peak RSS. Scope `gate-process`: the check
   * ran in its own child process and the figure is that process's whole peak (models/accuracy-gate.ts);
   * `cell`: the harness's window over the gate in this process (a cached verdict); `process`:
   * this process's lifetime peak where no window can be opened.
   */
  gateCost?: { ms: number; peakRssBytes: number; scope: 'cell' | 'process' | 'gate-process' };
}

export interface RunnerContext {
  clock: Clock;
  /** Intra-op threads for in-process work. */
  threads: number;
  /** Called by runners that do long preparation (model synthesis) to show progress. */
  log: (message: string) => void;
  /**
   * Iterations the loop will ask for at most (warm-ups first), for runners that must plan
   * them ahead (a remote worker runs them in one go). Absent = unknown.
   */
  plan?: { warmup: number; maxIterations: number };
  /** Ask the runner for per-operator profiling (ONNX Runtime's profiler), at some cost in speed. */
  profile?: boolean;
  /**
   * The verdict `Runner.checkAccuracy` gave for this cell, before the cell's measurement window
   * opened: `prepare` uses it instead of checking again (null: nothing to check).
   */
  accuracy?: AccuracyCheck | null;
}

/** Time per operator type of each graph, from a runtime profiler, over all of a cell's iterations. */
export interface OperatorProfile {
  source: string;
  /** Graph name -> operator types, most time first. */
  graphs: Record<string, Array<{ op: string; calls: number; totalMs: number; share: number }>>;
}

/** A cell ready to run: models loaded, sessions created. */
export interface PreparedCell {
  /** Time to create sessions / load models, ms. */
  loadMs: number;
  model: ModelIdentity;
  /** Extra facts worth recording with the cell (thread count, EP, chunk size, ...). */
  settings: Record<string, string | number | boolean>;
  /** Quantised zoo models: agreement with fp32 on this machine, checked before timing. */
  accuracy?: AccuracyCheck;
  /** Caveats the runner knows before timing (a runtime build without the machine's SIMD): added to the cell's flags and to every timed figure's. */
  flags?: Array<{ kind: 'no-simd'; message: string }>;
  /** Run one request. Must not throw for a failed request: return it with `error` set. */
  runIteration(index: number, warmup: boolean): Promise<IterationRecord>;
  /**
   * Cell-level figures that only exist over all requests together (throughput, goodput under
   * load), each a single value with its unit. Optional.
   */
  summarizeCell?(records: readonly IterationRecord[]): Record<string, { value: number; unit: string }>;
  /** When profiling was asked for: per-operator times, collected before close(). */
  collectProfile?(): Promise<OperatorProfile | null>;
  close(): Promise<void>;
}

export interface Runner {
  readonly name: string;
  /**
   * Runs the cell's accuracy gate (a quantised model against its fp32 build) before the harness
   * opens the cell's measurement window, so the fp32 twin's memory and time are not counted in
   * the cell's figures; the verdict is handed to `prepare` as `ctx.accuracy`. Optional.
   */
  checkAccuracy?(cell: Cell, suite: Suite, ctx: RunnerContext): Promise<AccuracyCheck | null>;
  prepare(cell: Cell, suite: Suite, ctx: RunnerContext): Promise<PreparedCell>;
  /**
   * Checks the suite and the planned cells before the run starts (throws InputError naming the
   * field and the limit): unknown model, missing files, unset variables, values beyond what the
   * model or runner can take. Nothing is loaded or built here.
   */
  checkPlan?(suite: Suite, cells: readonly Cell[]): void;
  /**
   * Checks on the target what the planned cells will call before any cell runs: the program,
   * the model and image files, a writable work folder. Returns one sentence per missing thing
   * ([] = ready); the run refuses to start (exit 2) naming each one.
   */
  checkTarget?(suite: Suite, cells: readonly Cell[]): Promise<string[]>;
}
