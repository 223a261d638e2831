/**
 * The remote worker mode: the host runs a cell of the in-process ONNX Runtime runner on a
 * "board" that has the suite installed, over a REAL sshd on loopback. The board is this
 * machine (its workDir is this repository), so the worker really runs `node bin/bench.mjs
 * worker` through ssh and streams real iterations back.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSuite } from '../../harness/run-suite.ts';
import type { Suite } from '../../core/suite-types.ts';
import { createRemoteOrtRunner } from '../../runners/remote/index.ts';
import { SshTransport } from '../../targets/ssh-transport.ts';
import { loaded, outDir, quietProgress } from './helpers/run.ts';
import { startSshd, type TestSshd } from './helpers/sshd.ts';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
let sshd: TestSshd;
let transport: SshTransport;

beforeAll(async () => {
  sshd = await startSshd([dirname(process.execPath)]);
  transport = new SshTransport(sshd.target('board', { workDir: repo, env: { BENCH_CACHE_DIR: resolve(repo, '.cache', 'models') } }));
});

afterAll(async () => {
  await transport?.close();
  sshd?.stop();
});

const suite: Suite = {
  name: 'remote-tiny',
  model: { zoo: 'internvl2_5-1b', scale: 'tiny', layout: 'onnx-community', seed: 7 },
  target: 'board',
  runner: 'ort',
  defaults: { warmup: 1, iterations: 2, outputTokens: 5 },
  matrix: { images: [1], prefill: [16], precision: ['fp32'] },
};

describe('remote worker over ssh', () => {
  it('runs the cell on the board and streams iterations back on the run clock', async () => {
    const started = Date.now();
    const { store } = await runSuite({
      suite: loaded(suite),
      target: 'board',
      filters: [],
      outDir: outDir(),
      runners: { ort: createRemoteOrtRunner({ transport }) },
      progress: quietProgress(),
    });
    const elapsed = Date.now() - started;
    const cell = store.result.cells[0]!;
    expect(cell.status, cell.error).toBe('ok');
    expect(cell.settings['remoteTarget']).toBe(transport.name);
    expect(typeof cell.settings['clockOffsetErrorMs']).toBe('number');
    expect(cell.model?.synthetic).toBe(true);
    const measured = cell.iterations.filter((i) => !i.warmup);
    expect(measured).toHaveLength(2);
    expect(cell.iterations.map((i) => i.index)).toEqual([0, 1, 2]);
    for (const it of measured) {
      expect(it.outputTokens).toBe(5);
      expect(it.outputTokenIds).toHaveLength(5);
      // Aligned onto this run's clock: inside the run's window, in order, events within the iteration.
      expect(it.startMs).toBeGreaterThanOrEqual(-50);
      expect(it.endMs).toBeLessThanOrEqual(elapsed + 50);
      for (const e of it.events) {
        const t0 = e.kind === 'token' ? e.tMs : e.startMs;
        expect(t0).toBeGreaterThanOrEqual(it.startMs - 1e-6);
      }
    }
    expect(measured[1]!.startMs).toBeGreaterThanOrEqual(measured[0]!.endMs - 1e-6);
    expect(cell.metrics['ttft_ms']!.n).toBe(2);
    expect(cell.subgraphs['vision_encoder/image_encode']!.invocationsPerRequest).toBe(1);
  }, 120_000);
});
