/**
 * `npm run bench:llama-bindings`: the same GGUF LLM, the same llama.cpp build (node-llama-cpp's
 * CPU build: its prebuilt package, or its local build where one was made), through its two bindings in this suite: node-llama-cpp's own addon (the
 * text cells) and the suite's mtmd addon (the image cells, runners/llamacpp/mtmd-native). Text
 * only: a prefill of the same number of prompt positions and greedy decode steps, requests
 * alternating between the bindings (ABBA) so a drift of the shared machine hits both alike.
 * Prints the medians and their ratio; the machine's load is printed before and after.
 *
 * Options (env): LB_MODEL (internvl2_5-1b), LB_SCALE (tiny), LB_PRECISION (int8), LB_PREFILL
 * (128), LB_STEPS (32 decode steps), LB_ROUNDS (6 per binding), LB_THREADS (1).
 */
import { loadavg } from 'node:os';
import type { Token } from 'node-llama-cpp';
import { createClock } from '../core/clock.ts';
import { summarize } from '../core/stats.ts';
import { GGUF_FILE_SESSION, GGUF_MMPROJ_SESSION } from '../models/gguf/llm.ts';
import { ensureModel, type Precision, type Scale } from '../models/zoo.ts';
import { llamaFor } from '../runners/llamacpp/binding.ts';
import { promptText } from '../runners/llamacpp/image-pipeline.ts';
import { loadMtmdAddon } from '../runners/llamacpp/mtmd-native/addon.ts';
import { resolveLlamaLibrary } from '../runners/llamacpp/mtmd-native/library.ts';

const env = (k: string, d: string): string => process.env[k] ?? d;
const model = env('LB_MODEL', 'internvl2_5-1b');
const scale = env('LB_SCALE', 'tiny') as Scale;
const precision = env('LB_PRECISION', 'int8') as Precision;
const prefill = Number(env('LB_PREFILL', '128'));
const steps = Number(env('LB_STEPS', '32'));
const rounds = Number(env('LB_ROUNDS', '6'));
const threads = Number(env('LB_THREADS', '1'));
const load = (): string => loadavg().map((v) => v.toFixed(2)).join(' ');
const clock = createClock();

const built = await ensureModel({ model, scale, precision, layout: 'gguf', seed: 1234 });
const llm = built.files[GGUF_FILE_SESSION]!;
const mmproj = built.files[GGUF_MMPROJ_SESSION]!;
const contextSize = prefill + steps + 64;

// The suite's addon: text through mtmd's tokeniser (its prompt length sets the node-llama-cpp prompt's).
const library = resolveLlamaLibrary('auto');
const { addon } = await loadMtmdAddon(library);
const session = await addon.open({ model: llm, mmproj, nCtx: contextSize, nBatch: contextSize, nThreads: threads });
const text = promptText(prefill, 1234);
const positions = (await session.prepare(text, [])).reduce((n, c) => n + c.nTokens, 0);

const llama = await llamaFor(library);
const nlcModel = await llama.loadModel({ modelPath: llm, gpuLayers: 0 });
const nlcContext = await nlcModel.createContext({ contextSize, batchSize: contextSize, sequences: 1, flashAttention: false, threads: { ideal: threads, min: threads } });
const sequence = nlcContext.getSequence();
const promptIds = nlcModel.tokenize(text) as Token[];
// The same number of positions as the addon's prompt (mtmd may add a BOS token).
while (promptIds.length < positions) promptIds.unshift(promptIds[0]!);
promptIds.length = positions;

interface Times {
  prefillMs: number;
  decodeMsPerToken: number;
}

async function viaAddon(): Promise<Times> {
  session.reset();
  await session.prepare(text, []);
  const t0 = clock.now();
  await session.prefill();
  const t1 = clock.now();
  for (let i = 0; i < steps; i++) await session.step();
  return { prefillMs: t1 - t0, decodeMsPerToken: (clock.now() - t1) / steps };
}

const GREEDY = { generateNext: { token: true, options: { temperature: 0 } } } as const;
async function viaNodeLlamaCpp(): Promise<Times> {
  await sequence.clearHistory();
  const input = promptIds.map((t, i) => (i === promptIds.length - 1 ? ([t, GREEDY] as [Token, typeof GREEDY]) : t));
  const t0 = clock.now();
  const out = await sequence.controlledEvaluate(input);
  const t1 = clock.now();
  let token = out[promptIds.length - 1]!.next!.token!;
  for (let i = 0; i < steps; i++) token = (await sequence.controlledEvaluate([[token, GREEDY]]))[0]!.next!.token!;
  return { prefillMs: t1 - t0, decodeMsPerToken: (clock.now() - t1) / steps };
}

process.stderr.write(`${model} ${scale} ${precision}, ${positions} prompt positions, ${steps} decode steps, ${threads} thread(s), ${rounds} rounds per binding; load before: ${load()}\n`);
process.stderr.write(`llama.cpp: ${addon.systemInfo().trim()}\n`);
// One warm-up request each, not counted.
await viaAddon();
await viaNodeLlamaCpp();
const addonTimes: Times[] = [];
const nlcTimes: Times[] = [];
for (let r = 0; r < rounds; r++) {
  // ABBA: the order alternates every round.
  if (r % 2 === 0) {
    addonTimes.push(await viaAddon());
    nlcTimes.push(await viaNodeLlamaCpp());
  } else {
    nlcTimes.push(await viaNodeLlamaCpp());
    addonTimes.push(await viaAddon());
  }
}
const median = (xs: number[]) => summarize(xs, 'ms').median;
const row = (name: string, a: number[], b: number[]) => {
  const [ma, mb] = [median(a), median(b)];
  return `| ${name} | ${mb.toFixed(3)} | ${ma.toFixed(3)} | ${(ma / mb).toFixed(2)} |`;
};
console.log(`| median (${rounds} requests each) | node-llama-cpp addon | suite's mtmd addon | mtmd addon / node-llama-cpp |`);
console.log('| :-- | --: | --: | --: |');
console.log(row(`prefill ms (${positions} positions)`, addonTimes.map((t) => t.prefillMs), nlcTimes.map((t) => t.prefillMs)));
console.log(row('decode ms/token', addonTimes.map((t) => t.decodeMsPerToken), nlcTimes.map((t) => t.decodeMsPerToken)));
process.stderr.write(`load after: ${load()}\n`);
session.close();
await nlcContext.dispose();
await nlcModel.dispose();
