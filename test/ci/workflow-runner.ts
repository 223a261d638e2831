/**
 * Runs a GitHub Actions workflow's own `run:` steps on this machine, for tests: the YAML is read
 * with the `yaml` package, `${{ }}` expressions are evaluated for a given event (github, vars,
 * env, matrix, needs, steps, strategy contexts; the functions the workflow uses), `if:` conditions
 * decide which steps run, and $GITHUB_ENV / $GITHUB_OUTPUT / $GITHUB_STEP_SUMMARY work as on a
 * runner. `uses:` steps are simulated: checkout clones the test's origin repository into the job's
 * workspace (the test commits the project's sources there with copyProjectSources), upload/download-artifact copy folders through
 * an artifact store, setup-node and the Pages actions are recorded only. `npm ci` is skipped: the
 * project's node_modules is linked into each workspace.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parse } from 'yaml';

type Value = unknown;
export type Context = Record<string, Value>;

// ---- expressions --------------------------------------------------------------------------

type Token = { kind: 'str' | 'num' | 'id' | 'op'; text: string };

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'") {
      let j = i + 1;
      let text = '';
      for (;;) {
        if (j >= src.length) throw new Error(`unterminated string in ${src}`);
        if (src[j] === "'" && src[j + 1] === "'") {
          text += "'";
          j += 2;
        } else if (src[j] === "'") break;
        else text += src[j++];
      }
      out.push({ kind: 'str', text });
      i = j + 1;
    } else if (/[0-9]/.test(c)) {
      const m = /^[0-9.]+/.exec(src.slice(i))![0];
      out.push({ kind: 'num', text: m });
      i += m.length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_.\-*]*/.exec(src.slice(i))![0];
      out.push({ kind: 'id', text: m });
      i += m.length;
    } else {
      const two = src.slice(i, i + 2);
      if (['==', '!=', '&&', '||', '<=', '>='].includes(two)) {
        out.push({ kind: 'op', text: two });
        i += 2;
      } else if ('!()<>,'.includes(c)) {
        out.push({ kind: 'op', text: c });
        i++;
      } else throw new Error(`unexpected "${c}" in expression ${src}`);
    }
  }
  return out;
}

/** As on GitHub: a condition without a status function (success, failure, always, cancelled) is ANDed with success(). */
function withStatus(cond: string): string {
  const inner = /^\s*\$\{\{([\s\S]*)\}\}\s*$/.exec(cond)?.[1] ?? cond;
  return /\b(success|failure|always|cancelled)\s*\(/.test(inner) ? `\${{ ${inner} }}` : `\${{ success() && (${inner}) }}`;
}

const truthy = (v: Value): boolean => !(v === false || v === 0 || v === '' || v === null || v === undefined || Number.isNaN(v));

function lookup(ctx: Context, path: string): Value {
  let v: Value = ctx;
  for (const part of path.split('.')) {
    if (v === null || typeof v !== 'object') return null;
    v = (v as Record<string, Value>)[part];
  }
  return v ?? null;
}

function equal(a: Value, b: Value): boolean {
  if (typeof a === 'string' && typeof b === 'string') return a.toLowerCase() === b.toLowerCase();
  return a === b || (a == null && b == null);
}

/** Evaluates a GitHub Actions expression (the subset workflows of this project use). */
export function evaluate(src: string, ctx: Context, fns: Record<string, (...args: Value[]) => Value>): Value {
  const tokens = tokenize(src);
  let pos = 0;
  const peek = () => tokens[pos];
  const take = (text?: string) => {
    const t = tokens[pos++];
    if (!t || (text !== undefined && t.text !== text)) throw new Error(`expected ${text ?? 'a token'} in ${src}`);
    return t;
  };
  const primary = (): Value => {
    const t = take();
    if (t.kind === 'str') return t.text;
    if (t.kind === 'num') return Number(t.text);
    if (t.kind === 'op' && t.text === '(') {
      const v = or();
      take(')');
      return v;
    }
    if (t.kind === 'op' && t.text === '!') return !truthy(primary());
    if (t.kind === 'id') {
      if (t.text === 'true' || t.text === 'false') return t.text === 'true';
      if (t.text === 'null') return null;
      if (peek()?.text === '(') {
        take('(');
        const args: Value[] = [];
        while (peek()?.text !== ')') {
          args.push(or());
          if (peek()?.text === ',') take(',');
        }
        take(')');
        const fn = fns[t.text.toLowerCase()];
        if (!fn) throw new Error(`function ${t.text} is not simulated`);
        return fn(...args);
      }
      return lookup(ctx, t.text);
    }
    throw new Error(`unexpected ${t.text} in ${src}`);
  };
  const comparison = (): Value => {
    let v = primary();
    while (peek()?.text === '==' || peek()?.text === '!=') {
      const op = take().text;
      const r = primary();
      v = op === '==' ? equal(v, r) : !equal(v, r);
    }
    return v;
  };
  const and = (): Value => {
    let v = comparison();
    while (peek()?.text === '&&') {
      take();
      const r = comparison();
      v = truthy(v) ? r : v;
    }
    return v;
  };
  function or(): Value {
    let v = and();
    while (peek()?.text === '||') {
      take();
      const r = and();
      v = truthy(v) ? v : r;
    }
    return v;
  }
  const v = or();
  if (pos !== tokens.length) throw new Error(`trailing tokens in ${src}`);
  return v;
}

const EXPR = /\$\{\{([\s\S]*?)\}\}/g;

/** A workflow string with its `${{ }}` filled in; a string that is one expression gives its value. */
export function fill(text: Value, ctx: Context, fns: Record<string, (...args: Value[]) => Value>): Value {
  if (typeof text !== 'string') return text;
  const whole = /^\s*\$\{\{([\s\S]*?)\}\}\s*$/.exec(text);
  if (whole) return evaluate(whole[1]!, ctx, fns);
  return text.replace(EXPR, (_, e: string) => {
    const v = evaluate(e, ctx, fns);
    return v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  });
}

// ---- the runner ---------------------------------------------------------------------------

interface Step {
  name?: string;
  id?: string;
  if?: string | boolean;
  run?: string;
  uses?: string;
  with?: Record<string, unknown>;
  env?: Record<string, unknown>;
}

interface Job {
  needs?: string | string[];
  if?: string;
  'runs-on': unknown;
  strategy?: { matrix: unknown };
  concurrency?: { group: string };
  env?: Record<string, unknown>;
  outputs?: Record<string, string>;
  steps: Step[];
}

export interface StepRecord {
  job: string;
  name: string;
  skipped: boolean;
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface JobRecord {
  job: string;
  matrix: Record<string, Value> | null;
  runsOn: Value;
  concurrency: string | null;
  workspace: string;
  status: 'success' | 'failure' | 'skipped';
  outputs: Record<string, string>;
  steps: StepRecord[];
  summary: string;
  /** `uses:` steps that would have run (upload-pages-artifact, deploy-pages, ...). */
  actions: string[];
}

export interface WorkflowSimulation {
  /** The repository the checkout step clones (a bare repository in the test's folder). */
  origin: string;
  /** The commit checked out. */
  ref: string;
  /** The project whose sources and node_modules are linked into each workspace. */
  project: string;
  /** Root folder for workspaces and artifacts. */
  root: string;
  github: Context;
  vars: Record<string, string>;
  /** Values for the workflow's top-level env block (the knobs a user adapts). */
  envOverrides?: Record<string, string>;
  /** Extra environment per job instance (e.g. a lock folder per simulated board). */
  jobEnv?: (job: string, matrix: Record<string, Value> | null) => Record<string, string>;
}

/**
 * The project's sources a simulated repository holds (committed by copyProjectSources): the jobs
 * run the code of the commit they check out, and `bench run` records that commit and its clean
 * tree, as on a real runner. Linking them instead made every job read the git state of the
 * developer's worktree, which changes while the tests run (an edit flips `dirty`, a commit the
 * revision) and made `bench merge` refuse shards recorded either side of the change.
 */
const NOT_SOURCES = ['test', 'docs'];

/** Copies the project's files but its tests and docs (tracked and new, as they are in the worktree now) into `dest`, a repository to commit them in. */
export function copyProjectSources(project: string, dest: string): void {
  const listed = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--', '.', ...NOT_SOURCES.map((d) => `:(exclude)${d}`)], { cwd: project, encoding: 'utf8' });
  if (listed.status !== 0) throw new Error(`git ls-files in ${project}: ${listed.stderr}`);
  for (const file of listed.stdout.split('\0').filter(Boolean)) {
    // A tracked file deleted in the worktree is not part of the code under test.
    if (!existsSync(join(project, file))) continue;
    mkdirSync(dirname(join(dest, file)), { recursive: true });
    copyFileSync(join(project, file), join(dest, file));
  }
}

/**
 * Runs a job's shell script as a CI runner does (bash, a failing command ends it), with the
 * machine's PATH and HOME, `CI=true` and the given variables. TMPDIR is the test file's temp
 * folder (test/setup/temp-per-file.ts): what the jobs' tools leave there is removed and checked
 * with the file instead of piling up in /tmp.
 */
export function runJobScript(script: string, cwd: string, env: Record<string, string>): SpawnSyncReturns<string> {
  return spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', script], {
    cwd,
    encoding: 'utf8',
    env: {
      PATH: process.env['PATH'],
      HOME: process.env['HOME'],
      ...(process.env['TMPDIR'] ? { TMPDIR: process.env['TMPDIR'] } : {}),
      CI: 'true',
      ...env,
    },
    maxBuffer: 64 * 1024 * 1024,
  });
}

function readKeyValues(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  const out: Record<string, string> = {};
  const lines = readFileSync(file, 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const body: string[] = [];
      while (++i < lines.length && lines[i] !== heredoc[2]) body.push(lines[i]!);
      out[heredoc[1]!] = body.join('\n');
    } else if (line.includes('=')) out[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
  }
  return out;
}

function git(args: string[], cwd: string): string {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

export class WorkflowRunner {
  readonly jobs: Record<string, Job>;
  readonly env: Record<string, unknown>;
  readonly records: JobRecord[] = [];
  private readonly artifacts: string;
  private readonly outputs = new Map<string, Record<string, string>>();
  private readonly results = new Map<string, string>();

  constructor(
    yamlText: string,
    private readonly sim: WorkflowSimulation,
  ) {
    const doc = parse(yamlText) as { env?: Record<string, unknown>; jobs: Record<string, Job> };
    this.jobs = doc.jobs;
    this.env = { ...(doc.env ?? {}), ...(sim.envOverrides ?? {}) };
    this.artifacts = join(sim.root, 'artifacts');
    mkdirSync(this.artifacts, { recursive: true });
  }

  private needsContext(job: Job): Context {
    const needs = typeof job.needs === 'string' ? [job.needs] : (job.needs ?? []);
    return Object.fromEntries(needs.map((n) => [n, { outputs: this.outputs.get(n) ?? {}, result: this.results.get(n) ?? 'skipped' }]));
  }

  /** Runs one job as if the jobs it needs had succeeded with these outputs (artifacts are whatever the store holds). */
  runOnly(name: string, needs: Record<string, Record<string, string>> = {}): JobRecord[] {
    for (const d of [this.jobs[name]!.needs ?? []].flat()) {
      this.results.set(d, 'success');
      this.outputs.set(d, needs[d] ?? {});
    }
    this.runJob(name);
    return this.records;
  }

  /** The artifact store (upload-artifact writes folders here, download-artifact reads them). */
  get artifactDir(): string {
    return this.artifacts;
  }

  /** Runs the jobs in the order of their needs; a matrix job runs its instances one after another. */
  runAll(): JobRecord[] {
    const done = new Set<string>();
    const names = Object.keys(this.jobs);
    while (done.size < names.length) {
      const ready = names.find((n) => !done.has(n) && [this.jobs[n]!.needs ?? []].flat().every((d) => done.has(d)));
      if (!ready) throw new Error('workflow needs form a cycle');
      this.runJob(ready);
      done.add(ready);
    }
    return this.records;
  }

  private baseContext(job: Job, extra: Context): Context {
    return { github: this.sim.github, vars: this.sim.vars, needs: this.needsContext(job), ...extra };
  }

  private runJob(name: string): void {
    const job = this.jobs[name]!;
    const needsFailed = [job.needs ?? []].flat().some((d) => this.results.get(d) !== 'success');
    const fns = this.functions(() => needsFailed);
    const ctx0 = this.baseContext(job, { env: {} });
    const runIf = job.if === undefined ? !needsFailed : truthy(fill(withStatus(job.if), ctx0, fns));
    if (!runIf) {
      this.results.set(name, 'skipped');
      return;
    }
    let combos: Array<Record<string, Value> | null> = [null];
    if (job.strategy?.matrix) {
      const m = fill(job.strategy.matrix, ctx0, fns) as Record<string, Value>;
      const include = (m['include'] as Array<Record<string, Value>> | undefined) ?? [];
      const axes = Object.entries(m).filter(([k]) => k !== 'include' && k !== 'exclude') as Array<[string, Value[]]>;
      let product: Array<Record<string, Value>> = [{}];
      for (const [axis, values] of axes) product = product.flatMap((p) => values.map((v) => ({ ...p, [axis]: v })));
      combos = axes.length ? product : include;
    }
    let failed = false;
    const jobOutputs: Record<string, string> = {};
    combos.forEach((matrix, index) => {
      const rec = this.runInstance(name, job, matrix, index, combos.length);
      if (rec.status === 'failure') failed = true;
      Object.assign(jobOutputs, rec.outputs);
    });
    this.outputs.set(name, jobOutputs);
    this.results.set(name, failed ? 'failure' : 'success');
  }

  private functions(jobFailed: () => boolean): Record<string, (...args: Value[]) => Value> {
    return {
      always: () => true,
      cancelled: () => false,
      success: () => !jobFailed(),
      failure: () => jobFailed(),
      fromjson: (s) => JSON.parse(String(s)) as Value,
      tojson: (v) => JSON.stringify(v),
    };
  }

  private runInstance(name: string, job: Job, matrix: Record<string, Value> | null, index: number, total: number): JobRecord {
    const workspace = join(this.sim.root, 'ws', `${name}-${index + 1}`);
    const files = join(this.sim.root, 'files', `${name}-${index + 1}`);
    mkdirSync(files, { recursive: true });
    const summaryFile = join(files, 'summary.md');
    writeFileSync(summaryFile, '');
    let failed = false;
    const fns = this.functions(() => failed);
    const extra = { matrix: matrix ?? {}, strategy: { 'job-index': index, 'job-total': total }, job: { status: 'success' } };
    const envCtx: Record<string, string> = {};
    const ctx = (): Context => this.baseContext(job, { ...extra, env: envCtx, steps: stepsCtx });
    const stepsCtx: Record<string, { outputs: Record<string, string>; outcome: string }> = {};
    for (const [k, v] of Object.entries(this.env)) envCtx[k] = String(fill(v, ctx(), fns) ?? '');
    for (const [k, v] of Object.entries(job.env ?? {})) envCtx[k] = String(fill(v, ctx(), fns) ?? '');
    const rec: JobRecord = {
      job: name,
      matrix,
      runsOn: fill(job['runs-on'], ctx(), fns),
      concurrency: job.concurrency ? String(fill(job.concurrency.group, ctx(), fns)) : null,
      workspace,
      status: 'success',
      outputs: {},
      steps: [],
      summary: '',
      actions: [],
    };
    if (Array.isArray(job['runs-on'])) rec.runsOn = job['runs-on'].map((l) => fill(l, ctx(), fns));
    const addedEnv: Record<string, string> = {};
    job.steps.forEach((step, i) => {
      const label = step.name ?? step.run?.split('\n')[0] ?? step.uses ?? `step ${i + 1}`;
      const cond = step.if === undefined ? '${{ success() }}' : withStatus(String(step.if));
      if (!truthy(fill(cond, ctx(), fns))) {
        rec.steps.push({ job: name, name: label, skipped: true, code: null, stdout: '', stderr: '' });
        return;
      }
      const stepEnv: Record<string, string> = {};
      for (const [k, v] of Object.entries(step.env ?? {})) stepEnv[k] = String(fill(v, ctx(), fns) ?? '');
      let code = 0;
      let stdout = '';
      let stderr = '';
      if (step.uses) {
        code = this.simulateAction(step, ctx, fns, workspace, rec);
      } else if (step.run !== undefined && step.run.trim() === 'npm ci') {
        // node_modules is linked from the project.
      } else if (step.run !== undefined) {
        const outFile = join(files, `output-${i}`);
        const envFile = join(files, `env-${i}`);
        writeFileSync(outFile, '');
        writeFileSync(envFile, '');
        const script = String(fill(step.run, ctx(), fns));
        const r = runJobScript(script, workspace, {
          GITHUB_ACTIONS: 'true',
          GITHUB_WORKSPACE: workspace,
          GITHUB_OUTPUT: outFile,
          GITHUB_ENV: envFile,
          GITHUB_STEP_SUMMARY: summaryFile,
          ...(this.sim.jobEnv?.(name, matrix) ?? {}),
          ...envCtx,
          ...addedEnv,
          ...stepEnv,
        });
        code = r.status ?? 1;
        stdout = r.stdout;
        stderr = r.stderr;
        const outs = readKeyValues(outFile);
        if (step.id) stepsCtx[step.id] = { outputs: outs, outcome: code === 0 ? 'success' : 'failure' };
        const added = readKeyValues(envFile);
        Object.assign(addedEnv, added);
        Object.assign(envCtx, added);
      }
      if (step.id && !stepsCtx[step.id]) stepsCtx[step.id] = { outputs: {}, outcome: code === 0 ? 'success' : 'failure' };
      if (code !== 0) failed = true;
      rec.steps.push({ job: name, name: label, skipped: false, code, stdout, stderr });
    });
    for (const [k, v] of Object.entries(job.outputs ?? {})) rec.outputs[k] = String(fill(v, ctx(), fns) ?? '');
    rec.status = failed ? 'failure' : 'success';
    rec.summary = readFileSync(summaryFile, 'utf8');
    this.records.push(rec);
    return rec;
  }

  private simulateAction(step: Step, ctx: () => Context, fns: Record<string, (...args: Value[]) => Value>, workspace: string, rec: JobRecord): number {
    const uses = step.uses!;
    const w = Object.fromEntries(Object.entries(step.with ?? {}).map(([k, v]) => [k, fill(v, ctx(), fns)]));
    if (uses.startsWith('actions/checkout@')) {
      mkdirSync(join(workspace, '..'), { recursive: true });
      git(['clone', '--quiet', this.sim.origin, workspace], this.sim.root);
      git(['checkout', '--quiet', this.sim.ref], workspace);
      // The sources are the checkout's own (copyProjectSources); only the installed packages are linked.
      symlinkSync(join(this.sim.project, 'node_modules'), join(workspace, 'node_modules'));
      return 0;
    }
    if (uses.startsWith('actions/upload-artifact@')) {
      const dest = join(this.artifacts, String(w['name']));
      const paths = String(w['path'] ?? '').split('\n').map((p) => p.trim()).filter(Boolean);
      let copied = 0;
      for (const p of paths) {
        const src = join(workspace, p);
        if (!existsSync(src)) continue;
        // One folder: its content; a file or several paths: each under its own name (as their common parent).
        cpSync(src, paths.length === 1 && statSync(src).isDirectory() ? dest : join(dest, basename(p)), { recursive: true });
        copied++;
      }
      if (!copied && w['if-no-files-found'] !== 'ignore') return 1;
      return 0;
    }
    if (uses.startsWith('actions/download-artifact@')) {
      const into = join(workspace, String(w['path'] ?? '.'));
      if (w['name']) {
        cpSync(join(this.artifacts, String(w['name'])), into, { recursive: true });
      } else {
        const pattern = new RegExp(`^${String(w['pattern']).replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
        for (const name of readdirSync(this.artifacts).filter((n) => pattern.test(n))) cpSync(join(this.artifacts, name), join(into, name), { recursive: true });
        mkdirSync(into, { recursive: true });
      }
      return 0;
    }
    // setup-node (this machine's node runs), Pages upload and deploy: recorded, not performed.
    rec.actions.push(uses);
    return 0;
  }
}
