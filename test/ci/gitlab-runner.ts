/**
 * Runs a GitLab CI pipeline's own `script:` lines on this machine, for tests, as a GitLab runner
 * would for the jobs the example uses: stages in order, a job of `parallel: matrix` once per
 * entry with its variables, every job in a fresh clone of the repository, its script lines in one
 * bash with `-eo pipefail` (a failing line ends the job), the pipeline's variables expanded
 * ($VAR of a variable defined above it), artifacts of earlier stages copied into the job's folder,
 * and the `cache:` paths kept per key between jobs. `npm ci` is skipped: node_modules is linked.
 * Tags and resource groups are recorded, not scheduled.
 */
import { spawnSync } from 'node:child_process';
import { runJobScript } from './workflow-runner.ts';
import { cpSync, existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

interface GitlabJob {
  stage: string;
  parallel?: { matrix: Array<Record<string, string | string[]>> };
  tags?: string[];
  resource_group?: string;
  cache?: { key: string; paths: string[] };
  script: string[];
  artifacts?: { paths?: string[] };
}

export interface GitlabJobRecord {
  job: string;
  variables: Record<string, string>;
  tags: string[];
  resourceGroup: string | null;
  workspace: string;
  code: number;
  stdout: string;
  stderr: string;
}

export interface GitlabSimulation {
  /** A repository holding the project's sources (copyProjectSources), cloned for every job. */
  origin: string;
  /** Node's packages, linked into each clone. */
  nodeModules: string;
  root: string;
  /** Predefined CI variables (CI_COMMIT_SHA, CI_COMMIT_BRANCH, ...) and the pipeline's overrides. */
  ciVariables: Record<string, string>;
  overrides?: Record<string, string>;
  /** Extra environment per job (a lock folder per simulated board, the model cache). */
  jobEnv?: (variables: Record<string, string>) => Record<string, string>;
}

/** "$A/${B}" with the variables known so far (GitLab expands a variable's references to variables defined before it). */
export function expand(text: string, vars: Readonly<Record<string, string>>): string {
  return text.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (whole, name: string) => vars[name] ?? whole);
}

/** The matrix's entries, each axis list expanded (an entry's lists multiply, as in GitLab). */
export function matrixEntries(job: GitlabJob): Array<Record<string, string>> {
  if (!job.parallel?.matrix) return [{}];
  return job.parallel.matrix.flatMap((entry) =>
    Object.entries(entry).reduce<Array<Record<string, string>>>(
      (acc, [k, v]) => acc.flatMap((a) => (Array.isArray(v) ? v : [v]).map((x) => ({ ...a, [k]: String(x) }))),
      [{}],
    ),
  );
}

export function runGitlabPipeline(yamlText: string, sim: GitlabSimulation): GitlabJobRecord[] {
  const doc = parse(yamlText) as Record<string, unknown> & { variables?: Record<string, string>; stages: string[] };
  const jobs = Object.entries(doc).filter(([name, v]) => !['variables', 'stages', 'default', 'workflow', 'include'].includes(name) && v && typeof v === 'object') as Array<[string, GitlabJob]>;
  const records: GitlabJobRecord[] = [];
  const artifacts = join(sim.root, 'artifacts');
  const caches = join(sim.root, 'caches');
  mkdirSync(artifacts, { recursive: true });
  for (const stage of doc.stages) {
    // The artifacts a job of this stage gets: those of the stages before it.
    const earlier = join(sim.root, `artifacts-before-${stage}`);
    cpSync(artifacts, earlier, { recursive: true });
    for (const [name, job] of jobs.filter(([, j]) => j.stage === stage)) {
      matrixEntries(job).forEach((entry, index) => {
        const vars: Record<string, string> = { ...sim.ciVariables };
        for (const [k, v] of Object.entries({ ...(doc.variables ?? {}), ...(sim.overrides ?? {}) })) vars[k] = expand(String(v), vars);
        Object.assign(vars, entry);
        const workspace = join(sim.root, 'ws', `${name}-${index + 1}`);
        mkdirSync(join(sim.root, 'ws'), { recursive: true });
        const clone = spawnSync('git', ['clone', '--quiet', sim.origin, workspace], { encoding: 'utf8' });
        if (clone.status !== 0) throw new Error(`git clone: ${clone.stderr}`);
        symlinkSync(sim.nodeModules, join(workspace, 'node_modules'));
        // Artifacts of the earlier stages (GitLab's default: every job of an earlier stage).
        cpSync(earlier, workspace, { recursive: true });
        const cacheDir = job.cache ? join(caches, expand(job.cache.key, vars)) : null;
        if (cacheDir && existsSync(cacheDir)) cpSync(cacheDir, workspace, { recursive: true });
        const script = job.script.filter((line) => line.trim() !== 'npm ci').join('\n');
        const r = runJobScript(script, workspace, { GITLAB_CI: 'true', ...(sim.jobEnv?.(vars) ?? {}), ...vars });
        for (const p of job.artifacts?.paths ?? []) if (existsSync(join(workspace, p))) cpSync(join(workspace, p), join(artifacts, p), { recursive: true });
        if (cacheDir) for (const p of job.cache!.paths) if (existsSync(join(workspace, p))) cpSync(join(workspace, p), join(cacheDir, p), { recursive: true });
        records.push({
          job: name,
          variables: entry,
          tags: (job.tags ?? []).map((t) => expand(t, vars)),
          resourceGroup: job.resource_group ? expand(job.resource_group, vars) : null,
          workspace,
          code: r.status ?? 1,
          stdout: r.stdout,
          stderr: r.stderr,
        });
      });
    }
  }
  return records;
}
