/**
 * How busy a board was around a cell, read on the board through the run's transport (the same
 * SSH master as the runner): the 1-minute load average and CPU count before and after the
 * measured iterations, and CPU steal over them (/proc/stat). The workstation that drives the
 * board has its own load, recorded apart (hw-probes/machine-load.ts) as the driver's: it says
 * nothing about the board's figures. Run-queue wait is a per-process counter of the program on
 * the board and is not read (null).
 */
import type { CommandTransport } from '../core/transport.ts';
import type { MachineState } from '../core/result-types.ts';

interface BoardReading {
  loadAvg1: number;
  cpus: number;
  steal: number | null;
  total: number | null;
}

// A fixed script: nothing of ours is interpolated into it.
const READ = 'cat /proc/loadavg; head -n 1 /proc/stat; getconf _NPROCESSORS_ONLN 2>/dev/null || nproc';

/** Parses the three lines READ prints; null when they are not what Linux prints. */
export function parseBoardReading(text: string): BoardReading | null {
  const [loadLine, statLine, cpuLine] = text.trim().split('\n');
  const loadAvg1 = Number(loadLine?.trim().split(/\s+/)[0]);
  const cpus = Number(cpuLine?.trim());
  if (!Number.isFinite(loadAvg1) || loadAvg1 < 0 || !Number.isInteger(cpus) || cpus < 1) return null;
  const f = (statLine ?? '').trim().split(/\s+/);
  const v = f[0] === 'cpu' && f.length >= 9 ? f.slice(1, 9).map(Number) : [];
  const ok = v.length === 8 && v.every((x) => Number.isFinite(x) && x >= 0);
  return { loadAvg1, cpus, steal: ok ? v[7]! : null, total: ok ? v.reduce((a, b) => a + b, 0) : null };
}

async function read(transport: CommandTransport): Promise<BoardReading | null> {
  const r = await transport.run(['sh', '-c', READ], { timeoutMs: 10_000 });
  return r.code === 0 ? parseBoardReading(r.stdout) : null;
}

/** Reads the board now; `finish()` reads it again and gives the window's state (null when unreadable). */
export async function startBoardWindow(transport: CommandTransport): Promise<{ finish(): Promise<MachineState | null> }> {
  const before = await read(transport);
  return {
    async finish() {
      const after = await read(transport);
      if (!before || !after) return null;
      const dt = before.total !== null && after.total !== null ? after.total - before.total : 0;
      const stealPct = dt > 0 && before.steal !== null && after.steal !== null ? ((after.steal - before.steal) / dt) * 100 : null;
      return { cpus: after.cpus, loadAvg1Before: before.loadAvg1, loadAvg1After: after.loadAvg1, stealPct, runQueueWaitPct: null };
    },
  };
}
