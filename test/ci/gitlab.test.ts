/**
 * The GitLab CI example (.gitlab/bench-board.example.yml, shown in docs/fleet.md) is a tested
 * artifact too: valid YAML whose matrix covers every shard of the plan once, pinned to the board
 * the plan gives it; its jobs run the same bench commands as the GitHub workflow; and its script
 * lines, run for three simulated boards on this machine (test/ci/gitlab-runner.ts: local target,
 * tiny suite, one cell per board), plan, measure, merge, start the pool's history and publish.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { readResult } from '../../harness/result-store.ts';
import { expand, matrixEntries, runGitlabPipeline, type GitlabJobRecord } from './gitlab-runner.ts';
import { copyProjectSources } from './workflow-runner.ts';
import { tempDir } from '../helpers/tmp.ts';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const gitlabFile = join(repo, '.gitlab', 'bench-board.example.yml');
const githubFile = join(repo, '.github', 'workflows', 'bench-board.example.yml');

interface GitlabDoc {
  variables: Record<string, string>;
  stages: string[];
  [job: string]: unknown;
}
type Job = { stage: string; script: string[]; tags?: string[]; resource_group?: string; parallel?: { matrix: Array<Record<string, string>> } };

/** The bench commands a script runs: "plan", "run", "history check", ... */
function benchCommands(scripts: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const m of scripts.join('\n').matchAll(/node bin\/bench\.mjs (\w+)(?: (check|add|show))?/g)) out.add(m[2] ? `${m[1]} ${m[2]}` : m[1]!);
  return out;
}

const doc = parse(readFileSync(gitlabFile, 'utf8')) as GitlabDoc;
const job = (name: string) => doc[name] as Job;

describe('the GitLab CI example', () => {
  it('is a pipeline whose matrix covers every shard of the plan once, each pinned to the board the plan gives it', () => {
    expect(doc.stages).toEqual(['plan', 'bench', 'gate']);
    // Every script line is a command (a line with ": " unquoted would be a YAML mapping, which GitLab refuses).
    for (const stage of doc.stages) for (const line of job(stage === 'gate' ? 'gate' : stage).script) expect(typeof line, JSON.stringify(line)).toBe('string');
    const boards = doc.variables['BOARDS']!.split(',');
    const entries = matrixEntries(job('bench') as never);
    expect(entries).toEqual(boards.map((board, i) => ({ SHARD: `${i + 1}/${boards.length}`, BOARD: board })));
    // The plan splits over the same boards; each shard runs on its board's runner, one job per board at a time.
    expect(job('plan').script.join('\n')).toMatch(/bench\.mjs plan --suite "\$SUITE" --boards "\$BOARDS" .*--json > plan\.json/);
    expect(job('bench').script.join('\n')).toMatch(/bench\.mjs run --suite "\$SUITE" --target local --shard "\$SHARD" --plan plan\.json --board "\$BOARD"/);
    expect(job('bench').tags).toEqual([doc.variables['POOL'], '$BOARD']);
    expect(job('bench').resource_group).toBe('bench-board-$BOARD');
    expect(expand(doc.variables['HISTORY_DB']!, doc.variables)).toBe(`history/${doc.variables['SUITE']}/${doc.variables['POOL']}.sqlite`);
  });

  it('runs the same bench commands as the GitHub workflow', () => {
    const github = parse(readFileSync(githubFile, 'utf8')) as { jobs: Record<string, { steps: Array<{ run?: string }> }> };
    const githubCommands = benchCommands(Object.values(github.jobs).flatMap((j) => j.steps.flatMap((s) => (s.run ? [s.run] : []))));
    const gitlabCommands = benchCommands(doc.stages.flatMap((stage) => Object.values(doc).filter((j): j is Job => !!j && typeof j === 'object' && (j as Job).stage === stage).flatMap((j) => j.script)));
    expect([...gitlabCommands].sort()).toEqual([...githubCommands].sort());
    expect([...gitlabCommands].sort()).toEqual(['doctor', 'history add', 'history check', 'merge', 'plan', 'publish', 'run']);
  });

  it('its script lines plan, run the shards on three simulated boards, merge, start the history and publish', () => {
    const root = tempDir('bench-gitlab-');
    const origin = join(root, 'origin');
    mkdirSync(origin);
    const git = (args: string[]) => {
      const r = spawnSync('git', args, { cwd: origin, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } });
      if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
      return r.stdout.trim();
    };
    git(['init', '--quiet', '--initial-branch=main']);
    writeFileSync(join(origin, 'README'), 'simulated repository\n');
    copyProjectSources(repo, origin);
    git(['add', '-A']);
    git(['commit', '--quiet', '-m', 'main']);
    const sha = git(['rev-parse', 'HEAD']);
    const boards = ['sim-1', 'sim-2', 'sim-3'];
    const yamlText = readFileSync(gitlabFile, 'utf8').replaceAll('orin-1', 'sim-1').replaceAll('orin-2', 'sim-2').replaceAll('orin-3', 'sim-3');
    const jobs = runGitlabPipeline(yamlText, {
      origin,
      nodeModules: join(repo, 'node_modules'),
      root,
      ciVariables: { CI_COMMIT_SHA: sha, CI_COMMIT_BRANCH: 'main', CI_DEFAULT_BRANCH: 'main', CI_COMMIT_TIMESTAMP: '2026-12-06T06:00:00+00:00' },
      overrides: { SUITE: 'internvl-tiny', FILTERS: '--filter prefill=16 --filter precision=int4', RUN_FLAGS: '--iterations 2 --warmup 0' },
      jobEnv: (vars) => {
        const locks = join(root, 'locks', vars['BOARD'] ?? 'hosted');
        mkdirSync(locks, { recursive: true });
        return { BENCH_LOCK_DIR: locks, BENCH_CACHE_DIR: process.env['BENCH_CACHE_DIR'] ?? join(repo, '.cache', 'models') };
      },
    });
    const failed = (list: GitlabJobRecord[]) => list.filter((j) => j.code !== 0).map((j) => `${j.job} ${JSON.stringify(j.variables)}: exit ${j.code}\n${j.stdout.slice(-1500)}\n${j.stderr.slice(-3000)}`).join('\n\n');
    expect(jobs.map((j) => `${j.job}${j.variables['SHARD'] ? ` ${j.variables['SHARD']}` : ''}`)).toEqual(['plan', 'bench 1/3', 'bench 2/3', 'bench 3/3', 'gate']);
    expect(failed(jobs)).toBe('');
    expect(jobs.filter((j) => j.job === 'bench').map((j) => [j.tags, j.resourceGroup])).toEqual(boards.map((b) => [['orin-nx-16gb', b], `bench-board-${b}`]));

    const gate = jobs.find((j) => j.job === 'gate')!;
    expect(gate.stdout).toMatch(/merged 3 of 3 shard\(s\) of plan [0-9a-f]{20}: 3 of 3 cell\(s\)/);
    expect(gate.stdout).toMatch(/No history for orin-nx-16gb yet/);
    const merged = readResult(join(gate.workspace, 'merged', 'result.json'));
    expect(merged.status).toBe('complete');
    expect(merged.cells.map((c) => c.board)).toEqual(boards);
    for (const c of merged.cells) expect(c.metrics['ttft_ms']!.n).toBe(2);
    expect(merged.environment.git).toEqual({ revision: sha, dirty: false });
    // The pool's history starts with this run (kept in the pool's cache), and the site has the run.
    expect(existsSync(join(root, 'caches', 'bench-history-orin-nx-16gb', 'history', 'internvl-tiny', 'orin-nx-16gb.sqlite'))).toBe(true);
    expect(readFileSync(join(gate.workspace, 'public', 'index.html'), 'utf8')).toContain(merged.runId);
  }, 600_000);
});
