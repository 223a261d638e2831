import { statSync } from 'node:fs';
import { basename } from 'node:path';
import * as ort from 'onnxruntime-node';
import { InputError } from '../../core/errors.ts';
import type { AccuracyCheck, ModelIdentity, PreparedCell, Runner, RunnerContext } from '../../core/runner.ts';
import type { Cell, Suite } from '../../core/suite-types.ts';
import { decodeWeightBytesPerToken, weightFormLabel } from '../../models/weight-bytes.ts';
import { patchGeometry, type PatchGeometry } from '../../models/qwen-patches.ts';
import { accuracyGateInOwnProcess, describeVerdict } from '../../models/accuracy-gate.ts';
import { ensureModel, type BuiltModel, type Precision } from '../../models/zoo.ts';
import { readGeometry } from './geometry.ts';
import { findExportFiles, type SessionName } from './model-files.ts';
import { THREAD_SPINNING_SETTING, pipelineSessionOptions } from './session-options.ts';
import { OrtPipeline, type KvCacheMode, type PipelineSessions } from './pipeline.ts';
import { CellProfiler } from './profiling.ts';
import { checkOrtPlan } from './plan-check.ts';
import { ORT_PRECISIONS } from './spec.ts';
import { buildWorkload, preprocessFamily, wantsWorkload, type CellWorkload } from './workload.ts';
import { familyPreprocessing } from '../../models/preprocess/plan.ts';
import { familyPixels, PIXEL_CONVENTIONS, type PixelConvention } from '../../models/preprocess/pixels.ts';
import type { PreprocessFamily } from '../../models/preprocess/plan.ts';
import { cellPartPrecisions, numberParam, sha256File, visionEncoderUsedAt } from '../cell-input.ts';
import { expandMatrix } from '../../core/matrix.ts';

const PRECISIONS: readonly Precision[] = ORT_PRECISIONS;

interface ResolvedModel {
  files: Partial<Record<SessionName, string>>;
  identity: ModelIdentity;
  vocab: number;
  hints: { imageSize?: number; tokensPerImage?: number; patch?: PatchGeometry };
  /** The zoo model's preprocessing family; absent for real exports. */
  family?: PreprocessFamily;
  /** The zoo family's pixel normalisation (Qwen3-VL has one without a resize plan); absent for real exports. */
  pixels?: PixelConvention;
  notes: string[];
  /** What the cell records about its weight form (zoo builds), for side-by-side comparisons. */
  weightSettings: Record<string, string | number>;
  /** Zoo builds: what the accuracy gate needs to find the model's fp32 twin. */
  zoo?: BuiltModel;
}

/** `cell`: the cell being prepared, counted with the matrix's cells when deciding whether a zoo build needs its vision encoder. */
async function resolveModel(suite: Suite, precision: string, ctx: RunnerContext, cell: Cell): Promise<ResolvedModel> {
  const ref = suite.model;
  if ('zoo' in ref) {
    if (!PRECISIONS.includes(precision as Precision)) {
      throw new InputError(`precision "${precision}" cannot be synthesised; the model zoo builds ${PRECISIONS.join(', ')}`);
    }
    const built = await ensureModel({
      model: ref.zoo,
      scale: ref.scale,
      precision: precision as Precision,
      layout: 'onnx-community',
      seed: ref.seed,
      vision: visionEncoderUsedAt([...expandMatrix(suite.matrix), cell], precision),
      log: ctx.log,
    });
    const d = built.descriptor;
    return {
      zoo: built,
      files: built.files as Partial<Record<SessionName, string>>,
      identity: {
        architecture: d.id,
        precision,
        layout: 'onnx-community',
        synthetic: true,
        seed: built.request.seed,
        scale: built.request.scale,
        hashes: { build: built.hash },
        sizes: built.sizes,
        builderVersion: built.builderVersion,
        // Which int8 operator form the numbers come from: int8 timings are comparable only within one form.
        ...(built.request.precision === 'int8' ? { int8Form: built.opForms.int8Form } : {}),
      },
      vocab: d.llm.vocab,
      hints: { imageSize: d.vision.imageSize, tokensPerImage: d.imageTokensPerTile, patch: patchGeometry(d) },
      ...(familyPreprocessing(d.family) ? { family: familyPreprocessing(d.family)! } : {}),
      ...(familyPixels(d.family) ? { pixels: familyPixels(d.family)! } : {}),
      notes: built.built ? [`model synthesised in ${(built.buildMs / 1000).toFixed(1)} s`] : [],
      weightSettings: {
        weightFormat: weightFormLabel(precision as Precision, 'onnx'),
        weightBytesPerToken: decodeWeightBytesPerToken(d.llm, precision as Precision, 'onnx'),
      },
    };
  }
  if ('path' in ref) {
    const { files, fallbacks } = findExportFiles(ref.path, precision);
    const hashes: Record<string, string> = {};
    const sizes: Record<string, number> = {};
    for (const file of Object.values(files)) {
      hashes[basename(file)] = await sha256File(file);
      sizes[basename(file)] = statSync(file).size;
    }
    const opts = suite.options ?? {};
    return {
      files,
      identity: { architecture: basename(ref.path), precision, layout: 'onnx-community', synthetic: false, hashes, sizes },
      vocab: typeof opts['vocab'] === 'number' ? opts['vocab'] : 32000,
      hints: {
        imageSize: typeof opts['imageSize'] === 'number' ? opts['imageSize'] : undefined,
        tokensPerImage: typeof opts['tokensPerImage'] === 'number' ? opts['tokensPerImage'] : undefined,
      },
      notes: fallbacks,
      weightSettings: {},
    };
  }
  throw new InputError(`suite "${suite.name}": the ort runner needs model.zoo or model.path, not a model named on a target`);
}

/**
 * Takes the vision encoder from a build (or export files) at another precision: `model` keeps
 * its LLM graphs and says which precision each part has.
 */
function withVisionFrom(model: ResolvedModel, vision: ResolvedModel, visionPrecision: string): void {
  if (vision.files.vision_encoder) model.files.vision_encoder = vision.files.vision_encoder;
  else delete model.files.vision_encoder;
  model.identity.visionPrecision = visionPrecision;
  const isVisionFile = (name: string) => name.startsWith('vision_encoder');
  const sizes = Object.fromEntries(Object.entries(model.identity.sizes ?? {}).filter(([f]) => !isVisionFile(f)));
  for (const [f, n] of Object.entries(vision.identity.sizes ?? {})) if (isVisionFile(f)) sizes[f] = n;
  model.identity.sizes = sizes;
  const hashes = { ...(model.identity.hashes ?? {}) };
  if (vision.identity.hashes?.['build']) hashes['visionBuild'] = vision.identity.hashes['build'];
  for (const [f, h] of Object.entries(vision.identity.hashes ?? {})) if (isVisionFile(f)) hashes[f] = h;
  model.identity.hashes = hashes;
  model.notes.push(...vision.notes.map((n) => `vision encoder: ${n}`));
}

/** The accuracy gate's verdict for a zoo build (null for fp32 and files not built here), logged. */
async function gateOf(model: ResolvedModel, ctx: RunnerContext): Promise<AccuracyCheck | null> {
  const accuracy = model.zoo ? await accuracyGateInOwnProcess(model.zoo, { threads: ctx.threads, log: ctx.log }) : null;
  if (accuracy) ctx.log(`${describeVerdict(accuracy)}${accuracy.cached ? ' [cached verdict]' : ''}`);
  return accuracy;
}

/** In-process ONNX Runtime runner (CPU execution provider). */
export const ortRunner: Runner = {
  name: 'ort',
  checkPlan: (suite, cells) => checkOrtPlan(suite, cells, true),
  async checkAccuracy(cell: Cell, suite: Suite, ctx: RunnerContext): Promise<AccuracyCheck | null> {
    const precision = String(cell.params['precision'] ?? 'fp32');
    return gateOf(await resolveModel(suite, String(cell.params['llm_precision'] ?? precision), ctx, cell), ctx);
  },
  async prepare(cell: Cell, suite: Suite, ctx: RunnerContext): Promise<PreparedCell> {
    const images = numberParam(cell, 'images', 0);
    const textTokens = numberParam(cell, 'prefill', 128);
    // `precision` sets every graph; vision_precision / llm_precision set one part each (as VLM
    // tables on Jetson Thor report them), each part built at its own precision.
    const parts = cellPartPrecisions(cell);
    const llmPrecision = parts.llm;
    const outputTokens = numberParam(cell, 'output_tokens', suite.defaults.outputTokens);
    const chunkSize = numberParam(cell, 'chunk', suite.defaults.chunkSize ?? 0);
    const frames = numberParam(cell, 'frames', 0);
    const needsVision = images > 0 || frames > 0;
    const model = await resolveModel(suite, llmPrecision, ctx, cell);
    if (parts.vision !== null && parts.vision !== llmPrecision) {
      withVisionFrom(model, await resolveModel(suite, parts.vision, ctx, cell), parts.vision);
    }
    // Before any session of the cell exists (the check opens its own and releases them): a
    // quantised model is checked against fp32 once per build and machine; a failing one is
    // still timed, its cell marked numerically wrong. (The LLM build's; a vision_precision
    // build is not gated.)
    // The harness runs the gate first (checkAccuracy, outside the cell's memory window); a caller
    // that did not gets it here.
    const accuracy = ctx.accuracy !== undefined ? ctx.accuracy : await gateOf(model, ctx);

    const options = pipelineSessionOptions(ctx.threads);
    // Only the sessions this cell uses are created: a text-only cell does not load the ViT.
    const wanted: SessionName[] = ['embed_tokens', 'decoder_model_merged'];
    if (needsVision) wanted.push('vision_encoder');
    if (model.files.lm_head) wanted.push('lm_head');
    if (needsVision && !model.files.vision_encoder) {
      throw new InputError(`cell ${cell.id}: images=${images}${frames ? `, frames=${frames}` : ''} but the model has no vision_encoder graph`);
    }
    const profiler = ctx.profile ? new CellProfiler() : null;
    const loadStart = ctx.clock.now();
    const created: Partial<Record<SessionName, ort.InferenceSession>> = {};
    for (const name of wanted) {
      created[name] = await ort.InferenceSession.create(model.files[name]!, { ...options, ...profiler?.options(name) });
    }
    const loadMs = ctx.clock.now() - loadStart;

    const sessions: PipelineSessions = {
      vision: created.vision_encoder,
      embed: created.embed_tokens!,
      decoder: created.decoder_model_merged!,
      lmHead: created.lm_head,
    };
    const geo = readGeometry(sessions.decoder, sessions.vision, model.hints, model.files.decoder_model_merged!);
    if (needsVision && (!geo.imageSize || !geo.tokensPerImage)) {
      throw new InputError(
        `cell ${cell.id}: the vision encoder's input size / tokens per image are symbolic; set options.imageSize and options.tokensPerImage in the suite`,
      );
    }
    // The zoo's decoders use GroupQueryAttention, which can append to the cache in place; real
    // exports may not, so they grow the cache unless the suite says `options.kvCache: shared`.
    const kvOption = suite.options?.['kvCache'];
    if (kvOption !== undefined && kvOption !== 'shared' && kvOption !== 'grow') {
      throw new InputError(`suite "${suite.name}": options.kvCache must be "shared" or "grow", got ${JSON.stringify(kvOption)}`);
    }
    const kvMode: KvCacheMode = (kvOption as KvCacheMode | undefined) ?? ('zoo' in suite.model ? 'shared' : 'grow');
    const pipeline = new OrtPipeline(sessions, geo, ctx.clock, kvMode);
    const seed = 'zoo' in suite.model ? suite.model.seed ?? 1234 : 1234;
    // Resolution, video frames or real images: the family's preprocessing decides tiles and
    // tokens per image; without them each image is one synthetic tile (the Axera table's shape).
    let workload: CellWorkload | undefined;
    if (wantsWorkload(cell, suite)) {
      if ('zoo' in suite.model && !model.family && suite.options?.['preprocess'] === undefined) {
        throw new InputError(`cell ${cell.id}: the preprocessing of ${model.identity.architecture} is not reproduced (models/preprocess); set options.preprocess to one of internvl, qwen2-vl, smolvlm to use another family's`);
      }
      const family = preprocessFamily(suite, model.family);
      workload = await buildWorkload(
        cell,
        suite,
        family,
        { tileSize: geo.imageSize ?? 0, tokensPerTile: geo.tokensPerImage ?? 0, ...(family === 'qwen2-vl' ? { factor: 28 } : {}) },
        images,
        seed,
      );
    }
    const imageTokensPerRequest = workload ? Number(workload.settings['imageTokensPerRequest']) : images * (geo.tokensPerImage ?? 0);
    // The processor statistics the image tiles are normalised with: the workload's family, else
    // the zoo family's (Qwen3-VL's 0.5 is not Qwen2-VL's CLIP), else guessed from a real export's
    // encoder input (Qwen-VL's flattened patches: CLIP; an image tensor: InternVL's ImageNet).
    const pixels = workload?.pixels ?? model.pixels ?? (geo.pixelLayout === 'patches' ? PIXEL_CONVENTIONS['qwen2-vl'] : PIXEL_CONVENTIONS.internvl);
    return {
      loadMs,
      model: model.identity,
      ...(accuracy ? { accuracy } : {}),
      settings: {
        executionProvider: 'cpu',
        intraOpNumThreads: ctx.threads,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
        threadSpinning: THREAD_SPINNING_SETTING,
        chunkSize: chunkSize || 'whole prompt',
        kvCache: kvMode === 'shared' ? 'shared buffer, appended in place' : 'grown and copied each step',
        outputTokens,
        layers: geo.layers,
        tokensPerTile: geo.tokensPerImage ?? 0,
        // Without a workload every image is one tile; with one, imageTokensPerImage says it.
        ...(workload ? {} : { tokensPerImage: geo.tokensPerImage ?? 0 }),
        promptTokens: textTokens + imageTokensPerRequest,
        ...(workload?.settings ?? {}),
        ...(model.identity.int8Form ? { int8Form: model.identity.int8Form } : {}),
        ...(sessions.vision ? { visionInput: geo.pixelLayout === 'patches' ? `flattened patches + ${geo.gridInput}` : 'image tensor' } : {}),
        ...(sessions.vision ? { pixelNormalisation: `mean ${pixels.mean.join(',')} std ${pixels.std.join(',')}` } : {}),
        ...(geo.deepstackTaps > 0 ? { deepstackLevels: geo.deepstackTaps } : {}),
        lmHead: geo.decoderOutput === 'hidden_states' ? 'separate graph' : 'inside decoder',
        ...model.weightSettings,
        ...(profiler ? { ortProfiling: 'on: timings include profiler overhead' } : {}),
        ...(model.notes.length ? { notes: model.notes.join('; ') } : {}),
      },
      runIteration: (index, warmup) =>
        pipeline.run(
          {
            images,
            ...(workload ? { visuals: { items: workload.items, pixels: workload.pixels } } : {}),
            pixels,
            textTokens,
            outputTokens,
            chunkSize,
            vocab: model.vocab,
            seed,
          },
          index,
          warmup,
        ),
      ...(profiler ? { collectProfile: async () => profiler.collect(created) } : {}),
      async close() {
        for (const s of Object.values(created)) await s?.release();
      },
    };
  },
};
