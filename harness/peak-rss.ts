import { readFileSync, writeFileSync } from 'node:fs';

/**
 * Peak resident set size of this process over a window (one cell). On Linux the kernel keeps
 * the high-water mark (VmHWM) and lets a process reset it by writing "5" to clear_refs, which is
 * exact and costs nothing while the cell runs. Elsewhere the lifetime peak from resourceUsage()
 * is the best available and is labelled as such.
 */
export interface PeakRssWindow {
  /** Peak bytes since the window started. */
  read(): { bytes: number; scope: 'cell' | 'process' };
}

export function startPeakRssWindow(): PeakRssWindow {
  let resettable = false;
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    resettable = true;
  } catch {
    resettable = false;
  }
  return {
    read() {
      if (resettable) {
        try {
          const status = readFileSync('/proc/self/status', 'utf8');
          const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
          if (m) return { bytes: Number(m[1]) * 1024, scope: 'cell' };
        } catch {
          // fall through to the process-wide figure
        }
      }
      return { bytes: process.resourceUsage().maxRSS * 1024, scope: 'process' };
    },
  };
}
