/**
 * In-process llama.cpp runner (node-llama-cpp 3.21.1) on the zoo's GGUF files: the
 * LLM of the suite's model, same descriptor and same random weights as the ONNX build, timed
 * with the ORT runner's event names on the run's clock.
 *
 * Images: node-llama-cpp 3.21.1 feeds llama.cpp token ids only (no embeddings input, no mtmd),
 * so image cells go through the suite's own small addon of llama.cpp's mtmd
 * (runners/llamacpp/image-cell.ts, mtmd-native/), built on first use against the shared
 * libraries of node-llama-cpp's build: one llama.cpp build for both kinds of cells (its prebuilt
 * package, or its local source build when one exists, as node-llama-cpp itself prefers; CPU unless
 * options.llamaLibrary says; mtmd-native/library.ts), two thin bindings. Each cell records its
 * binding, the build (prebuilt or local, folder, gpu) and its CPU features.
 */
import { statSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { basename } from 'node:path';
import type { LlamaContext, LlamaModel } from 'node-llama-cpp';
import { InputError, ValidationError } from '../../core/errors.ts';
import type { ModelIdentity, PreparedCell, Runner, RunnerContext } from '../../core/runner.ts';
import type { Cell, Suite } from '../../core/suite-types.ts';
import { GGUF_FILE_SESSION, GGUF_MMPROJ_SESSION, GGUF_WEIGHT_TYPE } from '../../models/gguf/llm.ts';
import type { VlmDescriptor } from '../../models/descriptors.ts';
import { GGML_TYPES } from '../../models/gguf/quants.ts';
import { parseMmprojType, type MmprojWeightType } from '../../models/gguf/mmproj.ts';
import { decodeWeightBytesPerToken, weightFormLabel } from '../../models/weight-bytes.ts';
import { ensureModel, type Precision } from '../../models/zoo.ts';
import { llamaBuildInfo, llamaFor, NODE_LLAMA_CPP_VERSION, takeLlamaWarnings } from './binding.ts';
import { LlamaPipeline } from './pipeline.ts';
import { prepareImageCell } from './image-cell.ts';
import { llamaLibrarySettings, parseLibraryOption, resolveLlamaLibrary, type LlamaLibrary } from './mtmd-native/library.ts';
import { noSimdMessage, simdVerdict } from './simd.ts';
import { numberParam, sha256File } from '../cell-input.ts';


/** Cell precision -> zoo precision; the GGUF names are accepted too (int8 <-> Q8_0, int4 <-> Q4_0, fp16 <-> F16). */
const PRECISION_ALIASES: Record<string, Precision> = {
  fp32: 'fp32',
  f32: 'fp32',
  fp16: 'fp16',
  f16: 'fp16',
  int8: 'int8',
  q8_0: 'int8',
  int4: 'int4',
  q4_0: 'int4',
};

export function ggufPrecision(value: string): Precision {
  const p = PRECISION_ALIASES[value.toLowerCase()];
  if (!p) throw new InputError(`llamacpp runner: precision "${value}" has no GGUF form; valid: ${Object.keys(PRECISION_ALIASES).join(', ')}`);
  return p;
}

function ggmlTypeName(id: number): string {
  return Object.entries(GGML_TYPES).find(([, t]) => t.id === id)?.[0] ?? `ggml type ${id}`;
}

interface ResolvedGguf {
  path: string;
  /** The zoo's mmproj (vision tower + projector) beside the LLM, when its family has one. */
  mmprojPath?: string;
  descriptor?: VlmDescriptor;
  identity: ModelIdentity;
  vocab: number;
  settings: Record<string, string | number>;
  notes: string[];
}

async function resolveGguf(suite: Suite, precision: Precision, cellPrecision: string, mmprojType: MmprojWeightType | undefined, ctx: RunnerContext): Promise<ResolvedGguf> {
  const ref = suite.model;
  if ('zoo' in ref) {
    const built = await ensureModel({ model: ref.zoo, scale: ref.scale, precision, layout: 'gguf', seed: ref.seed, ...(mmprojType ? { mmprojType } : {}), log: ctx.log });
    const llm = built.descriptor.llm;
    return {
      path: built.files[GGUF_FILE_SESSION]!,
      ...(built.files[GGUF_MMPROJ_SESSION] ? { mmprojPath: built.files[GGUF_MMPROJ_SESSION] } : {}),
      descriptor: built.descriptor,
      identity: {
        architecture: built.descriptor.id,
        precision: cellPrecision,
        layout: 'gguf',
        synthetic: true,
        seed: built.request.seed,
        scale: built.request.scale,
        hashes: { build: built.hash },
        sizes: built.sizes,
        builderVersion: built.builderVersion,
      },
      vocab: llm.vocab,
      settings: {
        weightFormat: weightFormLabel(precision, 'gguf'),
        weightBytesPerToken: decodeWeightBytesPerToken(llm, precision, 'gguf'),
        // The ORT form of the same cell, so a side-by-side report can state both.
        onnxWeightFormat: weightFormLabel(precision, 'onnx'),
        onnxWeightBytesPerToken: decodeWeightBytesPerToken(llm, precision, 'onnx'),
      },
      notes: built.built ? [`GGUF synthesised in ${(built.buildMs / 1000).toFixed(1)} s`] : [],
    };
  }
  if ('path' in ref && ref.path.endsWith('.gguf')) {
    const sizes = { [basename(ref.path)]: statSync(ref.path).size };
    const vocab = typeof suite.options?.['vocab'] === 'number' ? suite.options['vocab'] : 32000;
    return {
      path: ref.path,
      identity: { architecture: basename(ref.path), precision: cellPrecision, layout: 'gguf', synthetic: false, hashes: { [basename(ref.path)]: await sha256File(ref.path) }, sizes },
      vocab,
      settings: {},
      notes: [],
    };
  }
  throw new InputError(`suite "${suite.name}": the llamacpp runner needs model.zoo (the zoo writes the GGUF) or model.path to a .gguf file`);
}

/** options.llamaLibraryDir: a folder of llama.cpp shared libraries (e.g. node-llama-cpp's CUDA source build on a Jetson); its contents are checked by resolveLlamaLibrary. */
function libraryDirOption(suite: Suite, where: string): string | undefined {
  const value = suite.options?.['llamaLibraryDir'];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '') throw new InputError(`${where}: options.llamaLibraryDir must be a folder path, got ${JSON.stringify(value)}`);
  return value;
}

/** The llama.cpp build every cell of the suite runs, text and image alike (mtmd-native/library.ts). */
function suiteLibrary(suite: Suite): LlamaLibrary {
  const where = `suite "${suite.name}"`;
  const dir = libraryDirOption(suite, where);
  return resolveLlamaLibrary(parseLibraryOption(suite.options?.['llamaLibrary'], where), dir === undefined ? {} : { dir });
}

/** In-process llama.cpp runner (node-llama-cpp's build of the suite's flavour: CPU unless options.llamaLibrary says). */
export const llamaCppRunner: Runner = {
  name: 'llamacpp',
  // Before any cell runs: a precision with no GGUF form or a model it cannot read is bad input.
  // Image cells are not refused here: each one fails with the reason, beside the ORT cells that run.
  checkPlan(suite: Suite, cells: readonly Cell[]): void {
    const where = `suite "${suite.name}"`;
    const ref = suite.model;
    if (!('zoo' in ref) && !('path' in ref && ref.path.endsWith('.gguf'))) {
      throw new ValidationError(where, 'model', 'the llamacpp runner needs model.zoo (the zoo writes the GGUF) or model.path to a .gguf file');
    }
    // The build must exist before any cell runs (on a Jetson: node-llama-cpp's local CUDA build).
    suiteLibrary(suite);
    const mmprojType = parseMmprojType(suite.options?.['mmprojType'], where);
    if (mmprojType && !('zoo' in ref)) throw new ValidationError(where, 'options.mmprojType', 'sets the form the zoo writes its mmproj in; model.path gives a GGUF the zoo does not write');
    for (const cell of cells) {
      const precision = String(cell.params['precision'] ?? 'fp32');
      if (!PRECISION_ALIASES[precision.toLowerCase()]) {
        throw new ValidationError(where, 'matrix.precision', `"${precision}" has no GGUF form for the llamacpp runner; valid: ${Object.keys(PRECISION_ALIASES).join(', ')}`);
      }
    }
  },
  async prepare(cell: Cell, suite: Suite, ctx: RunnerContext): Promise<PreparedCell> {
    const images = numberParam(cell, 'images', 0);
    const textTokens = numberParam(cell, 'prefill', 128);
    if (textTokens < 1) throw new InputError(`cell ${cell.id}: the llamacpp runner needs prefill >= 1 (a prompt to evaluate)`);
    const cellPrecision = String(cell.params['precision'] ?? 'fp32');
    const precision = ggufPrecision(cellPrecision);
    const outputTokens = numberParam(cell, 'output_tokens', suite.defaults.outputTokens);
    const chunkSize = numberParam(cell, 'chunk', suite.defaults.chunkSize ?? 0);
    // Explicit, so the cell says what ran: llama.cpp's "auto" resolves differently per build.
    const flashOption = suite.options?.['flashAttention'] ?? false;
    if (typeof flashOption !== 'boolean') {
      throw new InputError(`suite "${suite.name}": options.flashAttention must be true or false, got ${JSON.stringify(flashOption)}`);
    }
    const mmprojType = parseMmprojType(suite.options?.['mmprojType'], `suite "${suite.name}"`);
    const library = suiteLibrary(suite);
    const model = await resolveGguf(suite, precision, cellPrecision, mmprojType, ctx);
    const seed = 'zoo' in suite.model ? suite.model.seed ?? 1234 : 1234;
    if (images > 0) {
      if (!model.descriptor) throw new InputError(`cell ${cell.id}: llamacpp image cells need a zoo model (its mmproj GGUF); model.path gives the LLM only`);
      if (chunkSize > 0) throw new InputError(`cell ${cell.id}: llamacpp image cells evaluate the prompt in one call; chunk must be 0`);
      return prepareImageCell(
        { llmPath: model.path, mmprojPath: model.mmprojPath, precision, mmprojType, descriptor: model.descriptor, identity: model.identity, images, textTokens, outputTokens, seed, library, settings: { ...model.settings, ggufType: GGUF_WEIGHT_TYPE[precision], rooflineFormat: GGUF_WEIGHT_TYPE[precision].toLowerCase() } },
        ctx,
      );
    }
    const llama = await llamaFor(library);
    // A GPU build offloads every layer: that is what it is chosen for (the image cells do the same).
    const gpuLayers = library.flavour === 'cpu' ? 0 : 'max';

    const loadStart = ctx.clock.now();
    let loaded: LlamaModel | undefined;
    let context: LlamaContext | undefined;
    try {
      loaded = await llama.loadModel({ modelPath: model.path, gpuLayers });
      // One batch holds a whole prefill chunk, so each chunk is one llama_decode call.
      const batch = chunkSize > 0 ? Math.min(chunkSize, textTokens) : textTokens;
      context = await loaded.createContext({
        contextSize: textTokens + outputTokens,
        batchSize: batch,
        sequences: 1,
        flashAttention: flashOption,
        threads: { ideal: ctx.threads, min: ctx.threads },
      });
    } catch (err) {
      await context?.dispose();
      await loaded?.dispose();
      throw err;
    }
    const loadMs = ctx.clock.now() - loadStart;
    const sequence = context.getSequence();
    const pipeline = new LlamaPipeline(sequence, ctx.clock);
    const simd = simdVerdict(llama.systemInfo);
    const binding = `node-llama-cpp ${NODE_LLAMA_CPP_VERSION}`;
    const warnings = takeLlamaWarnings();
    const notes = [...model.notes, ...(warnings.length ? [`llama.cpp: ${warnings.join(' | ')}`] : [])];
    const load1 = loadavg()[0]!;
    if (ctx.threads > 1 && load1 > availableParallelism()) {
      // ggml's CPU threads meet at a spinning barrier after every op: when the machine has more
      // runnable threads than CPUs, a descheduled partner costs a scheduler slice per barrier.
      notes.push(
        `load average ${load1.toFixed(1)} > ${availableParallelism()} CPUs with ${ctx.threads} threads: llama.cpp's threads spin at a barrier after every op, so its timings on an oversubscribed machine are inflated far more than ORT's (compare at --threads 1 or on an idle machine)`,
      );
    }
    const ctxRef = context;
    const modelRef = loaded;
    return {
      loadMs,
      model: model.identity,
      settings: {
        runner: 'llamacpp',
        ...llamaBuildInfo(llama),
        ...llamaLibrarySettings(library),
        gpuOffload: gpuLayers === 0 ? 'none (CPU)' : 'all LLM layers',
        llamaBuildSimd: simd.build,
        machineSimd: simd.machine,
        ...(simd.missing.length ? { llamaBuildMissingSimd: simd.missing.join(' ') } : {}),
        threads: ctx.threads,
        contextThreads: ctxRef.idealThreads,
        contextSize: ctxRef.contextSize,
        batchSize: ctxRef.batchSize,
        flashAttention: ctxRef.flashAttention === true ? 'on' : ctxRef.flashAttention === false ? 'off' : String(ctxRef.flashAttention),
        kvCacheType: `K ${ggmlTypeName(ctxRef.kvCacheKeyType)}, V ${ggmlTypeName(ctxRef.kvCacheValueType)}`,
        mmap: modelRef.useMmap,
        ggufType: GGUF_WEIGHT_TYPE[precision],
        // The roofline's name of that form (reporters/roofline/precision.ts).
        rooflineFormat: GGUF_WEIGHT_TYPE[precision].toLowerCase(),
        chunkSize: chunkSize || 'whole prompt',
        outputTokens,
        sampling: 'greedy (temperature 0), in llama.cpp after each llama_decode',
        ...model.settings,
        ...(notes.length ? { notes: notes.join('; ') } : {}),
      },
      ...(simd.missing.length ? { flags: [{ kind: 'no-simd' as const, message: noSimdMessage(binding, simd) }] } : {}),
      runIteration: (index, warmup) => pipeline.run({ textTokens, vocab: model.vocab, seed, outputTokens, chunkSize }, index, warmup),
      async close() {
        await ctxRef.dispose();
        await modelRef.dispose();
      },
    };
  },
};
