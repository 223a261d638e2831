/**
 * Joins the shard results of one plan (`bench run --shard K/N` on several boards) into one
 * RunResult that reports, compare, history and publish read like any other. Shards of different
 * plans, suites, builds or settings are refused naming the field; a shard given twice is refused
 * naming both files; missing shards are reported, and their cells stay missing (never a pass).
 * Each cell keeps the board it ran on (CellResult.board).
 */
import { isDeepStrictEqual } from 'node:util';
import { InputError } from '../core/errors.ts';
import type { CellResult, MergeRecord, RunResult, ShardRecord } from '../core/result-types.ts';
import { newRunId } from '../harness/result-store.ts';
import { checkShardRecord, shardCellIds } from '../harness/shard.ts';
import { cellIdentity, diffIdentities, type IdentityFieldName } from './identity.ts';

export interface ShardInput {
  /** Where the result came from, for messages. */
  file: string;
  result: RunResult;
}

export interface MergeOutcome {
  result: RunResult;
  record: MergeRecord;
}

/** Fields two shards of one plan must agree on: the plan, the suite, the build and the settings. */
const SAME_FIELDS: ReadonlyArray<readonly [field: string, read: (r: RunResult) => unknown]> = [
  ['shard.planHash', (r) => r.shard!.planHash],
  ['shard.count', (r) => r.shard!.count],
  ['suite.name', (r) => r.suite.name],
  ['suite.hash', (r) => r.suite.hash],
  ['environment.git.revision', (r) => r.environment.git.revision],
  ['environment.git.dirty', (r) => r.environment.git.dirty],
  ['environment.os.platform', (r) => r.environment.os.platform],
  ['options.iterations', (r) => r.options.iterations],
  ['options.warmup', (r) => r.options.warmup],
  ['options.outputTokens', (r) => r.options.outputTokens],
  ['options.threads', (r) => r.options.threads],
  ['options.filters', (r) => r.options.filters],
  ['options.adaptive', (r) => r.options.adaptive ?? null],
  ['options.maxFailedFraction', (r) => r.options.maxFailedFraction ?? 0],
  ['options.ortProfile', (r) => r.options.ortProfile ?? false],
  ['options.probes', (r) => r.options.probes ?? null],
  ['options.cooldownSeconds', (r) => r.options.cooldownSeconds ?? 0],
];

const show = (v: unknown): string => {
  const text = JSON.stringify(v) ?? 'undefined';
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
};

function refuseDifferent(field: string, a: ShardInput, av: unknown, b: ShardInput, bv: unknown): never {
  throw new InputError(
    `the shards are not of one plan and configuration: ${field} differs (${a.file}: ${show(av)}; ${b.file}: ${show(bv)}); ` +
      'merge only shards run from one plan with the same suite, build and settings',
  );
}

/** Every software version recorded, and each model build (by architecture, precision, layout and scale). */
function checkBuilds(inputs: readonly ShardInput[]): void {
  const [first] = inputs;
  const versions = new Set(inputs.flatMap((i) => Object.keys(i.result.environment.versions)));
  for (const name of [...versions].sort()) {
    for (const other of inputs.slice(1)) {
      const a = first!.result.environment.versions[name];
      const b = other.result.environment.versions[name];
      if (a !== b) refuseDifferent(`environment.versions.${name}`, first!, a ?? null, other, b ?? null);
    }
  }
  const builds = new Map<string, { input: ShardInput; hashes: unknown; cell: string }>();
  for (const input of inputs) {
    for (const cell of input.result.cells) {
      const m = cell.model;
      if (!m?.hashes) continue;
      const key = JSON.stringify([m.architecture, m.precision, m.visionPrecision ?? null, m.layout, m.scale ?? null, m.int8Form ?? null]);
      const had = builds.get(key);
      if (!had) builds.set(key, { input, hashes: m.hashes, cell: cell.id });
      else if (!isDeepStrictEqual(had.hashes, m.hashes)) {
        refuseDifferent(`cells[].model.hashes (${m.architecture} ${m.precision}; cells ${had.cell} and ${cell.id})`, had.input, had.hashes, input, m.hashes);
      }
    }
  }
}

/**
 * Configuration identity fields (analysis/identity.ts) that every cell of a plan shares unless the
 * matrix varies them: the shards of one plan must agree on them (identical boards, one runner
 * setting). `target` is left out: boards driven over SSH are different targets of one pool.
 */
const SHARED_IDENTITY: readonly IdentityFieldName[] = ['machine', 'board', 'power_mode', 'weights', 'scale', 'layout', 'seed', 'runner', 'threads', 'execution_provider', 'chunking', 'kv_cache'];
/** Matrix axes that drive an identity field (a field an axis varies differs between cells by design). */
const AXIS_OF: Partial<Record<IdentityFieldName, readonly string[]>> = {
  power_mode: ['power_mode'],
  runner: ['runner'],
  threads: ['threads'],
  execution_provider: ['ep', 'execution_provider'],
  chunking: ['chunk'],
};

function checkIdentities(inputs: readonly ShardInput[]): void {
  const axes = new Set(Object.keys(inputs[0]!.result.suite.definition?.matrix ?? {}));
  const fields = new Set(SHARED_IDENTITY.filter((f) => !(AXIS_OF[f] ?? []).some((a) => axes.has(a))));
  const firstOk = (i: ShardInput) => {
    const cell = i.result.cells.find((c) => c.status === 'ok');
    return cell ? { cell, identity: cellIdentity(i.result, cell) } : null;
  };
  const base = inputs.map((i) => ({ input: i, id: firstOk(i) })).filter((x) => x.id);
  for (const other of base.slice(1)) {
    const d = diffIdentities(base[0]!.id!.identity, other.id!.identity).find((x) => fields.has(x.field));
    if (d) refuseDifferent(`identity field ${d.field} (${d.label})`, base[0]!.input, d.base, other.input, d.cand);
  }
}

/** Cell id -> the board it ran on, when the cells of a (merged) result ran on more than one board; else null. */
export function cellBoards(result: RunResult): Map<string, string> | null {
  const boards = new Map<string, string>();
  for (const c of result.cells) if (c.board !== undefined) boards.set(c.id, c.board);
  return new Set(boards.values()).size > 1 ? boards : null;
}

function shardOf(input: ShardInput): ShardRecord {
  const s = input.result.shard;
  if (!s) throw new InputError(`${input.file}: not a shard result (no "shard" field): only results of \`bench run --shard K/N\` are merged`);
  checkShardRecord(s, input.result.suite.hash, input.file);
  const own = shardCellIds(s);
  const planned = new Set(input.result.plannedCells);
  if (own.length !== planned.size || own.some((id) => !planned.has(id))) {
    throw new InputError(`${input.file}: its planned cells are not those of shard ${s.index}/${s.count} of its plan`);
  }
  const stray = input.result.cells.find((c) => !planned.has(c.id));
  if (stray) throw new InputError(`${input.file}: cell ${stray.id} is not one of shard ${s.index}/${s.count}'s cells`);
  return s;
}

/** The roofline rows of shards judged against one calibration; dropped (with a warning) when the boards' calibrations differ. */
function mergeRoofline(inputs: readonly ShardInput[], warnings: string[]): RunResult['roofline'] {
  const withRoofline = inputs.filter((i) => i.result.roofline);
  if (withRoofline.length === 0) return undefined;
  const calibration = withRoofline[0]!.result.roofline!.calibration;
  if (withRoofline.length !== inputs.length || withRoofline.some((i) => !isDeepStrictEqual(i.result.roofline!.calibration, calibration))) {
    warnings.push('roofline bounds left out of the merged result: the shards were judged against different calibrations (or some had none); see each shard\'s own report');
    return undefined;
  }
  return { calibration, rows: withRoofline.flatMap((i) => i.result.roofline!.rows) };
}

/**
 * Joins shard results. Throws InputError (exit 2) for a non-shard input, shards of different
 * plans or configurations (naming the field), or a shard given twice; a missing shard is not an
 * error here: it is recorded (MergeRecord.missingShards/missingCells) and the result is not complete.
 */
export function mergeShards(inputs: readonly ShardInput[], now = new Date()): MergeOutcome {
  if (inputs.length === 0) throw new InputError('bench merge: no shard results given');
  const shards = inputs.map(shardOf);
  const first = inputs[0]!;
  for (const [field, read] of SAME_FIELDS) {
    const want = read(first.result);
    for (const other of inputs.slice(1)) {
      const got = read(other.result);
      if (!isDeepStrictEqual(want, got)) refuseDifferent(field, first, want, other, got);
    }
  }
  checkBuilds(inputs);
  checkIdentities(inputs);
  const byIndex = new Map<number, ShardInput>();
  inputs.forEach((input, i) => {
    const k = shards[i]!.index;
    const had = byIndex.get(k);
    if (had) throw new InputError(`shard ${k}/${shards[i]!.count} is given twice (${had.file} and ${input.file}); keep one of them`);
    byIndex.set(k, input);
  });
  const plan = shards[0]!;
  const ordered = [...byIndex.entries()].sort(([a], [b]) => a - b).map(([, input]) => input);
  const missingShards = Array.from({ length: plan.count }, (_, i) => i + 1).filter((k) => !byIndex.has(k));

  const position = new Map(plan.planCells.map((id, i) => [id, i]));
  const cells: CellResult[] = ordered
    .flatMap((input) => input.result.cells.map((c) => ({ ...c, board: input.result.shard!.board })))
    .sort((a, b) => position.get(a.id)! - position.get(b.id)!);
  const recorded = new Set(cells.map((c) => c.id));
  const missingCells = plan.planCells.filter((id) => !recorded.has(id));

  const warnings: string[] = [];
  for (const input of ordered) {
    const s = input.result.shard!;
    for (const w of input.result.warnings) warnings.push(`[shard ${s.index}/${s.count} on ${s.board}] ${w}`);
    if (input.result.status !== 'complete') warnings.push(`shard ${s.index}/${s.count} on ${s.board} is ${input.result.status} (${input.file})`);
  }
  if (missingShards.length) {
    warnings.push(`shard(s) ${missingShards.map((k) => `${k}/${plan.count}`).join(', ')} missing: ${missingCells.length} planned cell(s) not measured`);
  }
  const roofline = mergeRoofline(ordered, warnings);
  const finished = ordered.map((i) => i.result.finishedAt);
  const record: MergeRecord = {
    planHash: plan.planHash,
    count: plan.count,
    shards: ordered.map((input) => ({
      index: input.result.shard!.index,
      board: input.result.shard!.board,
      runId: input.result.runId,
      host: input.result.environment.host.hostname,
      status: input.result.status,
      startedAt: input.result.startedAt,
      finishedAt: input.result.finishedAt,
      cells: input.result.cells.length,
    })),
    missingShards,
    missingCells,
  };
  const targets = [...new Set(ordered.map((i) => i.result.target))].sort();
  const complete = missingCells.length === 0 && ordered.every((i) => i.result.status === 'complete');
  const base = ordered[0]!.result;
  const result: RunResult = {
    schemaVersion: base.schemaVersion,
    runId: newRunId(now),
    suite: base.suite,
    target: targets.join(','),
    status: complete ? 'complete' : 'interrupted',
    startedAt: ordered.map((i) => i.result.startedAt).sort()[0]!,
    finishedAt: finished.some((f) => f === null) ? null : (finished as string[]).sort().at(-1)!,
    // The options every shard shares; the seed of a shuffled order is each shard's own.
    options: { ...base.options, ...(base.options.order === 'shuffled' ? { shuffleSeed: null } : {}) },
    environment: base.environment,
    cells,
    plannedCells: plan.planCells,
    warnings,
    ...(roofline ? { roofline } : {}),
    merged: record,
  };
  return { result, record };
}
