/**
 * An image cell of the llamacpp runner: the zoo's GGUF LLM and mmproj loaded into llama.cpp's
 * mtmd through @fugood/llama.node, the same synthetic camera frames the ORT runner encodes
 * (written losslessly as PNG outside the timed request), timed by MtmdPipeline.
 *
 * mtmd preprocesses each frame its own way (runners/llamacpp/mtmd-preprocessing.ts): the cell
 * counts mtmd's image tokens per frame before timing (a tokenisation), sets the context to the
 * prompt mtmd builds, and records both mtmd's and the suite's reference preprocessing of the
 * frame, saying so when they differ (the report's "Images and video" table shows it per cell).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { InputError } from '../../core/errors.ts';
import type { ModelIdentity, PreparedCell, RunnerContext } from '../../core/runner.ts';
import type { VlmDescriptor } from '../../models/descriptors.ts';
import { MMPROJ_WEIGHT_TYPE, mmprojSupport } from '../../models/gguf/mmproj.ts';
import type { Precision } from '../../models/layers/linear.ts';
import { makeTestImage } from '../ort/inputs.ts';
import { METRIC_SOURCES_DETAIL_SETTING, METRIC_SOURCES_SETTING, metricSourcesSetting } from '../../core/figure-source.ts';
import { MtmdPipeline, MTMD_COMPOSED_DETAIL, MTMD_COMPOSED_FIGURES, MTMD_PHASE_SPLIT, MEDIA_MARKER, promptText } from './image-pipeline.ts';
import { chooseLlamaNodeVariant, machineFacts, type LlamaNodeVariant } from './llama-node-variant.ts';
import { LLAMA_NODE_PACKAGE, llamaNode, llamaNodeVersion, loadVariant, type MtmdContext } from './mtmd-binding.ts';
import { compareFramePreprocessing } from './mtmd-preprocessing.ts';
import { noSimdMessage, simdVerdict } from './simd.ts';

export interface ImageCellInput {
  llmPath: string;
  mmprojPath: string | undefined;
  descriptor: VlmDescriptor;
  /** Zoo precision: sets the mmproj's form (models/gguf/mmproj.ts MMPROJ_WEIGHT_TYPE). */
  precision: Precision;
  identity: ModelIdentity;
  images: number;
  textTokens: number;
  outputTokens: number;
  seed: number;
  /** The suite's options.llamaNodeVariant (llama-node-variant.ts). */
  variant: LlamaNodeVariant | 'auto';
  settings: Record<string, string | number | boolean>;
}

/** Prompt positions beyond the prompt and the generated tokens. */
const CONTEXT_SLACK = 16;
/** Text tokens mtmd may add around an image, for the first context estimate (the size then follows from mtmd's tokenisation). */
const MARKER_ESTIMATE = 64;

export async function prepareImageCell(input: ImageCellInput, ctx: RunnerContext): Promise<PreparedCell> {
  const d = input.descriptor;
  const support = mmprojSupport(d);
  if (!input.mmprojPath || 'reason' in support) {
    const why = 'reason' in support ? support.reason : 'the gguf build holds no mmproj file';
    throw new InputError(`llamacpp runner: ${d.id} has no mmproj GGUF (${why}); use runner ort for its image cells`);
  }
  const binding = `${LLAMA_NODE_PACKAGE} ${llamaNodeVersion()}`;
  const node = await llamaNode();
  const variant = await loadVariant(chooseLlamaNodeVariant(machineFacts(), input.variant));
  // A GPU build offloads every layer and the mmproj: that is what it is chosen for.
  const gpu = variant.variant !== 'default';
  const side = d.vision.imageSize;
  const dir = mkdtempSync(join(tmpdir(), 'bench-mtmd-'));
  const loadStart = ctx.clock.now();
  let context: MtmdContext | undefined;
  try {
    // The ORT runner's frames: makeTestImage(imageSize, seed + i), one tile each there.
    const imagePaths: string[] = [];
    for (let i = 0; i < input.images; i++) {
      const path = join(dir, `image-${i}.png`);
      writeFileSync(path, await sharp(Buffer.from(makeTestImage(side, input.seed + i)), { raw: { width: side, height: side, channels: 3 } }).png().toBuffer());
      imagePaths.push(path);
    }
    const mmprojPath = input.mmprojPath;
    const text = promptText(input.textTokens, input.seed);
    const prompt = imagePaths.map(() => MEDIA_MARKER).join('') + text;
    let contextSize = input.textTokens + input.images * (d.imageTokensPerTile + MARKER_ESTIMATE) + input.outputTokens + CONTEXT_SLACK;
    const openContext = async () => {
      const opened = await node.loadModel({
        model: input.llmPath,
        n_ctx: contextSize,
        n_batch: contextSize,
        n_ubatch: contextSize,
        n_threads: ctx.threads,
        n_gpu_layers: gpu ? 999 : 0,
        lib_variant: variant.variant,
        flash_attn_type: 'off',
        ctx_shift: false,
      });
      const ok = await opened.initMultimodal({ path: mmprojPath, use_gpu: gpu });
      if (!ok || !opened.isMultimodalEnabled()) {
        await opened.release();
        throw new Error(`mtmd refused the mmproj ${mmprojPath} (its reason is in llama.cpp's log on stderr)`);
      }
      return opened;
    };
    context = await openContext();
    // What mtmd makes of one frame and of the whole prompt, before any timing (tokenisation
    // preprocesses the images but does not encode them).
    const frame = await context.tokenize(MEDIA_MARKER, { media_paths: [imagePaths[0]!] });
    const positions = Array.from(frame.tokens).filter((t) => t < 0).length;
    // The tokenisation lists an image's positions: one per token, except with M-RoPE (Qwen-VL),
    // where an image of rows x cols tokens takes max(rows, cols) positions; frames are square.
    // Every request checks the count against the tokens llama.cpp evaluates (prompt_n).
    const mtmdImageTokens = d.llm.mropeSections ? positions * positions : positions;
    const mtmdTextPerImage = frame.tokens.length - positions;
    const whole = await context.tokenize(prompt, { media_paths: imagePaths });
    const wholeTokens = whole.tokens.length - input.images * positions + input.images * mtmdImageTokens;
    const needed = wholeTokens + input.outputTokens + CONTEXT_SLACK;
    if (needed > contextSize) {
      // mtmd's prompt (tiles, wrapper text) is longer than the estimate: a context that holds it.
      await context.release();
      context = undefined;
      contextSize = needed;
      context = await openContext();
    }
    const loadMs = ctx.clock.now() - loadStart;
    const systemInfo = context.getSystemInfo().trim();
    const simd = simdVerdict(systemInfo);
    const pre = compareFramePreprocessing(d, mtmdImageTokens);
    const pipeline = new MtmdPipeline(context, ctx.clock, openContext, ctx.log);
    return {
      loadMs,
      // The vision tower runs in the mmproj's form (F32 at fp32, F16 otherwise), which the roofline bounds.
      model: { ...input.identity, visionPrecision: MMPROJ_WEIGHT_TYPE[input.precision] === 'F32' ? 'fp32' : 'fp16' },
      settings: {
        runner: 'llamacpp',
        binding,
        llamaNodeVariant: variant.variant,
        llamaNodePackage: variant.packageName,
        llamaNodeVariantChoice: variant.reason,
        // The identity's execution provider (as node-llama-cpp's `gpu`: false, cuda, vulkan).
        gpu: gpu ? variant.variant : 'false',
        gpuOffload: gpu ? 'all LLM layers and the mmproj' : 'none (CPU)',
        llamaDevices: (await node.getBackendDevicesInfo(variant.variant)).map((d) => `${d.backend}:${d.deviceName}`).join(' '),
        llamaSystemInfo: systemInfo,
        llamaBuildSimd: simd.build,
        machineSimd: simd.machine,
        ...(simd.missing.length ? { llamaBuildMissingSimd: simd.missing.join(' ') } : {}),
        threads: ctx.threads,
        contextSize,
        flashAttention: 'off',
        mmproj: input.mmprojPath.split(/[\\/]/).pop()!,
        mmprojType: MMPROJ_WEIGHT_TYPE[input.precision],
        mmprojProjector: support.projector,
        ...(support.differs ? { mmprojDiffersFromOnnx: support.differs } : {}),
        phaseSplit: MTMD_PHASE_SPLIT,
        [METRIC_SOURCES_SETTING]: metricSourcesSetting(MTMD_COMPOSED_FIGURES),
        [METRIC_SOURCES_DETAIL_SETTING]: MTMD_COMPOSED_DETAIL,
        preprocessFamily: pre.family,
        imageSource: 'synthetic camera frames (made before timing), lossless PNG files of the tile size',
        imagePreprocessing: pre.note,
        imageTokensMtmd: mtmdImageTokens,
        imageTokensReference: pre.referenceTokens,
        ...(pre.ortCellTokens !== pre.referenceTokens ? { imageTokensOrtCell: pre.ortCellTokens } : {}),
        visionTilesPerImage: pre.mtmdTiles,
        ...(mtmdTextPerImage > 0 ? { promptTextAddedByMtmd: `${mtmdTextPerImage} text tokens per image (mtmd's image markers, byte-level vocabulary), counted in promptTokens` } : {}),
        outputTokens: input.outputTokens,
        sampling: 'greedy (temperature 0, top_k 1), ignore_eos',
        ...input.settings,
      },
      ...(simd.missing.length ? { flags: [{ kind: 'no-simd' as const, message: noSimdMessage(binding, simd) }] } : {}),
      runIteration: (index, warmup) => pipeline.run({ text, imagePaths, outputTokens: input.outputTokens, tilesPerImage: pre.mtmdTiles, imageTokensPerImage: mtmdImageTokens }, index, warmup),
      async close() {
        if (pipeline.reloads > 0) ctx.log(`llamacpp: ${pipeline.reloads} context(s) replaced after the binding left them marked busy`);
        await pipeline.current.release();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await context?.release();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
