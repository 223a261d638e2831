/**
 * The board a run measured, for the report's header: what it is (model, SoC / L4T / BSP), its
 * memory, power mode and clock state, and what `bench doctor` warned about before the run — all
 * from `environment.board`, which the run's preflight and probes fill through the target's
 * transport. The host line above it is the driver (the machine running bench), not the board.
 */
import type { CellBoardState, RunResult } from '../core/result-types.ts';
import { powerModeText, unlockedClocks } from '../hw-probes/board-state.ts';

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

/** The sensor and temperature of the hottest reading of a cell's board state (samples while measuring, else the readings around it). */
function hottest(state: CellBoardState): { sensor: string; c: number } | null {
  if (state.during?.maxTempC != null) return { sensor: state.during.maxTempSensor ?? '?', c: state.during.maxTempC };
  let best: { sensor: string; c: number } | null = null;
  for (const r of [state.before, state.after]) {
    for (const [sensor, c] of Object.entries(r?.temperaturesC ?? {})) if (!best || c > best.c) best = { sensor, c };
  }
  return best;
}

/**
 * The header line on the board's state around the cells: what was read (and how), the power
 * modes, whether the clocks were locked, the hottest reading, and how many cells differed from
 * the Board line above ([] for a run whose cells were not on a board).
 */
export function boardStateSummary(result: RunResult): string[] {
  const cells = result.cells.filter((c) => c.boardState);
  if (cells.length === 0) {
    return hasBoardFacts(result) && drivenOverSsh(result) && result.cells.some((c) => c.status === 'ok')
      ? ["Board state per cell: not recorded (this result was written before bench read the board's state around each cell)"]
      : [];
  }
  const states = cells.map((c) => c.boardState!);
  const sources = [...new Set(states.flatMap((s) => [...s.before.sources, ...(s.during ? [`${s.during.source} while measuring`] : [])]))];
  const modes = [...new Set(states.map((s) => powerModeText(s.before.powerMode)))];
  const unlocked = cells.filter((c) => unlockedClocks(c.boardState!.before).length > 0);
  const domains = [...new Set(unlocked.flatMap((c) => unlockedClocks(c.boardState!.before)))];
  const clocks = states.every((s) => Object.keys(s.before.clocks).length === 0)
    ? 'clocks not readable'
    : unlocked.length
      ? `clocks not locked before ${unlocked.length === cells.length ? 'every cell' : `${unlocked.length} of ${cells.length} cells`} (${domains.slice(0, 4).join(', ')}${domains.length > 4 ? ` and ${domains.length - 4} more` : ''} below maximum)`
      : 'clocks at their maximum before every cell';
  let hot: { sensor: string; c: number; cell: string } | null = null;
  for (const c of cells) {
    const h = hottest(c.boardState!);
    if (h && (!hot || h.c > hot.c)) hot = { ...h, cell: c.id };
  }
  const differed = cells.filter((c) => c.boardState!.differences.length > 0);
  return [
    `Board state, read on the board around each of ${cells.length} cell(s) (${sources.join(', ') || 'nothing answered'}): power mode ${modes.join(', ')}; ${clocks}; ${hot ? `hottest ${hot.c.toFixed(1)} °C (${hot.sensor}, ${hot.cell})` : 'no temperature read'}; ${differed.length ? `${differed.length} cell(s) differed from the Board line (see Board state)` : 'no cell differed from the Board line'}`,
  ];
}

/** One bullet per cell whose board state differed from the run's header: what differed. */
export function boardStateBullets(result: RunResult): string[] {
  return result.cells.filter((c) => c.boardState?.differences.length).map((c) => `${c.id}: ${c.boardState!.differences.join('; ')}`);
}
