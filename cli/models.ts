import type { Command } from 'commander';
import { InputError } from '../core/errors.ts';
import { accuracyGate, decodeGateRequest, type GateProcessAnswer } from '../models/accuracy-gate.ts';
import { checkPrecisions, formatCheckReport } from '../models/check.ts';
import { ensureModel, LAYOUTS, listZoo, PRECISIONS, SCALES, getDescriptor, type Layout, type Precision, type Scale } from '../models/zoo.ts';

function oneOf<T extends string>(what: string, valid: readonly T[]) {
  return (value: string): T => {
    if (!(valid as readonly string[]).includes(value)) {
      throw new InputError(`unknown ${what} "${value}"; valid ${what}s: ${valid.join(', ')}`);
    }
    return value as T;
  };
}

/** GGUF type names accepted for --precision with --format gguf (the zoo's precisions map onto them). */
const GGUF_PRECISION_NAMES: Record<string, Precision> = { f32: 'fp32', f16: 'fp16', q8_0: 'int8', q4_0: 'int4' };

function buildPrecision(value: string): Precision {
  const v = value.toLowerCase();
  if (GGUF_PRECISION_NAMES[v]) return GGUF_PRECISION_NAMES[v];
  if ((PRECISIONS as readonly string[]).includes(v)) return v as Precision;
  throw new InputError(`unknown precision "${value}"; valid precisions: ${PRECISIONS.join(', ')} (GGUF: ${Object.keys(GGUF_PRECISION_NAMES).join(', ')})`);
}

const FORMATS = ['onnx', 'gguf'] as const;

function precisionList(value: string): Precision[] {
  return value.split(',').map((p) => oneOf('precision', PRECISIONS)(p.trim()));
}

function seedOption(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InputError(`--seed expects a non-negative integer, got "${value}"`);
  return n;
}

const log = (msg: string): void => {
  process.stderr.write(`${msg}\n`);
};

/** `models build | list | check`: synthesise zoo models, list them, compare precisions. */
export function registerModelsCommand(program: Command): void {
  const models = program.command('models').description('Synthetic model zoo: real architectures as ONNX with random weights.');

  models
    .command('list')
    .description('List the architectures the zoo can build.')
    .action(() => {
      for (const m of listZoo()) {
        const d = getDescriptor(m.id, 'full');
        process.stdout.write(
          `${m.id.padEnd(16)} ${m.description}\n${''.padEnd(17)}vision ${d.vision.layers}L/${d.vision.hidden} @${d.vision.imageSize}px, ` +
            `${d.imageTokensPerTile} tokens/tile, LLM ${d.llm.layers}L/${d.llm.hidden} vocab ${d.llm.vocab}\n`,
        );
      }
    });

  models
    .command('build')
    .description('Build (or find in the cache) a synthetic model; prints its folder.')
    .argument('<model>', `zoo id (${listZoo().map((m) => m.id).join(', ')})`)
    .option('--precision <p>', `one of ${PRECISIONS.join(', ')}; with --format gguf also f16, q8_0, q4_0 (int8 = Q8_0, int4 = Q4_0, fp16 = F16)`, buildPrecision, 'fp32' as Precision)
    .option('--scale <s>', `one of ${SCALES.join(', ')}`, oneOf('scale', SCALES), 'full' as Scale)
    .option('--format <f>', 'onnx (default) or gguf: the LLM alone as a llama.cpp GGUF file (same layout as --layout gguf)', oneOf('format', FORMATS))
    .option('--layout <l>', `one of ${LAYOUTS.join(', ')}`, oneOf('layout', LAYOUTS))
    .option('--lm-head <h>', 'separate | merged (onnx-community only)', oneOf('lm-head', ['separate', 'merged'] as const), 'separate' as const)
    .option('--seed <n>', 'weight seed', seedOption)
    .option('--no-vision', 'the LLM graphs only, without the vision encoder (onnx-community layout)')
    .option('--cache-dir <dir>', 'cache folder (default $BENCH_CACHE_DIR or <repo>/.cache/models)')
    .action(async (model: string, opts: { precision: Precision; scale: Scale; format?: (typeof FORMATS)[number]; layout?: Layout; lmHead: 'separate' | 'merged'; seed?: number; vision: boolean; cacheDir?: string }) => {
      if (opts.format === 'gguf' && opts.layout !== undefined && opts.layout !== 'gguf') {
        throw new InputError(`--format gguf writes one GGUF file; --layout ${opts.layout} is an ONNX layout (drop one of them)`);
      }
      if (opts.format === 'onnx' && opts.layout === 'gguf') throw new InputError('--format onnx and --layout gguf contradict each other: keep one');
      const layout: Layout = opts.format === 'gguf' ? 'gguf' : opts.layout ?? 'onnx-community';
      const built = await ensureModel({
        model,
        scale: opts.scale,
        precision: opts.precision,
        layout,
        lmHead: opts.lmHead,
        seed: opts.seed,
        ...(opts.vision ? {} : { vision: false }),
        cacheDir: opts.cacheDir,
        log,
      });
      const total = Object.values(built.sizes).reduce((a, b) => a + b, 0);
      log(
        built.built
          ? `built in ${(built.buildMs / 1000).toFixed(1)} s, ${(total / 1e6).toFixed(1)} MB, hash ${built.hash.slice(0, 12)}`
          : `cached, ${(total / 1e6).toFixed(1)} MB, hash ${built.hash.slice(0, 12)}`,
      );
      process.stdout.write(`${built.dir}\n`);
    });

  models
    .command('gate', { hidden: true })
    .description("Run the accuracy gate of one build in this process and print its verdict and this process's peak RSS as JSON (started by the ORT runner).")
    .requiredOption('--request <base64>', 'the build and options, as models/accuracy-gate.ts encodes them')
    .action(async (flags: { request: string }) => {
      const req = decodeGateRequest(flags.request);
      const verdict = await accuracyGate(req.model, { cacheDir: req.cacheDir, threads: req.threads, tokens: req.tokens, log: (m) => process.stderr.write(`${m}\n`) });
      // ru_maxrss: this process's lifetime peak, which is the gate's (it ran nothing else).
      const answer: GateProcessAnswer = { verdict, peakRssBytes: process.resourceUsage().maxRSS * 1024 };
      process.stdout.write(`${JSON.stringify(answer)}\n`);
    });

  models
    .command('check')
    .description('Deviation of each precision from fp32 (logit cosine, top-1 agreement) on a token sequence.')
    .argument('<model>', 'zoo id')
    .option('--scale <s>', `one of ${SCALES.join(', ')}`, oneOf('scale', SCALES), 'tiny' as Scale)
    .option('--precision <list>', `comma-separated subset of ${PRECISIONS.join(', ')}`, precisionList, ['fp16', 'int8', 'int4'] as Precision[])
    .option('--tokens <n>', 'sequence length', (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new InputError(`--tokens expects an integer >= 1, got "${v}"`);
      return n;
    }, 32)
    .option('--seed <n>', 'weight seed', seedOption)
    .option('--cache-dir <dir>', 'cache folder')
    .option('--json', 'print the report as JSON')
    .action(async (model: string, opts: { scale: Scale; precision: Precision[]; tokens: number; seed?: number; cacheDir?: string; json?: boolean }) => {
      getDescriptor(model, opts.scale);
      const report = await checkPrecisions({
        model,
        scale: opts.scale,
        precisions: opts.precision,
        tokens: opts.tokens,
        seed: opts.seed,
        cacheDir: opts.cacheDir,
        log,
      });
      process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatCheckReport(report));
      // A precision below its thresholds is a failed check (exit 1), as a failed cell is.
      if (report.results.some((r) => !r.passed)) process.exitCode = 1;
    });
}
