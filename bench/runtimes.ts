/**
 * `npm run bench:runtimes`: the same LLM on the two in-process runtimes, side by side.
 *
 * InternVL2.5-1B's LLM (Qwen2.5-0.5B, synthetic random weights, full scale by default) runs a
 * 128-token prefill and a greedy decode on ONNX Runtime (the zoo's ONNX build, `ort` runner) and
 * on llama.cpp (the zoo's GGUF build, `llamacpp` runner, node-llama-cpp 3.21.1 CPU), with the
 * same prompt ids and thread count. Requests alternate between the runtimes, in ABBA order, so
 * a drift of the (shared) machine hits both alike. Each phase is set against this machine's
 * calibrated memory-bandwidth bound for the weight form each runtime reads (ONNX int4 = 5
 * bits/weight, Q4_0 = 4.5; int8 = 8 + a scale per row, Q8_0 = 8.5).
 *
 * Options (env): RUNTIMES_PRECISION (int4; int8, fp16, fp32, or a comma list), RUNTIMES_SCALE
 * (full), RUNTIMES_PREFILL (128), RUNTIMES_OUTPUT (33 tokens = 32 decode steps), RUNTIMES_ROUNDS
 * (6 requests per runtime), RUNTIMES_THREADS (physical cores), RUNTIMES_MODEL (internvl2_5-1b),
 * RUNTIMES_IMAGES (0; with N > 0 each request carries N synthetic frames: ORT encodes them with
 * the ONNX vision encoder, llama.cpp with the zoo's mmproj in mtmd through @fugood/llama.node,
 * and the image encoding is set side by side against its bound), RUNTIMES_MMPROJ (the precision's
 * default mmproj form; a comma list of F32, F16, Q8_0 runs one llama.cpp side per form, e.g.
 * `F16,Q8_0` to set llama.cpp's 8-bit vision tower beside ORT's int8 encoder).
 */
import { cpus, hostname, loadavg } from 'node:os';
import { createClock } from '../core/clock.ts';
import { captureLocalEnvironment } from '../harness/environment.ts';
import type { IterationRecord } from '../core/events.ts';
import type { PreparedCell, Runner } from '../core/runner.ts';
import { summarize } from '../core/stats.ts';
import type { Suite } from '../core/suite-types.ts';
import { calibrate } from '../roofline/calibrate/calibrate.ts';
import { findCalibration, saveCalibration } from '../roofline/calibrate/store.ts';
import { GGUF_WEIGHT_TYPE } from '../models/gguf/llm.ts';
import { decodeWeightBytesPerToken, weightFormLabel } from '../models/weight-bytes.ts';
import { getDescriptor, type Precision, type Scale } from '../models/zoo.ts';
import { iterationMetrics } from '../core/metrics.ts';
import { cellBounds, decodeCeilingKernel, runtimeKernelRate } from '../roofline/bounds.ts';
import { runtimeGapVerdict } from './runtime-gap.ts';
import { beatsLimit } from '../roofline/rows.ts';
import { machineIdentity } from '../models/accuracy-gate.ts';
import { llamaCppRunner } from '../runners/llamacpp/index.ts';
import { ortRunner } from '../runners/ort/index.ts';
import { parseMmprojType, type MmprojWeightType } from '../models/gguf/mmproj.ts';

const env = (k: string, d: string): string => process.env[k] ?? d;
const model = env('RUNTIMES_MODEL', 'internvl2_5-1b');
const scale = env('RUNTIMES_SCALE', 'full') as Scale;
const precisions = env('RUNTIMES_PRECISION', 'int4').split(',').map((p) => p.trim() as Precision);
const prefill = Number(env('RUNTIMES_PREFILL', '128'));
const outputTokens = Number(env('RUNTIMES_OUTPUT', '33'));
const rounds = Number(env('RUNTIMES_ROUNDS', '6'));
const images = Number(env('RUNTIMES_IMAGES', '0'));
const mmprojForms: Array<MmprojWeightType | undefined> = process.env['RUNTIMES_MMPROJ']
  ? process.env['RUNTIMES_MMPROJ'].split(',').map((t) => parseMmprojType(t.trim(), 'RUNTIMES_MMPROJ'))
  : [undefined];
const environment = await captureLocalEnvironment();
const threads = Number(env('RUNTIMES_THREADS', String(Math.max(1, environment.host.physicalCores))));

const log = (m: string): void => {
  process.stderr.write(`${m}\n`);
};
const load = (): string => loadavg().map((v) => v.toFixed(2)).join(' ');
const clock = createClock();

function suiteFor(runner: string, mmprojType?: MmprojWeightType): Suite {
  return {
    ...(mmprojType ? { options: { mmprojType } } : {}),
    name: 'bench-runtimes',
    model: { zoo: model, scale, seed: 1234 },
    target: 'local',
    runner,
    defaults: { warmup: 1, iterations: rounds, outputTokens },
    matrix: { prefill: [prefill] },
  };
}

async function prepare(runner: Runner, precision: Precision, mmprojType?: MmprojWeightType): Promise<PreparedCell> {
  const cell = { id: `${runner.name}:${precision}`, index: 0, params: { prefill, precision, images } };
  return runner.prepare(cell, suiteFor(runner.name, mmprojType), { clock, threads, log });
}

function check(rec: IterationRecord, who: string): IterationRecord {
  if (rec.error) throw new Error(`${who}: ${rec.error}`);
  return rec;
}

const fmt = (v: number, d = 1): string => (Number.isFinite(v) ? v.toFixed(d) : '–');

/** The machine's calibration: the saved one for this host, else measured now (about 20 s) and saved. */
async function machineCalibration() {
  const found = findCalibration({ target: 'local', host: hostname() });
  if (found.calibration) return { calibration: found.calibration, where: `saved ${found.path} (${found.calibration.createdAt})` };
  log('no calibration of this machine: measuring bandwidth and matmul peaks (about 20 s)');
  const c = await calibrate({ target: 'local', log });
  return { calibration: c, where: `measured now, saved ${saveCalibration(c)}` };
}

const { calibration, where } = await machineCalibration();
const descriptor = getDescriptor(model, scale);
const loadAtStart = load();
console.log(`# ONNX Runtime vs llama.cpp, ${model} ${images > 0 ? `(${images} image(s) per request)` : 'LLM'} (${scale}, SYNTHETIC random weights), ${prefill}-token prefill, ${outputTokens - 1} decode steps`);
console.log(`CPU ${cpus()[0]?.model ?? '?'}; kernel flags: ${machineIdentity().flags.join(' ') || 'none'}; load average ${loadAtStart} at start`);
console.log(`host ${hostname()}, ${cpus().length} logical CPUs (${environment.host.physicalCores} physical), ${threads} thread(s) per runtime; ${rounds} requests per runtime after 1 warm-up, interleaved ABBA`);
console.log(`calibration: ${where}; read bandwidth ${fmt(calibration.bandwidth.read?.value ?? NaN, 2)} GB/s (load average then: ${calibration.loadAverage?.before.map((v) => v.toFixed(1)).join(' ') ?? '?'})`);

for (const precision of precisions) {
  log(`preparing ${precision} (builds the models on first use)`);
  const ort = await prepare(ortRunner, precision);
  const llamas: PreparedCell[] = [];
  for (const form of mmprojForms) llamas.push(await prepare(llamaCppRunner, precision, form));
  const llama = llamas[0]!;
  const sides = [
    { name: 'ort', prepared: ort, records: [] as IterationRecord[], form: 'onnx' as const, boundsFormat: precision as string },
    ...llamas.map((prepared) => ({
      name: mmprojForms.length > 1 ? `llamacpp (mmproj ${String(prepared.settings['mmprojType'])})` : 'llamacpp',
      prepared,
      records: [] as IterationRecord[],
      form: 'gguf' as const,
      boundsFormat: GGUF_WEIGHT_TYPE[precision].toLowerCase(),
    })),
  ];
  try {
    for (const s of sides) check(await s.prepared.runIteration(0, true), s.name);
    for (let r = 0; r < rounds; r++) {
      // ABBA: ort, llama, llama, ort, ...
      const order = r % 2 === 0 ? sides : [...sides].reverse();
      for (const s of order) s.records.push(check(await s.prepared.runIteration(r + 1, false), s.name));
    }
  } finally {
    await ort.close();
    for (const l of llamas) await l.close();
  }

  console.log(`\n## ${precision}: ONNX ${weightFormLabel(precision, 'onnx')} vs GGUF ${weightFormLabel(precision, 'gguf')}\n`);
  console.log('| runtime | weight bytes/token | prefill ms (median, min) | prefill bound | % of bound | kernel ceiling (% of it) | TPOT ms (median, min) | decode bound | % of bound | kernel ceiling (% of it) | TTFT ms |');
  console.log('| :-- | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: |');
  const phaseStats = (records: IterationRecord[], k: 'prefill_ms' | 'tpot_ms' | 'ttft_ms' | 'image_encode_ms') => summarize(records.map((r) => iterationMetrics(r)[k] ?? NaN).filter(Number.isFinite), 'ms');
  // Faster than a limit beyond the interval of the median: the limit is wrong, not >100% of it.
  const percent = (limit: number, stats: ReturnType<typeof phaseStats>, what: string): string => (beatsLimit(stats, limit) ? `${what} is wrong` : `${fmt((limit / stats.median) * 100)}%`);
  // A runtime's ceiling: its own kernels' calibrated rates. The calibration times ONNX Runtime's kernels only.
  const ceiling = (ms: number | null | undefined, stats: ReturnType<typeof phaseStats>, runtime: string): string =>
    ms == null ? (runtime === 'ort' ? 'not calibrated' : 'not calibrated (the calibration times ONNX Runtime kernels)') : `${fmt(ms, 2)} (${percent(ms, stats, 'ceiling')})`;
  for (const s of sides) {
    const pre = phaseStats(s.records, 'prefill_ms');
    const tpot = phaseStats(s.records, 'tpot_ms');
    const ttft = phaseStats(s.records, 'ttft_ms');
    const bounds = cellBounds(descriptor, { images: 0, promptTokens: prefill, outputTokens, precision: s.boundsFormat, chunkSize: 0 }, calibration);
    const pb = bounds.prefill.boundMs ?? NaN;
    const db = bounds.decode?.boundMs ?? NaN;
    const bytes = decodeWeightBytesPerToken(descriptor.llm, precision, s.form);
    const rate = bounds.prefill.computeRates[0];
    console.log(
      `| ${s.name} | ${fmt(bytes / 1e6)} MB | ${fmt(pre.median)}, ${fmt(pre.min)} | ${fmt(pb, 2)} (${bounds.prefill.limitedBy ?? '?'}${rate ? `, ${rate.precision} at ${fmt(rate.gops, 0)} G op/s via ${rate.figure}` : ''}) | ${percent(pb, pre, 'bound')} | ${ceiling(bounds.prefill.kernelMs, pre, s.name)} | ` +
        `${fmt(tpot.median, 2)}, ${fmt(tpot.min, 2)} | ${fmt(db, 2)} (${bounds.decode?.limitedBy ?? '?'}) | ${percent(db, tpot, 'bound')} | ${ceiling(bounds.decode?.kernelMs, tpot, s.name)} | ${fmt(ttft.median)} |`,
    );
  }
  // The kernel that holds ORT's decode ceiling, so a decode short of the bound but at its ceiling names its cause.
  const ortBounds = cellBounds(descriptor, { images: 0, promptTokens: prefill, outputTokens, precision, chunkSize: 0 }, calibration);
  const held = decodeCeilingKernel(ortBounds.format.weightCompute, calibration);
  const ortCeiling = ortBounds.decode?.kernelMs;
  if (held && ortCeiling && ortBounds.decode?.boundMs) {
    console.log(
      `\nORT decode ceiling: ${held.method} streams ${fmt(held.gbps, 2)} GB/s of weights (${held.figure}${held.shareOfRead !== null ? `, ${fmt(held.shareOfRead * 100)}% of read bandwidth` : ''}), so ORT decode reaches at most ${fmt((ortBounds.decode.boundMs / ortCeiling) * 100)}% of the decode bound on this machine`,
    );
  }
  type Side = (typeof sides)[0];
  type RatioMetric = 'prefill_ms' | 'tpot_ms' | 'image_encode_ms';
  const [ortSide, llamaSide] = sides as [Side, Side];
  /** Per-round ratios of one side's figure to another's (the sides ran interleaved, round by round). */
  const perRoundRatio = (num: Side, den: Side, k: RatioMetric) => {
    const d = den.records.map(iterationMetrics);
    return summarize(num.records.map(iterationMetrics).map((x, i) => (x[k] ?? NaN) / (d[i]![k] ?? NaN)).filter(Number.isFinite), 'ratio');
  };
  const ratio = (k: RatioMetric) => perRoundRatio(llamaSide, ortSide, k);
  const prefillKernel = runtimeKernelRate('weight matmuls', ortBounds.format.weightCompute, calibration);
  const gaps = [
    {
      phase: 'prefill' as const,
      metric: 'prefill_ms' as const,
      ceilingMs: ortBounds.prefill.kernelMs,
      kernel: prefillKernel ? { figure: prefillKernel.figure, rate: `${fmt(prefillKernel.gops, 0)} G op/s`, method: prefillKernel.method } : null,
    },
    {
      phase: 'decode' as const,
      metric: 'tpot_ms' as const,
      ceilingMs: ortBounds.decode?.kernelMs ?? null,
      kernel: held ? { figure: held.figure, rate: `${fmt(held.gbps, 2)} GB/s of weights at batch 1`, method: held.method } : null,
    },
  ];
  console.log('\nWhere ORT is slower than llama.cpp, the kernel that prevents it:');
  for (const g of gaps) {
    const verdict = runtimeGapVerdict({
      phase: g.phase,
      ratio: ratio(g.metric),
      ortMedianMs: phaseStats(ortSide.records, g.metric).median,
      llamaMedianMs: phaseStats(llamaSide.records, g.metric).median,
      ortCeilingMs: g.ceilingMs,
      kernel: g.kernel,
    });
    console.log(`- ${verdict}`);
  }
  if (images > 0) {
    for (const s of sides.slice(2)) {
      const r = perRoundRatio(s, sides[1]!, 'image_encode_ms');
      console.log(`\n${s.name} / ${sides[1]!.name}, image encode, median of per-round ratios: ${fmt(r.median, 2)}x (min ${fmt(r.min, 2)}, max ${fmt(r.max, 2)})`);
    }
    console.log(`\n| runtime | image encode ms (median, min) | image encode bound | % of bound | image tokens | prompt tokens | build SIMD |`);
    console.log('| :-- | --: | --: | --: | --: | --: | :-- |');
    for (const s of sides) {
      const enc = phaseStats(s.records, 'image_encode_ms');
      const visionPrecision = s.prepared.model.visionPrecision;
      const bounds = cellBounds(descriptor, { images, promptTokens: prefill + images * descriptor.imageTokensPerTile, outputTokens, precision: s.boundsFormat, chunkSize: 0, ...(visionPrecision ? { visionPrecision } : {}) }, calibration);
      const eb = bounds.imageEncode?.boundMs ?? NaN;
      const simd = s.name === 'ort' ? 'ONNX Runtime (MLAS dispatch)' : `${String(s.prepared.settings['llamaBuildSimd'])}${s.prepared.settings['llamaBuildMissingSimd'] ? ` (lacks ${String(s.prepared.settings['llamaBuildMissingSimd'])}: NOT the machine's speed)` : ''}`;
      console.log(`| ${s.name} | ${fmt(enc.median)}, ${fmt(enc.min)} | ${fmt(eb, 1)} (${bounds.imageEncode?.limitedBy ?? '?'}) | ${percent(eb, enc, 'bound')} | ${s.records[0]!.imageTokens} | ${s.records[0]!.promptTokens} | ${simd} |`);
    }
  }
  console.log(`\nllama.cpp / ORT, median of per-round ratios: prefill ${fmt(ratio('prefill_ms').median, 2)}x, TPOT ${fmt(ratio('tpot_ms').median, 2)}x${images > 0 ? `, image encode ${fmt(ratio('image_encode_ms').median, 2)}x` : ''}`);
  console.log(`llama.cpp: ${String(llama.settings['binding'])}${llama.settings['llamaCppRelease'] ? `, ${String(llama.settings['llamaCppRelease'])}` : ''}, flash attention ${String(llama.settings['flashAttention'])}${llama.settings['kvCacheType'] ? `, KV ${String(llama.settings['kvCacheType'])}` : ''}; ${String(llama.settings['llamaSystemInfo'])}`);
  console.log(`ORT: ${String(ort.settings['kvCache'])}, intra-op threads ${String(ort.settings['intraOpNumThreads'])}`);
}
console.log(`\nload average (1, 5, 15 min): ${loadAtStart} at start, ${load()} at end — a shared machine: read ratios, not absolute times`);
