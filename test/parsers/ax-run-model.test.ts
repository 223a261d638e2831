import { describe, expect, it } from 'vitest';
import { ParseError } from '../../core/errors.ts';
import { parseAxRunModel, summarizeAxRunModel } from '../../parsers/ax-run-model.ts';
import { section } from './fixture-sections.ts';
import { parseError } from './parse-error.ts';

const FIXTURE = 'parsers-ax650.txt';

describe('parseAxRunModel', () => {
  it('reads ax_run_model tool 1.0.0 output (NPU1 header, repeat before warmup, "> " doc prefix)', () => {
    const { runs } = parseAxRunModel(section(FIXTURE, 'ax_run_model tool 1.0.0').text, 'doc');
    expect(runs).toHaveLength(1);
    expect(runs[0]).toEqual({
      tool: 'ax_run_model',
      line: 15,
      command: 'ax_run_model -m /opt/data/npu/models/yolov5s.axmodel -w 10 -r 100',
      modelPath: '/opt/data/npu/models/yolov5s.axmodel',
      modelType: 'NPU1',
      vnpu: 'Disable',
      affinity: '0b001',
      repeat: 100,
      warmup: 10,
      batch: '1',
      pulsar2Version: '1.2-patch2 7e6b2b5f',
      engineVersion: 'V1.13.0 Apr 26 2023 16:48:53 1.1.0',
      toolVersion: '1.0.0',
      cmmSizeBytes: 12730188,
      latency: { minMs: 7.658, avgMs: 7.662, maxMs: 7.672 },
      header: {
        model: '/opt/data/npu/models/yolov5s.axmodel',
        type: 'NPU1',
        vnpu: 'Disable',
        affinity: '0b001',
        repeat: '100',
        warmup: '10',
        batch: '1',
        'pulsar2 ver': '1.2-patch2 7e6b2b5f',
        'engine ver': 'V1.13.0 Apr 26 2023 16:48:53 1.1.0',
        'tool ver': '1.0.0',
        'cmm size': '12730188 Bytes',
      },
    });
  });

  it('reads --verify mode, which prints no header', () => {
    const { runs } = parseAxRunModel(section(FIXTURE, 'ax_run_model --verify').text);
    expect(runs).toEqual([
      {
        tool: 'ax_run_model',
        line: 5,
        command:
          'ax_run_model -m /opt/data/npu/temp/mobilenet_v1.axmodel -i /opt/data/npu/temp/input/ -o /opt/data/npu/temp/output/ -l /opt/data/npu/temp/list.txt --verify',
        verify: { inputFolders: 1, inferred: 1, total: 1 },
        latency: { minMs: 3.347, avgMs: 3.347, maxMs: 3.347 },
        header: {},
      },
    ]);
  });

  it('reads tool 2.1.2c output ("1 Core", batch "{ auto: 1 }", parallel)', () => {
    const [run] = parseAxRunModel(section(FIXTURE, 'tool ver 2.1.2c').text).runs;
    expect(run).toMatchObject({
      tool: 'ax_run_model',
      command: 'ax_run_model -m mobilenetv2.axmodel -w 3 -r 10',
      modelPath: 'mobilenetv2.axmodel',
      modelType: '1 Core',
      vnpu: 'Disable',
      affinity: '0b001',
      warmup: 3,
      repeat: 10,
      batch: '{ auto: 1 }',
      parallel: false,
      pulsar2Version: '1.2-patch2 7e6b2b5f',
      engineVersion: '2.3.0a',
      toolVersion: '2.1.2c',
      cmmSizeBytes: 4428624,
      latency: { minMs: 0.719, avgMs: 0.721, maxMs: 0.726 },
    });
  });

  it('reads the ax-samples demo timing line (ax_yolov5s on the board)', () => {
    const { runs } = parseAxRunModel(section(FIXTURE, 'ax-samples ax_yolov5s demo').text);
    expect(runs).toEqual([
      {
        tool: 'ax-samples',
        line: 16,
        command: './ax_yolov5s -m yolov5s.axmodel -i test.jpg',
        modelPath: 'yolov5s.axmodel',
        imagePath: 'test.jpg',
        imageHeight: 640,
        imageWidth: 640,
        runtimeVersion: 'libax_sys.so V1.13.0 Apr 26 2023 16:24:35',
        postprocessMs: 2.03,
        repeat: 1,
        latency: { minMs: 2.89, avgMs: 2.89, maxMs: 2.89 },
        detections: 11,
        header: {},
      },
    ]);
  });

  it('reads the axcl-samples demo (ax_yolo11 on a PCIe card, IO tensor dump in between)', () => {
    const { runs } = parseAxRunModel(section(FIXTURE, 'ax_yolo11 (yolo11x)').text);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({
      tool: 'ax-samples',
      line: 29,
      command: './install/bin/ax_yolo11 -m yolo11x.axmodel -i ssd_horse.jpg',
      modelPath: 'yolo11x.axmodel',
      imagePath: 'ssd_horse.jpg',
      postprocessMs: 1.09,
      repeat: 1,
      latency: { minMs: 43.09, avgMs: 43.09, maxMs: 43.09 },
      detections: 6,
    });
    expect(runs[0]!.runtimeVersion).toBeUndefined();
  });

  it('keeps several runs of one log apart', () => {
    const text = `${section(FIXTURE, 'ax_run_model tool 1.0.0').text}\n${section(FIXTURE, 'tool ver 2.1.2c').text}`;
    const { runs } = parseAxRunModel(text);
    expect(runs.map((r) => [r.modelPath, r.latency.avgMs, r.cmmSizeBytes])).toEqual([
      ['/opt/data/npu/models/yolov5s.axmodel', 7.662, 12730188],
      ['mobilenetv2.axmodel', 0.721, 4428624],
    ]);
  });

  it('summarizes runs as a table', () => {
    const summary = summarizeAxRunModel(parseAxRunModel(section(FIXTURE, 'tool ver 2.1.2c').text));
    expect(summary).toContain('| mobilenetv2.axmodel | 1 Core | w3 r10 | 0.719 | 0.721 | 0.726 | 4428624 |');
  });

  it('rejects output cut before the latency summary, naming the run start', () => {
    const text = section(FIXTURE, 'ax_run_model tool 1.0.0').text.split('\n').slice(0, 13).join('\n');
    const err = parseError(() => parseAxRunModel(text, 'board.log'));
    expect(err.source).toBe('board.log');
    expect(err.line).toBe(1);
    expect(err.reason).toMatch(/truncated output.*no latency summary/);
  });

  it('rejects a malformed summary line at its line', () => {
    const err = parseError(() => parseAxRunModel('Run AxModel:\n  model: a.axmodel\nmin =   7.6x ms   max =   7.672 ms   avg =   7.662 ms', 'x.txt'));
    expect(err.line).toBe(3);
    expect(err.message).toMatch(/^x\.txt:3: malformed latency summary/);
  });

  it('rejects a non-numeric repeat count and an odd cmm size', () => {
    expect(parseError(() => parseAxRunModel('Run AxModel:\n repeat: ten\n')).reason).toMatch(/"repeat" should be a whole number, got "ten"/);
    expect(parseError(() => parseAxRunModel('Run AxModel:\n cmm size: 12 MB\n')).line).toBe(2);
  });

  it('rejects garbage, empty and binary input and other tools\' output', () => {
    expect(parseError(() => parseAxRunModel('hello\nworld', 'g.txt')).reason).toMatch(/no ax_run_model or ax-samples latency summary found/);
    expect(parseError(() => parseAxRunModel('   \n')).reason).toMatch(/empty input/);
    expect(parseError(() => parseAxRunModel('ab\u0000cd')).reason).toMatch(/binary data/);
    expect(() => parseAxRunModel(section(FIXTURE, 'axcl-smi default view').text)).toThrow(ParseError);
    expect(() => parseAxRunModel(section(FIXTURE, 'Qwen2.5-0.5B prefill build').text)).toThrow(ParseError);
  });
});
