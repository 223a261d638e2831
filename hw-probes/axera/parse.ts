import { ParseError } from '../../core/errors.ts';

/**
 * Parsers for Axera AX650N telemetry: `/proc/ax_proc/mem_cmm_info` (CMM, the contiguous memory
 * NPU models and media buffers live in), `/proc/ax_proc/npu/top` (NPU utilisation), the
 * `axcl-smi` card table and `axcl-smi info --cmm` (PCIe/M.2 cards). Axera exposes no power
 * sensor: board power needs an external meter.
 */

export interface CmmPartition {
  name: string;
  totalKb: number;
  usedKb: number;
}

export interface CmmInfo {
  /** "ax_cmm V2.26.0_20250211193319 Feb 11 2025 19:52:13 JK", when printed. */
  sdkVersion?: string;
  partitions: CmmPartition[];
  totalKb: number;
  usedKb: number;
}

/**
 * `mem_cmm_info`: each `+---PARTITION: ..., Size=3145728KB(3072MB), NAME="anonymous"` line is
 * followed by an `nbytes(Max=..., Cur=19329024B(18876KB,18MB), ...)` line whose `Cur` is the
 * bytes in use. Used is taken from the exact byte count, not the rounded KB.
 */
export function parseCmmInfo(text: string, source = 'mem_cmm_info'): CmmInfo {
  const lines = text.split(/\r?\n/);
  const partitions: CmmPartition[] = [];
  let sdkVersion: string | undefined;
  let open: { name: string; totalKb: number; line: number } | null = null;
  lines.forEach((line, i) => {
    const ver = /\[Axera version\]:\s*(.+?)\s*$/.exec(line);
    if (ver) sdkVersion = ver[1]!;
    const part = /PARTITION:.*?Size=(\d+)KB.*?NAME="([^"]*)"/.exec(line);
    if (part) {
      if (open) throw new ParseError(source, open.line, `partition "${open.name}" has no nbytes(...) line`);
      open = { name: part[2]!, totalKb: Number(part[1]), line: i + 1 };
      return;
    }
    const used = /nbytes\(.*?Cur=(\d+)B/.exec(line);
    if (used && open) {
      partitions.push({ name: open.name, totalKb: open.totalKb, usedKb: Number(used[1]) / 1024 });
      open = null;
    }
  });
  if (open) throw new ParseError(source, (open as { line: number }).line, 'partition line without a following nbytes(...) line');
  if (partitions.length === 0) throw new ParseError(source, undefined, 'no "PARTITION: ... Size=NKB" line found: not a /proc/ax_proc/mem_cmm_info dump');
  // A complete dump ends with the driver's own totals; a dump cut short (as often pasted) does not.
  const summary = /CMM_USE_INFO:[\s\S]*?total size=(\d+)KB.*?used=(\d+)KB/.exec(text);
  const out: CmmInfo = {
    partitions,
    totalKb: summary ? Number(summary[1]) : partitions.reduce((s, p) => s + p.totalKb, 0),
    usedKb: summary ? Number(summary[2]) : partitions.reduce((s, p) => s + p.usedKb, 0),
  };
  if (sdkVersion !== undefined) out.sdkVersion = sdkVersion;
  return out;
}

export type NpuTop =
  | { state: 'busy'; loadPct: number; perCorePct: Record<string, number> }
  /** The driver prints "nputop info is empty!" / "... not updated over N ms!" when the NPU is idle. */
  | { state: 'idle'; loadPct: 0; message: string }
  /** "nputop info is not enabled!": statistics are off until `echo 1 > /proc/ax_proc/npu/enable`. */
  | { state: 'disabled'; message: string };

/**
 * `/proc/ax_proc/npu/top`: one block per NPU (virtual) core:
 * `core:vnpu-Non` / `time:568387` / `period:1000000` / `utilization:96%`. The whole-NPU load is
 * the mean over the blocks.
 */
export function parseNpuTop(text: string, source = 'npu/top'): NpuTop {
  const t = text.trim();
  if (/not enabled/i.test(t)) return { state: 'disabled', message: t };
  if (/^nputop info (is empty|not updated)/i.test(t)) return { state: 'idle', loadPct: 0, message: t };
  const perCorePct: Record<string, number> = {};
  let core: string | null = null;
  t.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    const kv = /^(\w+)\s*:\s*(\S+)$/.exec(line);
    if (!kv) throw new ParseError(source, i + 1, `expected "key:value", got "${line.slice(0, 60)}"`);
    const [, key, value] = kv as unknown as [string, string, string];
    if (key === 'core') core = value;
    else if (key === 'utilization') {
      const pct = /^(\d+(?:\.\d+)?)%$/.exec(value);
      if (!pct) throw new ParseError(source, i + 1, `utilization "${value}" is not a percentage`);
      if (core === null) throw new ParseError(source, i + 1, 'utilization before any "core:" line');
      perCorePct[core] = Number(pct[1]);
    } else if (key !== 'time' && key !== 'period') {
      throw new ParseError(source, i + 1, `unknown field "${key}"`);
    }
  });
  const values = Object.values(perCorePct);
  if (values.length === 0) throw new ParseError(source, undefined, 'no "utilization:N%" line found');
  return { state: 'busy', loadPct: values.reduce((s, v) => s + v, 0) / values.length, perCorePct };
}

export interface AxclCard {
  index: number;
  name: string;
  firmware: string;
  busId: string;
  temperatureC?: number;
  cpuPct?: number;
  npuPct?: number;
  memUsedMiB?: number;
  memTotalMiB?: number;
  cmmUsedMiB?: number;
  cmmTotalMiB?: number;
}

export interface AxclSmiTable {
  version?: string;
  driver?: string;
  cards: AxclCard[];
}

const MIB_PAIR = /(\d+)\s*MiB\s*\/\s*(\d+)\s*MiB/;

/**
 * The default `axcl-smi` view: per card, a first row (index, name, firmware, bus id, memory) and
 * a second row (fan, temperature, power "-- / --", CPU %, NPU %, CMM). Axera reports no power.
 */
export function parseAxclSmi(text: string, source = 'axcl-smi'): AxclSmiTable {
  const table: AxclSmiTable = { cards: [] };
  const lines = text.split(/\r?\n/);
  const head = /AXCL-SMI\s+(\S+).*Driver\s+(\S+)/.exec(text);
  if (head) {
    table.version = head[1]!;
    table.driver = head[2]!;
  }
  for (let i = 0; i < lines.length; i++) {
    const first = /^\|\s*(\d+)\s+(\S+)\s+(\S+)\s*\|\s*([0-9a-fA-F:.]+)\s*\|(.*)\|\s*$/.exec(lines[i]!);
    if (!first) continue;
    const card: AxclCard = { index: Number(first[1]), name: first[2]!, firmware: first[3]!, busId: first[4]! };
    const mem = MIB_PAIR.exec(first[5]!);
    if (mem) {
      card.memUsedMiB = Number(mem[1]);
      card.memTotalMiB = Number(mem[2]);
    }
    const second = lines[i + 1];
    const cells = second?.split('|').map((c) => c.trim());
    if (!cells || cells.length < 5) throw new ParseError(source, i + 2, `card ${card.index}: expected its second row (temperature, CPU/NPU %, CMM)`);
    const temp = /(-?\d+(?:\.\d+)?)C\b/.exec(cells[1]!);
    if (temp) card.temperatureC = Number(temp[1]);
    const util = /(\d+(?:\.\d+)?)%\s+(\d+(?:\.\d+)?)%/.exec(cells[2]!);
    if (util) {
      card.cpuPct = Number(util[1]);
      card.npuPct = Number(util[2]);
    }
    const cmm = MIB_PAIR.exec(cells[3]!);
    if (cmm) {
      card.cmmUsedMiB = Number(cmm[1]);
      card.cmmTotalMiB = Number(cmm[2]);
    }
    table.cards.push(card);
    i += 1;
  }
  if (table.cards.length === 0) throw new ParseError(source, undefined, 'no card rows found (expected "|    0  AX650N  V2.18.0 | 0001:81:00.0 | ...")');
  return table;
}

/** `axcl-smi info --cmm`: "CMM Total : 3145728 KiB", "CMM Used : 18876 KiB". */
export function parseAxclCmmInfo(text: string, source = 'axcl-smi info --cmm'): { totalKb: number; usedKb: number } {
  const total = /CMM Total\s*:\s*(\d+)\s*KiB/i.exec(text);
  const used = /CMM Used\s*:\s*(\d+)\s*KiB/i.exec(text);
  if (!total || !used) throw new ParseError(source, undefined, 'expected "CMM Total : N KiB" and "CMM Used : N KiB"');
  return { totalKb: Number(total[1]), usedKb: Number(used[1]) };
}

/** `/proc/meminfo` -> used/total MB, used = MemTotal - MemAvailable (what `free` calls used). */
export function parseMeminfo(text: string, source = '/proc/meminfo'): { usedMb: number; totalMb: number; swapUsedMb?: number; swapTotalMb?: number } {
  const kb = (key: string): number | undefined => {
    const m = new RegExp(String.raw`^${key}:\s+(\d+)\s*kB`, 'm').exec(text);
    return m ? Number(m[1]) : undefined;
  };
  const total = kb('MemTotal');
  const available = kb('MemAvailable') ?? (kb('MemFree') !== undefined ? kb('MemFree')! + (kb('Buffers') ?? 0) + (kb('Cached') ?? 0) : undefined);
  if (total === undefined || available === undefined) throw new ParseError(source, undefined, 'expected MemTotal and MemAvailable lines');
  const out: { usedMb: number; totalMb: number; swapUsedMb?: number; swapTotalMb?: number } = {
    usedMb: (total - available) / 1024,
    totalMb: total / 1024,
  };
  const swapTotal = kb('SwapTotal');
  const swapFree = kb('SwapFree');
  if (swapTotal !== undefined && swapFree !== undefined) {
    out.swapTotalMb = swapTotal / 1024;
    out.swapUsedMb = (swapTotal - swapFree) / 1024;
  }
  return out;
}
