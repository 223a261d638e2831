import { describe, expect, it } from 'vitest';
import {
  aggregateByNode,
  aggregateByOpType,
  aggregateByProvider,
  attributeKernelsToRuns,
  parseOrtProfile,
  summarizeOrtProfile,
} from '../../parsers/ort-profile.ts';
import { section } from './fixture-sections.ts';
import { parseError } from './parse-error.ts';
import { profileTinyModel } from './ort-tiny-model.ts';

const FIXTURE = 'parsers-ort-profile.txt';
const NODE130 = 'parsers-ort-profile-node130.txt';

describe('parseOrtProfile: ONNX Runtime 1.30 file (onnxruntime-node)', () => {
  const profile = parseOrtProfile(section(NODE130, 'onnxruntime-node 1.30.0').text, 'profile.json');

  it('reads kernels, session events and model_run events', () => {
    expect(profile.format).toBe('json');
    expect(profile.eventCount).toBe(17);
    expect(profile.repairs).toEqual([]);
    expect(profile.fenceEvents).toBe(0);
    expect(profile.otherEvents).toBe(0);
    expect(profile.kernels.map((k) => [k.node, k.opName, k.startMs, k.durMs])).toEqual([
      ['proj', 'MatMul', 12.925, 0.156],
      ['act', 'Relu', 13.092, 0.054],
      ['residual', 'Add', 13.152, 0.04],
      ['proj', 'MatMul', 13.54, 0.008],
      ['act', 'Relu', 13.554, 0.003],
      ['residual', 'Add', 13.562, 0.004],
      ['proj', 'MatMul', 13.614, 0.003],
      ['act', 'Relu', 13.649, 0.003],
      ['residual', 'Add', 13.656, 0.003],
    ]);
    expect(profile.kernels[2]).toMatchObject({
      provider: 'CPUExecutionProvider',
      threadId: 11706,
      inputShapes: [
        { type: 'float', shape: [1, 4] },
        { type: 'float', shape: [1, 4] },
      ],
      outputShapes: [{ type: 'float', shape: [1, 4] }],
      outputBytes: 16,
      parameterBytes: 0,
      activationBytes: 32,
    });
    expect(profile.kernels[0]!.args.mem_arena_held_delta).toBe('1048576');
    expect(profile.sessionEvents.map((e) => [e.name, e.startMs, e.durMs])).toEqual([
      ['model_loading_array', 0.013, 1.001],
      ['session_initialization', 1.044, 8.902],
      ['SequentialExecutor::Execute', 12.912, 0.303],
      ['model_run', 12.863, 0.472],
      ['SequentialExecutor::Execute', 13.54, 0.031],
      ['model_run', 13.535, 0.04],
      ['SequentialExecutor::Execute', 13.614, 0.062],
      ['model_run', 13.612, 0.067],
    ]);
    expect(profile.runs.map((r) => [r.startMs, r.durMs])).toEqual([
      [12.863, 0.472],
      [13.535, 0.04],
      [13.612, 0.067],
    ]);
  });

  it('attributes each kernel to its model_run window', () => {
    const { runs, unattributed } = attributeKernelsToRuns(profile);
    expect(unattributed).toEqual([]);
    expect(runs.map((r) => [r.index, r.kernels.map((k) => k.node)])).toEqual([
      [0, ['proj', 'act', 'residual']],
      [1, ['proj', 'act', 'residual']],
      [2, ['proj', 'act', 'residual']],
    ]);
    expect(runs.map((r) => r.kernelMs)).toEqual([0.156 + 0.054 + 0.04, 0.008 + 0.003 + 0.004, 0.003 + 0.003 + 0.003]);
  });

  it('aggregates per node, op type and provider', () => {
    const byNode = aggregateByNode(profile.kernels);
    expect(byNode.map((g) => [g.key, g.opName, g.count])).toEqual([
      ['proj', 'MatMul', 3],
      ['act', 'Relu', 3],
      ['residual', 'Add', 3],
    ]);
    expect(byNode[0]!.totalMs).toBeCloseTo(0.167, 12);
    expect(byNode[0]!.meanMs).toBeCloseTo(0.167 / 3, 12);
    expect(byNode[0]!.share).toBeCloseTo(0.167 / 0.274, 12);
    const byOp = aggregateByOpType(profile.kernels);
    expect(byOp.map((g) => g.key)).toEqual(['MatMul', 'Relu', 'Add']);
    expect(byOp[2]!.totalMs).toBeCloseTo(0.047, 12);
    const byProvider = aggregateByProvider(profile.kernels);
    expect(byProvider).toHaveLength(1);
    expect(byProvider[0]).toMatchObject({ key: 'CPUExecutionProvider', count: 9, share: 1 });
    expect(byProvider[0]!.totalMs).toBeCloseTo(0.274, 12);
  });

  it('summarizes runs and the heaviest op types', () => {
    const summary = summarizeOrtProfile(profile);
    expect(summary).toContain('17 events (json): 9 kernels, 3 model_run, 8 session events');
    expect(summary).toContain('| 0 | 12.863 | 0.472 | 3 | 0.250 |');
    expect(summary).toContain('| MatMul | 3 | 0.167 | 0.0557 | 60.9% |');
    expect(summary).toContain('SequentialExecutor::Execute: 3 events, 0.396 ms in total');
  });
});

describe('parseOrtProfile: pasted forms from the shared fixture', () => {
  it('reads editor-pasted event lines (ORT 1.12.1 silero-vad): line numbers, fences, wrapped keys', () => {
    const profile = parseOrtProfile(section(FIXTURE, 'silero-vad').text, 'vad.txt');
    expect(profile.format).toBe('event-lines');
    expect(profile.eventCount).toBe(26);
    expect(profile.fenceEvents).toBe(17);
    expect(profile.sessionEvents).toEqual([]);
    expect(profile.runs).toEqual([]);
    expect(profile.kernels).toHaveLength(9);
    expect(profile.kernels[0]).toEqual({
      node: 'If_0_then_branch__Inline_0__/stft/padding/Pad',
      opName: 'Pad',
      provider: 'CPUExecutionProvider',
      startMs: 59.304,
      durMs: 0.006,
      threadId: 34575,
      inputShapes: [
        { type: 'float', shape: [1, 576] },
        { type: 'int64', shape: [4] },
      ],
      outputShapes: [{ type: 'float', shape: [1, 640] }],
      outputBytes: 2560,
      parameterBytes: 32,
      activationBytes: 2304,
      args: expect.objectContaining({ exec_plan_index: '7', graph_index: '7', output_type_shape: [{ float: [1, 640] }] }),
    });
    // Every wrapped "output_type_shape" key was joined again, so every kernel has its output shape.
    expect(profile.kernels.map((k) => k.outputShapes?.[0]?.shape)).toEqual([
      [1, 640],
      [1, 1, 640],
      [1, 258, 4],
      [1, 129, 4],
      [1, 129, 4],
      [1, 129, 4],
      [1, 129, 4],
      [1, 129, 4],
      [1, 129, 4],
    ]);
    expect(profile.kernels.map((k) => [k.opName, k.durMs])).toEqual([
      ['Pad', 0.006],
      ['Unsqueeze', 0.002],
      ['Conv', 0.054],
      ['Slice', 0.006],
      ['Pow', 0.003],
      ['Slice', 0.003],
      ['Pow', 0.002],
      ['Add', 0.003],
      ['Sqrt', 0.006],
    ]);
    expect(profile.repairs[0]).toBe('line 2: key "output_t      ype_shape" read as "output_type_shape"');
    expect(profile.repairs).toHaveLength(10);
    expect(profile.repairs[9]).toBe('26 line(s): leading editor line numbers ignored');
    const byOp = aggregateByOpType(profile.kernels);
    expect(byOp[0]).toMatchObject({ key: 'Conv', count: 1 });
    expect(byOp[0]!.share).toBeCloseTo(54 / 85, 12);
    // No model_run events: nothing can be attributed.
    expect(attributeKernelsToRuns(profile).unattributed).toHaveLength(9);
  });

  it('reads the Python pprint of a profile with only Session events (ORT docs gallery)', () => {
    const profile = parseOrtProfile(section(FIXTURE, 'plot_profiling.html').text);
    expect(profile.format).toBe('python-repr');
    expect(profile.kernels).toEqual([]);
    expect(profile.sessionEvents).toEqual([
      { name: 'model_loading_array', startMs: 0.001, durMs: 0.065, threadId: 2734 },
      { name: 'session_initialization', startMs: 0.083, durMs: 0.329, threadId: 2734 },
    ]);
    expect(profile.repairs).toEqual([
      'ignored 1 line(s) before the profile: "onnxruntime_profile__2022-12-09_23-45-49.json"',
      'read a Python-printed (pprint) event list',
    ]);
  });
});

describe('parseOrtProfile: live profile of the installed onnxruntime-node', () => {
  it('parses what ORT writes now and attributes 3 kernels to each of 4 runs', async () => {
    const profile = parseOrtProfile(await profileTinyModel(4), 'live.json');
    expect(profile.format).toBe('json');
    expect(profile.runs).toHaveLength(4);
    expect(profile.kernels).toHaveLength(12);
    const { runs, unattributed } = attributeKernelsToRuns(profile);
    expect(unattributed).toEqual([]);
    for (const run of runs) {
      expect(run.kernels.map((k) => `${k.node}:${k.opName}:${k.provider}`)).toEqual([
        'proj:MatMul:CPUExecutionProvider',
        'act:Relu:CPUExecutionProvider',
        'residual:Add:CPUExecutionProvider',
      ]);
      for (const k of run.kernels) {
        expect(k.startMs).toBeGreaterThanOrEqual(run.startMs - 0.001);
        expect(k.startMs + k.durMs).toBeLessThanOrEqual(run.startMs + run.durMs + 0.002);
      }
    }
  });
});

describe('parseOrtProfile: errors', () => {
  it('rejects a profile cut before its closing bracket, naming the last line', () => {
    const lines = section(NODE130, 'onnxruntime-node 1.30.0').text.split('\n');
    const cut = lines.slice(0, 9).join('\n');
    const err = parseError(() => parseOrtProfile(cut, 'cut.json'));
    expect(err.reason).toMatch(/^truncated profile: the JSON array of events is not closed/);
    expect(err.line).toBe(9);
  });

  it('rejects a pasted event line cut in the middle, at its line', () => {
    const lines = section(FIXTURE, 'silero-vad').text.split('\n').slice(0, 4);
    lines[3] = lines[3]!.slice(0, 80);
    const err = parseError(() => parseOrtProfile(lines.join('\n')));
    expect(err.line).toBe(4);
    expect(err.reason).toMatch(/unreadable profiling event/);
  });

  it('rejects events without times and JSON that is not a profile', () => {
    expect(parseError(() => parseOrtProfile('[{"cat": "Node", "name": "a_kernel_time", "ts": 1}]')).reason).toBe(
      'event 0: "dur" should be a number (µs), got undefined',
    );
    expect(parseError(() => parseOrtProfile('{"performance_summary": {}}')).reason).toMatch(/"name" should be a string/);
    expect(parseError(() => parseOrtProfile('[]')).reason).toBe('the profile holds no events');
  });

  it('rejects garbage and a truncated Python print', () => {
    expect(parseError(() => parseOrtProfile('not a profile at all', 'p')).reason).toMatch(/no ONNX Runtime profile found/);
    const py = section(FIXTURE, 'plot_profiling.html').text.split('\n').slice(0, 6).join('\n');
    expect(parseError(() => parseOrtProfile(py)).reason).toMatch(/truncated profile: the Python-printed event list is not closed/);
  });
});
