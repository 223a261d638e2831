/**
 * `jetson_clocks --show`: one line per clock domain, "cpu0: Online=1 Governor=schedutil
 * MinFreq=729600 MaxFreq=1510400 CurrentFreq=1510400 ...", "GPU MinFreq=306000000
 * MaxFreq=624750000 CurrentFreq=306000000", "EMC MinFreq=... CurrentFreq=... FreqOverride=0".
 * CPU figures are kHz, GPU and EMC Hz (as the tool prints them). Clocks are "locked" when the
 * current frequency is the maximum (what `sudo jetson_clocks` sets). (A candidate for
 * hw-probes/tegrastats/facts.ts; kept here because only the preflight reads it so far.)
 */
import { ParseError } from '../core/errors.ts';

export interface ClockDomain {
  name: string;
  minMhz: number;
  maxMhz: number;
  currentMhz: number;
  online?: boolean;
}

export interface JetsonClocks {
  socFamily?: string;
  machine?: string;
  domains: ClockDomain[];
  powerMode?: string;
}

export function parseJetsonClocks(text: string, source = 'jetson_clocks --show'): JetsonClocks {
  const out: JetsonClocks = { domains: [] };
  const lines = text.split(/\r?\n/);
  lines.forEach((raw) => {
    const line = raw.trim();
    const soc = /^SOC family:\s*(\S+)\s+Machine:\s*(.+)$/.exec(line);
    if (soc) {
      out.socFamily = soc[1]!;
      out.machine = soc[2]!.trim();
      return;
    }
    const mode = /^NV Power Mode:\s*(.+)$/.exec(line);
    if (mode) {
      out.powerMode = mode[1]!.trim();
      return;
    }
    const d = /^(\w+):?\s+(?:Online=(\d)\s+)?(?:Governor=\S+\s+)?MinFreq=(\d+)\s+MaxFreq=(\d+)\s+CurrentFreq=(\d+)/.exec(line);
    if (!d) return;
    const name = d[1]!;
    // CPU frequencies are printed in kHz, the GPU and EMC in Hz.
    const scale = /^cpu\d+$/.test(name) ? 1e3 : 1e6;
    const domain: ClockDomain = { name, minMhz: Number(d[3]) / scale, maxMhz: Number(d[4]) / scale, currentMhz: Number(d[5]) / scale };
    if (d[2] !== undefined) domain.online = d[2] === '1';
    out.domains.push(domain);
  });
  if (out.domains.length === 0) throw new ParseError(source, undefined, 'no "NAME MinFreq=... MaxFreq=... CurrentFreq=..." line: not jetson_clocks --show output');
  return out;
}

/** Domains running below their maximum (online CPUs, GPU, EMC). */
export function unlockedDomains(c: JetsonClocks): ClockDomain[] {
  return c.domains.filter((d) => d.online !== false && d.currentMhz < d.maxMhz);
}
