import { ParseError } from '../../core/errors.ts';
import type { CpuCoreSample, EngineSample, GpuSample, HwSample, RailSample } from '../../core/probe-types.ts';

/**
 * Parser for tegrastats output, JetPack 3 to 7. A record is one line that starts with `RAM`
 * (after an optional `MM-DD-YYYY HH:MM:SS` prefix). Every token is recognised or the record is
 * rejected with the line and the text that was not understood: a half-read line would silently
 * drop a rail from an energy figure.
 *
 * Formats covered (see test/fixtures/probes-tegrastats-*.txt for real lines of each):
 * - CPU `[a%@f,b%@f,off]` (JP4+) and legacy `cpu [a%,b%]@f` (JP3, one clock for all cores);
 * - EMC_FREQ / GR3D_FREQ as `x%@f`, `x%` (non-root), `x%@[g0,g1]` (per-GPC, JP6/7),
 *   `@[g0,g1,g2]` (Thor, no load), and legacy `EMC x%@f` / `GR3D x%@f`;
 * - engines `NVDEC off`, `APE 25`, `VIC_FREQ 0%@115`;
 * - temperatures `name@41.5C`, any case, optionally with a second value `name@A C/B C` (JP7);
 * - rails `NAME cur/avg` with or without `mW` on each value, and `cur/avg/x` (JP7).
 */

export interface TegrastatsReading {
  /** 1-based line where the record starts. */
  line: number;
  /** Timestamp prefix verbatim ("10-01-2025 20:05:55"), when tegrastats was run with one. */
  deviceTime?: string;
  /**
   * The prefix read as if it were UTC, ms. The board's time zone is unknown, so only differences
   * between readings mean anything (and only to the second).
   */
  deviceClockMs?: number;
  ram?: NonNullable<HwSample['ram']>;
  swap?: NonNullable<HwSample['swap']>;
  iram?: NonNullable<HwSample['iram']>;
  cpu?: CpuCoreSample[];
  gpu?: GpuSample;
  emc?: NonNullable<HwSample['emc']>;
  engines: Record<string, EngineSample>;
  temperaturesC: Record<string, number>;
  /** Values after the first in `name@A C/B C` (JetPack 7); meaning undocumented, kept verbatim. */
  temperatureExtraC?: Record<string, number[]>;
  rails: RailSample[];
  mts?: NonNullable<HwSample['mts']>;
}

export interface TegrastatsText {
  readings: TegrastatsReading[];
  /** Lines that are not tegrastats output but are expected in saved logs (`date` output). */
  markers: Array<{ line: number; text: string }>;
}

const END = String.raw`(?=\s|$)`;
const NUM = String.raw`-?\d+(?:\.\d+)?`;
const TIMESTAMP_RE = /^(\d{2})-(\d{2})-(\d{4}) (\d{2}):(\d{2}):(\d{2})\s+/;
const RECORD_START_RE = /^(?:\d{2}-\d{2}-\d{4} \d{2}:\d{2}:\d{2}\s+)?RAM\s/;
/** `date` output that people put at the top of saved logs. */
const DATE_LINE_RE = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +\d{1,2} \d{2}:\d{2}:\d{2}(?: [A-Z]{2,5})? \d{4}$/;

type TokenHandler = (m: RegExpExecArray, r: TegrastatsReading, fail: (reason: string) => never) => void;

const int = (s: string | undefined): number => Number(s);

function parseCoreList(body: string, sharedMhz: number | undefined, fail: (reason: string) => never): CpuCoreSample[] {
  return body.split(',').map((raw, index) => {
    const entry = raw.trim();
    // The docs show blank entries ("CPU [X%,Y%, , ]") for cores that are powered down.
    if (entry === 'off' || entry === '') return { index, online: false };
    const m = /^(\d+)%(?:@(\d+))?$/.exec(entry);
    if (!m) fail(`CPU core ${index}: expected "N%", "N%@MHz" or "off", got "${entry}"`);
    const mhz = m[2] !== undefined ? int(m[2]) : sharedMhz;
    return mhz !== undefined ? { index, online: true, loadPct: int(m[1]), mhz } : { index, online: true, loadPct: int(m[1]) };
  });
}

/** Value of an engine-like field: `off`, `N`, `x%`, `x%@f`, `x%@[a,b]`, `@[a,b]`. */
interface FieldValue {
  off?: boolean;
  loadPct?: number;
  mhz?: number;
  gpcMhz?: number[];
}

const FIELD_VALUE = String.raw`(off|(\d+)%@\[([\d,]+)\]|@\[([\d,]+)\]|(\d+)%@(\d+)|(\d+)%|(\d+))`;

function fieldValue(m: RegExpExecArray, first: number): FieldValue {
  const g = (i: number): string | undefined => m[first + i];
  if (g(0) === 'off') return { off: true };
  if (g(1) !== undefined) {
    const gpc = g(2)!.split(',').map(Number);
    return { loadPct: int(g(1)), gpcMhz: gpc, mhz: Math.max(...gpc) };
  }
  if (g(3) !== undefined) {
    const gpc = g(3)!.split(',').map(Number);
    return { gpcMhz: gpc, mhz: Math.max(...gpc) };
  }
  if (g(4) !== undefined) return { loadPct: int(g(4)), mhz: int(g(5)) };
  if (g(6) !== undefined) return { loadPct: int(g(6)) };
  return { mhz: int(g(7)) };
}

function once<T>(current: T | undefined, what: string, fail: (reason: string) => never): void {
  if (current !== undefined) fail(`${what} appears twice in one record (two lines run together?)`);
}

const TOKENS: Array<[RegExp, TokenHandler]> = [
  [
    new RegExp(String.raw`RAM (\d+)\/(\d+)MB(?: ?\(lfb (\d+)x(\d+)(kB|MB)\))?${END}`, 'y'),
    (m, r, fail) => {
      once(r.ram, 'RAM', fail);
      r.ram = { usedMb: int(m[1]), totalMb: int(m[2]) };
      if (m[3] !== undefined) r.ram.largestFreeBlock = { count: int(m[3]), sizeKb: int(m[4]) * (m[5] === 'MB' ? 1024 : 1) };
    },
  ],
  [
    new RegExp(String.raw`SWAP (\d+)\/(\d+)MB(?: ?\(cached (\d+)MB\))?${END}`, 'y'),
    (m, r, fail) => {
      once(r.swap, 'SWAP', fail);
      r.swap = { usedMb: int(m[1]), totalMb: int(m[2]) };
      if (m[3] !== undefined) r.swap.cachedMb = int(m[3]);
    },
  ],
  [
    new RegExp(String.raw`IRAM (\d+)\/(\d+)kB(?: ?\(lfb (\d+)kB\))?${END}`, 'y'),
    (m, r, fail) => {
      once(r.iram, 'IRAM', fail);
      r.iram = { usedKb: int(m[1]), totalKb: int(m[2]) };
      if (m[3] !== undefined) r.iram.largestFreeBlockKb = int(m[3]);
    },
  ],
  [
    new RegExp(String.raw`(?:CPU|cpu) \[([^\]]*)\](?:@(\d+))?${END}`, 'y'),
    (m, r, fail) => {
      once(r.cpu, 'CPU', fail);
      r.cpu = parseCoreList(m[1]!, m[2] !== undefined ? int(m[2]) : undefined, fail);
    },
  ],
  [
    new RegExp(String.raw`MTS fg (\d+)% bg (\d+)%${END}`, 'y'),
    (m, r, fail) => {
      once(r.mts, 'MTS', fail);
      r.mts = { foregroundPct: int(m[1]), backgroundPct: int(m[2]) };
    },
  ],
  [
    new RegExp(String.raw`([A-Za-z][A-Za-z0-9_]*)@(${NUM})C((?:\/${NUM}C)*)${END}`, 'y'),
    (m, r, fail) => {
      const name = m[1]!;
      if (name in r.temperaturesC) fail(`temperature ${name} appears twice in one record`);
      r.temperaturesC[name] = Number(m[2]);
      if (m[3]) {
        const extra = m[3].split('/').filter(Boolean).map((v) => Number(v.slice(0, -1)));
        (r.temperatureExtraC ??= {})[name] = extra;
      }
    },
  ],
  [
    new RegExp(String.raw`([A-Za-z][A-Za-z0-9_]*) (\d+(?:\.\d+)?)(?:mW)?\/(\d+(?:\.\d+)?)(?:mW)?((?:\/\d+(?:\.\d+)?(?:mW)?)*)${END}`, 'y'),
    (m, r, fail) => {
      const name = m[1]!;
      if (r.rails.some((x) => x.name === name)) fail(`rail ${name} appears twice in one record`);
      // tegrastats prints rails in mW whether or not it writes the unit (JP4 omits it).
      const rail: RailSample = { name, powerMw: Number(m[2]), toolAverageMw: Number(m[3]) };
      if (m[4]) rail.toolExtraMw = m[4].split('/').filter(Boolean).map((v) => Number(v.replace(/mW$/, '')));
      r.rails.push(rail);
    },
  ],
  [
    new RegExp(String.raw`([A-Za-z][A-Za-z0-9_]*) ${FIELD_VALUE}${END}`, 'y'),
    (m, r, fail) => {
      const name = m[1]!;
      const v = fieldValue(m, 2);
      if (name === 'GR3D_FREQ' || name === 'GR3D') {
        once(r.gpu, 'GR3D', fail);
        if (v.off) {
          r.gpu = { index: 0 };
          return;
        }
        r.gpu = { index: 0, ...(v.loadPct !== undefined && { loadPct: v.loadPct }), ...(v.mhz !== undefined && { mhz: v.mhz }), ...(v.gpcMhz && { gpcMhz: v.gpcMhz }) };
        return;
      }
      if (name === 'EMC_FREQ' || name === 'EMC') {
        once(r.emc, 'EMC', fail);
        r.emc = { ...(v.loadPct !== undefined && { loadPct: v.loadPct }), ...(v.mhz !== undefined && { mhz: v.mhz }) };
        return;
      }
      if (name in r.engines) fail(`${name} appears twice in one record`);
      r.engines[name] = v.off
        ? { on: false }
        : { on: true, ...(v.loadPct !== undefined && { loadPct: v.loadPct }), ...(v.mhz !== undefined && { mhz: v.mhz }) };
    },
  ],
];

function emptyReading(line: number): TegrastatsReading {
  return { line, engines: {}, temperaturesC: {}, rails: [] };
}

/** Reads the tokens of one physical line into `reading`; throws ParseError naming the line. */
function readTokens(text: string, lineNo: number, source: string, reading: TegrastatsReading, allowTimestamp: boolean): void {
  let pos = 0;
  const fail = (reason: string): never => {
    throw new ParseError(source, lineNo, reason);
  };
  const skipSpace = (): void => {
    while (pos < text.length && /\s/.test(text[pos]!)) pos++;
  };
  skipSpace();
  if (allowTimestamp) {
    const ts = TIMESTAMP_RE.exec(text.slice(pos));
    if (ts) {
      const [, mo, d, y, h, mi, s] = ts.map(Number) as [number, number, number, number, number, number, number];
      reading.deviceTime = ts[0].trim();
      reading.deviceClockMs = Date.UTC(y, mo - 1, d, h, mi, s);
      pos += ts[0].length;
    }
  }
  while (skipSpace(), pos < text.length) {
    let matched = false;
    for (const [re, handle] of TOKENS) {
      re.lastIndex = pos;
      const m = re.exec(text);
      if (!m) continue;
      handle(m, reading, fail);
      pos = re.lastIndex;
      matched = true;
      break;
    }
    if (!matched) {
      const rest = text.slice(pos);
      const word = rest.length > 40 ? `${rest.slice(0, 40)}...` : rest;
      fail(`unrecognised tegrastats field at column ${pos + 1}: "${word}"`);
    }
  }
}

/**
 * Parses one live tegrastats line (a whole record). Throws ParseError for anything else, with
 * `line` as the line number to report.
 */
export function parseTegrastatsLine(text: string, source = 'tegrastats', line = 1): TegrastatsReading {
  const trimmed = text.trim();
  if (!RECORD_START_RE.test(trimmed)) {
    throw new ParseError(source, line, `not a tegrastats line (expected "RAM used/totalMB ..." first): "${trimmed.slice(0, 60)}"`);
  }
  const reading = emptyReading(line);
  readTokens(trimmed, line, source, reading, true);
  return reading;
}

/**
 * Parses a saved tegrastats log. Blank lines and `#` comments are skipped, `date` output is kept
 * as a marker, and a line that does not start with RAM continues the previous record (logs copied
 * from web pages are sometimes wrapped). Anything unreadable throws ParseError with its line.
 */
export function parseTegrastatsText(text: string, source = 'tegrastats'): TegrastatsText {
  const readings: TegrastatsReading[] = [];
  const markers: TegrastatsText['markers'] = [];
  let open: TegrastatsReading | null = null;
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    const line = raw.trim();
    if (!line) {
      open = null;
      return;
    }
    if (line.startsWith('#')) return;
    if (DATE_LINE_RE.test(line)) {
      markers.push({ line: lineNo, text: line });
      open = null;
      return;
    }
    if (RECORD_START_RE.test(line)) {
      open = emptyReading(lineNo);
      readings.push(open);
      readTokens(line, lineNo, source, open, true);
      return;
    }
    if (!open) {
      throw new ParseError(source, lineNo, `not a tegrastats line (expected "RAM used/totalMB ..." first): "${line.slice(0, 60)}"`);
    }
    readTokens(line, lineNo, source, open, false);
  });
  if (readings.length === 0) throw new ParseError(source, undefined, 'no tegrastats lines found (each starts with "RAM used/totalMB")');
  return { readings, markers };
}

/** The normalised sample of a reading, stamped at `tMs` on the run clock. */
export function tegrastatsToSample(reading: TegrastatsReading, tMs: number): HwSample {
  const sample: HwSample = { tMs, probe: 'tegrastats' };
  if (reading.deviceTime !== undefined) sample.deviceTime = reading.deviceTime;
  if (reading.rails.length) sample.rails = reading.rails.map((r) => ({ ...r }));
  if (Object.keys(reading.temperaturesC).length) sample.temperaturesC = { ...reading.temperaturesC };
  if (reading.cpu) sample.cpu = reading.cpu.map((c) => ({ ...c }));
  if (reading.gpu) sample.gpus = [{ ...reading.gpu }];
  if (reading.emc) sample.emc = { ...reading.emc };
  if (Object.keys(reading.engines).length) sample.engines = { ...reading.engines };
  if (reading.ram) sample.ram = { ...reading.ram };
  if (reading.swap) sample.swap = { ...reading.swap };
  if (reading.iram) sample.iram = { ...reading.iram };
  if (reading.mts) sample.mts = { ...reading.mts };
  return sample;
}
