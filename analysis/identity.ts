/**
 * The configuration identity of a measured cell: every recorded fact that changes its figures.
 * Two cells are "the same configuration" exactly when their identities are equal; `bench
 * compare`, `bench history` and the published tables all decide it here, so a tiny-scale run is
 * never gated against a full-scale one, nor a 1-thread cell merged with a 2-thread cell.
 *
 * Versions (runtimes, the suite's definition hash, the model builder, board software) are kept
 * beside the identity and shown with every verdict, but they do not make two cells different
 * configurations: a new runtime version is what a CI gate exists to test.
 *
 * Everything is read from the RunResult alone (no disk, no runner code), so a result from
 * another machine or an older version of the suite yields its identity too; a fact a result does
 * not record reads NOT_RECORDED, which equals only itself (fails closed: it never silently
 * matches a recorded value).
 */
import { createHash } from 'node:crypto';
import { InputError } from '../core/errors.ts';
import { declaredMetricSources, figureSourceOf } from '../core/figure-source.ts';
import type { CellResult, RunResult } from '../core/result-types.ts';
import type { AxisValue, ModelRef } from '../core/suite-types.ts';

export const NOT_RECORDED = '(not recorded)';

export type IdentityGroup = 'model' | 'runner' | 'workload' | 'target';

export interface IdentityFieldDefinition {
  /** The name `--allow-difference` takes and every output prints. */
  name: string;
  group: IdentityGroup;
  /** What the field is, in words, with where it is read from. */
  label: string;
}

/** Every identity field, in the order outputs list them. */
export const IDENTITY_FIELDS = [
  { name: 'model', group: 'model', label: 'model architecture (cells[].model.architecture)' },
  { name: 'model_hash', group: 'model', label: 'model build hash or file hashes (cells[].model.hashes)' },
  { name: 'scale', group: 'model', label: 'model scale (cells[].model.scale, else the suite\'s model.scale)' },
  { name: 'layout', group: 'model', label: 'model graph layout (cells[].model.layout)' },
  { name: 'seed', group: 'model', label: 'weight seed of a synthesised model (cells[].model.seed)' },
  { name: 'weights', group: 'model', label: 'weights synthetic or real (cells[].model.synthetic)' },
  { name: 'precision', group: 'model', label: 'LLM precision (cells[].model.precision)' },
  { name: 'vision_precision', group: 'model', label: 'vision encoder precision (cells[].model.visionPrecision, else the LLM\'s)' },
  { name: 'int8_form', group: 'model', label: 'int8 operator form (cells[].model.int8Form)' },
  { name: 'runner', group: 'runner', label: 'runner (cells[].settings.runner, else the runner axis or the suite\'s runner)' },
  { name: 'threads', group: 'runner', label: 'compute threads (cells[].settings.intraOpNumThreads / threads, else the threads axis)' },
  { name: 'execution_provider', group: 'runner', label: 'execution provider / GPU backend (cells[].settings.executionProvider / gpu), with the SIMD a llama.cpp build uses (cells[].settings.llamaBuildSimd)' },
  { name: 'chunking', group: 'runner', label: 'prefill chunk size (cells[].settings.chunkSize, else the chunk axis)' },
  { name: 'kv_cache', group: 'runner', label: 'KV-cache form (cells[].settings.kvCache / kvCacheType)' },
  {
    name: 'figure_sources',
    group: 'runner',
    label: 'how the figures were obtained: measured, tool-reported or composed, with the metrics a cell declares apart (cells[].settings.figureSource / timing, figureSourceByMetric)',
  },
  { name: 'prompt_tokens', group: 'workload', label: 'prompt tokens per request, image tokens included (measured iterations)' },
  { name: 'image_tokens', group: 'workload', label: 'image tokens per request (measured iterations)' },
  { name: 'output_tokens', group: 'workload', label: 'output tokens asked per request (settings.outputTokens / maxTokens, else the output_tokens axis, else options.outputTokens)' },
  { name: 'images', group: 'workload', label: 'images per request (the images axis, else the measured iterations)' },
  { name: 'resolution', group: 'workload', label: 'image resolution (the resolution axis, else settings.imageSize)' },
  { name: 'frames', group: 'workload', label: 'video frames per request (the frames axis)' },
  { name: 'concurrency', group: 'workload', label: 'concurrent requests (the concurrency axis)' },
  { name: 'target', group: 'target', label: 'target (result.target; a board over SSH whose board model is recorded reads as one of its model, so identical boards of a pool are one configuration)' },
  { name: 'machine', group: 'target', label: 'CPU, architecture and core count (environment.host)' },
  { name: 'board', group: 'target', label: 'board model (environment.board: board.model, l4t.board, GPU names)' },
  { name: 'power_mode', group: 'target', label: 'power mode and clock settings (the power_mode axis, else the mode the board reported around the cell (cells[].boardState), else environment.board power.*; governors, min/max clocks)' },
] as const satisfies readonly IdentityFieldDefinition[];

export type IdentityFieldName = (typeof IDENTITY_FIELDS)[number]['name'];

const FIELD_NAMES: ReadonlySet<string> = new Set(IDENTITY_FIELDS.map((f) => f.name));

export interface ConfigurationIdentity {
  /** Field -> its value as text (NOT_RECORDED when the result does not say). */
  fields: Record<IdentityFieldName, string>;
  /**
   * Versions recorded beside the identity (runtime and library versions, suite definition hash,
   * model builder, board software): shown with verdicts, never a reason to refuse one.
   */
  versions: Record<string, string>;
  /**
   * False for a failed cell: its workload and settings may be missing because it never ran, so
   * a comparison only checks the fields recorded on both sides.
   */
  complete: boolean;
}

function text(value: unknown): string {
  if (value === undefined || value === null || value === '') return NOT_RECORDED;
  return String(value);
}

/** The first of the keys that the record holds. */
function firstOf(record: Record<string, string | number | boolean | AxisValue> | undefined, keys: readonly string[]): string | number | boolean | undefined {
  if (!record) return undefined;
  for (const k of keys) if (Object.hasOwn(record, k) && record[k] !== undefined) return record[k];
  return undefined;
}

/** The one value every measured iteration agrees on, else "min-max" (a workload that varied), else undefined. */
function measuredValue(cell: CellResult, pick: (it: CellResult['iterations'][number]) => number | undefined): string | undefined {
  const values = cell.iterations.filter((it) => !it.warmup && !it.error).map(pick).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  if (!values.length) return undefined;
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return lo === hi ? String(lo) : `${lo}-${hi}`;
}

function modelHash(cell: CellResult): string {
  const hashes = cell.model?.hashes;
  if (!hashes || !Object.keys(hashes).length) return NOT_RECORDED;
  return Object.keys(hashes)
    .sort()
    .map((file) => `${file}:${hashes[file]}`)
    .join(' ');
}

// Board facts: power and clock settings (not the current clock, which moves while a board runs),
// the board itself, and software versions (which do not block a verdict).
const POWER_FACT = /^power\.|nvpmodel|jetson_clocks|\.governor$|\.(min|max)_mhz$|fan|tdp/i;
const CURRENT_READING = /cur_mhz|cur_freq|temp|_now$/i;
const BOARD_FACT = /^board\.model$|^l4t\.board$|^gpu\d+\.name$|^axcl\.card$/i;

function boardFacts(result: RunResult, pattern: RegExp, board: Record<string, string> = result.environment.board ?? {}): string {
  const keys = Object.keys(board)
    .filter((k) => pattern.test(k) && !CURRENT_READING.test(k))
    .sort();
  return keys.length ? keys.map((k) => `${k}=${board[k]}`).join(', ') : NOT_RECORDED;
}

/**
 * The power mode a cell ran in, where the board was read around it (CellResult.boardState): the
 * run's header facts with the cell's own mode in place of the header's, so a cell that ran in
 * another mode than the run started in is another configuration; a mode that changed while the
 * cell measured matches nothing (fails closed).
 */
function cellPowerFacts(result: RunResult, cell: CellResult): Record<string, string> {
  const header = result.environment.board ?? {};
  const state = cell.boardState;
  const before = state?.before.powerMode;
  if (!state || !before) return header;
  const after = state.after?.powerMode;
  const changed = after && (after.name !== before.name || after.id !== before.id);
  const { 'power.nvpmodel_id': _id, ...rest } = header;
  return {
    ...rest,
    'power.nvpmodel': changed ? `${before.name} -> ${after.name} (changed while measuring)` : before.name,
    ...(before.id !== undefined && !changed ? { 'power.nvpmodel_id': String(before.id) } : {}),
  };
}

function powerMode(result: RunResult, cell: CellResult): string {
  const axis = cell.params['power_mode'];
  const facts = boardFacts(result, POWER_FACT, cellPowerFacts(result, cell));
  if (axis === undefined) return facts;
  // The axis set the mode for this cell; the facts read at the start of the run describe another.
  return `power_mode=${String(axis)}`;
}

/** The target field of a board identified by its model (targetField). */
const POOL_BOARD = 'a board over its transport, identified by its board model';

/**
 * Where the cells ran. On this machine: "local". On a board whose model the result records (the
 * `board` field), the target's name (orin-1, orin-2, ...) is a label of one of identical boards:
 * the board model, power mode and machine fields say what changes a figure, so a run merged from
 * a pool's shards and a run on one board of that model are one configuration. Without a recorded
 * board model the name is all that tells two boards apart, so it stays (fails closed).
 */
function targetField(result: RunResult, board: string): string {
  if (result.target.split(',').every((t) => t === 'local')) return 'local';
  return board !== NOT_RECORDED ? POOL_BOARD : text(result.target);
}

function versionsOf(result: RunResult, cell: CellResult): Record<string, string> {
  const versions: Record<string, string> = {};
  for (const [name, version] of Object.entries(result.environment.versions)) versions[name] = version;
  versions['suite definition'] = `${result.suite.name} ${result.suite.hash.slice(0, 12)}`;
  if (cell.model?.builderVersion) versions['model builder'] = cell.model.builderVersion;
  versions['os'] = `${result.environment.os.distro} ${result.environment.os.release}, kernel ${result.environment.os.kernel}`.trim();
  const board = result.environment.board ?? {};
  for (const k of Object.keys(board).sort()) {
    if (/version|release|bsp|driver|firmware|jetpack|sdk|l4t/i.test(k) && !POWER_FACT.test(k) && !BOARD_FACT.test(k)) versions[k] = board[k]!;
  }
  for (const k of ['binding', 'llamaCppRelease', 'pulsar2Version'] as const) {
    const v = cell.settings[k];
    if (v !== undefined) versions[k] = String(v);
  }
  return versions;
}

/**
 * Where a cell computed. A llama.cpp build's SIMD is part of it: the same binding built without
 * the machine's vector units (or with AVX2 where the machine has AVX-512) runs several times
 * slower, so two builds that differ there are two configurations, never one series. It is
 * appended only where recorded, so the identities of cells that do not record it (ONNX Runtime,
 * whose kernels follow the machine field) keep their keys.
 */
function executionProvider(s: CellResult['settings'], p: CellResult['params']): string {
  const provider = text(firstOf(s, ['executionProvider', 'gpu']) ?? p['ep'] ?? p['execution_provider']);
  const simd = firstOf(s, ['llamaBuildSimd']);
  return simd === undefined || simd === '' ? provider : `${provider} [build SIMD: ${String(simd)}]`;
}

/** The cell's figure sources: "measured", or its own source and the metrics it declares apart ("measured; prefill_ms=composed"). */
const ALL_MEASURED = 'measured';

function figureSources(s: CellResult['settings']): string {
  const own = figureSourceOf(s);
  const declared = [...declaredMetricSources(s)].filter(([, source]) => source !== own).sort(([a], [b]) => a.localeCompare(b));
  return declared.length ? `${own}; ${declared.map(([metric, source]) => `${metric}=${source}`).join(' ')}` : own;
}

/** The configuration identity of one cell of a run (see the module comment). */
export function cellIdentity(result: RunResult, cell: CellResult): ConfigurationIdentity {
  const m = cell.model;
  const s = cell.settings;
  const p = cell.params;
  // Older or hand-made results may lack parts of the definition: read it defensively.
  const ref = result.suite.definition?.model as ModelRef | undefined;
  const refScale = ref && 'zoo' in ref ? ref.scale : undefined;
  const refName = ref && 'name' in ref ? ref.name : undefined;
  const host = result.environment.host;
  const board = boardFacts(result, BOARD_FACT);
  const fields: Record<IdentityFieldName, string> = {
    model: text(m?.architecture ?? refName),
    model_hash: modelHash(cell),
    scale: text(m?.scale ?? (m?.synthetic !== false ? refScale : undefined)),
    layout: text(m?.layout),
    seed: text(m?.seed),
    weights: m ? (m.synthetic ? 'synthetic' : 'real') : NOT_RECORDED,
    precision: text(m?.precision ?? p['precision']),
    vision_precision: text(m?.visionPrecision ?? p['vision_precision'] ?? m?.precision ?? p['precision']),
    int8_form: text(m?.int8Form),
    runner: text(firstOf(s, ['runner']) ?? p['runner'] ?? result.suite.definition?.runner),
    threads: text(firstOf(s, ['intraOpNumThreads', 'threads']) ?? p['threads']),
    execution_provider: executionProvider(s, p),
    chunking: text(firstOf(s, ['chunkSize']) ?? p['chunk']),
    kv_cache: text(firstOf(s, ['kvCache', 'kvCacheType'])),
    figure_sources: figureSources(s),
    prompt_tokens: text(measuredValue(cell, (it) => it.promptTokens) ?? firstOf(s, ['promptTokens'])),
    image_tokens: text(measuredValue(cell, (it) => it.imageTokens)),
    output_tokens: text(firstOf(s, ['outputTokens', 'maxTokens']) ?? p['output_tokens'] ?? result.options.outputTokens),
    images: text(p['images'] ?? measuredValue(cell, (it) => it.images)),
    resolution: text(p['resolution'] ?? firstOf(s, ['imageSize'])),
    frames: text(p['frames']),
    concurrency: text(p['concurrency']),
    target: targetField(result, board),
    machine: `${text(host.cpu)} (${text(host.arch)}, ${host.cores}/${host.physicalCores} cores)`,
    board,
    power_mode: powerMode(result, cell),
  };
  return { fields, versions: versionsOf(result, cell), complete: cell.status === 'ok' };
}

/**
 * A stable key of an identity (sha256 of its fields in IDENTITY_FIELDS order), for storing and
 * grouping: equal keys mean equal identities.
 */
export function identityKey(identity: ConfigurationIdentity): string {
  // figure_sources enters the key only when some figure is not measured, so the keys of measured
  // cells (and the history series stored under them) are those they had before the field existed.
  const fields = IDENTITY_FIELDS.filter((f) => f.name !== 'figure_sources' || identity.fields.figure_sources !== ALL_MEASURED);
  const canonical = JSON.stringify(fields.map((f) => [f.name, identity.fields[f.name]]));
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

export interface IdentityDifference {
  field: IdentityFieldName;
  label: string;
  base: string;
  cand: string;
  /** The user allowed this field to differ (`--allow-difference`): reported, not refused. */
  allowed: boolean;
}

/**
 * Field-by-field differences between two identities, in IDENTITY_FIELDS order. When either
 * cell failed (incomplete identity) a field recorded on one side only is not a difference: the
 * failed cell may simply not have got that far.
 */
export function diffIdentities(base: ConfigurationIdentity, cand: ConfigurationIdentity, allow: ReadonlySet<string> = new Set()): IdentityDifference[] {
  const out: IdentityDifference[] = [];
  const partial = !base.complete || !cand.complete;
  for (const f of IDENTITY_FIELDS) {
    // An identity stored before a field existed lacks it: not recorded (never a silent match).
    const a = base.fields[f.name] ?? NOT_RECORDED;
    const b = cand.fields[f.name] ?? NOT_RECORDED;
    if (a === b) continue;
    if (partial && (a === NOT_RECORDED || b === NOT_RECORDED)) continue;
    out.push({ field: f.name, label: f.label, base: a, cand: b, allowed: allow.has(f.name) });
  }
  return out;
}

export interface VersionDifference {
  name: string;
  base: string;
  cand: string;
}

/** Versions that differ (shown beside a verdict; never a refusal). */
export function diffVersions(base: ConfigurationIdentity, cand: ConfigurationIdentity): VersionDifference[] {
  const names = [...new Set([...Object.keys(base.versions), ...Object.keys(cand.versions)])];
  return names
    .filter((n) => base.versions[n] !== cand.versions[n])
    .map((n) => ({ name: n, base: base.versions[n] ?? NOT_RECORDED, cand: cand.versions[n] ?? NOT_RECORDED }));
}

/** One line per differing field: "threads: base 2, candidate 1". */
export function describeDifference(d: IdentityDifference | VersionDifference): string {
  const name = 'field' in d ? d.field : d.name;
  return `${name}: base ${d.base}, candidate ${d.cand}`;
}

/**
 * Parses `--allow-difference threads,scale` (repeatable): the identity fields a comparison may
 * cross. An unknown name is refused with the list of known ones.
 */
export function parseAllowedDifferences(specs: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const spec of specs) {
    for (const name of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
      if (!FIELD_NAMES.has(name)) {
        throw new InputError(`--allow-difference "${name}": not an identity field; the fields are ${IDENTITY_FIELDS.map((f) => f.name).join(', ')}`);
      }
      out.add(name);
    }
  }
  return out;
}
