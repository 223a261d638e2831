/**
 * A board that goes away mid-suite. core/run-suite.ts drives the axera-subgraph runner against a
 * REAL sshd (fake ax_run_model printing recorded/derived outputs, helpers/fake-board.ts). During
 * the second cell the sshd and every session under it are killed: that cell fails with a clear
 * "connection lost" error, the run goes on (the third cell fails as unreachable, quickly), and
 * the process is then "killed" before the fourth cell. After sshd is back, resuming the run
 * folder (as `bench run --resume` does) runs only the missing cell; finished cells stay as they
 * were in result.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../core/result-types.ts';
import { runSuite } from '../../harness/run-suite.ts';
import { readResult } from '../../harness/result-store.ts';
import { loadSuite } from '../../harness/suite-loader.ts';
import { createAxeraSubgraphRunner } from '../../runners/axera/index.ts';
import { SshTransport } from '../../targets/ssh-transport.ts';
import { createFakeBoard, LAYER_GRAPH, POST_GRAPH, VIT_GRAPH, type FakeBoard } from './helpers/fake-board.ts';
import { loaded, outDir, quietProgress } from './helpers/run.ts';
import { startSshd, type TestSshd } from './helpers/sshd.ts';

let board: FakeBoard;
let sshd: TestSshd;
let transport: SshTransport;

beforeAll(async () => {
  board = createFakeBoard();
  sshd = await startSshd([board.binDir]);
  // Stand-ins for the graph files the suite names: the run checks they exist before its first cell.
  for (const g of [VIT_GRAPH, LAYER_GRAPH, POST_GRAPH]) {
    mkdirSync(join(board.dir, g, '..'), { recursive: true });
    writeFileSync(join(board.dir, g), `stand-in for ${g}\n`);
  }
  transport = new SshTransport(sshd.target('ax650', { workDir: board.dir }));
});

afterAll(async () => {
  await transport?.close();
  sshd?.stop();
  board?.remove();
});

const read = (file: string): RunResult => readResult(file);

describe('connection cut during a suite', () => {
  it('fails the running cell, keeps the finished ones, and resumes the rest', async () => {
    const suite = { ...loadSuite('internvl-ax650').suite, options: { ...loadSuite('internvl-ax650').suite.options, hashGraphs: false } };
    const runners = { 'axera-subgraph': createAxeraSubgraphRunner({ transport }) };
    let resultFile = '';
    let runDir = '';
    let cutDone: Promise<void> = Promise.resolve();

    const progress = quietProgress((position) => {
      if (position === 2) {
        // Slow the board down so the cut lands while an ax_run_model call of cell 2 runs.
        board.setDelayMs(400);
        const seen = board.axRunModelCalls().length;
        cutDone = (async () => {
          while (board.axRunModelCalls().length === seen) await new Promise((r) => setTimeout(r, 10));
          sshd.cut();
        })();
      }
      if (position === 3) board.setDelayMs(0);
      // The process dies before the fourth cell starts (as with SIGKILL: nothing more is written).
      if (position === 4) throw new Error('simulated kill before cell 4');
    });

    await expect(
      runSuite({
        suite: loaded(suite),
        target: 'ax650',
        filters: [],
        iterations: 2,
        warmup: 0,
        outDir: outDir(),
        runners,
        progress,
        onStore: (s) => {
          resultFile = s.file;
          runDir = s.runDir;
        },
      }),
    ).rejects.toThrow('simulated kill before cell 4');
    await cutDone;

    const interrupted = read(resultFile);
    expect(interrupted.status).toBe('running');
    expect(interrupted.plannedCells).toEqual([
      'images=0,prefill=128,precision=w8a16',
      'images=1,prefill=128,precision=w8a16',
      'images=4,prefill=128,precision=w8a16',
      'images=8,prefill=128,precision=w8a16',
    ]);
    expect(interrupted.cells.map((c) => [c.id, c.status])).toEqual([
      ['images=0,prefill=128,precision=w8a16', 'ok'],
      ['images=1,prefill=128,precision=w8a16', 'failed'],
      ['images=4,prefill=128,precision=w8a16', 'failed'],
    ]);
    const [first, second, third] = interrupted.cells;
    expect(first!.metrics['prefill_ms']!.median).toBeCloseTo(220.979, 9);
    // The cell that was running when the link broke: a clear, specific error per iteration.
    const [cutIt, nextIt] = second!.iterations;
    expect(cutIt!.error).toMatch(new RegExp(`^vit \\(${VIT_GRAPH}\\): ssh:ax650 \\(.*\\): connection lost: the connection broke while the command ran`));
    expect(nextIt!.error).toMatch(/: unreachable: nothing accepts SSH connections on that port .*Connection refused/);
    expect(second!.error).toMatch(/^2 of 2 iteration\(s\) failed: vit .*connection lost/);
    // The run went on to the next cell, which failed fast (the board is gone).
    expect(third!.error).toMatch(/unreachable/);
    expect(Date.parse(third!.finishedAt) - Date.parse(third!.startedAt)).toBeLessThan(10_000);

    // The board comes back; the interrupted run is resumed from its folder.
    await sshd.restart();
    const resumed = await runSuite({ target: 'ax650', filters: [], outDir: outDir(), resumeDir: runDir, runners, progress: quietProgress() });
    expect(resumed.failedCells).toBe(2);
    const done = read(resultFile);
    expect(done.status).toBe('complete');
    expect(done.cells.map((c) => [c.id, c.status])).toEqual([
      ['images=0,prefill=128,precision=w8a16', 'ok'],
      ['images=1,prefill=128,precision=w8a16', 'failed'],
      ['images=4,prefill=128,precision=w8a16', 'failed'],
      ['images=8,prefill=128,precision=w8a16', 'ok'],
    ]);
    // Finished cells are untouched; the resumed cell is measured (17 chunks for 2176 tokens).
    expect(done.cells[0]).toEqual(first);
    expect(done.cells[1]).toEqual(second);
    const last = done.cells[3]!;
    expect(last.iterations.filter((i) => !i.warmup)).toHaveLength(2);
    expect(last.metrics['prefill_ms']!.median).toBeCloseTo(496.176 * 28 + 11.455, 6);
    expect(done.warnings.some((w) => w.startsWith('resumed at'))).toBe(true);
  });
});
