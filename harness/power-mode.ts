/**
 * Power mode as a matrix axis on Jetson boards (`power_mode: [MAXN, 15W]`, names or ids from
 * /etc/nvpmodel.conf). Before a cell whose mode differs from the board's, the harness sets it
 * with `nvpmodel -m ID` (and `jetson_clocks` when the suite asks), waits for the clocks to
 * settle, and records the mode and clocks the board then reports. The board's original mode
 * (and clock settings) are restored when the run ends or is interrupted.
 *
 * Commands run through the run's target transport as argument arrays, with `sudo -n` (never a
 * password prompt: a board without a NOPASSWD rule fails with sudo's own message). A mode change
 * that needs a reboot (some core-count changes) fails the cells of that mode instead: nvpmodel
 * is never given --force, which would reboot the board mid-run.
 */
import { InputError } from '../core/errors.ts';
import type { AxisValue, Cell, Suite } from '../core/suite-types.ts';
import type { CommandTransport } from '../core/transport.ts';
import { parseNvpmodelQuery } from '../hw-probes/tegrastats/facts.ts';
import type { AxisSpec } from '../runners/spec.ts';
import { parseJetsonClocks } from '../targets/jetson-clocks.ts';

export const POWER_MODE_AXIS = 'power_mode';
export const NVPMODEL_CONF = '/etc/nvpmodel.conf';

/** Harness-level axis: any runner, on a target with nvpmodel. Values are checked on the board. */
export const POWER_MODE_AXIS_SPEC: AxisSpec = {
  meaning: 'Jetson power mode (nvpmodel) the cell runs under; set and restored by the harness',
  allowed: 'a mode name or id from the board\'s /etc/nvpmodel.conf (e.g. MAXN, 15W, 0)',
  accepts: (v) => (typeof v === 'string' && /^[A-Za-z0-9_.()| -]+$/.test(v)) || (typeof v === 'number' && Number.isInteger(v) && v >= 0),
};

export interface PowerModeEntry {
  id: number;
  name: string;
}

/** `< POWER_MODEL ID=0 NAME=MAXN >` lines of nvpmodel.conf. */
export function parseNvpmodelConf(text: string): PowerModeEntry[] {
  const modes: PowerModeEntry[] = [];
  for (const m of text.matchAll(/^\s*<\s*POWER_MODEL\s+ID=(\d+)\s+NAME=([^\s>]+)\s*>/gm)) modes.push({ id: Number(m[1]), name: m[2]! });
  return modes;
}

/** A mode by id (number or digits) or by name (case-insensitive; "MAXN SUPER" = MAXN_SUPER). */
export function findMode(value: AxisValue, modes: readonly PowerModeEntry[]): PowerModeEntry | undefined {
  const text = String(value).trim();
  if (/^\d+$/.test(text)) return modes.find((m) => m.id === Number(text));
  const norm = (s: string) => s.toUpperCase().replace(/[\s-]+/g, '_');
  return modes.find((m) => norm(m.name) === norm(text));
}

export interface PowerModeOptions {
  /** Run `jetson_clocks` after each mode change (clocks to the mode's maximum); restored at the end. */
  jetsonClocks: boolean;
  /** Wait after a change before measuring, for DVFS and fans to settle. */
  settleSeconds: number;
  /** Where the board lists its modes. */
  confPath?: string;
}

function fail(transport: CommandTransport, what: string, res: { stdout: string; stderr: string; code: number | null; error?: string }): string {
  const detail = res.error ?? (res.stderr.trim() || res.stdout.trim() || `exit code ${res.code}`);
  return `${what} on ${transport.name} failed: ${detail.split('\n').slice(-2).join(' ')}`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class PowerModeController {
  private current: PowerModeEntry | null;
  private clocksStored = false;
  private restored = false;

  private constructor(
    private readonly transport: CommandTransport,
    private readonly modes: readonly PowerModeEntry[],
    private readonly original: PowerModeEntry,
    private readonly options: PowerModeOptions,
    private readonly log: (m: string) => void,
  ) {
    this.current = original;
  }

  /**
   * For a suite with a power_mode axis: reads the board's modes and current mode, and checks
   * every value of the axis (null when the suite has no such axis).
   */
  static async open(
    transport: CommandTransport,
    suite: Suite,
    cells: readonly Cell[],
    options: PowerModeOptions,
    log: (m: string) => void,
  ): Promise<PowerModeController | null> {
    const values = suite.matrix[POWER_MODE_AXIS];
    if (!values) return null;
    const conf = options.confPath ?? NVPMODEL_CONF;
    const confRes = await transport.run(['cat', conf]);
    if (confRes.code !== 0) {
      throw new InputError(`suite "${suite.name}": matrix.${POWER_MODE_AXIS} needs a Jetson target with nvpmodel; ${fail(transport, `reading ${conf}`, confRes)}`);
    }
    const modes = parseNvpmodelConf(confRes.stdout);
    if (modes.length === 0) throw new InputError(`suite "${suite.name}": matrix.${POWER_MODE_AXIS}: no POWER_MODEL lines in ${conf} on ${transport.name}`);
    values.forEach((v, i) => {
      if (!findMode(v, modes)) {
        throw new InputError(
          `suite "${suite.name}": field "matrix.${POWER_MODE_AXIS}[${i}]": ${JSON.stringify(v)} is not a power mode of ${transport.name}; its modes are ${modes.map((m) => `${m.name} (id ${m.id})`).join(', ')}`,
        );
      }
    });
    const query = await transport.run(['nvpmodel', '-q']);
    const parsed = query.code === 0 ? parseNvpmodelQuery(query.stdout) : null;
    const original = parsed ? (parsed.id !== undefined ? modes.find((m) => m.id === parsed.id) : findMode(parsed.mode, modes)) : undefined;
    if (!original) {
      throw new InputError(`suite "${suite.name}": cannot read the current power mode (${query.code === 0 ? `nvpmodel -q printed ${JSON.stringify(query.stdout.trim())}` : fail(transport, 'nvpmodel -q', query)}); it must be known to restore it`);
    }
    const used = new Set(cells.map((c) => c.params[POWER_MODE_AXIS]).filter((v) => v !== undefined).map((v) => findMode(v!, modes)!.id));
    log(`power modes: board at ${original.name} (id ${original.id}); cells use ${[...used].map((id) => modes.find((m) => m.id === id)!.name).join(', ')}; restored at the end`);
    return new PowerModeController(transport, modes, original, options, log);
  }

  private async setMode(mode: PowerModeEntry): Promise<void> {
    const res = await this.transport.run(['sudo', '-n', 'nvpmodel', '-m', String(mode.id)], { timeoutMs: 60_000 });
    if (res.code !== 0) throw new Error(fail(this.transport, `sudo -n nvpmodel -m ${mode.id}`, res));
    this.current = mode;
  }

  /** Sets the cell's mode if needed; returns what the board reports afterwards, for the cell's settings. */
  async apply(cell: Cell): Promise<Record<string, string | number>> {
    if (this.restored) throw new Error('power modes were already restored (run interrupted)');
    const value = cell.params[POWER_MODE_AXIS];
    if (value === undefined) return {};
    const mode = findMode(value, this.modes)!;
    let changed = false;
    if (this.current?.id !== mode.id) {
      if (this.options.jetsonClocks && !this.clocksStored) {
        // Saved before the first change: the board's own clock settings, restored at the end.
        const store = await this.transport.run(['sudo', '-n', 'jetson_clocks', '--store'], { timeoutMs: 60_000 });
        if (store.code !== 0) throw new Error(fail(this.transport, 'sudo -n jetson_clocks --store', store));
        this.clocksStored = true;
      }
      this.log(`power mode -> ${mode.name} (id ${mode.id})`);
      await this.setMode(mode);
      changed = true;
    }
    if (changed && this.options.jetsonClocks) {
      const lock = await this.transport.run(['sudo', '-n', 'jetson_clocks'], { timeoutMs: 60_000 });
      if (lock.code !== 0) throw new Error(fail(this.transport, 'sudo -n jetson_clocks', lock));
    }
    if (changed && this.options.settleSeconds > 0) await sleep(this.options.settleSeconds * 1000);
    return this.measured(mode);
  }

  /** The mode and clocks the board reports now; a mode other than the one set fails the cell. */
  private async measured(mode: PowerModeEntry): Promise<Record<string, string | number>> {
    const out: Record<string, string | number> = { powerModeRequested: `${mode.name} (id ${mode.id})` };
    const q = await this.transport.run(['nvpmodel', '-q']);
    const now = q.code === 0 ? parseNvpmodelQuery(q.stdout) : null;
    if (!now) throw new Error(`after setting ${mode.name}: ${q.code === 0 ? `nvpmodel -q printed ${JSON.stringify(q.stdout.trim())}` : fail(this.transport, 'nvpmodel -q', q)}`);
    const id = now.id ?? findMode(now.mode, this.modes)?.id;
    if (id !== mode.id) throw new Error(`power mode ${mode.name} (id ${mode.id}) was set but the board reports ${now.mode}${now.id !== undefined ? ` (id ${now.id})` : ''}`);
    out['powerMode'] = `${now.mode}${id !== undefined ? ` (id ${id})` : ''}`;
    out['jetsonClocks'] = this.options.jetsonClocks ? 'on' : 'off';
    const show = await this.transport.run(['sudo', '-n', 'jetson_clocks', '--show']);
    if (show.code === 0) {
      try {
        const clocks = parseJetsonClocks(show.stdout);
        for (const d of clocks.domains) {
          if (/^cpu\d+$/.test(d.name) && d.name !== 'cpu0') continue; // one CPU core stands for the cluster
          out[`clock_${d.name}_mhz`] = `${Math.round(d.currentMhz)} of ${Math.round(d.maxMhz)}`;
        }
      } catch {
        out['clocks'] = 'jetson_clocks --show not readable';
      }
    } else out['clocks'] = fail(this.transport, 'jetson_clocks --show', show);
    return out;
  }

  /** Puts the board back as it was; safe to call twice. Returns a warning when that failed. */
  async restore(): Promise<string | null> {
    if (this.restored) return null;
    this.restored = true;
    const problems: string[] = [];
    // The mode first (it resets the clock limits to the mode's), then the stored clock settings.
    if (this.current?.id !== this.original.id) {
      try {
        await this.setMode(this.original);
        this.log(`power mode restored to ${this.original.name} (id ${this.original.id})`);
      } catch (err) {
        problems.push((err as Error).message);
      }
    }
    if (this.clocksStored) {
      const res = await this.transport.run(['sudo', '-n', 'jetson_clocks', '--restore'], { timeoutMs: 60_000 });
      if (res.code !== 0) problems.push(fail(this.transport, 'sudo -n jetson_clocks --restore', res));
    }
    return problems.length ? `power mode not restored: ${problems.join('; ')}; the board was at ${this.original.name} (id ${this.original.id}) before the run` : null;
  }
}
