/**
 * Which SIMD extensions a llama.cpp build uses, against what this machine's CPU has: a build
 * without the machine's vector units (the prebuilt linux-x64 CPU binary of @fugood/llama.node,
 * the image binding before the suite's own mtmd addon, reports no AVX at all) runs several times slower, so its timings must never be compared
 * silently with a build that uses them.
 */
import { readFileSync } from 'node:fs';

/** Machine CPU flag (Linux /proc/cpuinfo) -> the key ggml's `llama_print_system_info` prints for it. */
const FEATURE_KEYS: ReadonlyArray<readonly [string, string]> = [
  ['avx', 'AVX'],
  ['avx2', 'AVX2'],
  ['fma', 'FMA'],
  ['f16c', 'F16C'],
  ['avx512f', 'AVX512'],
  ['avx512_vnni', 'AVX512_VNNI'],
  ['avx_vnni', 'AVX_VNNI'],
  ['asimd', 'NEON'],
  ['asimddp', 'DOTPROD'],
  ['i8mm', 'MATMUL_INT8'],
  ['sve', 'SVE'],
];

/** Keys set to 1 in a llama.cpp system-info line (`CPU : SSE3 = 1 | AVX = 1 | ...`). */
export function buildFeatures(systemInfo: string): string[] {
  const out = new Set<string>();
  for (const m of systemInfo.matchAll(/([A-Z][A-Z0-9_]*)\s*=\s*1\b/g)) out.add(m[1]!);
  return [...out];
}

/** SIMD flags of this machine's CPU that ggml can use (Linux: /proc/cpuinfo; elsewhere: unknown = []). */
export function machineSimdFlags(cpuinfo?: string): string[] {
  let text = cpuinfo;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      return [];
    }
  }
  const line = /^(?:flags|Features)\s*:\s*(.*)$/m.exec(text)?.[1] ?? '';
  const have = new Set(line.trim().split(/\s+/));
  return FEATURE_KEYS.filter(([flag]) => have.has(flag)).map(([flag]) => flag);
}

export interface SimdVerdict {
  /** ggml feature keys the build reports, e.g. "AVX2 FMA F16C". */
  build: string;
  /** The machine's SIMD flags ggml could use. */
  machine: string;
  /** Machine flags whose ggml key the build does not report; empty = the build uses them all. */
  missing: string[];
}

export function simdVerdict(systemInfo: string, cpuinfo?: string): SimdVerdict {
  const built = new Set(buildFeatures(systemInfo));
  const machine = machineSimdFlags(cpuinfo);
  const keyOf = new Map(FEATURE_KEYS);
  const missing = machine.filter((flag) => !built.has(keyOf.get(flag)!));
  const simdKeys = new Set(FEATURE_KEYS.map(([, key]) => key));
  return {
    build: [...built].filter((k) => simdKeys.has(k) || k === 'SSE3' || k === 'SSSE3').join(' ') || 'none',
    machine: machine.join(' ') || 'unknown',
    missing,
  };
}

/** The cell flag sentence of a build that lacks the machine's SIMD (no "load"/"noise" wording: figures.ts maps those to other statuses). */
export function noSimdMessage(binding: string, v: SimdVerdict): string {
  return `${binding} was built without this CPU's ${v.missing.join(', ')} (build reports: ${v.build}): its timings are not the machine's speed and must not be compared with a build that uses them`;
}
