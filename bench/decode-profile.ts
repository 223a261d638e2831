/**
 * `npm run bench:decode-profile`: where a decode step of the ORT pipeline goes, operator by
 * operator, and how fast its weight matmuls stream against the machine's calibration.
 *
 * InternVL2.5-1B's LLM (Qwen2.5-0.5B, synthetic random weights, full scale) runs a 128-token
 * prompt and 32 decode steps through OrtPipeline (the `ort` runner's pipeline) with ONNX
 * Runtime's profiler on every session; runners/ort/decode-breakdown.ts joins the profiles with
 * the pipeline's events so each millisecond of a step lands in one row (kernels per operator
 * type and graph, ORT's executor around them, the binding, the host between runs). The same
 * model also runs without the profiler, interleaved round by round, so the profiler's own cost
 * shows as the ratio of the two steps.
 *
 * Options (env): DECODE_PRECISION (int8,int4), DECODE_SCALE (full), DECODE_PREFILL (128),
 * DECODE_OUTPUT (33 tokens = 32 decode steps), DECODE_ROUNDS (4 requests each after 1 warm-up),
 * DECODE_THREADS (physical cores), DECODE_LM_HEAD (separate; merged = the head inside the decoder),
 * DECODE_VARIANTS (default; a comma list of default, rope-nodes, rope-attention: builds with
 * those operator forms, all interleaved in one process, TPOT ratios against the first).
 */
import { cpus, hostname, loadavg } from 'node:os';
import * as ort from 'onnxruntime-node';
import { createClock } from '../core/clock.ts';
import type { IterationRecord } from '../core/events.ts';
import { iterationMetrics } from '../core/metrics.ts';
import { summarize } from '../core/stats.ts';
import { captureLocalEnvironment } from '../harness/environment.ts';
import { machineIdentity } from '../models/accuracy-gate.ts';
import { decodeLinears, onnxLinearBytes } from '../models/weight-bytes.ts';
import type { LanguageModel } from '../models/descriptors.ts';
import { DEFAULT_LINEAR_OPTIONS, type LinearOptions } from '../models/layers/linear.ts';
import { ensureModel, getDescriptor, type Precision, type Scale } from '../models/zoo.ts';
import { cellBounds } from '../roofline/bounds.ts';
import { findCalibration } from '../roofline/calibrate/store.ts';
import { decodeStepBreakdown, type DecodeBreakdown } from '../runners/ort/decode-breakdown.ts';
import { readGeometry } from '../runners/ort/geometry.ts';
import { OrtPipeline, type PipelineSessions } from '../runners/ort/pipeline.ts';
import { CellProfiler } from '../runners/ort/profiling.ts';
import { pipelineSessionOptions } from '../runners/ort/session-options.ts';

const env = (k: string, d: string): string => process.env[k] ?? d;
const precisions = env('DECODE_PRECISION', 'int8,int4').split(',').map((p) => p.trim() as Precision);
const scale = env('DECODE_SCALE', 'full') as Scale;
const prefill = Number(env('DECODE_PREFILL', '128'));
const outputTokens = Number(env('DECODE_OUTPUT', '33'));
const rounds = Number(env('DECODE_ROUNDS', '4'));
const lmHeadMode = env('DECODE_LM_HEAD', 'separate') as 'separate' | 'merged';
const environment = await captureLocalEnvironment();
const threads = Number(env('DECODE_THREADS', String(Math.max(1, environment.host.physicalCores))));
const model = 'internvl2_5-1b';

const load = (): string => loadavg().map((v) => v.toFixed(2)).join(' ');
const fmt = (v: number, d = 2): string => (Number.isFinite(v) ? v.toFixed(d) : '–');
const clock = createClock();

/** The weight matmul operators of the zoo's forms (models/layers/linear.ts). */
const MATMUL_OPS = new Set(['MatMul', 'DynamicQuantizeMatMul', 'MatMulInteger', 'MatMulNBits']);

async function openPipeline(files: Record<string, string>, profiler: CellProfiler | null) {
  const options = pipelineSessionOptions(threads);
  const open = (name: string) => ort.InferenceSession.create(files[name]!, { ...options, ...profiler?.options(name) });
  const sessions: PipelineSessions = { embed: await open('embed_tokens'), decoder: await open('decoder_model_merged') };
  if (files['lm_head']) sessions.lmHead = await open('lm_head');
  const geo = readGeometry(sessions.decoder, undefined, {}, files['decoder_model_merged']!);
  return { sessions, pipeline: new OrtPipeline(sessions, geo, clock, 'shared') };
}

function check(rec: IterationRecord): IterationRecord {
  if (rec.error) throw new Error(rec.error);
  return rec;
}

const calibration = findCalibration({ target: 'local', host: hostname() }).calibration;
console.log(`# Decode step of the ORT pipeline by operator, ${model} LLM (${scale}, SYNTHETIC random weights), ${prefill}-token prompt, ${outputTokens - 1} decode steps, lm_head ${lmHeadMode}`);
console.log(`CPU ${cpus()[0]?.model ?? '?'}; kernel flags: ${machineIdentity().flags.join(' ') || 'none'}; ONNX Runtime ${ort.env.versions.common ?? '?'}; ${threads} intra-op thread(s); load average ${load()} at start`);
console.log(
  calibration
    ? `calibration ${calibration.createdAt}: read ${fmt(calibration.bandwidth.read?.value ?? NaN)} GB/s; batch-1 weight stream ${Object.entries(calibration.weightStream ?? {}).map(([k, f]) => `${k} ${fmt(f?.value ?? NaN)} GB/s`).join(', ')}`
    : 'no calibration of this machine (run `bench calibrate`): no bounds',
);

/** A build of the same model to compare: the zoo's defaults, or other operator forms. */
interface Variant {
  label: string;
  opForms: Partial<Omit<LinearOptions, 'precision' | 'seed'>>;
}
const variants: Variant[] = env('DECODE_VARIANTS', 'default')
  .split(',')
  .map((v) => v.trim())
  .map((v) => {
    if (v === 'default') return { label: `zoo default (RoPE ${DEFAULT_LINEAR_OPTIONS.ropeForm})`, opForms: {} };
    const rope = /^rope-(nodes|attention)$/.exec(v);
    if (!rope) throw new Error(`DECODE_VARIANTS: unknown variant "${v}" (default, rope-nodes, rope-attention)`);
    return { label: `RoPE ${rope[1]}`, opForms: { ropeForm: rope[1] as 'nodes' | 'attention' } };
  });

for (const precision of precisions) {
  type Side = { variant: Variant; profiler: CellProfiler; profiled: Awaited<ReturnType<typeof openPipeline>>; plain: Awaited<ReturnType<typeof openPipeline>>; profiledRecords: IterationRecord[]; plainRecords: IterationRecord[] };
  const sides: Side[] = [];
  let llm: LanguageModel | undefined;
  for (const variant of variants) {
    const built = await ensureModel({ model, scale, precision, layout: 'onnx-community', lmHead: lmHeadMode, opForms: variant.opForms, log: (m) => process.stderr.write(`${m}\n`) });
    llm = built.descriptor.llm;
    const profiler = new CellProfiler();
    sides.push({ variant, profiler, profiled: await openPipeline(built.files, profiler), plain: await openPipeline(built.files, null), profiledRecords: [], plainRecords: [] });
  }
  const shape = { images: 0, textTokens: prefill, outputTokens, chunkSize: 0, vocab: llm!.vocab, seed: 7 };
  const loadBefore = load();
  // Every pipeline (each variant with and without the profiler) once per round, the order
  // reversed every other round, so a drift of the shared machine hits all alike.
  const runs = sides.flatMap((s) => [
    { pipeline: s.profiled.pipeline, records: s.profiledRecords },
    { pipeline: s.plain.pipeline, records: s.plainRecords },
  ]);
  for (const r of runs) r.records.push(check(await r.pipeline.run(shape, 0, true)));
  for (let round = 1; round <= rounds; round++) {
    for (const r of round % 2 === 1 ? runs : [...runs].reverse()) r.records.push(check(await r.pipeline.run(shape, round, false)));
  }
  const loadAfter = load();
  const tpots = (records: IterationRecord[]) => records.filter((r) => !r.warmup).map((r) => iterationMetrics(r).tpot_ms ?? NaN);
  for (const side of sides) {
    for (const s of Object.values(side.plain.sessions)) await s?.release();
    const { embed, decoder, lmHead } = side.profiled.sessions;
    const profiles = side.profiler.profiles({ embed_tokens: embed, decoder_model_merged: decoder, lm_head: lmHead });
    for (const s of Object.values(side.profiled.sessions)) await s?.release();
    const plain = summarize(tpots(side.plainRecords).filter(Number.isFinite), 'ms').median;
    const profiled = summarize(tpots(side.profiledRecords).filter(Number.isFinite), 'ms').median;
    printBreakdown(precision, side.variant.label, decodeStepBreakdown(side.profiledRecords, profiles), llm!, plain, profiled, `${loadBefore} -> ${loadAfter}`);
  }
  if (sides.length > 1) {
    const base = tpots(sides[0]!.plainRecords);
    console.log(`\n${precision}: TPOT against ${sides[0]!.variant.label} (without the profiler), median of per-round ratios over ${rounds} rounds:`);
    for (const side of sides.slice(1)) {
      const ratio = summarize(tpots(side.plainRecords).map((t, i) => t / base[i]!).filter(Number.isFinite), 'ratio');
      console.log(`  ${side.variant.label}: ${fmt(ratio.median, 3)}x (min ${fmt(ratio.min, 3)}, max ${fmt(ratio.max, 3)})`);
    }
  }
}
console.log(`\nload average (1, 5, 15 min) at end: ${load()} — a shared machine: read shares and ratios, not absolute times`);

function printBreakdown(precision: Precision, label: string, b: DecodeBreakdown, llm: LanguageModel, plainMs: number, profiledMs: number, loads: string): void {
  const linears = decodeLinears(llm);
  const headBytes = onnxLinearBytes(linears[linears.length - 1]!, precision);
  const layerBytes = linears.slice(0, -1).reduce((s, l) => s + onnxLinearBytes(l, precision), 0);
  console.log(`\n## ${precision}, ${label} (${b.steps} decode steps over ${rounds} requests; load average ${loads})\n`);
  console.log(`TPOT median: ${fmt(plainMs)} ms without the profiler, ${fmt(profiledMs)} ms with it (the table: mean step ${fmt(b.stepMs)} ms with the profiler)`);
  if (calibration) {
    const bounds = cellBounds(getDescriptor(model, scale), { images: 0, promptTokens: prefill, outputTokens, precision, chunkSize: 0 }, calibration);
    const bound = bounds.decode?.boundMs ?? NaN;
    const ceiling = bounds.decode?.kernelMs ?? NaN;
    console.log(`memory bound ${fmt(bound)} ms/token -> ${fmt((bound / plainMs) * 100, 1)}% of it reached; ORT decode kernel ceiling ${fmt(ceiling)} ms -> ${fmt((ceiling / plainMs) * 100, 1)}% of it reached (without the profiler)`);
  }
  console.log('\n| graph | operator / time outside kernels | ms per step | % of step | calls per step |');
  console.log('| :-- | :-- | --: | --: | --: |');
  for (const r of b.rows) {
    if (r.msPerStep < 0.005) continue;
    console.log(`| ${r.graph} | ${r.item} | ${fmt(r.msPerStep, 3)} | ${fmt(r.share * 100, 1)}% | ${r.kind === 'kernel' ? fmt(r.callsPerStep, 0) : ''} |`);
  }
  const small = b.rows.filter((r) => r.msPerStep < 0.005);
  if (small.length) console.log(`| | ${small.length} more rows under 0.005 ms | ${fmt(small.reduce((s, r) => s + r.msPerStep, 0), 3)} | | |`);
  const matmulMs = (graph: string) => b.rows.filter((r) => r.graph === graph && r.kind === 'kernel' && MATMUL_OPS.has(r.item)).reduce((s, r) => s + r.msPerStep, 0);
  const read = calibration?.bandwidth.read?.value;
  const stream = calibration?.weightStream?.[precision === 'fp16' ? 'fp32' : precision]?.value;
  const rate = (bytes: number, ms: number) => `${fmt(bytes / 1e6, 1)} MB in ${fmt(ms, 3)} ms = ${fmt(bytes / (ms / 1000) / 1e9)} GB/s${read ? ` (${fmt(((bytes / (ms / 1000) / 1e9) / read) * 100, 0)}% of read bandwidth` : ''}${stream ? `, ${fmt(((bytes / (ms / 1000) / 1e9) / stream) * 100, 0)}% of the calibrated weight stream)` : read ? ')' : ''}`;
  const inDecoder = matmulMs('decoder_model_merged');
  const inHead = matmulMs('lm_head');
  console.log(`\nweight matmul kernels: decoder layers ${rate(layerBytes + (inHead > 0 ? 0 : headBytes), inDecoder)}${inHead > 0 ? `; lm_head ${rate(headBytes, inHead)}` : ''}`);
}
