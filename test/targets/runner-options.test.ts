import { describe, expect, it } from 'vitest';
import { InputError } from '../../core/errors.ts';
import { loadSuite } from '../../harness/suite-loader.ts';
import type { Suite } from '../../core/suite-types.ts';
import { axRunModelArgv, cellGeometry, graphRunsFor, parseAxeraOptions } from '../../runners/axera/options.ts';
import { recordFromTimings } from '../../runners/command/record.ts';
import { checkArgTemplates, expandArgv, substitute } from '../../runners/command/template.ts';
import { axLlmTimings, llamaCppTimings } from '../../runners/command/tool-timings.ts';
import { classifyExitStatus, classifySshFailure } from '../../targets/ssh-errors.ts';
import { fixtureBody } from './helpers/fixtures.ts';

describe('argument templates', () => {
  it('substitutes per element, keeps literal braces, names unknown placeholders', () => {
    expect(substitute('--n={outputTokens}', { outputTokens: '64' }, 'w')).toBe('--n=64');
    expect(substitute('{{literal}} {a}{a}', { a: "it's" }, 'w')).toBe("{literal} it'sit's");
    expect(() => substitute('{nope}', { a: '1', b: '2' }, 'options.command[3]')).toThrow(new InputError('options.command[3]: unknown placeholder {nope} in "{nope}"; known: {a}, {b}'));
    expect(expandArgv(['cli', { forEachImage: ['--image', '{imageFile}#{imageIndex}'] }, '-p', '{p}'], { p: 'a b' }, ['x.jpg', 'y z.jpg'], 'w')).toEqual([
      'cli', '--image', 'x.jpg#0', '--image', 'y z.jpg#1', '-p', 'a b',
    ]);
    expect(expandArgv(['cli', { forEachImage: ['--image', '{imageFile}'] }], {}, [], 'w')).toEqual(['cli']);
    expect(() => checkArgTemplates('llava-cli -m x', 'options.command')).toThrow(/options\.command: expected a non-empty list of arguments/);
    expect(() => checkArgTemplates(['cli', { each: [] }], 'options.command')).toThrow('options.command[1]: expected a string or { forEachImage: [strings] }, got {"each":[]}');
  });
});

describe('axera-subgraph options (shipped suite internvl-ax650)', () => {
  const suite = loadSuite('internvl-ax650').suite;
  const cell = (images: number) => ({ id: `images=${images}`, index: 0, params: { images, prefill: 128, precision: 'w8a16' } });

  it('plans the graphs of each cell: vit, g1..gN, g0, post', () => {
    const o = parseAxeraOptions(suite);
    expect(o).toMatchObject({ layers: 28, chunkSize: 128, tokensPerImage: 256, mode: 'subgraph', axRunModel: { warmup: 1, repeat: 10, groupArgs: ['-g', '{group}'] } });
    const g8 = cellGeometry(cell(8), o, suite);
    expect(g8).toEqual({ images: 8, textTokens: 128, promptTokens: 2176, imageTokens: 2048, chunks: 17 });
    const runs = graphRunsFor(g8, o, cell(8), suite);
    expect(runs.map((r) => r.name)).toEqual(['vit', ...Array.from({ length: 17 }, (_, i) => `g${i + 1}`), 'g0', 'post']);
    expect(axRunModelArgv(runs[3]!, o.axRunModel, 'x')).toEqual(['ax_run_model', '-m', 'InternVL2_5-1B-MPO_axmodel/qwen2_p128_l0_together.axmodel', '-w', '1', '-r', '10', '-g', '3']);
    expect(axRunModelArgv(runs[0]!, o.axRunModel, 'x')).toEqual(['ax_run_model', '-m', 'vit_axmodel/internvl2_5_1b_mpo_vit.axmodel', '-w', '1', '-r', '10']);
    expect(graphRunsFor(cellGeometry(cell(0), o, suite), o, cell(0), suite).map((r) => r.name)).toEqual(['g1', 'g0', 'post']);
  });

  it('takes a separate file per group, {precision} in paths, and names bad options', () => {
    const custom: Suite = {
      ...suite,
      options: { ...suite.options, graphs: { vit: 'vit_{precision}.axmodel', layer: 'l0.axmodel', post: 'post.axmodel', groups: { g0: 'decode_{precision}.axmodel' } }, axRunModel: { extraArgs: ['-a', '1'] } },
    };
    const o = parseAxeraOptions(custom);
    const runs = graphRunsFor(cellGeometry(cell(1), o, custom), o, cell(1), custom);
    expect(runs.find((r) => r.name === 'vit')!.file).toBe('vit_w8a16.axmodel');
    expect(runs.find((r) => r.name === 'g0')).toEqual({ name: 'g0', file: 'decode_w8a16.axmodel' });
    expect(axRunModelArgv(runs.find((r) => r.name === 'g0')!, o.axRunModel, 'x')).toEqual(['ax_run_model', '-m', 'decode_w8a16.axmodel', '-w', '1', '-r', '10', '-a', '1']);
    const bad = (options: Record<string, unknown>) => () => parseAxeraOptions({ ...suite, options: { ...suite.options, ...options } });
    expect(bad({ layers: 0 })).toThrow('suite "internvl-ax650": options.layers: expected an integer >= 1, got 0');
    expect(bad({ mode: 'fast' })).toThrow('suite "internvl-ax650": options.mode: expected "subgraph" or "end-to-end", got "fast"');
    expect(bad({ graphs: { vit: 'v', layer: 'l', post: 'p', groups: { decode: 'd' } } })).toThrow(/options\.graphs\.groups\.decode: group names are g0 \(decode\) and g1\.\.gN/);
    expect(bad({ probes: ['axera'] })).toThrow(/options\.probes: not an option of the axera-subgraph runner/);
    expect(bad({ mode: 'end-to-end' })).toThrow(/options\.demo\.command: expected a non-empty list of arguments/);
  });
});

describe('tool timings from recorded outputs', () => {
  it('llama.cpp: llava-cli on a Jetson Orin', () => {
    const t = llamaCppTimings(fixtureBody('targets-llava-orin.txt'), 'llava.txt');
    expect(t).toMatchObject({ imageEncodeMs: [296.62], prefillMs: 306.84, promptTokens: 246, decodeMs: 91.5, decodeSteps: 6, outputTokens: 7 });
    expect(t.reported).toEqual({
      'tool.load_ms': 1067.64,
      'tool.sample_ms': 1.53,
      'tool.prompt_eval_ms': 306.84,
      'tool.prompt_eval_tokens': 246,
      'tool.prompt_eval_tokens_per_s': 801.72,
      'tool.eval_ms': 91.5,
      'tool.eval_runs': 6,
      'tool.eval_tokens_per_s': 65.58,
      'tool.total_ms': 1352.63,
      'tool.image_encode_ms': 296.62,
    });
    // Laid back to back, ending when the command exited.
    const rec = recordFromTimings(t, { index: 0, warmup: false, endMs: 10_000, images: 1, wallMs: 1500 });
    expect(rec.startMs).toBeCloseTo(10_000 - 296.62 - 306.84 - 91.5, 9);
    expect(rec.events.map((e) => (e.kind === 'token' ? `token ${e.index}+${e.count}` : `${e.kind} ${e.kind === 'subgraph' ? e.graph : e.phase}`))).toEqual([
      'phase image_encode', 'subgraph image_encoder', 'phase prefill', 'token 0+1', 'phase decode', 'token 1+6',
    ]);
    expect(rec.reported!['command.wall_ms']).toBe(1500);
  });

  it('ax-llm: the InternVL2-1B demo session', () => {
    const t = axLlmTimings(fixtureBody('targets-axllm-internvl2.txt'), 'axllm.txt');
    expect(t).toMatchObject({ imageEncodeMs: [397.944], prefillMs: 124.73 });
    expect(t.decodeMs).toBeUndefined();
    expect(t.reported).toEqual({ 'tool.prefill_ttft_ms': 124.73, 'tool.avg_token_per_s': 31.16, 'tool.init_ms': 1430, 'tool.remain_cmm_bytes': 11116 * 2 ** 20, 'tool.image_encode_ms': 397.944 });
    expect(() => axLlmTimings('hello\n', 'x.txt')).toThrow(/^x\.txt: no ax-llm output found/);
  });
});

describe('ssh failure classification', () => {
  it('reads OpenSSH messages', () => {
    const where = 'ssh:b (u@h:22)';
    expect(classifySshFailure('ssh: Could not resolve hostname nosuch.local: Name or service not known\r\n', where)).toEqual({
      kind: 'unreachable',
      message: 'ssh:b (u@h:22): unreachable: the host name does not resolve [ssh: ssh: Could not resolve hostname nosuch.local: Name or service not known]',
    });
    expect(classifySshFailure('ssh: connect to host 10.0.0.9 port 22: Connection timed out\r\n', where).kind).toBe('unreachable');
    expect(classifySshFailure('u@h: Permission denied (publickey,password).\r\n', where).kind).toBe('auth');
    expect(classifySshFailure('Host key verification failed.\r\n', where).kind).toBe('host-key');
    expect(classifySshFailure('client_loop: send disconnect: Broken pipe\r\n', where).kind).toBe('connection-lost');
    expect(classifySshFailure('something else\n', where)).toEqual({ kind: 'other', message: 'ssh:b (u@h:22): ssh failed (exit 255): something else' });
    expect(classifyExitStatus(127, 'tegrastats', 'sh: 1: exec: tegrastats: not found\n', where)).toEqual({
      kind: 'missing-tool',
      message: 'tegrastats: command not found on ssh:b (u@h:22) (exit 127: sh: 1: exec: tegrastats: not found)',
    });
    expect(classifyExitStatus(127, 'x', 'x: some own failure\n', where)).toBeNull();
    expect(classifyExitStatus(126, 'x', 'sh: 1: exec: x: Permission denied\n', where)!.kind).toBe('not-executable');
  });
});
