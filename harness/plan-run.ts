/**
 * planRun: what `bench run`'s flags ask for, decided in one place before anything runs. It reads
 * the suite (or builds the endpoint suite), the run to resume, the target, and turns the flags
 * into the run loop's request, refusing contradictions and bad values with InputError naming the
 * flag. The CLI parses flags into RunFlagValues, calls this, and prints; nothing after planning
 * goes back to the CLI for a decision.
 */
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { InputError } from '../core/errors.ts';
import { hasRedactedSecret } from '../core/redact.ts';
import type { RunResult, ShardRecord } from '../core/result-types.ts';
import type { LoadedSuite } from '../core/suite-types.ts';
import { checkTargetProbes } from '../hw-probes/registry.ts';
import { loadTargets, resolveTarget as resolveFromFile, targetsFilePath } from '../targets/targets.ts';
import type { TargetDefinition } from '../targets/types.ts';
import { readResult, RESULT_FILE } from './result-store.ts';
import { checkResumeFlags, chooseTargetName } from './run-plan.ts';
import type { RunRequest } from './run-suite.ts';
import { checkSuite, hashSuite, loadSuite } from './suite-loader.ts';
import { checkBoardLabel, parseShard, shardRecord } from './shard.ts';
import { planSuite, readPlanFile, type CellWorkOf } from './shard-plan.ts';

export const DEFAULT_SUITE = 'internvl-cpu';

/** The values of `bench run`'s flags, as the CLI parsed them. */
export interface RunFlagValues {
  suite?: string;
  target?: string;
  targets?: string;
  yes?: boolean;
  maxFailedFraction?: number;
  retryFailed?: boolean;
  calibrate: boolean;
  recalibrate?: boolean;
  filter: string[];
  iterations?: number;
  warmup?: number;
  threads?: number;
  out: string;
  resume?: string;
  adaptive?: number;
  adaptiveMetric: string[];
  maxIterations?: number;
  cellBudget?: number;
  cooldown?: number;
  shuffle?: string | boolean;
  ortProfile?: boolean;
  probe: string[];
  probeInterval?: number;
  baseline?: number;
  tempLimit?: number;
  endpoint?: string;
  model?: string;
  images?: number;
  promptTokens?: number;
  maxTokens?: number;
  concurrency?: number;
  apiKeyEnv?: string;
  shard?: string;
  plan?: string;
  board?: string;
  db?: string;
}

/** A planned run: what to run where, and the run loop's request but for what the caller wires (runners, progress, transport, shard). */
export interface RunPlan {
  /** Undefined on --resume without --suite: the run's own suite is used. */
  suite?: LoadedSuite;
  resumed?: RunResult;
  target: TargetDefinition;
  /** --shard K/N: the slice of the plan this run measures (from --plan, or planned here). */
  shard?: ShardRecord;
  request: Omit<RunRequest, 'runners' | 'progress' | 'transport' | 'shard' | 'boardFacts' | 'onInterrupted'>;
}

/** What planning reads from layers above the harness, given by the caller. */
export interface PlanSources {
  /**
   * Earlier runs' cost of each cell, to balance `--shard K/N` when no --plan file is given (the
   * CLI passes history/cell-costs.ts historyCellWork for --db); without it shards are balanced by cell count.
   */
  cellWork?: CellWorkOf;
}

/** The shard this run measures: from the plan file, or planned here (deterministically) from earlier runs' costs. */
async function shardOfRun(flags: RunFlagValues, suite: LoadedSuite, target: TargetDefinition, sources: PlanSources): Promise<ShardRecord> {
  const spec = parseShard(flags.shard!);
  const plan = flags.plan
    ? readPlanFile(flags.plan, suite, flags.filter)
    : planSuite(
        suite,
        spec.count,
        { filters: flags.filter, iterations: flags.iterations, warmup: flags.warmup, adaptive: flags.adaptive !== undefined || undefined },
        await sources.cellWork?.(suite.suite.name),
      );
  const board = flags.board ?? process.env['BENCH_BOARD'] ?? (target.kind === 'local' ? hostname() : target.name);
  return shardRecord(plan, spec, checkBoardLabel(board, flags.board ? '--board' : process.env['BENCH_BOARD'] ? '$BENCH_BOARD' : 'the board label (host name)'));
}

/** Every target of the targets file, each probe name checked against the probe registry (plug-ins included). */
export function listTargets(file?: string): TargetDefinition[] {
  const targets = loadTargets(file);
  for (const t of targets) checkTargetProbes(t);
  return targets;
}

export function resolveTarget(name: string, file?: string): TargetDefinition {
  listTargets(file);
  return resolveFromFile(name, file);
}

function positive(name: string, v: number | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!Number.isFinite(v) || v < 0) throw new InputError(`${name} expects a non-negative number, got ${String(v)}`);
  return v;
}

function finite(name: string, v: number | undefined): number | undefined {
  if (v !== undefined && !Number.isFinite(v)) throw new InputError(`${name} expects a number, got ${String(v)}`);
  return v;
}

function methodologyFlags(flags: RunFlagValues) {
  const adaptivePct = positive('--adaptive', flags.adaptive);
  if (adaptivePct === undefined && (flags.maxIterations !== undefined || flags.cellBudget !== undefined)) {
    throw new InputError('--max-iterations and --cell-budget only apply with --adaptive <pct>');
  }
  let shuffleSeed: number | undefined;
  if (flags.shuffle !== undefined) {
    shuffleSeed = flags.shuffle === true ? Date.now() % 2 ** 31 : Number(flags.shuffle);
    if (!Number.isInteger(shuffleSeed) || shuffleSeed < 0) throw new InputError(`--shuffle expects an integer seed, got "${String(flags.shuffle)}"`);
  }
  return {
    adaptive:
      adaptivePct === undefined
        ? undefined
        : { targetCiPct: adaptivePct, ...(flags.adaptiveMetric.length ? { metrics: flags.adaptiveMetric } : {}), maxIterations: flags.maxIterations, maxCellSeconds: positive('--cell-budget', flags.cellBudget) },
    cooldownSeconds: positive('--cooldown', flags.cooldown),
    shuffleSeed,
    ortProfile: flags.ortProfile,
    probes: flags.probe.length ? flags.probe : undefined,
    probeIntervalMs: flags.probeInterval,
    baselineSeconds: positive('--baseline', flags.baseline),
    tempLimitC: finite('--temp-limit', flags.tempLimit),
  };
}

const ENDPOINT_ONLY = ['model', 'images', 'promptTokens', 'maxTokens', 'concurrency', 'apiKeyEnv'] as const;

/** `--endpoint URL --model NAME ...` needs no suite file: the default endpoint suite is built from the flags. */
async function endpointSuite(flags: RunFlagValues): Promise<LoadedSuite> {
  if (flags.suite) throw new InputError('--endpoint builds its own suite; drop --suite (or put the URL in a suite file)');
  if (!flags.model) throw new InputError('--endpoint needs --model NAME (the model name the server serves)');
  const { buildEndpointSuite } = await import('../runners/endpoint/suite.ts');
  const suite = buildEndpointSuite({
    url: flags.endpoint!,
    model: flags.model,
    images: flags.images,
    promptTokens: flags.promptTokens,
    maxTokens: flags.maxTokens,
    concurrency: flags.concurrency,
    iterations: flags.iterations,
    warmup: flags.warmup,
    apiKeyEnv: flags.apiKeyEnv,
  });
  return { suite: checkSuite(suite, `--endpoint ${flags.endpoint}`), source: `endpoint:${flags.endpoint}`, hash: hashSuite(suite) };
}

/** The stored run of --resume DIR, read (with its cell journal) before anything else is decided. */
function readRunToResume(dir: string): RunResult {
  const file = join(resolve(dir), RESULT_FILE);
  if (!existsSync(file)) throw new InputError(`--resume ${dir}: no ${RESULT_FILE} in that folder`);
  return readResult(file);
}

function resumeFlagValues(flags: RunFlagValues, suite: LoadedSuite | undefined) {
  return {
    target: flags.target,
    suite: suite ? { hash: suite.hash, source: suite.source, flag: flags.endpoint ? '--endpoint' : '--suite' } : undefined,
    filters: flags.filter,
    iterations: flags.iterations,
    warmup: flags.warmup,
    threads: flags.threads,
    adaptivePct: flags.adaptive,
    shuffleSeed: flags.shuffle === undefined || flags.shuffle === true ? undefined : Number(flags.shuffle),
    ortProfile: flags.ortProfile,
    probes: flags.probe,
    cooldownSeconds: flags.cooldown,
  };
}

export async function planRun(flags: RunFlagValues, sources: PlanSources = {}): Promise<RunPlan> {
  if (!flags.endpoint) {
    const stray = ENDPOINT_ONLY.filter((k) => flags[k] !== undefined);
    if (stray.length) throw new InputError(`${stray.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')} only apply with --endpoint URL`);
  }
  const suite = flags.endpoint ? await endpointSuite(flags) : flags.resume && !flags.suite ? undefined : loadSuite(flags.suite ?? DEFAULT_SUITE);
  const resumed = flags.resume ? readRunToResume(flags.resume) : undefined;
  if (resumed) checkResumeFlags(resumed, resumeFlagValues(flags, suite), flags.resume!, hostname());
  if (resumed && !suite && hasRedactedSecret(JSON.stringify(resumed.suite.definition))) {
    throw new InputError(`--resume ${flags.resume}: the run's endpoint URL held a secret in its query string, which was not recorded; resume with --endpoint and the same URL`);
  }
  const maxFailedFraction = flags.maxFailedFraction;
  if (maxFailedFraction !== undefined && (!Number.isFinite(maxFailedFraction) || maxFailedFraction < 0 || maxFailedFraction > 1)) {
    throw new InputError(`--max-failed-fraction expects a number from 0 to 1, got ${String(maxFailedFraction)}`);
  }
  if (resumed && maxFailedFraction !== undefined && maxFailedFraction !== (resumed.options.maxFailedFraction ?? 0)) {
    throw new InputError(`--resume ${flags.resume}: --max-failed-fraction ${maxFailedFraction} conflicts with the run's ${resumed.options.maxFailedFraction ?? 0}; drop --max-failed-fraction`);
  }
  const targetName = chooseTargetName({
    explicit: flags.target,
    resumed,
    suite: suite?.suite,
    knownTargets: listTargets(flags.targets).map((t) => t.name),
    targetsFile: targetsFilePath(flags.targets),
  });
  const target = resolveTarget(targetName, flags.targets);
  if (flags.retryFailed && !flags.resume) throw new InputError('--retry-failed only applies with --resume RUN_DIR');
  if (flags.recalibrate && !flags.calibrate) throw new InputError('--recalibrate and --no-calibrate contradict each other: keep one');
  if (!flags.shard && (flags.plan || flags.board || flags.db)) throw new InputError('--plan, --board and --db only apply with --shard K/N');
  if (flags.shard && flags.resume) throw new InputError('--shard: a resumed run keeps its own shard; drop --shard');
  const shard = suite && flags.shard ? await shardOfRun(flags, suite, target, sources) : undefined;
  return {
    ...(suite ? { suite } : {}),
    ...(resumed ? { resumed } : {}),
    target,
    ...(shard ? { shard } : {}),
    request: {
      suite,
      target: target.name,
      filters: flags.filter,
      // The endpoint suite already holds --iterations/--warmup (rounded to the concurrency).
      iterations: flags.endpoint ? undefined : flags.iterations,
      warmup: flags.endpoint ? undefined : flags.warmup,
      threads: flags.threads,
      ...methodologyFlags(flags),
      outDir: resolve(flags.out),
      prebuildModels: target.kind === 'local',
      resumeDir: flags.resume,
      retryFailed: flags.retryFailed,
      confirmPlan: flags.yes === true,
      maxFailedFraction,
      roofline: { calibrate: flags.calibrate, recalibrate: flags.recalibrate === true },
    },
  };
}
