/**
 * `npm run bench:overhead`: how much the runner adds to a decode step.
 *
 * The runner's decode step (OrtPipeline: feeds, KV hand-over, timing events, argmax) is
 * compared with a bare loop of the same session.run calls (embed_tokens, decoder, lm_head) on
 * inputs of the same shapes and the same KV cache lengths. Rounds alternate runner / bare so a
 * slow drift of the machine (thermal, other load) hits both equally.
 *
 * Options (env): OVERHEAD_PRECISION (default int4), OVERHEAD_SCALE (full), OVERHEAD_STEPS (32),
 * OVERHEAD_ROUNDS (6), OVERHEAD_THREADS (physical cores), OVERHEAD_SPIN_STOP (1; 0 = ORT's default spinning).
 */
import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import { loadavg } from 'node:os';
import { createClock } from '../core/clock.ts';
import { harnessOverheadPerStep, stepGaps } from '../core/overhead.ts';
import { summarize } from '../core/stats.ts';
import { ensureModel, type Precision, type Scale } from '../models/zoo.ts';
import { readGeometry } from '../runners/ort/geometry.ts';
import { argmax } from '../runners/ort/inputs.ts';
import { OrtPipeline } from '../runners/ort/pipeline.ts';
import { pipelineSessionOptions } from '../runners/ort/session-options.ts';

const precision = (process.env['OVERHEAD_PRECISION'] ?? 'int4') as Precision;
const scale = (process.env['OVERHEAD_SCALE'] ?? 'full') as Scale;
const steps = Number(process.env['OVERHEAD_STEPS'] ?? 32);
const rounds = Number(process.env['OVERHEAD_ROUNDS'] ?? 6);
const threads = Number(process.env['OVERHEAD_THREADS'] ?? Math.max(1, Math.floor(availableParallelism() / 1)));
const promptTokens = 128;

const built = await ensureModel({ model: 'internvl2_5-1b', scale, precision, layout: 'onnx-community', log: (m) => console.error(m) });
// OVERHEAD_SPIN_STOP=0 measures ORT's default (pools keep spinning after run() returns).
const spinStop = process.env['OVERHEAD_SPIN_STOP'] !== '0';
const options = spinStop ? pipelineSessionOptions(threads) : { ...pipelineSessionOptions(threads), extra: {} };
const embed = await ort.InferenceSession.create(built.files['embed_tokens']!, options);
const decoder = await ort.InferenceSession.create(built.files['decoder_model_merged']!, options);
const lmHead = await ort.InferenceSession.create(built.files['lm_head']!, options);
const clock = createClock();
const geo = readGeometry(decoder, undefined, {}, 'decoder');
const pipeline = new OrtPipeline({ embed, decoder, lmHead }, geo, clock, 'shared');

/**
 * Runner: one request with `steps` decode steps; each step = gap between token arrivals. The
 * same events give, per step, the time spent outside ONNX Runtime's run() calls: the step minus
 * the subgraph events that lie inside it (harnessOverheadPerStep in core/overhead.ts).
 */
const gapTotals = new Map<string, number[]>();

async function runnerSteps(): Promise<{ steps: number[]; outside: number[] }> {
  const rec = await pipeline.run({ images: 0, textTokens: promptTokens, outputTokens: steps + 1, chunkSize: 0, vocab: built.descriptor.llm.vocab, seed: 7 }, 0, false);
  if (rec.error) throw new Error(rec.error);
  const perStep = harnessOverheadPerStep(rec);
  for (const [name, list] of stepGaps(rec)) gapTotals.set(name, [...(gapTotals.get(name) ?? []), ...list]);
  return { steps: perStep.map((s) => s.stepMs), outside: perStep.map((s) => s.outsideMs) };
}

/**
 * Bare loop: prefill once (untimed), then the same three session.run calls and the greedy argmax
 * per step, with the KV cache handled as the runner handles it for zoo models (one shared buffer
 * per layer, passed as past and as the pre-allocated present output, so attention appends in
 * place).
 */
async function bareSteps(): Promise<number[]> {
  const names = Array.from({ length: geo.layers }, (_, i) => [`past_key_values.${i}.key`, `past_key_values.${i}.value`]).flat();
  const capacity = promptTokens + steps + 1;
  const feedsKv: Record<string, ort.Tensor> = {};
  const fetches: Record<string, ort.Tensor | null> = { hidden_states: null };
  for (const n of names) {
    const buffer = new ort.Tensor('float32', new Float32Array(geo.kvHeads * capacity * geo.headDim), [1, geo.kvHeads, capacity, geo.headDim]);
    feedsKv[n] = buffer;
    fetches[n.replace('past_key_values', 'present')] = buffer;
  }
  const ids = new BigInt64Array(promptTokens).fill(42n);
  const emb = (await embed.run({ input_ids: new ort.Tensor('int64', ids, [1, promptTokens]) }))['inputs_embeds'] as ort.Tensor;
  const pos = new BigInt64Array(promptTokens).map((_, i) => BigInt(i));
  await decoder.run(
    {
      inputs_embeds: emb,
      attention_mask: new ort.Tensor('int64', new BigInt64Array(promptTokens).fill(1n), [1, promptTokens]),
      position_ids: new ort.Tensor('int64', pos, [1, promptTokens]),
      ...feedsKv,
    },
    fetches,
  );
  const token = new ort.Tensor('int64', BigInt64Array.of(42n), [1, 1]);
  const times: number[] = [];
  for (let s = 0; s < steps; s++) {
    const t0 = performance.now();
    const total = promptTokens + s + 1;
    const e = (await embed.run({ input_ids: token }))['inputs_embeds'] as ort.Tensor;
    const out = await decoder.run(
      {
        inputs_embeds: e,
        attention_mask: new ort.Tensor('int64', new BigInt64Array(total).fill(1n), [1, total]),
        position_ids: new ort.Tensor('int64', BigInt64Array.of(BigInt(total - 1)), [1, 1]),
        ...feedsKv,
      },
      fetches,
    );
    const logits = (await lmHead.run({ hidden_states: out['hidden_states'] as ort.Tensor }))['logits'] as ort.Tensor;
    // Picking the next token is part of any generation loop, not harness overhead (0.19 ms
    // for a 151674-entry vocabulary on this machine).
    argmax(logits.data as Float32Array, 0, logits.dims[2]!);
    times.push(performance.now() - t0);
  }
  return times;
}

console.error(`model ${built.dir} (${precision}, ${scale}); ${threads} thread(s); spinning stops after run(): ${spinStop}; ${steps} decode steps after a ${promptTokens}-token prompt; ${rounds} alternating rounds`);
await runnerSteps(); // warm-up of both paths
gapTotals.clear();
await bareSteps();
// Per-step times pooled over rounds; medians resist the spikes another process on the machine causes.
const runner: number[] = [];
const outside: number[] = [];
const bare: number[] = [];
const loadBefore = loadavg()[0]!;
for (let r = 0; r < rounds; r++) {
  const a = await runnerSteps();
  const b = await bareSteps();
  runner.push(...a.steps);
  outside.push(...a.outside);
  bare.push(...b);
  console.error(`round ${r + 1}: runner median ${summarize(a.steps, 'ms').median.toFixed(3)} ms/step (outside ORT ${summarize(a.outside, 'ms').median.toFixed(4)}), bare median ${summarize(b, 'ms').median.toFixed(3)} ms/step`);
}
const loadAfter = loadavg()[0]!;
const rs = summarize(runner, 'ms');
const bs = summarize(bare, 'ms');
const os = summarize(outside, 'ms');
const versusBare = ((rs.median - bs.median) / bs.median) * 100;
// Sum over sum: the share of all decode time the harness spent outside run(); the per-step
// median of the same ratio is printed too, as it ignores the rare step another process stalled.
const totalOutside = outside.reduce((s, v) => s + v, 0);
const totalSteps = runner.reduce((s, v) => s + v, 0);
const stepShares = summarize(runner.map((v, i) => (outside[i]! / v) * 100), '%');
console.log(`decode step (embed_tokens + decoder + lm_head), ${rounds} rounds x ${steps} steps, ${threads} thread(s), ${precision} ${scale}; load average (1 min) ${loadBefore.toFixed(2)} -> ${loadAfter.toFixed(2)} on ${availableParallelism()} CPUs:`);
console.log(`  runner (OrtPipeline):  median ${rs.median.toFixed(3)} ms, p90 ${rs.p90.toFixed(3)}, mean ${rs.mean.toFixed(3)}`);
console.log(`  bare session.run loop: median ${bs.median.toFixed(3)} ms, p90 ${bs.p90.toFixed(3)}, mean ${bs.mean.toFixed(3)}`);
console.log(`  in-step: time outside session.run per step median ${os.median.toFixed(4)} ms, p90 ${os.p90.toFixed(4)} ms; per-step share median ${stepShares.median.toFixed(3)}%`);
for (const [name, list] of gapTotals) console.log(`    gap ${name}: median ${summarize(list, 'ms').median.toFixed(4)} ms`);
console.log(`  runner vs bare loop (medians): ${versusBare >= 0 ? '+' : ''}${versusBare.toFixed(2)}% (subject to load drift between rounds; the in-step figure is not)`);
console.log(`harness overhead: ${((totalOutside / totalSteps) * 100).toFixed(3)}% of a decode step (${precision} ${scale}; time outside ONNX Runtime run() calls over step time, target < 1%)`);
for (const s of [embed, decoder, lmHead]) await s.release();
