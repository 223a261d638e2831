/**
 * The board's state around each cell, and what it says about the cell's figures. Before the
 * measured iterations and after them the board is read through the run's transport
 * (hw-probes/board-state.ts: power mode, clocks, temperatures); while they run, the board's own
 * sampler gives temperatures and clocks over time: the run's probe samples when a probe samples
 * the board (tegrastats, axera), else a tegrastats started here for the cell when the board has
 * one. Judged against the run's header (environment.board, read by the preflight before the
 * first cell): another power mode, clock ceilings that moved, clocks not locked or moving while
 * measured, and throttling each become a flag on the cell's figures.
 */
import type { Clock } from '../core/clock.ts';
import { terminalSafe } from '../core/terminal-text.ts';
import type { HwSample } from '../core/probe-types.ts';
import type { BoardStateReading, CellBoardState, CellFlag } from '../core/result-types.ts';
import type { CommandTransport } from '../core/transport.ts';
import { powerModeText, readBoardState, unlockedClocks } from '../hw-probes/board-state.ts';
import type { Probe } from '../hw-probes/probe.ts';
import { probeDescriptor } from '../hw-probes/registry.ts';
import { createTegrastatsProbe } from '../hw-probes/tegrastats/probe.ts';
import { thermalVerdict, type ThermalVerdict } from '../hw-probes/thermal.ts';

/** How often the window's own sampler reads the board while a cell measures. */
export const BOARD_SAMPLE_INTERVAL_MS = 500;

/**
 * The sampler a board's state window runs itself: none when one of the run's probes already
 * samples the board's temperatures (its samples are used), else tegrastats when the board has it
 * (a Jetson), else none (the readings before and after the cell are all there is).
 */
export async function ownBoardSampler(transport: CommandTransport, runProbes: readonly string[]): Promise<Probe | null> {
  if (runProbes.some((name) => probeDescriptor(name)?.samples.includes('temperature') && !probeDescriptor(name)?.thisHostOnly)) return null;
  const tegrastats = createTegrastatsProbe({ transport });
  const found = await tegrastats.detect().catch(() => null);
  return found?.available ? tegrastats : null;
}

export interface BoardStateWindow {
  /** Reads the board again after the iterations and stops the window's own sampler. */
  finish(): Promise<{ before: BoardStateReading; after: BoardStateReading | null; samples: HwSample[]; source: string | null; warnings: string[] } | null>;
}

/**
 * Reads the board now and, with a `sampler` (a board probe the run does not already sample
 * with), samples it until finish().
 */
export async function startBoardStateWindow(transport: CommandTransport, clock: Clock, opts: { sampler?: Probe | null; intervalMs: number }): Promise<BoardStateWindow> {
  const before = cleanReading(await readBoardState(transport, clock.now()));
  const sampler = before ? opts.sampler ?? null : null;
  if (sampler) await sampler.start(clock, opts.intervalMs);
  let finished: ReturnType<BoardStateWindow['finish']> | null = null;
  return {
    // Once: a cell that throws calls it again from its cleanup, to stop the sampler.
    finish() {
      finished ??= (async () => {
        const run = sampler ? await sampler.stop() : null;
        if (!before) return null;
        const after = cleanReading(await readBoardState(transport, clock.now()));
        return { before, after, samples: run?.samples ?? [], source: run && run.samples.length ? run.probe : null, warnings: run?.warnings ?? [] };
      })();
      return finished;
    },
  };
}

/** Longest name kept from the board's answer (a power mode, a clock domain, a thermal zone). */
const MAX_BOARD_NAME = 100;
const boardName = (text: string): string => terminalSafe(text, { oneLine: true }).trim().slice(0, MAX_BOARD_NAME);

/**
 * The board's answer is untrusted text (a tool or a board we do not control prints it): its
 * names reach every cell's result, flags, progress lines, report.md and the site, so they are
 * kept as one line of at most MAX_BOARD_NAME characters without escape sequences.
 */
function cleanReading(reading: BoardStateReading | null): BoardStateReading | null {
  if (!reading) return null;
  const names = <T>(record: Record<string, T>, clean: (v: T) => T = (v) => v): Record<string, T> => Object.fromEntries(Object.entries(record).map(([k, v]) => [boardName(k), clean(v)]));
  return {
    ...reading,
    powerMode: reading.powerMode ? { ...reading.powerMode, name: boardName(reading.powerMode.name) } : null,
    clocks: names(reading.clocks, (c) => (c.governor === undefined ? c : { ...c, governor: boardName(c.governor) })),
    temperaturesC: names(reading.temperaturesC),
  };
}

/** At most three names, then how many more. */
function some(names: readonly string[]): string {
  return names.length <= 3 ? names.join(', ') : `${names.slice(0, 3).join(', ')} and ${names.length - 3} more`;
}

const mhz = (v: number | null): string => (v === null ? '?' : String(Number(v.toFixed(2))));

/** The header's clock facts ("clock.gpu_mhz": "306/624.75", current/ceiling) as domain -> ceiling MHz. */
function headerCeilings(header: Record<string, string>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of Object.entries(header)) {
    const m = /^clock\.(.+)_mhz$/.exec(k);
    const max = Number(v.split('/')[1]);
    if (m && Number.isFinite(max)) out.set(m[1]!, max);
  }
  return out;
}

/**
 * The run's header facts with the power mode the first reading found, when the preflight did not
 * record one (a target that lists no Jetson probe): the header states the run's mode, and the
 * cells after are judged against it. Unchanged when the header has a mode or the board has none.
 */
export function headerWithPowerMode(header: Record<string, string>, first: BoardStateReading): Record<string, string> {
  if (header['power.nvpmodel'] !== undefined || !first.powerMode) return header;
  return { ...header, 'power.nvpmodel': first.powerMode.name, ...(first.powerMode.id !== undefined ? { 'power.nvpmodel_id': String(first.powerMode.id) } : {}) };
}

export interface BoardJudgement {
  state: CellBoardState;
  flags: CellFlag[];
  /** Throttling seen on the board while the cell measured (merged with the probes' verdict by the caller). */
  thermal: ThermalVerdict;
}

/**
 * Judges a cell's board state against the run's header. `expectedMode` is the power mode the cell
 * was meant to run in (a power_mode axis value as the board reported it after setting it), else
 * the header's; samples outside the measured window are ignored.
 */
export function judgeBoardState(input: {
  window: NonNullable<Awaited<ReturnType<BoardStateWindow['finish']>>>;
  /** The run's probe samples of the cell (tegrastats, axera), besides the window's own. */
  probeSamples?: readonly HwSample[];
  header: Record<string, string>;
  expectedMode?: string;
  tempLimitC?: number;
}): BoardJudgement {
  const { before, after } = input.window;
  const from = before.tMs ?? -Infinity;
  const to = after?.tMs ?? Infinity;
  const samples = [...input.window.samples, ...(input.probeSamples ?? [])].filter((s) => s.tMs >= from && s.tMs <= to && (s.temperaturesC || s.gpus || s.emc || s.cpu));
  const source = input.window.source ?? (samples.length ? samples[0]!.probe : null);
  const differences: string[] = [];
  const flags: CellFlag[] = [];

  // Power mode: the cell's against the one it was meant to run in, and before against after.
  const headerMode = input.header['power.nvpmodel'];
  const expected = input.expectedMode ?? (headerMode !== undefined ? `${headerMode}${input.header['power.nvpmodel_id'] !== undefined ? ` (id ${input.header['power.nvpmodel_id']})` : ''}` : undefined);
  const modeProblems: string[] = [];
  if (expected !== undefined) {
    if (!before.powerMode) modeProblems.push(`power mode not readable before the cell (the run's is ${expected})`);
    else if (powerModeText(before.powerMode) !== expected && before.powerMode.name !== expected) {
      modeProblems.push(`power mode ${powerModeText(before.powerMode)}, not the run's ${expected}`);
    }
  }
  if (before.powerMode && after?.powerMode && powerModeText(before.powerMode) !== powerModeText(after.powerMode)) {
    modeProblems.push(`power mode changed while measuring: ${powerModeText(before.powerMode)} -> ${powerModeText(after.powerMode)}`);
  }
  differences.push(...modeProblems);
  if (modeProblems.length) flags.push({ kind: 'power-mode', message: modeProblems.join('; ') });

  // Clocks: ceilings against the header's, settings before against after, locked or not, movement.
  const clockProblems: string[] = [];
  // With a power_mode axis each mode has its own ceilings: the header's (another mode's) say nothing.
  const ceilings = input.expectedMode === undefined ? headerCeilings(input.header) : new Map<string, number>();
  const moved: string[] = [];
  for (const [name, c] of Object.entries(before.clocks)) {
    const headerMax = ceilings.get(name);
    if (headerMax !== undefined && c.maxMhz !== null && Math.abs(c.maxMhz - headerMax) > 0.01) {
      const sentence = `${name} ceiling ${mhz(c.maxMhz)} MHz, the run's header ${mhz(headerMax)} MHz`;
      differences.push(sentence);
      clockProblems.push(sentence);
    }
    const later = after?.clocks[name];
    if (later && (later.maxMhz !== c.maxMhz || later.minMhz !== c.minMhz || later.governor !== c.governor)) moved.push(`${name} ${mhz(c.minMhz)}–${mhz(c.maxMhz)} -> ${mhz(later.minMhz)}–${mhz(later.maxMhz)} MHz`);
  }
  if (moved.length) {
    const sentence = `clock limits changed while measuring: ${some(moved)}`;
    differences.push(sentence);
    clockProblems.push(sentence);
  }
  const unlocked = unlockedClocks(before);
  if (unlocked.length) {
    clockProblems.push(`clocks not locked: ${some(unlocked.map((n) => `${n} ${mhz(before.clocks[n]!.curMhz)} of ${mhz(before.clocks[n]!.maxMhz)} MHz`))} before the cell`);
  }
  const ranges: Record<string, [number, number]> = {};
  const seen = (name: string, v: number | undefined) => {
    if (v === undefined || !Number.isFinite(v) || v <= 0) return;
    const r = ranges[name];
    ranges[name] = r ? [Math.min(r[0], v), Math.max(r[1], v)] : [v, v];
  };
  for (const s of samples) {
    for (const g of s.gpus ?? []) seen(`gpu${g.index === 0 ? '' : g.index}`, g.mhz);
    seen('emc', s.emc?.mhz);
    for (const c of s.cpu ?? []) if (c.online) seen(`cpu${c.index}`, c.mhz);
  }
  const moving = Object.entries(ranges).filter(([, [lo, hi]]) => lo < hi);
  if (moving.length) clockProblems.push(`clocks moved while measuring (${source}): ${some(moving.map(([n, [lo, hi]]) => `${n} ${lo}–${hi} MHz`))}`);
  if (clockProblems.length) flags.push({ kind: 'clocks', message: clockProblems.join('; ') });

  // Without samples while measuring, the temperatures of the two readings are all there is.
  const readings: HwSample[] = [before, after].flatMap((r) => (r ? [{ tMs: r.tMs ?? 0, probe: 'board-state', temperaturesC: r.temperaturesC }] : []));
  const thermal = thermalVerdict(samples.length ? samples : readings, input.tempLimitC !== undefined ? { tempLimitC: input.tempLimitC } : {});
  return {
    state: {
      before,
      after,
      during: source ? { source, samples: samples.length, maxTempC: thermal.maxTempC, maxTempSensor: thermal.maxTempSensor, clockRangesMhz: ranges } : null,
      differences,
    },
    flags,
    thermal,
  };
}
