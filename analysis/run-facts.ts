import type { CellResult, RunResult } from '../core/result-types.ts';
import type { ContextWarning, WarningKind } from './comparison-types.ts';

/**
 * The facts that make two numbers incomparable even when the code under test is the same:
 * machine, board state, software versions, thread counts, weights. A comparison states each
 * one that differs; it never refuses, because comparing across them is sometimes the point.
 */
export interface Fact {
  key: string;
  label: string;
  kind: WarningKind;
  value: string;
}

// Board facts that describe the power/clock state rather than the hardware itself.
const POWER_KEY = /power|nvpmodel|mode|clock|freq|governor|emc|dvfs|vnpu|fan|tdp/i;

const NOT_RECORDED = '(not recorded)';

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}

/** Whether the run's models are synthesised: all, none or some of its cells. */
export function weightsOf(result: RunResult): string {
  const models = result.cells.map((c) => c.model).filter((m) => m !== null);
  if (!models.length) return 'unknown';
  const synthetic = models.filter((m) => m.synthetic).length;
  return synthetic === models.length ? 'synthetic' : synthetic === 0 ? 'real' : 'mixed';
}

/** Every fact of a run that bears on its numbers, keyed so two runs' facts can be matched. */
export function runFacts(result: RunResult): Map<string, Fact> {
  const facts = new Map<string, Fact>();
  const add = (key: string, label: string, kind: WarningKind, value: unknown) =>
    facts.set(key, { key, label, kind, value: value === undefined || value === null || value === '' ? NOT_RECORDED : String(value) });
  const env = result.environment;
  add('target', 'target', 'target', result.target);
  add('host.hostname', 'host name', 'host', env.host.hostname);
  add('host.cpu', 'CPU', 'host', env.host.cpu);
  add('host.cores', 'CPU cores (logical/physical)', 'host', `${env.host.cores}/${env.host.physicalCores}`);
  add('host.memory', 'memory', 'host', gib(env.host.memoryBytes));
  add('host.arch', 'architecture', 'host', env.host.arch);
  add('os.distro', 'OS', 'software', `${env.os.distro} ${env.os.release}`.trim());
  add('os.kernel', 'kernel', 'software', env.os.kernel);
  for (const [name, version] of Object.entries(env.versions)) add(`versions.${name}`, `${name} version`, 'software', version);
  for (const [name, value] of Object.entries(env.board ?? {})) {
    add(`board.${name}`, `board ${name}`, POWER_KEY.test(name) ? 'power-mode' : 'board', value);
  }
  add('options.threads', 'thread count (options.threads)', 'threads', result.options.threads);
  add('options.outputTokens', 'output tokens per request (options.outputTokens)', 'options', result.options.outputTokens);
  add('options.warmup', 'warm-up iterations (options.warmup)', 'options', result.options.warmup);
  add('options.iterations', 'measured iterations (options.iterations)', 'options', result.options.iterations);
  const o = result.options;
  if (o.adaptive) add('options.adaptive', 'adaptive iterations (options.adaptive)', 'options', JSON.stringify(o.adaptive));
  if (o.cooldownSeconds !== undefined) add('options.cooldownSeconds', 'cool-down between cells, s (options.cooldownSeconds)', 'options', o.cooldownSeconds);
  if (o.order !== undefined) add('options.order', 'cell order (options.order)', 'options', o.order);
  if (o.probes?.tempLimitC !== undefined) add('options.tempLimitC', 'temperature limit, °C (options.probes.tempLimitC)', 'options', o.probes.tempLimitC);
  add('weights', 'weights', 'weights', weightsOf(result));
  return facts;
}

export interface DifferingFact {
  label: string;
  kind: WarningKind;
  /** One value per input, in input order. */
  values: string[];
}

/** Facts whose value is not the same in every run (a fact missing from a run counts as "(not recorded)"). */
export function differingFacts(results: readonly RunResult[]): DifferingFact[] {
  const all = results.map(runFacts);
  const keys = [...new Set(all.flatMap((f) => [...f.keys()]))];
  const out: DifferingFact[] = [];
  for (const key of keys) {
    const first = all.find((f) => f.has(key))!.get(key)!;
    const values = all.map((f) => f.get(key)?.value ?? NOT_RECORDED);
    if (new Set(values).size > 1) out.push({ label: first.label, kind: first.kind, values });
  }
  return out;
}

/** Run-level warnings for a base/candidate pair. */
export function runContextWarnings(base: RunResult, cand: RunResult): ContextWarning[] {
  const warnings: ContextWarning[] = [];
  if (base.suite.hash !== cand.suite.hash) {
    warnings.push({ kind: 'suite', message: `suite "${cand.suite.name}" was edited between the runs (definition hash ${base.suite.hash.slice(0, 12)} vs ${cand.suite.hash.slice(0, 12)})` });
  }
  for (const f of differingFacts([base, cand])) {
    warnings.push({ kind: f.kind, message: `different ${f.label}: base ${f.values[0]!}, candidate ${f.values[1]!}` });
  }
  for (const [side, r] of [['base', base], ['candidate', cand]] as const) {
    if (r.status !== 'complete') {
      warnings.push({ kind: 'run-status', message: `${side} run is ${r.status}: ${r.cells.length} of ${r.plannedCells.length} planned cells finished` });
    }
    if (r.environment.git.dirty) {
      warnings.push({ kind: 'software', message: `${side} ran from a working tree with uncommitted changes (git ${r.environment.git.revision?.slice(0, 12) ?? 'revision unknown'}, dirty)` });
    }
  }
  return warnings;
}

const BOARD_FLAG_MEANING = {
  'power-mode': "the board was in another power mode than its run's header while the cell measured",
  clocks: 'the board\'s clocks were not locked, or their limits or speed changed, while the cell measured: its figures depend on DVFS',
} as const;

/** Set by the run's throttling watch when clocks dropped or a temperature limit was crossed during the cell. */
export function isThrottled(cell: CellResult): boolean {
  return cell.throttled === true;
}

function modelDiffs(base: CellResult, cand: CellResult): Array<{ kind: WarningKind; message: string }> {
  const a = base.model;
  const b = cand.model;
  if (!a || !b) return a === b ? [] : [{ kind: 'model', message: `model identity recorded on one side only (base ${a ? 'yes' : 'no'}, candidate ${b ? 'yes' : 'no'})` }];
  const out: Array<{ kind: WarningKind; message: string }> = [];
  if (a.synthetic !== b.synthetic) {
    const w = (s: boolean) => (s ? 'synthetic (random values)' : 'real');
    out.push({ kind: 'weights', message: `different weights: base ${w(a.synthetic)}, candidate ${w(b.synthetic)}` });
  }
  for (const field of ['architecture', 'precision', 'layout', 'scale', 'seed', 'builderVersion'] as const) {
    if (a[field] !== b[field]) out.push({ kind: 'model', message: `different model ${field}: base ${String(a[field] ?? NOT_RECORDED)}, candidate ${String(b[field] ?? NOT_RECORDED)}` });
  }
  const files = [...new Set([...Object.keys(a.hashes ?? {}), ...Object.keys(b.hashes ?? {})])].sort();
  for (const file of files) {
    const ha = a.hashes?.[file];
    const hb = b.hashes?.[file];
    if (ha !== hb) {
      out.push({ kind: 'model', message: `different model hash of ${file}: base ${ha?.slice(0, 12) ?? NOT_RECORDED}, candidate ${hb?.slice(0, 12) ?? NOT_RECORDED}` });
    }
  }
  return out;
}

function settingsDiffs(base: CellResult, cand: CellResult): Array<{ kind: WarningKind; message: string }> {
  const keys = [...new Set([...Object.keys(base.settings), ...Object.keys(cand.settings)])];
  const out: Array<{ kind: WarningKind; message: string }> = [];
  for (const k of keys) {
    // Free-text remarks (e.g. how long model synthesis took) change with the cache, not the measurement.
    if (k === 'notes') continue;
    const a = base.settings[k];
    const b = cand.settings[k];
    if (a !== b) out.push({ kind: 'settings', message: `different runner setting ${k}: base ${String(a ?? NOT_RECORDED)}, candidate ${String(b ?? NOT_RECORDED)}` });
  }
  return out;
}

/**
 * Cell-level warnings for matched cells. The same difference usually affects many cells (all
 * cells ran with another thread count), so identical messages are merged and list their cells.
 */
export function cellContextWarnings(pairs: ReadonlyArray<readonly [CellResult, CellResult]>): ContextWarning[] {
  const merged = new Map<string, ContextWarning & { cellIds: string[] }>();
  const add = (kind: WarningKind, message: string, cellId: string) => {
    const w = merged.get(message) ?? { kind, message, cellIds: [] };
    w.cellIds.push(cellId);
    merged.set(message, w);
  };
  for (const [base, cand] of pairs) {
    for (const d of [...modelDiffs(base, cand), ...settingsDiffs(base, cand)]) add(d.kind, d.message, cand.id);
    const tb = isThrottled(base);
    const tc = isThrottled(cand);
    if (tb || tc) {
      const side = tb && tc ? 'both runs' : tb ? 'the base run' : 'the candidate run';
      const reasons = [...new Set([...(tb ? (base.throttleReasons ?? []) : []), ...(tc ? (cand.throttleReasons ?? []) : [])])];
      add(
        'throttled',
        `cell flagged throttled in ${side}${reasons.length ? ` (${reasons.join('; ')})` : ''}: its figures were taken at reduced clocks or above the temperature limit; re-run before trusting a verdict`,
        cand.id,
      );
    }
    // The board's own state around the cell (harness/board-quality.ts): another power mode than
    // its run's header, clocks not locked or moving. A mode is also in the identity, so cells of
    // different modes are not matched at all; this names what the board did in matched ones.
    for (const kind of ['power-mode', 'clocks'] as const) {
      const fb = base.flags?.find((f) => f.kind === kind);
      const fc = cand.flags?.find((f) => f.kind === kind);
      if (!fb && !fc) continue;
      const side = fb && fc ? 'both runs' : fb ? 'the base run' : 'the candidate run';
      // One sentence per kind and side, so the cells it concerns merge into one warning; the figures are in each cell's board state.
      add(kind, `board state flagged in ${side}: ${BOARD_FLAG_MEANING[kind]} (each cell's boardState in result.json says which clocks or mode)`, cand.id);
    }
  }
  return [...merged.values()];
}
