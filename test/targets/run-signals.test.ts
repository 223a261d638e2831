/**
 * `bench run` on a board ends cleanly on every stop signal and tells the truth on resume (issue
 * 30 items 4 and 6), through the real CLI against a REAL loopback sshd whose PATH holds the fake
 * board's tools (helpers/fake-board.ts: a recorded llava-cli run on an Orin, slowed down so a
 * signal lands mid-cell). The run is started as a user would under a time limit, in its own
 * session: `setsid timeout 400 node bin/bench.mjs run ...`, and the signal goes to the whole
 * process group (`kill -INT -PGID`, so `timeout` forwards it a second time) or to the process.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../core/result-types.ts';
import { createFakeBoard, type FakeBoard } from './helpers/fake-board.ts';
import { repoRoot } from './helpers/fixtures.ts';
import { startSshd, type TestSshd } from './helpers/sshd.ts';
import { tempDir } from '../helpers/tmp.ts';

let board: FakeBoard;
let sshd: TestSshd;
let dir: string;

/** The Jetson suite on the fake's llava-cli, 2 cells of 2 iterations. */
function writeSuite(file: string, parser = 'llamacpp'): void {
  const text = readFileSync(join(repoRoot, 'suites', 'internvl-orin-nx.yaml'), 'utf8')
    .replace('    - llama-mtmd-cli\n', '    - llava-cli\n')
    .replace('  parser: llamacpp\n', `  parser: ${parser}\n`)
    .replace('  cooldownSeconds: 5\n', '  cooldownSeconds: 0\n');
  writeFileSync(file, text);
}

beforeAll(async () => {
  board = createFakeBoard();
  sshd = await startSshd([board.binDir]);
  dir = tempDir('bench-signals-');
  const { source: _source, ...orin } = sshd.target('orin-nx', { workDir: board.dir, probes: ['tegrastats'] });
  writeFileSync(join(dir, 'targets.yaml'), stringify({ targets: [orin] }));
  writeSuite(join(dir, 'orin.yaml'));
  writeSuite(join(dir, 'orin-bad-parser.yaml'), 'ax-llm');
});

afterAll(() => {
  sshd?.stop();
  board?.remove();
});

const baseArgs = (out: string, suite = 'orin.yaml') => ['run', '--suite', suite, '--target', 'orin-nx', '--targets', 'targets.yaml', '--out', out, '--filter', 'prefill=128', '--filter', 'images=0,1', '--iterations', '2', '--warmup', '0'];

/** Processes whose command line mentions `needle` (this machine is also the "board"). */
function processesWith(needle: string): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(needle)) out.push(`${pid} ${cmd}`);
    } catch {
      // ended while we looked
    }
  }
  return out;
}

function runDirOf(out: string): string | undefined {
  const suiteDir = join(dir, out, 'internvl-orin-nx');
  if (!existsSync(suiteDir)) return undefined;
  const runs = readdirSync(suiteDir);
  return runs.length ? join(suiteDir, runs[0]!) : undefined;
}

/**
 * Starts the run in its own session under `timeout`, waits until the fake llava-cli is running
 * on the board, sends `signal` to the group (or only to the bench process), and waits for the end.
 */
async function interruptMidCell(signal: NodeJS.Signals, to: 'group' | 'process', out: string) {
  // A private TMPDIR: the ssh master's /tmp/bench-ssh-* folder of THIS run is the only one there.
  // One letter: ssh's control socket goes three folders below, within a socket path's 107 bytes.
  const tmp = tempDir('s');
  board.setDelayMs(20_000);
  const child = spawn('setsid', ['timeout', '400', process.execPath, join(repoRoot, 'bin', 'bench.mjs'), ...baseArgs(out)], {
    cwd: dir,
    env: { ...process.env, CI: 'true', TMPDIR: tmp },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdout.on('data', () => undefined);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 90_000;
  // The fake llava-cli is sleeping on the board: the cell is mid-iteration.
  while (processesWith(`${board.binDir}/llava-cli`).length === 0) {
    if (Date.now() > deadline) throw new Error(`the cell never started: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const benchPid = Number(processesWith(join(repoRoot, 'bin', 'bench.mjs')).find((p) => !p.includes('timeout'))!.split(' ')[0]);
  if (to === 'group') process.kill(-child.pid!, signal);
  else process.kill(benchPid, signal);
  const code = await exited;
  board.setDelayMs(0);
  const leftovers = {
    controlDirs: readdirSync(tmp).filter((f) => f.startsWith('bench-ssh-')),
    mux: processesWith(`${tmp}/bench-ssh-`),
    boardTools: processesWith(`${board.binDir}/llava-cli`),
  };
  return { code, stderr, leftovers, runDir: runDirOf(out) };
}

describe('stop signals during a board run', () => {
  for (const [signal, to, exitCode] of [
    ['SIGINT', 'group', 130],
    ['SIGTERM', 'group', 143],
    ['SIGHUP', 'process', 129],
  ] as const) {
    it(`${signal} to the ${to} under timeout: result interrupted, resume command printed, board tool stopped, ssh master and its folder gone`, async () => {
      const out = `out-${signal}`;
      const r = await interruptMidCell(signal, to, out);
      expect(r.code, r.stderr).toBe(exitCode);
      expect(r.runDir).toBeDefined();
      const result = JSON.parse(readFileSync(join(r.runDir!, 'result.json'), 'utf8')) as RunResult;
      expect(result.status).toBe('interrupted');
      expect(result.warnings.some((w) => w.startsWith(`interrupted by ${signal}`))).toBe(true);
      // The cell cut short is not recorded as failed: resume runs it again.
      expect(result.cells.filter((c) => c.status === 'failed')).toEqual([]);
      expect(r.stderr).toContain(`resume with: bench run --resume ${r.runDir}`);
      expect(r.leftovers).toEqual({ controlDirs: [], mux: [], boardTools: [] });
    }, 120_000);
  }
});

describe('resume after failed cells', () => {
  it('the failed run and its resume say how many failed and give the --retry-failed command', () => {
    const bench = (args: string[]) => spawnSync(process.execPath, [join(repoRoot, 'bin', 'bench.mjs'), ...args], { cwd: dir, env: { ...process.env, CI: 'true' }, encoding: 'utf8' });
    // The recorded llava-cli output read with the wrong parser: every cell fails, with a reason.
    const first = bench(baseArgs('out-failed', 'orin-bad-parser.yaml'));
    expect(first.status, first.stderr).toBe(1);
    const runDir = runDirOf('out-failed')!;
    expect(first.stderr).toContain('2 of 2 cell(s) failed:');
    expect(first.stderr).toMatch(/ {2}images=0,prefill=128: 2 of 2 iteration\(s\) failed: llava-cli output on ssh:orin-nx \(iteration 0\).*no ax-llm output found/);
    expect(first.stderr).toContain(`run them again (after fixing the cause) with: bench run --resume ${runDir} --retry-failed`);

    const resumed = bench(['run', '--resume', runDir, '--targets', 'targets.yaml']);
    expect(resumed.status, resumed.stderr).toBe(1);
    const progress = `${resumed.stdout}${resumed.stderr}`;
    expect(progress).toContain('2 cell(s), 2 already done (2 of them failed and are kept as failed: add --retry-failed to run them again)');
    expect(resumed.stderr).toContain(`bench run --resume ${runDir} --retry-failed`);

    // `bench report` takes the run folder, as compare and publish do (it said EISDIR).
    const report = bench(['report', runDir]);
    expect(report.status, report.stderr).toBe(0);
    // The header names the board's state as the preflight found it (recorded nvpmodel / jetson_clocks
    // outputs of an Orin NX), with doctor's warning, and says the host only drove the run.
    const md = readFileSync(join(runDir, 'report.md'), 'utf8');
    expect(md).toMatch(/^- Target: orin-nx; driver host \(the machine running bench, not the board; threads and peak RSS are its own\)/m);
    expect(md).toMatch(/^- Board: .*power mode MAXN_SUPER; clocks .*GPU 306\/624\.75 MHz \(below maximum\)/m);
    expect(md).toMatch(/^- Doctor warned before the run: clocks: not locked: .*GPU 306 of 624\.75 MHz/m);
  }, 120_000);
});

describe("the board's load qualifies board figures", () => {
  it('reads load and steal on the board through the transport; the workstation is kept apart as the driver', () => {
    const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'bench.mjs'), ...baseArgs('out-load'), '--filter', 'images=1'], { cwd: dir, env: { ...process.env, CI: 'true' }, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(readFileSync(join(runDirOf('out-load')!, 'result.json'), 'utf8')) as RunResult;
    const cell = result.cells[0]!;
    expect(cell.status, cell.error).toBe('ok');
    expect(cell.machineIs).toBe('board');
    // Read with /proc/loadavg and /proc/stat on the board: no per-process run-queue figure there.
    expect(cell.machine).toMatchObject({ runQueueWaitPct: null });
    expect(cell.machine!.cpus).toBeGreaterThanOrEqual(1);
    // This process's own scheduler counters are the driver's.
    expect(cell.driverMachine).toBeDefined();
    const kinds = (cell.flags ?? []).map((f) => f.kind);
    expect(kinds).not.toContain('run-queue');
    for (const f of cell.flags ?? []) if (f.kind === 'busy') expect(f.message).toMatch(/^busy board: load average [\d.]+ before the cell on its \d+ CPU\(s\)/);
  }, 120_000);
});
