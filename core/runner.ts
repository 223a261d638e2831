import type { Clock } from './clock.ts';
import type { IterationRecord } from './events.ts';
import type { Cell, Suite } from './suite-types.ts';

/** What a result says about the model that was measured. */
export interface ModelIdentity {
  /** Architecture / zoo id, e.g. "internvl2_5-1b". */
  architecture: string;
  precision: string;
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
  prepare(cell: Cell, suite: Suite, ctx: RunnerContext): Promise<PreparedCell>;
  /**
   * Checks the suite and the planned cells before the run starts (throws InputError naming the
   * field and the limit): unknown model, missing files, unset variables, values beyond what the
   * model or runner can take. Nothing is loaded or built here.
   */
  checkPlan?(suite: Suite, cells: readonly Cell[]): void;
}
