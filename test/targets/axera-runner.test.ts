/**
 * The axera-subgraph runner on the shipped suite (suites/internvl-ax650.yaml), driven through
 * core/run-suite.ts, against a REAL sshd whose PATH holds a fake ax_run_model / axllm
 * (helpers/fake-board.ts). The fake ax_run_model prints, in the layout of a real ax_run_model
 * output, the per-subgraph figures the seed's README publishes; so the composition must give
 * back the README's own table where its arithmetic holds (images=0: 220.979 ms, images=1:
 * 862.291 ms).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSuite } from '../../harness/run-suite.ts';
import { readResult } from '../../harness/result-store.ts';
import type { RunResult } from '../../core/result-types.ts';
import { loadSuite } from '../../harness/suite-loader.ts';
import type { Suite } from '../../core/suite-types.ts';
import { createAxeraSubgraphRunner } from '../../runners/axera/index.ts';
import { SshTransport } from '../../targets/ssh-transport.ts';
import { createFakeBoard, LAYER_GRAPH, POST_GRAPH, VIT_GRAPH, type FakeBoard } from './helpers/fake-board.ts';
import { publishedSubgraphFigures } from './helpers/fixtures.ts';
import { loaded, outDir, quietProgress } from './helpers/run.ts';
import { startSshd, type TestSshd } from './helpers/sshd.ts';

let board: FakeBoard;
let sshd: TestSshd;
let transport: SshTransport;
const hashes: Record<string, string> = {};
const shipped = loadSuite('internvl-ax650');

beforeAll(async () => {
  board = createFakeBoard();
  sshd = await startSshd([board.binDir]);
  const work = join(board.dir, 'work');
  // Stand-in graph files, so the runner's sha256sum on the board has something to hash.
  for (const g of [VIT_GRAPH, LAYER_GRAPH, POST_GRAPH]) {
    mkdirSync(join(work, g, '..'), { recursive: true });
    const content = `stand-in for ${g}\n`;
    writeFileSync(join(work, g), content);
    hashes[g] = createHash('sha256').update(content).digest('hex');
  }
  // The end-to-end demo's image, where docs/boards.md says to put it.
  mkdirSync(join(work, 'images'), { recursive: true });
  writeFileSync(join(work, 'images', 'ssd_dog.jpg'), readFileSync(join(board.dir, 'images', 'ssd_dog.jpg')));
  transport = new SshTransport(sshd.target('ax650', { workDir: work, probes: ['axera'] }));
});

afterAll(async () => {
  await transport?.close();
  sshd?.stop();
  board?.remove();
});

async function run(suite: Suite, filters: string[], iterations = 2) {
  const outcome = await runSuite({
    suite: loaded(suite),
    target: 'ax650',
    filters,
    iterations,
    warmup: 0,
    outDir: outDir(),
    runners: { 'axera-subgraph': createAxeraSubgraphRunner({ transport }) },
    progress: quietProgress(),
  });
  // readResult validates against schema/result.schema.json, as --resume and bench report do.
  return readResult(outcome.store.file);
}

describe('axera-subgraph runner over ssh', () => {
  it('measures every graph a cell needs with ax_run_model and composes the seed\'s table', async () => {
    const fig = publishedSubgraphFigures();
    const callsBefore = board.axRunModelCalls().length;
    const result = await run(shipped.suite, ['images=0,1']);
    expect(result.cells.map((c) => [c.id, c.status])).toEqual([
      ['images=0,prefill=128,precision=w8a16', 'ok'],
      ['images=1,prefill=128,precision=w8a16', 'ok'],
    ]);
    // images=1: 128 + 256 = 384 tokens = 3 chunks of 128: vit, g1..g3, g0, post, per iteration.
    const calls = board.axRunModelCalls().slice(callsBefore);
    const perIter1 = [`${VIT_GRAPH} -w 1 -r 10`, `${LAYER_GRAPH} -g 1 -w 1 -r 10`, `${LAYER_GRAPH} -g 2 -w 1 -r 10`, `${LAYER_GRAPH} -g 3 -w 1 -r 10`, `${LAYER_GRAPH} -g 0 -w 1 -r 10`, `${POST_GRAPH} -w 1 -r 10`];
    const perIter0 = [`${LAYER_GRAPH} -g 1 -w 1 -r 10`, `${LAYER_GRAPH} -g 0 -w 1 -r 10`, `${POST_GRAPH} -w 1 -r 10`];
    expect(calls).toEqual([...perIter0, ...perIter0, ...perIter1, ...perIter1]);

    const [zero, one] = result.cells;
    // README: "Prefill TTFT 220.979 ms (128 tokens)" = g1 x 28 + post.
    expect(zero!.iterations[0]!.reported!['composed.prefill_ttft_ms']).toBeCloseTo(220.979, 9);
    expect(zero!.metrics['prefill_ms']!.median).toBeCloseTo(220.979, 9);
    // README: "862.291 ms (384 tokens)" = (g1 + g2 + g3) x 28 + 11.455.
    const rec = one!.iterations[1]!;
    expect(rec.reported!['composed.prefill_ttft_ms']).toBeCloseTo(862.291, 9);
    expect(rec.reported!['composed.image_encoder_ms']).toBeCloseTo(364.87, 9);
    expect(rec.reported!['composed.decoder_ms']).toBeCloseTo(2.686 * 28 + 11.455, 9);
    expect(rec.reported!['composed.tokens_per_s']).toBeCloseTo(1000 / 86.663, 9);
    expect(rec.reported!['ax_run_model.g2.avg_ms']).toBe(fig['g2']);
    expect(rec.reported!['ax_run_model.vit.cmm_size_bytes']).toBe(4428624);
    expect(rec).toMatchObject({ promptTokens: 384, imageTokens: 256, images: 1, outputTokens: 1 });
    expect(one!.metrics['prefill_ms']!.median).toBeCloseTo(862.291, 9);
    expect(one!.metrics['image_encode_ms']!.median).toBeCloseTo(364.87, 9);
    expect(one!.metrics['ttft_ms']!.median).toBeCloseTo(364.87 + 862.291, 9);
    expect(one!.metrics['prefill_tokens_per_s']!.median).toBeCloseTo((384 * 1000) / 862.291, 6);
    // Per subgraph: g1 runs once per decoder layer, the post graph once.
    expect(one!.subgraphs['g1/prefill']).toMatchObject({ invocationsPerRequest: 28, phase: 'prefill' });
    expect(one!.subgraphs['g1/prefill']!.perInvocation.median).toBeCloseTo(7.483, 9);
    expect(one!.subgraphs['g3/prefill']!.perRequest.median).toBeCloseTo(12.815 * 28, 9);
    expect(one!.subgraphs['post/prefill']!.invocationsPerRequest).toBe(1);
    expect(one!.subgraphs['vit/image_encode']).toMatchObject({ invocationsPerRequest: 1 });
    // Labelled composed, with the provenance of every graph.
    expect(one!.settings['timing']).toMatch(/^composed \(Axera method\): .*prefill = \(g1 \+ \.\.\. \+ g3\) x 28 layers \+ post/);
    expect(one!.settings).toMatchObject({ runner: 'axera-subgraph', target: 'ssh:ax650', layers: 28, prefillChunks: 3, axRunModelRepeat: 10, axRunModelVersion: '2.1.2c', engineVersion: '2.3.0a' });
    expect(one!.model).toMatchObject({ architecture: 'InternVL2_5-1B-MPO', precision: 'w8a16', layout: 'axera', synthetic: false, hashes: { [VIT_GRAPH]: hashes[VIT_GRAPH], [LAYER_GRAPH]: hashes[LAYER_GRAPH], [POST_GRAPH]: hashes[POST_GRAPH] } });
  });

  it('composes 4 images (9 chunks) and the decoder when more than one token is asked for', async () => {
    const suite: Suite = { ...shipped.suite, defaults: { ...shipped.suite.defaults, outputTokens: 3 } };
    const result = await run(suite, ['images=4'], 1);
    const c = result.cells[0]!;
    expect(c.status).toBe('ok');
    const sum9 = [7.483, 10.089, 12.815, 15.235, 18.527, 20.751, 23.52, 25.932, 29.124].reduce((s, v) => s + v, 0);
    expect(sum9).toBeCloseTo(163.476, 9);
    expect(c.metrics['prefill_ms']!.median).toBeCloseTo(163.476 * 28 + 11.455, 9);
    expect(c.metrics['image_encode_ms']!.median).toBeCloseTo(4 * 364.87, 9);
    expect(c.metrics['image_encode_per_image_ms']!.median).toBeCloseTo(364.87, 9);
    // Decode: 2 steps of g0 x 28 + post.
    expect(c.metrics['tpot_ms']!.median).toBeCloseTo(2.686 * 28 + 11.455, 9);
    expect(c.metrics['decode_tokens_per_s']!.median).toBeCloseTo(1000 / 86.663, 9);
    expect(c.subgraphs['g0/decode']!.invocationsPerRequest).toBe(56);
    expect(c.subgraphs['post/decode']!.invocationsPerRequest).toBe(2);
    expect(c.iterations[0]!.promptTokens).toBe(1152);
  });

  it('runs the board demo in end-to-end mode: measured figures with the composed ones beside them', async () => {
    const suite: Suite = {
      ...shipped.suite,
      options: {
        ...shipped.suite.options,
        mode: 'end-to-end',
        demo: { command: ['axllm', 'run', 'InternVL2_5-1B-MPO/'], stdin: '{prompt}\n{imageFile}\n', imageFiles: ['images/ssd_dog.jpg'] },
      },
    };
    const result = await run(suite, ['images=1'], 2);
    const c = result.cells[0]!;
    expect(c.status, c.error).toBe('ok');
    // The recorded ax-llm session (an InternVL2-1B demo standing in for the board's demo).
    expect(c.metrics['image_encode_ms']!.median).toBeCloseTo(397.944, 9);
    expect(c.metrics['prefill_ms']!.median).toBeCloseTo(124.73, 9);
    expect(c.metrics['ttft_ms']!.median).toBeCloseTo(397.944 + 124.73, 9);
    expect(c.metrics['tpot_ms']).toBeUndefined();
    const rec = c.iterations[0]!;
    expect(rec.reported!['tool.avg_token_per_s']).toBe(31.16);
    expect(rec.reported!['tool.remain_cmm_bytes']).toBe(11116 * 1024 * 1024);
    expect(rec.reported!['composed.prefill_ttft_ms']).toBeCloseTo(862.291, 9);
    expect(rec.reported!['composed.image_encoder_ms']).toBeCloseTo(364.87, 9);
    expect(rec.reported!['expected.prompt_tokens']).toBe(384);
    expect(rec.promptTokens).toBeNull(); // the demo prints no count: unknown, null in result.json
    expect(c.settings['timing']).toMatch(/^tool-reported: the demo's own log \(ax-llm\)/);
    expect(c.settings['figureSource']).toBe('tool-reported');
    const stdin = board.axllmStdin().split('\n');
    expect(stdin[1]).toBe('images/ssd_dog.jpg');
    expect(stdin[0]!.split(' ').length).toBe(128 + 5);
  });

  it('refuses the run before its first cell when ax_run_model or a graph file is missing', async () => {
    const suite: Suite = {
      ...shipped.suite,
      options: { ...shipped.suite.options, axRunModel: { command: ['ax_run_model_v9', '-m', '{graph}'] }, graphs: { ...(shipped.suite.options!['graphs'] as object), post: 'gone/post.axmodel' } },
    };
    const callsBefore = board.axRunModelCalls().length;
    await expect(run(suite, ['images=0'], 1)).rejects.toThrow(
      new RegExp(
        '^target ax650 lacks what suite "internvl-ax650" will call; nothing was run:\\n' +
          '  - ax_run_model_v9: command not found on ssh:ax650 \\(PATH of a non-interactive login; set env.PATH in the target if the tool is elsewhere\\)\\n' +
          '  - graph post gone/post.axmodel: no readable file in .*/work on ssh:ax650$',
      ),
    );
    expect(board.axRunModelCalls().length).toBe(callsBefore);
  });

});
