/**
 * Issue 18 (1, 4, 6, 9, Also) and issue 12.3 through the real CLI: bad input is refused before a
 * run folder exists (exit 2), a resumed run never moves to another machine, and signals give
 * the conventional exit codes without misrecording a complete run.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readResult } from '../../harness/result-store.ts';
import { runSuite } from '../../harness/run-suite.ts';
import { hashSuite } from '../../harness/suite-loader.ts';
import type { Suite } from '../../core/suite-types.ts';
import { startFakeServer, type FakeServer } from '../endpoint/fake-server.ts';
import { quietProgress } from '../targets/helpers/run.ts';
import { tempDir } from '../helpers/tmp.ts';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

function bench(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; onSpawn?: (kill: (s: NodeJS.Signals) => void) => void } = {}): Promise<Outcome> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [join(repo, 'bin', 'bench.mjs'), ...args], { cwd: opts.cwd, env: { ...process.env, CI: 'true', BENCH_TARGETS: '', ...opts.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => done({ code, stdout, stderr }));
    opts.onSpawn?.((s) => child.kill(s));
  });
}

function tmp(): string {
  return tempDir('bench-refuse-');
}

function suiteFile(dir: string, doc: Record<string, unknown>): string {
  const file = join(dir, 'suite.json');
  writeFileSync(file, JSON.stringify({ name: 'refusal-test', target: 'local', runner: 'ort', defaults: { warmup: 0, iterations: 1, outputTokens: 2 }, ...doc }));
  return file;
}

describe('refused before the run starts: exit 2, no run folder', () => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['an unknown zoo model', { model: { zoo: 'no-such-model', scale: 'tiny' }, matrix: { images: [0] } }, /field "model\.zoo": unknown model "no-such-model"; known models: /],
    ['a missing model folder', { model: { path: '/nonexistent/model-dir' }, matrix: { images: [0] } }, /field "model\.path": model folder not found: \/nonexistent\/model-dir/],
    ['images beyond the context', { model: { zoo: 'internvl2_5-1b', scale: 'full' }, matrix: { images: [99999] } }, /cell images=99999: 99999 image\(s\) x 256 tokens \+ 128 text tokens \+ 2 output tokens = 25599874 tokens, beyond the 32768-token context of model internvl2_5-1b \(full\) \(at most 127 image\(s\) with this prompt\)/],
    ['prefill beyond the context', { model: { zoo: 'internvl2_5-1b', scale: 'full' }, matrix: { prefill: [1000000000] } }, /1000000000 text tokens \+ 2 output tokens = 1000000002 tokens, beyond the 32768-token context/],
    ['an unknown runner', { model: { name: 'x' }, runner: 'warp-drive', matrix: { images: [0] } }, /field "runner": unknown runner "warp-drive"; expected one of ort, /],
    // Axes the runner does not know are refused by the suite loader, before the plan is sized.
    ['a matrix of 10^9 cells on axes the runner does not know', { model: { zoo: 'internvl2_5-1b', scale: 'tiny' }, matrix: { a: [...Array(1000).keys()], b: [...Array(1000).keys()], c: [...Array(1000).keys()] } }, /field "matrix\.a": is not an axis of the ort runner; its axes are images, prefill/],
  ];
  for (const [what, doc, message] of cases) {
    it(what, async () => {
      const dir = tmp();
      const out = join(dir, 'out');
      const r = await bench(['run', '--suite', suiteFile(dir, doc), '--out', out], { cwd: dir });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(existsSync(out)).toBe(false);
    }, 60_000);
  }

  it('an unset --api-key-env variable', async () => {
    const dir = tmp();
    const r = await bench(['run', '--endpoint', 'http://127.0.0.1:9', '--model', 'm', '--api-key-env', 'BENCH_TEST_UNSET_KEY', '--out', join(dir, 'out')], { cwd: dir, env: { BENCH_TEST_UNSET_KEY: '' } });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/options\.apiKeyEnv": names BENCH_TEST_UNSET_KEY, which is not set in the environment/);
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });
});

describe("a board suite without --target (issue 12.3)", () => {
  it('internvl-ax650 and internvl-orin-nx name their target and how to define it instead of running on local', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'targets.yaml'), 'targets:\n  - name: other\n    kind: local\n');
    for (const [suite, target] of [['internvl-ax650', 'ax650'], ['internvl-orin-nx', 'orin-nx']] as const) {
      const r = await bench(['run', '--suite', suite, '--out', join(dir, 'out')], { cwd: dir });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(`suite "${suite}" is meant for target "${target}", and no target of that name is defined in ${join(dir, 'targets.yaml')}: add one named "${target}"`);
      expect(existsSync(join(dir, 'out'))).toBe(false);
    }
  }, 60_000);
});

describe('resume never mixes machines (18.1)', () => {
  it('takes the run\'s target (here undefined on this machine: refused), and refuses --target local naming the run\'s target', async () => {
    const dir = tmp();
    const s: Suite = { name: 'fake', model: { name: 'm' }, target: 'local', runner: 'fake', defaults: { warmup: 0, iterations: 1, outputTokens: 2 }, matrix: { a: [1, 2] } };
    const fake = { name: 'fake', prepare: async () => Promise.reject(new Error('board unreachable')) };
    const outcome = await runSuite({ suite: { suite: s, source: 'test', hash: hashSuite(s) }, target: 'good', filters: [], outDir: dir, runners: { fake }, progress: quietProgress() });
    const runDir = outcome.store.runDir;
    const before = readResult(outcome.store.file);

    const r = await bench(['run', '--resume', runDir, '--retry-failed'], { cwd: dir });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/unknown target "good"/);
    const r2 = await bench(['run', '--resume', runDir, '--retry-failed', '--target', 'local'], { cwd: dir });
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/--target local conflicts with the run's target "good"/);
    const after = readResult(outcome.store.file);
    expect(after.cells.map((c) => c.startedAt)).toEqual(before.cells.map((c) => c.startedAt));
  }, 60_000);
});

describe('signals', () => {
  let server: FakeServer;
  beforeAll(async () => {
    server = await startFakeServer({ flavor: 'llamacpp', firstTokenDelayMs: 50, tokenGapMs: 20 });
  });
  afterAll(async () => {
    await server.close();
  });

  async function runUntil(signal: NodeJS.Signals, when: (status: string, cells: number) => boolean, iterations: number): Promise<{ r: Outcome; runDir: string }> {
    const out = tmp();
    let runDir = '';
    const r = await bench(['run', '--endpoint', server.url, '--model', 'm', '--max-tokens', '4', '--prompt-tokens', '16', '--images', '0', '--iterations', String(iterations), '--warmup', '0', '--out', out], {
      cwd: out,
      onSpawn: (kill) => {
        const timer = setInterval(() => {
          const base = join(out, "endpoint-default");
          if (!existsSync(base) || readdirSync(base).length === 0) return;
          runDir = join(base, readdirSync(base)[0]!);
          try {
            const res = readResult(join(runDir, 'result.json'));
            if (when(res.status, res.cells.length)) {
              clearInterval(timer);
              // The handlers are installed once the run folder exists; let the cell start first.
              setTimeout(() => kill(signal), signal === 'SIGTERM' ? 1500 : 0);
            }
          } catch {
            // not written yet
          }
        }, 10);
      },
    });
    return { r, runDir };
  }

  it('SIGTERM mid-run exits 143 and marks the run interrupted', async () => {
    const { r, runDir } = await runUntil('SIGTERM', (status) => status === 'running', 200);
    expect(r.code, r.stderr).toBe(143);
    expect(readResult(join(runDir, 'result.json')).status).toBe('interrupted');
  }, 60_000);

  it('SIGINT after the last cell leaves a complete run complete', async () => {
    const { r, runDir } = await runUntil('SIGINT', (status, cells) => cells === 1 || status === 'complete', 2);
    expect([0, 130]).toContain(r.code);
    const result = readResult(join(runDir, 'result.json'));
    expect(result.status).toBe('complete');
    expect(result.warnings.some((w) => w.startsWith('interrupted'))).toBe(false);
  }, 60_000);
});
