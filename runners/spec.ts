/**
 * What each runner accepts in a suite: its matrix axes (with the values it can use) and its
 * option names. Pure data, no runtime imports, so the suite loader can check a suite before
 * anything runs: an axis or option a runner does not know is an error, never silently ignored
 * (a `frames: [1, 4]` axis that does nothing would make a user believe video was measured).
 * Each runner declares its spec in its own folder (runners/<name>/spec.ts); RUNNER_SPECS below
 * is the one list of them.
 */
import type { AxisValue, Suite } from '../core/suite-types.ts';
import { RESOLUTION_FORMS, tryParseResolution } from '../models/preprocess/resolution.ts';

export interface AxisSpec {
  /** What the axis means, for `bench list` and error messages. */
  meaning: string;
  /** The allowed values, in words ("an integer >= 0"). */
  allowed: string;
  /** True when the runner can use `value` for this suite. */
  accepts(value: AxisValue, suite: Suite): boolean;
}

export interface RunnerSpec {
  name: string;
  axes: Readonly<Record<string, AxisSpec>>;
  /** Names allowed under `options:`; each runner's option parser reads this same list. */
  options: readonly string[];
}

const isInt = (v: AxisValue, min: number) => typeof v === 'number' && Number.isInteger(v) && v >= min;

export function intAxis(meaning: string, min: number): AxisSpec {
  return { meaning, allowed: `an integer >= ${min}`, accepts: (v) => isInt(v, min) };
}

export function enumAxis(meaning: string, values: readonly string[]): AxisSpec {
  return { meaning, allowed: `one of ${values.join(', ')}`, accepts: (v) => typeof v === 'string' && values.includes(v) };
}

/** A free label recorded with the cell (a precision the board's build already has, ...). */
export function labelAxis(meaning: string): AxisSpec {
  return { meaning, allowed: 'a string', accepts: (v) => typeof v === 'string' && v.length > 0 };
}

export const IMAGES_AXIS = intAxis('images per request', 0);
export const PREFILL_AXIS = intAxis('text tokens of the prompt (image tokens come on top)', 1);

export const RESOLUTION_AXIS: AxisSpec = {
  meaning: "source image resolution; the model family's preprocessing decides tiles and tokens",
  allowed: RESOLUTION_FORMS,
  accepts: (v) => tryParseResolution(v) !== null,
};

export const FRAMES_AXIS = intAxis('frames of one video per request (besides any images)', 1);
