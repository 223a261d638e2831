import { suiteRunnerNames } from '../core/matrix.ts';
import { createHash } from 'node:crypto';
import type { RunResult } from '../core/result-types.ts';
import { median } from '../core/stats.ts';
import { cellMetricValues } from '../analysis/cell-values.ts';
import { runFacts } from '../analysis/run-facts.ts';
import { cellIdentity, identityKey, type ConfigurationIdentity } from '../analysis/identity.ts';
import { accuracyFinding, asMeasured, machineLoadFlags, shortOutputFinding } from '../analysis/gate-checks.ts';
import type { GateFinding } from '../analysis/comparison-types.ts';
import { checkedRevision, gitCommitDate } from './git-revision.ts';
import { InputError } from '../core/errors.ts';

/**
 * What the history keeps of one run: its provenance and, per cell and metric, every measured
 * iteration's value. Built from a RunResult (recordFromResult) or directly (benchmarks).
 */
export interface RunProvenance {
  /** Content hash of the result: the same run added twice is one row. */
  id: string;
  runId: string;
  suite: string;
  suiteHash: string;
  /** The machine the numbers belong to: series of different boards never mix. */
  board: string;
  target: string;
  host: string;
  runner: string;
  /** Runtime packages and their versions ("onnxruntime-node 1.30.0"), every entry but the suite's own and node's. */
  runtime: string;
  /** Every version the run recorded, as JSON. */
  versions: string;
  /** Hash over every cell's model file hashes (null when the run recorded none). */
  modelHash: string | null;
  precisions: string;
  /** Board facts about power and clocks ("nvpmodel=MAXN; jetson_clocks=on"), empty when none. */
  powerMode: string;
  gitCommit: string | null;
  gitDirty: boolean | null;
  /** ISO date that orders the series: the commit's date when known, else the run's start. */
  commitDate: string;
  commitDateSource: 'option' | 'git' | 'run start';
  startedAt: string;
  status: string;
  source: string;
}

export interface MetricRecord {
  unit: string;
  /** Measured iterations' values (one value when the metric is recorded once per cell). */
  values: number[];
  median: number;
  /** Why the values cannot support a two-run test, when they cannot (see cellMetricValues). */
  note?: string;
}

export interface CellRecord {
  cellId: string;
  status: 'ok' | 'failed';
  error?: string;
  throttled: boolean;
  params: Record<string, unknown>;
  metrics: Map<string, MetricRecord>;
  /** The cell's configuration identity: its series are those of this identity only. */
  identity: ConfigurationIdentity;
  identityKey: string;
  /** Machine-load flags (busy, steal, run-queue) of the cell: a change seen then cannot be judged. */
  loadFlags: string[];
  /** Gate findings of the cell on its own: fewer output tokens than asked, a failing accuracy verdict. */
  findings: GateFinding[];
  /** The board that measured the cell, in a run merged from a pool's shards (CellResult.board). */
  ranOn?: string;
}

export interface RunRecord {
  provenance: RunProvenance;
  cells: CellRecord[];
}

export interface RecordOptions {
  /** Board label (default: the target name, or the host name for local runs). */
  board?: string;
  /** Commit that was measured (default: the run's git revision). */
  commit?: string;
  /** The commit's date, ISO 8601 (default: asked of git in the current folder, else the run's start). */
  commitDate?: string;
  /** Where the result was read from. */
  source?: string;
}

/** The board a run's numbers belong to, when the caller does not name one. */
export function defaultBoard(result: RunResult): string {
  return result.target !== 'local' ? result.target : result.environment.host.hostname;
}

export function contentHash(result: RunResult): string {
  return createHash('sha256').update(JSON.stringify(result)).digest('hex');
}

function modelHash(result: RunResult): string | null {
  const entries = new Set<string>();
  for (const c of result.cells) for (const [file, hash] of Object.entries(c.model?.hashes ?? {})) entries.add(`${file}=${hash}`);
  if (!entries.size) return null;
  return createHash('sha256').update([...entries].sort().join('\n')).digest('hex').slice(0, 16);
}

export function provenanceOf(result: RunResult, opts: RecordOptions = {}): RunProvenance {
  const env = result.environment;
  // A flag may name a ref (resolved here); a result file's revision is a hex name (its schema).
  const commit = opts.commit !== undefined ? checkedRevision(opts.commit, '--commit') : env.git.revision;
  let commitDate: string;
  let commitDateSource: RunProvenance['commitDateSource'];
  const known = opts.commitDate ? null : commit ? gitCommitDate(commit) : null;
  if (opts.commitDate) {
    commitDate = new Date(opts.commitDate).toISOString();
    commitDateSource = 'option';
  } else if (known) {
    commitDate = known;
    commitDateSource = 'git';
  } else {
    commitDate = new Date(result.startedAt).toISOString();
    commitDateSource = 'run start';
  }
  const precisions = new Set<string>();
  for (const c of result.cells) {
    const p = c.params['precision'] ?? c.model?.precision;
    if (p !== undefined) precisions.add(String(p));
  }
  const powerMode = [...runFacts(result).values()]
    .filter((f) => f.kind === 'power-mode')
    .map((f) => `${f.key.replace(/^board\./, '')}=${f.value}`)
    .join('; ');
  const runtime = Object.entries(env.versions)
    .filter(([name]) => name !== 'vlm-edge-bench' && name !== 'node')
    .map(([name, version]) => `${name} ${version}`)
    .join('; ');
  return {
    id: contentHash(result),
    runId: result.runId,
    suite: result.suite.name,
    suiteHash: result.suite.hash,
    board: opts.board ?? defaultBoard(result),
    target: result.target,
    host: env.host.hostname,
    // A suite with a runner axis ran several runtimes: all of them, as `bench list suites` shows them.
    runner: suiteRunnerNames(result.suite.definition).join('+'),
    runtime,
    versions: JSON.stringify(env.versions),
    modelHash: modelHash(result),
    precisions: [...precisions].join(','),
    powerMode,
    gitCommit: commit,
    gitDirty: env.git.dirty,
    commitDate,
    commitDateSource,
    startedAt: result.startedAt,
    status: result.status,
    source: opts.source ?? '',
  };
}

/** Every metric of every cell with its per-iteration values (recomputed from the raw events, as `bench compare` does). */
export function recordFromResult(result: RunResult, opts: RecordOptions = {}): RunRecord {
  const cells: CellRecord[] = result.cells.map((recorded) => {
    const cell = asMeasured(recorded);
    const metrics = new Map<string, MetricRecord>();
    if (cell.status === 'ok') {
      const names = Object.keys(cell.metrics);
      for (const [metric, v] of cellMetricValues(cell, names)) {
        const unit = cell.metrics[metric]?.unit ?? '';
        const m = median(v.values) ?? cell.metrics[metric]?.median;
        if (m === undefined || m === null) continue;
        metrics.set(metric, { unit, values: v.values, median: m, ...(v.note ? { note: v.note } : {}) });
      }
    }
    const identity = cellIdentity(result, cell);
    const findings: GateFinding[] = [];
    if (cell.status === 'ok') {
      const short = shortOutputFinding(null, cell, identity);
      if (short) findings.push(short);
      const accuracy = accuracyFinding(null, cell);
      if (accuracy) findings.push(accuracy);
    }
    return {
      cellId: cell.id,
      status: cell.status,
      ...(cell.error ? { error: cell.error } : {}),
      throttled: cell.throttled === true,
      params: cell.params,
      metrics,
      identity,
      identityKey: identityKey(identity),
      loadFlags: machineLoadFlags(cell),
      findings,
      ...(cell.board !== undefined ? { ranOn: cell.board } : {}),
    };
  });
  return { provenance: provenanceOf(result, opts), cells };
}

/**
 * The history holds complete runs: a run still going or interrupted would enter its series with
 * the cells it had, and again once finished. Refused (exit 2) unless the caller allows it.
 */
export function checkComplete(result: RunResult, source: string, allowIncomplete: boolean): void {
  if (result.status === 'complete' || allowIncomplete) return;
  const done = result.cells.length;
  const planned = result.plannedCells.length;
  throw new InputError(
    `${source}: run ${result.runId} is ${result.status} (${done} of ${planned} cells); the history stores complete runs only ` +
      `(finish it with \`bench run --resume\`, or pass --allow-incomplete to store it as it is)`,
  );
}
