import { describe, expect, it } from 'vitest';
import { ParseError } from '../../core/errors.ts';
import {
  parseTrtexec,
  parseTrtexecProfile,
  parseTrtexecTimes,
  summarizeTrtexec,
  summarizeTrtexecProfile,
  summarizeTrtexecTimes,
} from '../../parsers/trtexec.ts';
import { section } from './fixture-sections.ts';
import { parseError } from './parse-error.ts';

const FIXTURE = 'parsers-trtexec.txt';
const LEGACY = 'parsers-trtexec-legacy.txt';

function stats(min: number, max: number, mean: number, median: number, percentiles: Record<string, number>) {
  return { minMs: min, maxMs: max, meanMs: mean, medianMs: median, percentilesMs: percentiles };
}

describe('parseTrtexec: TensorRT 8+ performance summary', () => {
  it('reads the TensorRT 8.2.3 A100 log: device, full summary (p99 only), start of the profile table', () => {
    const { runs } = parseTrtexec(section(FIXTURE, 'rpn_centerhead_sim.8503.log').text, 'a100.log');
    expect(runs).toHaveLength(1);
    const run = runs[0]!;
    expect(run.tensorrtBuild).toBe('v8203');
    expect(run.command).toBe(
      'trtexec --onnx=model/rpn_centerhead_sim.onnx --saveEngine=model/rpn_centerhead_sim.plan.8503 --workspace=4096 --fp16 --outputIOFormats=fp16:chw --inputIOFormats=fp16:chw --verbose --dumpLayerInfo --dumpProfile --separateProfileRun --profilingVerbosity=detailed',
    );
    expect(run.tensorrtVersion).toBe('8.2.3');
    expect(run.device).toEqual({
      name: 'NVIDIA A100-PCIE-40GB',
      computeCapability: '8.0',
      smCount: 108,
      computeClockGHz: 1.41,
      globalMemoryBytes: 40396 * 1024 ** 2,
      sharedMemoryPerSmBytes: 164 * 1024,
      memoryBusWidthBits: 5120,
      ecc: true,
      memoryClockGHz: 1.215,
    });
    const s = run.summary!;
    expect(s).toMatchObject({ format: 'performance-summary', line: 14, throughputQps: 424.281 });
    expect(s.latency).toEqual(stats(4.13727, 4.20911, 4.1715, 4.17139, { '99': 4.20166 }));
    expect(s.endToEndHostLatency).toEqual(stats(4.47382, 4.68054, 4.56716, 4.5686, { '99': 4.6543 }));
    expect(s.enqueueTime).toEqual(stats(0.489014, 0.995026, 0.718707, 0.719482, { '99': 0.856201 }));
    expect(s.h2dLatency).toEqual(stats(1.35498, 1.39429, 1.37039, 1.37, { '99': 1.38586 }));
    expect(s.gpuComputeTime).toEqual(stats(2.33167, 2.38287, 2.35166, 2.35217, { '99': 2.37775 }));
    expect(s.d2hLatency).toEqual(stats(0.43335, 0.462341, 0.449453, 0.449219, { '99': 0.458435 }));
    expect(s.totalHostWalltimeMs).toBeCloseTo(3005.08, 9);
    expect(s.totalGpuComputeTimeMs).toBeCloseTo(2998.37, 9);
    expect(run.layerProfile).toEqual({
      line: 26,
      iterations: 781,
      complete: false,
      layers: [
        { name: 'Reformatting CopyNode for Input Tensor 0 to Conv_15 + Relu_16', totalMs: 30.57, averageMs: 0.0391, percent: 1.5 },
        { name: 'Conv_15 + Relu_16', totalMs: 83.17, averageMs: 0.1065, percent: 4.1 },
        { name: 'Conv_17 + Relu_18', totalMs: 45.19, averageMs: 0.0579, percent: 2.2 },
        { name: 'Conv_19 + Relu_20', totalMs: 44.84, averageMs: 0.0574, percent: 2.2 },
      ],
    });
    expect(run.traceAverages).toEqual([]);
  });

  it('reads the Jetson DLA tutorial: layer placement and a throughput-only summary', () => {
    const { runs } = parseTrtexec(section(FIXTURE, 'trtexec --useDLACore=0').text);
    expect(runs).toHaveLength(1);
    expect(runs[0]!.dlaLayers).toEqual([
      '{ForeignNode[Conv_0]}',
      '{ForeignNode[Relu_10...Conv_11]}',
      '{ForeignNode[Relu_21...Conv_22]}',
      '{ForeignNode[Relu_32...Conv_33]}',
      '{ForeignNode[Relu_43]}',
    ]);
    expect(runs[0]!.gpuLayers).toHaveLength(6);
    expect(runs[0]!.gpuLayers![1]).toBe('PLUGIN_V2: InstanceNormalization_5');
    expect(runs[0]!.summary).toEqual({ format: 'performance-summary', line: 14, throughputQps: 305.926 });
  });

  it('reads the second DLA throughput', () => {
    expect(parseTrtexec(section(FIXTURE, 'after model change').text).runs[0]!.summary).toEqual({
      format: 'performance-summary',
      line: 1,
      throughputQps: 649.723,
    });
  });

  it('reads a lone "GPU Compute Time" line without prefix (detectron2 README, TensorRT 8.6.1)', () => {
    const { runs } = parseTrtexec(section(FIXTURE, 'detectron2/README.md').text);
    expect(runs[0]!.summary).toEqual({
      format: 'performance-summary',
      line: 1,
      gpuComputeTime: stats(30.1864, 37.0945, 34.481, 34.4187, { '99': 37.0945 }),
    });
  });

  it('reads the EfficientDet notebook line', () => {
    expect(parseTrtexec(section(FIXTURE, 'EfficientDet-TensorRT8.ipynb').text).runs[0]!.summary!.gpuComputeTime).toEqual(
      stats(3.58606, 4.67763, 3.71858, 3.6167, { '99': 4.56601 }),
    );
  });

  it('reads the newer format with p90/p95/p99 and "Application Compute Clock Rate" (RTX 4050, batch 1)', () => {
    const { runs } = parseTrtexec(section(FIXTURE, 'batch 1; author removed timestamp').text);
    const run = runs[0]!;
    expect(run.device).toEqual({
      name: 'NVIDIA GeForce RTX 4050 Laptop GPU',
      computeCapability: '8.9',
      smCount: 20,
      globalMemoryBytes: 6140 * 1024 ** 2,
      sharedMemoryPerSmBytes: 100 * 1024,
      memoryBusWidthBits: 96,
      ecc: false,
      computeClockGHz: 2.355,
      memoryClockGHz: 7.825,
    });
    const s = run.summary!;
    expect(s.throughputQps).toBe(347.915);
    expect(s.latency).toEqual(stats(2.85596, 2.89282, 2.87257, 2.87305, { '90': 2.87524, '95': 2.87598, '99': 2.87744 }));
    expect(s.enqueueTime).toEqual(stats(0.0185547, 2.50635, 0.0458279, 0.0307617, { '90': 0.079834, '95': 0.0966797, '99': 0.199219 }));
    expect(s.h2dLatency).toEqual(stats(0, 0, 0, 0, { '90': 0, '95': 0, '99': 0 }));
    expect(s.gpuComputeTime).toEqual(stats(2.85596, 2.89282, 2.87257, 2.87305, { '90': 2.87524, '95': 2.87598, '99': 2.87744 }));
    expect(s.d2hLatency).toEqual(stats(0, 0, 0, 0, { '90': 0, '95': 0, '99': 0 }));
    expect(s.endToEndHostLatency).toBeUndefined();
    expect(s.totalHostWalltimeMs).toBeCloseTo(10008.2, 9);
    expect(s.totalGpuComputeTimeMs).toBeCloseTo(10002.3, 9);
  });

  it('reads the batch 8 block with its stray indentation', () => {
    const s = parseTrtexec(section(FIXTURE, 'same GPU/model, batch 8').text).runs[0]!.summary!;
    expect(s.throughputQps).toBe(48.9507);
    expect(s.latency).toEqual(stats(20.3643, 21.1794, 20.4271, 20.4258, { '90': 20.437, '95': 20.4409, '99': 20.4473 }));
    expect(s.enqueueTime).toEqual(stats(0.0214844, 0.42627, 0.075538, 0.0620117, { '90': 0.117676, '95': 0.127441, '99': 0.233887 }));
    expect(s.totalHostWalltimeMs).toBeCloseTo(10030.5, 9);
    expect(s.totalGpuComputeTimeMs).toBeCloseTo(10029.7, 9);
  });
});

describe('parseTrtexec: TensorRT 7 (legacy) format', () => {
  it('reads two runs of one log: trace averages, Host Latency / Enqueue Time / GPU Compute blocks', () => {
    const { runs } = parseTrtexec(section(LEGACY, 'GPU-int8_resnet-50.txt').text, 'legacy.log');
    expect(runs).toHaveLength(2);
    const [first, second] = runs as [NonNullable<(typeof runs)[0]>, NonNullable<(typeof runs)[0]>];
    expect(first.command).toBe('/usr/src/tensorrt/bin/trtexec --avgRuns=3 --deploy=Models/resnet-50.prototxt --int8 --batch=1 --iterations=3 --output=prob --useSpinWait');
    expect(first.status).toBe('passed');
    expect(first.warmup).toEqual({ queries: 4, ms: 200 });
    expect(first.timingTrace!.queries).toBe(56);
    expect(first.timingTrace!.ms).toBeCloseTo(3098.07, 9);
    expect(first.traceAverages).toHaveLength(18);
    expect(first.traceAverages[0]).toEqual({ line: 57, runs: 3, gpuLatencyMs: 55.2414, hostLatencyMs: 55.3046, endToEndMs: 55.3169, enqueueMs: 4.07773 });
    expect(first.traceAverages[13]!.gpuLatencyMs).toBe(55.9279);
    const s = first.summary!;
    expect(s.format).toBe('legacy');
    expect(s.latency).toEqual(stats(55.1414, 57.542, 55.3094, 55.2737, { '99': 57.542 }));
    expect(s.endToEndHostLatency).toEqual(stats(55.1486, 57.561, 55.3221, 55.2913, { '99': 57.561 }));
    expect(s.enqueueTime).toEqual({ minMs: 3.87885, maxMs: 5.10864, medianMs: 4.06059, percentilesMs: {} });
    expect(s.gpuComputeTime).toEqual(stats(55.0791, 57.4766, 55.2468, 55.2111, { '99': 57.4766 }));
    expect(s.throughputQps).toBe(18.0758);
    expect(s.totalHostWalltimeMs).toBeCloseTo(3098.07, 9);
    expect(s.totalGpuComputeTimeMs).toBeCloseTo(3093.82, 9);

    expect(second.command).toMatch(/--batch=4 /);
    expect(second.traceAverages.map((a) => a.gpuLatencyMs)).toEqual([199.357, 199.698, 199.568, 200.234, 199.474]);
    expect(second.summary!.throughputQps).toBe(20.0093);
    expect(second.summary!.gpuComputeTime).toEqual(stats(199.02, 201.991, 199.649, 199.573, { '99': 201.991 }));
    expect(second.summary!.enqueueTime).toEqual({ minMs: 4.84339, maxMs: 5.58545, medianMs: 5.20312, percentilesMs: {} });
  });

  it('reads the older variant with lower-case "Host latency" and no enqueue figures', () => {
    const { runs } = parseTrtexec(section(LEGACY, 'int8_batch1.txt').text);
    expect(runs).toHaveLength(1);
    expect(runs[0]!.traceAverages).toEqual([
      { line: 1, runs: 100, gpuLatencyMs: 71.8694, hostLatencyMs: 73.4825, endToEndMs: 73.4987 },
      { line: 2, runs: 100, gpuLatencyMs: 71.8731, hostLatencyMs: 73.4912, endToEndMs: 73.5 },
      { line: 3, runs: 100, gpuLatencyMs: 71.8944, hostLatencyMs: 73.515, endToEndMs: 73.5225 },
    ]);
    const s = runs[0]!.summary!;
    expect(s.latency).toEqual(stats(73.1875, 79.78, 73.515, 73.5, { '99': 73.75 }));
    expect(s.endToEndHostLatency).toEqual(stats(73.1875, 79.7888, 73.5256, 73.5119, { '99': 73.75 }));
    expect(s.gpuComputeTime).toEqual(stats(71.5625, 78.0872, 71.8974, 71.875, { '99': 72.125 }));
    expect(s.enqueueTime).toBeUndefined();
    expect(s.throughputQps).toBe(870.434);
    expect(s.totalHostWalltimeMs).toBeCloseTo(735265, 6);
    expect(s.totalGpuComputeTimeMs).toBeCloseTo(718974, 6);
    expect(runs[0]!.status).toBe('passed');
  });

  it('summarizes runs', () => {
    const summary = summarizeTrtexec(parseTrtexec(section(FIXTURE, 'rpn_centerhead_sim.8503.log').text));
    expect(summary).toContain('on NVIDIA A100-PCIE-40GB (TensorRT 8.2.3)');
    expect(summary).toContain('| GPU compute | 2.332 | 2.352 | 2.352 | 2.383 | 2.378 |');
    expect(summarizeTrtexec(parseTrtexec(section(LEGACY, 'GPU-int8_resnet-50.txt').text))).toContain('| enqueue | 3.879 | 4.061 | — | 5.109 | — |');
    expect(summary).toContain('per-layer profile: 4 layers (table incomplete: no Total row)');
  });
});

describe('parseTrtexec: errors', () => {
  it('rejects a statistics line cut in the middle, at its line', () => {
    const text = '=== Performance summary ===\nThroughput: 347.915 qps\nLatency: min = 2.85596 ms, max =';
    const err = parseError(() => parseTrtexec(text, 'cut.log'));
    expect(err.line).toBe(3);
    expect(err.reason).toBe('malformed "Latency" statistic "max =": expected "min|max|mean|median|percentile(N%) = <ms> ms"');
  });

  it('rejects a malformed legacy statistic and a malformed trace line', () => {
    expect(parseError(() => parseTrtexec('[I] GPU Compute\n[I] min: fast ms')).line).toBe(2);
    expect(parseError(() => parseTrtexec('[I] Average on 10 runs - GPU latency: ms')).reason).toMatch(/malformed trace line/);
  });

  it('rejects garbage and JSON exports given as a log', () => {
    expect(parseError(() => parseTrtexec('no timing here', 'g.log')).reason).toMatch(/no trtexec timing found/);
    expect(() => parseTrtexec(section(FIXTURE, 'mobilenet.qat.onnx.engine.profile.json').text)).toThrow(ParseError);
  });
});

describe('parseTrtexecProfile (--exportProfile JSON)', () => {
  it('reads the full MobileNet QAT profile: count and 73 layers with medians', () => {
    const result = parseTrtexecProfile(section(FIXTURE, 'mobilenet.qat.onnx.engine.profile.json').text, 'profile.json');
    expect(result.count).toBe(6610);
    expect(result.layers).toHaveLength(73);
    expect(result.layers[0]).toEqual({ line: 3, name: 'QuantizeLinear_2', timeMs: 31.3879, averageMs: 0.00474854, medianMs: 0.004544, percentage: 1.00949 });
    expect(result.layers.find((l) => l.name === 'features.15.conv.2.weight + QuantizeLinear_722 + Conv_726 + Add_728')).toMatchObject({
      timeMs: 108.727,
      averageMs: 0.0164488,
      medianMs: 0.016384,
      percentage: 3.49685,
    });
    expect(result.layers[72]).toEqual({
      line: 75,
      name: 'copied_squeeze_after_(Unnamed Layer* 850) [ElementWise]',
      timeMs: 0,
      averageMs: 0,
      medianMs: 0,
      percentage: 0,
    });
    const totalPercent = result.layers.reduce((t, l) => t + l.percentage, 0);
    expect(totalPercent).toBeCloseTo(100, 0);
  });

  it('reads the older schema without medianMs (GoogLeNet on DLA)', () => {
    const result = parseTrtexecProfile(section(FIXTURE, 'googlenet_dla_mark_at_10.profile').text);
    expect(result.count).toBe(11296);
    expect(result.layers.map((l) => l.name)).toEqual([
      'data to nvm',
      result.layers[1]!.name,
      'data copy finish',
      '(Unnamed Layer* 10) [Convolution]_output from nvm',
      '(Unnamed Layer* 10) [Convolution]_output copy finish',
      'prob input reformatter 0',
      'loss3/classifier finish',
      'prob',
    ]);
    expect(result.layers[1]!.name.startsWith('{conv1/7x7_s2,conv1/relu_7x7,pool1/3x3_s2')).toBe(true);
    expect(result.layers[3]).toEqual({ line: 6, name: '(Unnamed Layer* 10) [Convolution]_output from nvm', timeMs: 37847.5, averageMs: 3.35052, percentage: 93.0982 });
    expect(result.layers.every((l) => l.medianMs === undefined)).toBe(true);
  });

  it('rejects the truncated profiles of the fixture, naming the last line', () => {
    for (const needle of ['mobilenet_v2_residuals', 'googlenet_gpu_mark_at_10']) {
      const err = parseError(() => parseTrtexecProfile(section(FIXTURE, needle).text, needle));
      expect(err.reason).toMatch(/^truncated trtexec --exportProfile JSON/);
      expect(err.line).toBe(6);
    }
  });

  it('rejects other JSON (TREx metadata, exportTimes records) and logs', () => {
    expect(() => parseTrtexecProfile(section(FIXTURE, 'profile.metadata.json').text)).toThrow(ParseError);
    expect(parseError(() => parseTrtexecProfile(section('parsers-trtexec-times.txt', 'exportTimes').text)).reason).toBe(
      'layer element 0: "name" should be a string',
    );
    expect(parseError(() => parseTrtexecProfile('[{"name": "a", "timeMs": "1"}]')).reason).toMatch(/"timeMs" should be a number/);
    expect(() => parseTrtexecProfile(section(FIXTURE, 'rpn_centerhead_sim.8503.log').text)).toThrow(/invalid JSON/);
  });

  it('summarizes the heaviest layers', () => {
    const summary = summarizeTrtexecProfile(parseTrtexecProfile(section(FIXTURE, 'googlenet_dla_mark_at_10.profile').text), 1);
    expect(summary).toContain('8 layers over 11296 iterations; sum of layer averages 3.5989 ms');
    expect(summary).toContain('| (Unnamed Layer* 10) [Convolution]_output from nvm | 3.3505 | — | 93.10 |');
  });
});

describe('parseTrtexecTimes (--exportTimes JSON)', () => {
  it('reads per-inference records', () => {
    const result = parseTrtexecTimes(section('parsers-trtexec-times.txt', 'exportTimes').text);
    expect(result.inferences.map((r) => r.latencyMs)).toEqual([0.484512, 0.4704, 0.474944]);
    expect(result.inferences[0]).toEqual({
      startEnqMs: 4.19666,
      endEnqMs: 4.28702,
      startH2dMs: 4.17414,
      endH2dMs: 4.17414,
      startComputeMs: 4.17414,
      endComputeMs: 4.65866,
      startD2hMs: 4.65866,
      endD2hMs: 4.65866,
      h2dMs: 0,
      computeMs: 0.484512,
      d2hMs: 0,
      latencyMs: 0.484512,
    });
    expect(summarizeTrtexecTimes(result)).toBe('3 inferences: latency min 0.4704 / mean 0.4766 / max 0.4845 ms; GPU compute mean 0.4766 ms');
  });

  it('rejects the truncated excerpt of the shared fixture', () => {
    const err = parseError(() => parseTrtexecTimes(section(FIXTURE, 'engine.timing.json').text, 'times.json'));
    expect(err.reason).toMatch(/^truncated trtexec --exportTimes JSON/);
    expect(err.line).toBe(4);
  });
});
