/**
 * The timed events every runner produces. All times are milliseconds on the run's one monotonic
 * clock (see core/clock.ts); remote runners convert to it before emitting.
 */

/** Phases of one request, named as in DESIGN.md. */
export type PhaseName = 'preprocess' | 'image_encode' | 'prefill' | 'decode';

export interface PhaseEvent {
  kind: 'phase';
  phase: PhaseName;
  startMs: number;
  endMs: number;
}

/** One invocation of one compiled graph (an ONNX session run, an axmodel run, ...). */
export interface SubgraphEvent {
  kind: 'subgraph';
  /** Graph name, stable across iterations: "vision_encoder", "decoder_model_merged", "g3", ... */
  graph: string;
  /** Which phase this invocation belongs to. */
  phase: PhaseName;
  startMs: number;
  endMs: number;
  /** Tokens (or images, for the vision encoder) processed by this invocation, when meaningful. */
  items?: number;
}

/** Arrival of generated output tokens. A streamed chunk may carry several tokens. */
export interface TokenEvent {
  kind: 'token';
  tMs: number;
  /** Index of the first token in this arrival (0 = first generated token). */
  index: number;
  /** Number of tokens that arrived together (1 for in-process decode). */
  count: number;
}

export type TimedEvent = PhaseEvent | SubgraphEvent | TokenEvent;

/** One measured (or warm-up) request of a cell. */
export interface IterationRecord {
  index: number;
  warmup: boolean;
  startMs: number;
  endMs: number;
  /**
   * Prompt tokens including image tokens. Counts a runner cannot know (a tool that does not
   * print them) are NaN in memory and null in result.json, never a guessed number.
   */
  promptTokens: number;
  imageTokens: number;
  /** Images fed to the model; each frame of a video counts as one. */
  images: number;
  /** Of `images`, how many are video frames (absent: none). */
  frames?: number;
  /**
   * Vision-encoder inputs the request ran (one per tile: InternVL's grid + thumbnail, SmolVLM's
   * crops + global image, one per video frame). Absent where a runner cannot know.
   */
  visionTiles?: number;
  outputTokens: number;
  /** Generated token ids, when the runner sees them (in-process runners), for accuracy checks. */
  outputTokenIds?: number[];
  events: TimedEvent[];
  /** Set when the iteration failed; the events up to the failure are kept. */
  error?: string;
  /** Figures a server or tool reports about itself, kept beside ours (never mixed in). */
  reported?: Record<string, number>;
}
