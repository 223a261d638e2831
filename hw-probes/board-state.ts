/**
 * The board's own state around a cell, read on the board through the run's transport (the same
 * SSH master as the runner): its power mode (`nvpmodel -q`), its clocks (`jetson_clocks --show`
 * where it answers, else the kernel's cpufreq and devfreq files: current, floor, ceiling,
 * governor) and its temperatures (thermal zones). One fixed script reads all of it in one
 * command, before the measured iterations and after them; while they run, the board's own
 * sampler (tegrastats on a Jetson, parsed by hw-probes/tegrastats/parse.ts) gives temperatures and
 * clocks over time. On an AX650N the same kernel files are what its BSP exposes (no power mode).
 *
 * What is read is kept as read; judging it (flags, differences from the run's header) is the
 * harness's (harness/board-quality.ts).
 */
import type { BoardClock, BoardStateReading } from '../core/result-types.ts';
import type { CommandTransport } from '../core/transport.ts';
import { parseJetsonClocks } from '../targets/jetson-clocks.ts';
import { parseNvpmodelQuery } from './tegrastats/facts.ts';

// A fixed script: nothing of ours is interpolated into it. Each part prints under its own
// "## name" line; a tool that is missing or refuses (jetson_clocks --show needs root) prints nothing.
const READ = [
  'if command -v nvpmodel >/dev/null 2>&1; then echo "## nvpmodel"; nvpmodel -q 2>&1; fi',
  'if command -v jetson_clocks >/dev/null 2>&1; then echo "## jetson_clocks"; jetson_clocks --show 2>/dev/null; fi',
  'echo "## sysfs"',
  'r() { v=$(cat "$1" 2>/dev/null) && [ -n "$v" ] && printf %s "$v" || printf -; }',
  'for p in /sys/devices/system/cpu/cpufreq/policy*; do [ -d "$p" ] && echo "cpufreq ${p##*/} $(r $p/scaling_cur_freq) $(r $p/scaling_min_freq) $(r $p/scaling_max_freq) $(r $p/scaling_governor)"; done',
  'for d in /sys/class/devfreq/*; do [ -d "$d" ] && echo "devfreq ${d##*/} $(r $d/cur_freq) $(r $d/min_freq) $(r $d/max_freq) $(r $d/governor)"; done',
  'for z in /sys/class/thermal/thermal_zone*; do [ -d "$z" ] && echo "thermal $(r $z/type) $(r $z/temp)"; done',
  'true',
].join('\n');

const num = (s: string | undefined): number | null => {
  const v = Number(s);
  return s !== undefined && s !== '-' && s !== '' && Number.isFinite(v) ? v : null;
};
const round2 = (v: number | null): number | null => (v === null ? null : Math.round(v * 100) / 100);

/** The sections of READ's output, by name. */
function sections(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of text.split(/^## /m).slice(1)) {
    const nl = part.indexOf('\n');
    out.set((nl < 0 ? part : part.slice(0, nl)).trim(), nl < 0 ? '' : part.slice(nl + 1));
  }
  return out;
}

/**
 * Parses what READ prints. Clocks from `jetson_clocks --show` are named as it names them (cpu0,
 * gpu, emc); without it, cpufreq policies ("cpu policy0") and devfreq devices ("17000000.ga10b")
 * as the kernel names them. Thermal zones as name -> °C (Tegra's -256 °C for a sensor that is off
 * is dropped). Returns null when the text holds none of the parts (not this script's output).
 */
export function parseBoardState(text: string): BoardStateReading | null {
  const parts = sections(text);
  if (!parts.has('sysfs')) return null;
  const reading: BoardStateReading = { powerMode: null, clocks: {}, temperaturesC: {}, sources: [] };
  const nvp = parts.get('nvpmodel');
  const mode = nvp !== undefined ? parseNvpmodelQuery(nvp) : null;
  if (mode) {
    reading.powerMode = { name: mode.mode, ...(mode.id !== undefined ? { id: mode.id } : {}) };
    reading.sources.push('nvpmodel -q');
  }
  const jc = parts.get('jetson_clocks');
  if (jc !== undefined && /CurrentFreq=/.test(jc)) {
    try {
      for (const d of parseJetsonClocks(jc).domains) {
        if (d.online === false) continue;
        reading.clocks[d.name.toLowerCase()] = { curMhz: round2(d.currentMhz), minMhz: round2(d.minMhz), maxMhz: round2(d.maxMhz) };
      }
      reading.sources.push('jetson_clocks --show');
    } catch {
      // not its output after all: the kernel's files below stand in
    }
  }
  const fromTool = Object.keys(reading.clocks).length > 0;
  let sysfs = false;
  for (const line of (parts.get('sysfs') ?? '').split('\n')) {
    const f = line.trim().split(/\s+/);
    if ((f[0] === 'cpufreq' || f[0] === 'devfreq') && f.length === 6 && !fromTool) {
      // cpufreq is in kHz, devfreq in Hz.
      const scale = f[0] === 'cpufreq' ? 1e3 : 1e6;
      const mhz = (s: string | undefined) => round2(num(s) === null ? null : num(s)! / scale);
      const clock: BoardClock = { curMhz: mhz(f[2]), minMhz: mhz(f[3]), maxMhz: mhz(f[4]) };
      if (f[5] !== '-') clock.governor = f[5]!;
      reading.clocks[f[0] === 'cpufreq' ? `cpu ${f[1]}` : f[1]!] = clock;
      sysfs = true;
    } else if (f[0] === 'thermal' && f.length === 3) {
      const milli = num(f[2]);
      if (milli === null || milli / 1000 <= -100) continue;
      const name = f[1] === '-' ? `zone${Object.keys(reading.temperaturesC).length}` : f[1]!;
      reading.temperaturesC[reading.temperaturesC[name] === undefined ? name : `${name}#${Object.keys(reading.temperaturesC).length}`] = milli / 1000;
      sysfs = true;
    }
  }
  if (sysfs) reading.sources.push('sysfs');
  return reading;
}

/** Reads the board's state now through the transport; null when the board did not answer. */
export async function readBoardState(transport: CommandTransport, tMs: number): Promise<BoardStateReading | null> {
  const r = await transport.run(['sh', '-c', READ], { timeoutMs: 15_000 });
  if (r.code !== 0) return null;
  const reading = parseBoardState(r.stdout);
  return reading ? { ...reading, tMs } : null;
}

/**
 * Clock domains below their ceiling at this reading (what `bench doctor` calls not locked): the
 * GPU, memory and accelerators first, then the CPU cores.
 */
export function unlockedClocks(reading: BoardStateReading): string[] {
  const names = Object.entries(reading.clocks)
    .filter(([, c]) => c.curMhz !== null && c.maxMhz !== null && c.curMhz < c.maxMhz)
    .map(([name]) => name);
  const cpu = (n: string) => /^cpu/.test(n);
  return [...names.filter((n) => !cpu(n)), ...names.filter(cpu)];
}

/** "MAXN_SUPER (id 2)". */
export function powerModeText(mode: BoardStateReading['powerMode']): string {
  return mode ? `${mode.name}${mode.id !== undefined ? ` (id ${mode.id})` : ''}` : 'not readable';
}
