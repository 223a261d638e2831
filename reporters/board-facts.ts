/**
 * The board a run measured, for the report's header: what it is (model, SoC / L4T / BSP), its
 * memory, power mode and clock state, and what `bench doctor` warned about before the run — all
 * from `environment.board`, which the run's preflight and probes fill through the target's
 * transport. The host line above it is the driver (the machine running bench), not the board.
 */
import type { RunResult } from '../core/result-types.ts';

const DESCRIBES_BOARD = ['board.model', 'l4t.board', 'l4t.release', 'jetpack.version', 'axera.board_id', 'axera.bsp_version', 'os', 'power.nvpmodel'];

/** True when the run recorded facts of a board. */
export function hasBoardFacts(result: RunResult): boolean {
  const b = result.environment.board ?? {};
  return DESCRIBES_BOARD.some((k) => b[k] !== undefined);
}

/** True when the cells ran on another machine reached over SSH: the host in the header only drove them. */
export function drivenOverSsh(result: RunResult): boolean {
  return result.cells.some((c) => String(c.settings['target'] ?? '').startsWith('ssh:') || c.settings['remoteTarget'] !== undefined);
}

/** "Board: ..." and "Doctor warned: ..." header lines ([] for a run on this machine). */
export function boardLines(result: RunResult): string[] {
  if (!hasBoardFacts(result)) return [];
  const b = result.environment.board ?? {};
  const parts: string[] = [];
  const what = [b['board.model'], b['l4t.board'] ? `L4T board ${b['l4t.board']}` : undefined, b['axera.board_id'] ? `board id ${b['axera.board_id']}` : undefined].filter(Boolean);
  parts.push(what.length ? what.join(', ') : 'model not recorded');
  const sw = [b['l4t.release'] ? `L4T ${b['l4t.release']}` : undefined, b['jetpack.version'] ? `JetPack ${b['jetpack.version']}` : undefined, b['axera.bsp_version'] ? `BSP ${b['axera.bsp_version']}` : undefined, b['os']].filter(Boolean);
  if (sw.length) parts.push(sw.join(', '));
  if (b['memory.total_mib']) parts.push(`memory ${b['memory.total_mib']} MiB (${b['memory.available_mib'] ?? '?'} MiB available before the run)`);
  if (b['axera.cmm_total_mb']) parts.push(`CMM ${b['axera.cmm_total_mb']} MB`);
  parts.push(`power mode ${b['power.nvpmodel'] ?? 'not recorded'}`);
  const clocks = Object.entries(b)
    .filter(([k]) => k.startsWith('clock.'))
    .map(([k, v]) => {
      const [cur, max] = v.split('/').map(Number);
      const locked = cur !== undefined && max !== undefined && Number.isFinite(cur) && Number.isFinite(max) && cur >= max;
      return `${k.slice('clock.'.length).replace(/_mhz$/, '').toUpperCase()} ${v} MHz${locked ? '' : ' (below maximum)'}`;
    });
  parts.push(clocks.length ? `clocks ${clocks.join(', ')}` : 'clock state not recorded');
  const warned = Object.entries(b)
    .filter(([k]) => k.startsWith('doctor.warn.'))
    .map(([k, v]) => `${k.slice('doctor.warn.'.length)}: ${v}`);
  return [`Board: ${parts.join('; ')}`, ...(warned.length ? [`Doctor warned before the run: ${warned.join('; ')}`] : [])];
}
