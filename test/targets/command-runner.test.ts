/**
 * The `command` runner on the shipped Jetson suite (suites/internvl-orin-nx.yaml), through
 * core/run-suite.ts, against a REAL sshd whose PATH holds fake vendor tools printing recorded
 * real outputs (helpers/fake-board.ts): a llava-cli run on a Jetson Orin (llama.cpp's
 * MobileVLM README) stands in for llama-mtmd-cli, and a recorded Orin tegrastats line is
 * sampled over the same SSH connection while the cell runs.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage, InputError } from '../../core/errors.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClock } from '../../core/clock.ts';
import type { RunResult } from '../../core/result-types.ts';
import { runSuite } from '../../harness/run-suite.ts';
import { readResult } from '../../harness/result-store.ts';
import { loadSuite } from '../../harness/suite-loader.ts';
import type { Suite } from '../../core/suite-types.ts';
import { createTegrastatsProbe } from '../../hw-probes/tegrastats/probe.ts';
import { createCommandRunner } from '../../runners/command/index.ts';
import type { TargetTransport } from '../../targets/types.ts';
import { SshTransport } from '../../targets/ssh-transport.ts';
import { transportFor } from '../../targets/targets.ts';
import { createFakeBoard, type FakeBoard } from './helpers/fake-board.ts';
import { loaded, outDir, quietProgress } from './helpers/run.ts';
import { startSshd, type TestSshd } from './helpers/sshd.ts';

let board: FakeBoard;
let sshd: TestSshd;
let ssh: SshTransport;
const shipped = loadSuite('internvl-orin-nx').suite;

/** The shipped suite with the fake's program name in place of llama-mtmd-cli. */
function onFake(suite: Suite, extra: Record<string, unknown> = {}): Suite {
  const command = [...(suite.options!['command'] as unknown[])];
  command[0] = 'llava-cli';
  return { ...suite, options: { ...suite.options, command, ...extra } };
}

async function run(suite: Suite, transport: TargetTransport, filters: string[], iterations = 2) {
  const outcome = await runSuite({
    suite: loaded(suite),
    target: transport.target.name,
    filters,
    iterations,
    warmup: 0,
    cooldownSeconds: 0,
    outDir: outDir(),
    runners: { command: createCommandRunner({ transport }) },
    progress: quietProgress(),
  });
  // readResult validates against schema/result.schema.json, as --resume and bench report do.
  return readResult(outcome.store.file);
}

beforeAll(async () => {
  board = createFakeBoard();
  sshd = await startSshd([board.binDir]);
  ssh = new SshTransport(sshd.target('orin-nx', { workDir: board.dir, probes: ['tegrastats'] }));
});

afterAll(async () => {
  await ssh?.close();
  sshd?.stop();
  board?.remove();
});

describe('command runner over ssh (Jetson suite)', () => {
  it('runs the tool per iteration, records its own timings, while tegrastats samples over the same connection', async () => {
    const before = (sshd.log().match(/Accepted publickey/g) ?? []).length;
    const probe = createTegrastatsProbe({ transport: ssh });
    const clock = createClock();
    await probe.start(clock, 100);
    const callsBefore = board.llavaCalls().length;
    const result = await run(onFake(shipped), ssh, ['images=1', 'prefill=128']);
    const probeRun = await probe.stop();

    const cell = result.cells[0]!;
    expect(cell.id).toBe('images=1,prefill=128');
    expect(cell.status, cell.error).toBe('ok');
    // llava-cli on a Jetson Orin (recorded): CLIP 296.62 ms, prompt eval 306.84 ms / 246 tokens, eval 91.50 ms / 6 runs.
    expect(cell.metrics['image_encode_ms']!.median).toBeCloseTo(296.62, 9);
    expect(cell.metrics['prefill_ms']!.median).toBeCloseTo(306.84, 9);
    expect(cell.metrics['ttft_ms']!.median).toBeCloseTo(296.62 + 306.84, 9);
    expect(cell.metrics['decode_ms']!.median).toBeCloseTo(91.5, 9);
    expect(cell.metrics['tpot_ms']!.median).toBeCloseTo(15.25, 9);
    expect(cell.metrics['decode_tokens_per_s']!.median).toBeCloseTo(1000 / 15.25, 9);
    expect(cell.metrics['prefill_tokens_per_s']!.median).toBeCloseTo((246 * 1000) / 306.84, 6);
    const rec = cell.iterations[0]!;
    expect(rec).toMatchObject({ promptTokens: 246, outputTokens: 7, images: 1 });
    expect(rec.imageTokens).toBeNull(); // llava-cli prints no image token count: null in result.json
    expect(rec.reported).toMatchObject({ 'tool.load_ms': 1067.64, 'tool.eval_tokens_per_s': 65.58, 'tool.total_ms': 1352.63, 'tool.eval_runs': 6 });
    expect(cell.settings).toMatchObject({ runner: 'command', target: 'ssh:orin-nx', program: 'llava-cli', parser: 'llamacpp', programPath: join(board.binDir, 'llava-cli') });
    expect(String(cell.settings['timing'])).toMatch(/^tool-reported/);

    // The argv arrived as the suite wrote it, placeholders filled per element.
    const calls = board.llavaCalls().slice(callsBefore);
    expect(calls).toHaveLength(2);
    const argv = calls[0]!;
    expect(argv.slice(0, 12)).toEqual(['-hf', 'ggml-org/InternVL2_5-1B-GGUF:Q8_0', '-ngl', '99', '-c', '4096', '--temp', '0', '--ignore-eos', '-n', '64', '-p']);
    expect(argv[12]!.split(' ')).toHaveLength(128 + 5);
    expect(argv[12]!.endsWith(' Describe the image in detail.')).toBe(true);
    expect(argv.slice(13)).toEqual(['--image', 'images/test-448-a.jpg']);

    // tegrastats over the same connection: one SSH login for the whole cell and the probe.
    expect((sshd.log().match(/Accepted publickey/g) ?? []).length - before).toBe(1);
    expect(probeRun.warnings).toEqual([]);
    expect(probeRun.samples.length).toBeGreaterThanOrEqual(2);
    expect(probeRun.samples[0]!.rails!.find((r) => r.name === 'VDD_IN')!.powerMw).toBe(12479);
  });

  it('expands one --image pair per image and keeps nasty values as single arguments', async () => {
    const nasty = "it's \"$HOME\"; `id` > x";
    const suite = onFake(shipped, { vars: { note: nasty } });
    (suite.options!['command'] as unknown[]).push('--note={note}', '{images}x{prefill}');
    const callsBefore = board.llavaCalls().length;
    const result = await run(suite, ssh, ['images=2', 'prefill=128'], 1);
    expect(result.cells[0]!.status).toBe('ok');
    const argv = board.llavaCalls().slice(callsBefore)[0]!;
    expect(argv.slice(13)).toEqual(['--image', 'images/test-448-a.jpg', '--image', 'images/test-448-b.jpg', `--note=${nasty}`, '2x128']);
  });

  it('runs the same suite on a local target (a CI runner on the board) with the same figures', async () => {
    const local = transportFor({ name: 'orin-ci', kind: 'local', workDir: board.dir, env: { PATH: `${board.binDir}:${process.env['PATH']}` }, source: 'builtin' });
    const result = await run(onFake(shipped), local, ['images=1', 'prefill=128'], 1);
    const cell = result.cells[0]!;
    expect(cell.status, cell.error).toBe('ok');
    expect(cell.settings['target']).toBe('local');
    expect(cell.metrics['ttft_ms']!.median).toBeCloseTo(603.46, 9);
  });

  it('parses an ax-llm demo fed through stdin', async () => {
    const suite: Suite = {
      ...shipped,
      options: { command: ['axllm', 'run', 'InternVL2-1B/'], parser: 'ax-llm', stdin: '{prompt}\n{imageFile}\n', imageFiles: ['images/ssd_dog.jpg'] },
    };
    const result = await run(suite, ssh, ['images=1', 'prefill=128'], 1);
    const cell = result.cells[0]!;
    expect(cell.status, cell.error).toBe('ok');
    expect(cell.metrics['image_encode_ms']!.median).toBeCloseTo(397.944, 9);
    expect(cell.metrics['prefill_ms']!.median).toBeCloseTo(124.73, 9);
    expect(cell.metrics['decode_tokens_per_s']).toBeUndefined();
    expect(cell.iterations[0]!.reported!['tool.avg_token_per_s']).toBe(31.16);
    expect(board.axllmStdin().split('\n')[1]).toBe('images/ssd_dog.jpg');
  });

  it('fails cells with clear messages: unknown placeholder, output the parser does not know', async () => {
    const badPlaceholder = onFake(shipped);
    (badPlaceholder.options!['command'] as unknown[]).push('{nope}');
    const a = await run(badPlaceholder, ssh, ['images=0', 'prefill=128'], 1);
    expect(a.cells[0]!.status).toBe('failed');
    expect(a.cells[0]!.error).toMatch(/^suite "internvl-orin-nx": options\.command\[15\]: unknown placeholder \{nope\} in "\{nope\}"; known: .*\{prompt\}/);

    const wrongParser = onFake(shipped, { parser: 'ax-llm' });
    const c = await run(wrongParser, ssh, ['images=0', 'prefill=128'], 1);
    expect(c.cells[0]!.status).toBe('failed');
    expect(c.cells[0]!.error).toMatch(/llava-cli output on ssh:orin-nx \(iteration 0\).*no ax-llm output found/);
  });

  it('refuses the run before its first cell, naming each missing program, model and image file (exit 2 in the CLI)', async () => {
    const folder = outDir();
    const missing: Suite = { ...shipped, options: { ...shipped.options, imageFiles: ['images/test-448-a.jpg', 'images/nowhere.jpg'] } };
    (missing.options!['command'] as unknown[]).splice(1, 2, '-m', 'models/absent.gguf');
    const refused = runSuite({
      suite: loaded(missing),
      target: 'orin-nx',
      filters: ['images=2', 'prefill=128'],
      iterations: 1,
      warmup: 0,
      outDir: folder,
      runners: { command: createCommandRunner({ transport: ssh }) },
      progress: quietProgress(),
    });
    await expect(refused).rejects.toBeInstanceOf(InputError);
    const message = await refused.then(() => 'ran', (err: unknown) => errorMessage(err));
    expect(message.split('\n')).toEqual([
      'target orin-nx lacks what suite "internvl-orin-nx" will call; nothing was run:',
      '  - llama-mtmd-cli: command not found on ssh:orin-nx (PATH of a non-interactive login; set env.PATH in the target if the tool is elsewhere)',
      `  - model file models/absent.gguf: no readable file in ${board.dir} on ssh:orin-nx`,
      `  - image file images/nowhere.jpg: no readable file in ${board.dir} on ssh:orin-nx`,
    ]);
    // Refused before the run folder exists: nothing half-made to resume.
    expect(readdirSync(folder)).toEqual([]);
    expect(board.llavaCalls().filter((argv) => argv.includes('images/nowhere.jpg'))).toEqual([]);
  });

});
