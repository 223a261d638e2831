/**
 * What `bench calibrate` writes to results/calibration/<host>.json and what the roofline
 * reporter reads: the machine's memory bandwidth and matrix-multiply peaks, each labelled
 * `measured` (a microbenchmark on this machine, with its method) or `published` (a vendor
 * figure, with its citation).
 */

/** Bumped whenever a reader of an older calibration would misread a newer one. */
export const CALIBRATION_SCHEMA_VERSION = 1;

/** Arithmetic the peaks are kept for: the weight/activation types the runners' kernels use. */
export type ComputeKey = 'fp32' | 'fp16' | 'int8' | 'int4';
export const COMPUTE_KEYS: readonly ComputeKey[] = ['fp32', 'fp16', 'int8', 'int4'];

export type FigureSource = 'measured' | 'published';

/** Distribution of the rate over the timed repetitions (same unit as the figure). */
export interface RateSamples {
  n: number;
  best: number;
  median: number;
  worst: number;
}

export interface Figure {
  /** GB/s (1e9 bytes per second) for bandwidth; G op/s (1e9 multiply-or-add per second) for matmul. */
  value: number;
  source: FigureSource;
  /** How it was obtained, precisely enough to repeat it. */
  method: string;
  /** Threads the measurement used; null for a published figure. */
  threads: number | null;
  samples?: RateSamples;
  /** Where a published figure comes from. */
  citation?: string;
}

export interface Calibration {
  schemaVersion: number;
  /** Host name of the measured machine, or the board name of a published calibration. */
  host: string;
  /** Target the figures are for ("local" = this machine with the ORT CPU runner; a board name). */
  target: string;
  /** ISO time the calibration finished. */
  createdAt: string;
  /** Wall time the calibration took, ms (0 for a published one). */
  durationMs: number;
  machine: {
    cpu: string;
    /** Logical CPUs the OS offers. */
    cores: number;
    /** null when the board comes in several sizes and none is implied. */
    memoryBytes: number | null;
    /** Last-level cache size as the OS reports it (a VM may report the host's), bytes. */
    llcBytes: number | null;
    /** Runtime the measurements went through ("onnxruntime-node 1.30.0 cpu", ...). */
    runtime: string;
  };
  /** Intra-op threads of the multi-threaded measurements. */
  threads: number;
  /**
   * 1, 5 and 15 minute load averages before and after measuring: other work on the machine
   * lowers every figure (absent for published calibrations).
   */
  loadAverage?: { before: number[]; after: number[] };
  bandwidth: {
    /** Sustained read bandwidth: what a batch-1 decode step needs to stream its weights. */
    read: Figure | null;
    /** Copy bandwidth, STREAM convention: 2 x bytes copied per second. */
    copy: Figure | null;
    /** Other measurements kept for comparison (single thread, GEMV, ...), not used for bounds. */
    extra: Record<string, Figure>;
  };
  /** Dense matrix-multiply peak per arithmetic. */
  matmul: Partial<Record<ComputeKey, Figure>>;
  /**
   * Decode kernel ceiling per arithmetic: GB/s of weights a batch-1 chain of linears streams
   * through this runtime's kernels (hw-probes/calibrate/weight-stream.ts). Absent in published
   * calibrations and in ones made before it was measured.
   */
  weightStream?: Partial<Record<ComputeKey, Figure>>;
  /**
   * G op/s of this runtime's batch-1 attention kernel (GroupQueryAttention over a long KV
   * cache; hw-probes/calibrate/attention.ts), for the decode kernel ceiling. Absent like
   * weightStream.
   */
  decodeAttention?: Figure;
  /** Other operator forms measured for comparison (e.g. int8 through MatMulInteger), not used for bounds. */
  matmulExtra: Record<string, Figure>;
  /**
   * Precisions this runtime executes in another form than the one stored in the model file;
   * ONNX Runtime's CPU provider folds the Cast of fp16 weights at session creation, so an fp16
   * model reads and multiplies fp32 weights.
   */
  runtimeFormats: Record<string, { as: string; reason: string }>;
  notes: string[];
}
