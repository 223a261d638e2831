import type { Clock } from './clock.ts';
import type { ClockAlignment } from './transport.ts';
/**
 * The normalised sample every probe produces, whatever tool it reads. Units are in the field
 * names so a reader never has to guess (mW, MHz, °C, MB, kB). A field is absent when the source
 * does not report it; it is never filled with a guess.
 */

/** One power rail (an INA3221 channel, an nvidia-smi board reading, a hwmon power input). */
export interface RailSample {
  name: string;
  /**
   * Instantaneous power, mW: the only power figure energy may be integrated from. Null when the
   * source only offers a smoothed figure (then `toolAverageMw` holds it).
   */
  powerMw: number | null;
  /**
   * The tool's own running average, mW (tegrastats' second value, jtop's `avg`, nvidia-smi
   * `power.draw.average`). It is smoothed over an unknown window: kept for display and
   * cross-checks, never integrated.
   */
  toolAverageMw?: number;
  /** Values a tool prints after the average (JetPack 7 prints a third); meaning undocumented. */
  toolExtraMw?: number[];
  voltageMv?: number;
  currentMa?: number;
}

/**
 * What a rail can read, mW: the schema refuses a result holding readings outside it (a sensor's
 * small negative offset is allowed), so the probes' readings are kept inside it when recorded.
 */
export const RAIL_MW_RANGE = { min: -1000, max: 100_000_000 } as const;

/** A rail's readings outside RAIL_MW_RANGE made unknown (null / dropped), with how many there were. */
export function boundedRail(rail: RailSample): { rail: RailSample; dropped: number } {
  const inRange = (mw: number) => mw >= RAIL_MW_RANGE.min && mw <= RAIL_MW_RANGE.max;
  let dropped = 0;
  const out: RailSample = { ...rail };
  if (out.powerMw !== null && !inRange(out.powerMw)) {
    out.powerMw = null;
    dropped += 1;
  }
  if (out.toolAverageMw !== undefined && !inRange(out.toolAverageMw)) {
    delete out.toolAverageMw;
    dropped += 1;
  }
  return { rail: out, dropped };
}

/**
 * A cumulative energy counter (RAPL `energy_uj`). Joules since the probe started, wrap-around
 * already undone, so the energy of any window is a difference of two interpolated values.
 */
export interface EnergyCounterSample {
  name: string;
  joules: number;
  /** Mean power since the previous sample of this counter, mW (an interval mean, not instant). */
  intervalPowerMw?: number;
}

export interface CpuCoreSample {
  index: number;
  /** False for cores the OS has powered down ("off" in tegrastats). */
  online: boolean;
  loadPct?: number;
  mhz?: number;
}

export interface GpuSample {
  index: number;
  name?: string;
  loadPct?: number;
  mhz?: number;
  /** Per-GPC frequencies when the tool reports an array (tegrastats `GR3D_FREQ x%@[a,b]`). */
  gpcMhz?: number[];
  memoryUsedMb?: number;
  memoryTotalMb?: number;
  memoryLoadPct?: number;
  temperatureC?: number;
}

/** A hardware engine (NVENC, NVDEC, DLA, APE, ...) as tegrastats reports it. */
export interface EngineSample {
  on: boolean;
  loadPct?: number;
  mhz?: number;
}

export interface MemoryUsage {
  usedMb: number;
  totalMb: number;
}

export interface HwSample {
  /** Milliseconds on the run's monotonic clock (core/clock.ts). */
  tMs: number;
  /** Name of the probe that produced the sample ("tegrastats", "hwmon", ...). */
  probe: string;
  /** The tool's own timestamp, verbatim, when it prints one. */
  deviceTime?: string;
  rails?: RailSample[];
  energyCounters?: EnergyCounterSample[];
  temperaturesC?: Record<string, number>;
  cpu?: CpuCoreSample[];
  /** Whole-CPU load when the source gives one (systeminformation). */
  cpuLoadPct?: number;
  gpus?: GpuSample[];
  /** External memory controller (DRAM) load and clock. */
  emc?: { loadPct?: number; mhz?: number };
  engines?: Record<string, EngineSample>;
  ram?: MemoryUsage & { largestFreeBlock?: { count: number; sizeKb: number } };
  swap?: MemoryUsage & { cachedMb?: number };
  iram?: { usedKb: number; totalKb: number; largestFreeBlockKb?: number };
  /** Axera CMM (media/NPU contiguous memory). */
  cmm?: { usedKb: number; totalKb: number };
  npu?: { loadPct: number; perCorePct?: Record<string, number> };
  /** Denver MTS foreground/background time (Jetson TX2). */
  mts?: { foregroundPct: number; backgroundPct: number };
}

/** Whether a probe can read anything here, and in plain words why (not). */
export interface ProbeAvailability {
  probe: string;
  available: boolean;
  reason: string;
}

/**
 * Static facts worth recording with a run: board/SoC model, L4T/JetPack or BSP version, power
 * mode, clock limits, NPU information. Flat string map so it drops into Environment.board.
 */
export interface ProbeSnapshot {
  probe: string;
  facts: Record<string, string>;
  /** Facts that could not be read, said plainly. */
  warnings: string[];
}

/** What a probe hands back after sampling one cell. */
export interface ProbeRun {
  probe: string;
  /** Interval that was asked for, ms (the achieved one is visible in the samples). */
  intervalMs: number;
  /** Run-clock ms when sampling started and stopped. */
  startedMs: number;
  stoppedMs: number;
  samples: HwSample[];
  /** A missing tool, a tool that died, unreadable lines: reported here, never thrown. */
  warnings: string[];
  /** How the samples' clock relates to the run clock (offset 0, error 0 for local probes). */
  alignment: ClockAlignment;
}

/**
 * A sampler of one hardware source. Lifecycle: detect() -> snapshot() -> start() -> stop().
 * start() and stop() never throw because of the hardware: a probe that is missing or dies turns
 * into warnings in the ProbeRun, and the benchmark goes on.
 */
export interface Probe {
  readonly name: string;
  detect(): Promise<ProbeAvailability>;
  snapshot(): Promise<ProbeSnapshot>;
  /** Begins sampling about every intervalMs, stamping samples on `clock`. */
  start(clock: Clock, intervalMs: number): Promise<void>;
  stop(): Promise<ProbeRun>;
  /**
   * Run-clock ms of the newest sample since start(), null before the first (or when not
   * sampling). Lets the harness keep sampling until a moment is covered (the end of a cell's
   * last iteration) before it stops the probe. Optional: a probe without it is waited for one
   * interval and a half.
   */
  lastSampleMs?(): number | null;
  /** One reading now, outside any run (for `bench probe`); throws if nothing can be read. */
  readOnce(clock: Clock): Promise<HwSample>;
}


export interface ThermalVerdict {
  maxTempC: number | null;
  maxTempSensor: string | null;
  /** Clocks whose lowest reading in the cell fell more than `dropPct` below their highest. */
  clockDrops: Array<{ clock: string; maxMhz: number; minMhz: number; dropPct: number }>;
  throttled: boolean;
  reasons: string[];
}

