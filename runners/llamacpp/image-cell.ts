/**
 * An image cell of the llamacpp runner: the zoo's GGUF LLM and mmproj loaded into llama.cpp's
 * mtmd through @fugood/llama.node, the same synthetic camera frames the ORT runner encodes
 * (written losslessly as PNG outside the timed request), timed by MtmdPipeline.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { InputError } from '../../core/errors.ts';
import type { ModelIdentity, PreparedCell, RunnerContext } from '../../core/runner.ts';
import type { VlmDescriptor } from '../../models/descriptors.ts';
import { MMPROJ_WEIGHT_TYPE } from '../../models/gguf/mmproj.ts';
import type { Precision } from '../../models/layers/linear.ts';
import { makeTestImage } from '../ort/inputs.ts';
import { METRIC_SOURCES_DETAIL_SETTING, METRIC_SOURCES_SETTING, metricSourcesSetting } from '../../core/figure-source.ts';
import { MtmdPipeline, MTMD_COMPOSED_DETAIL, MTMD_COMPOSED_FIGURES, MTMD_PHASE_SPLIT, promptText } from './image-pipeline.ts';
import { chooseLlamaNodeVariant, machineFacts, type LlamaNodeVariant } from './llama-node-variant.ts';
import { LLAMA_NODE_PACKAGE, llamaNode, llamaNodeVersion, loadVariant } from './mtmd-binding.ts';
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

/** mtmd adds "<img>" and "</img>" around an InternVL image as text (11 tokens with the zoo's byte-level vocabulary). */
const MTMD_IMAGE_WRAPPERS: Partial<Record<VlmDescriptor['family'], string>> = { internvl: '<img></img>' };

export async function prepareImageCell(input: ImageCellInput, ctx: RunnerContext): Promise<PreparedCell> {
  const d = input.descriptor;
  if (!input.mmprojPath) {
    throw new InputError(`llamacpp runner: ${d.id} has no mmproj GGUF (the zoo writes one for InternVL only so far); use runner ort for its image cells`);
  }
  const binding = `${LLAMA_NODE_PACKAGE} ${llamaNodeVersion()}`;
  const node = await llamaNode();
  const variant = await loadVariant(chooseLlamaNodeVariant(machineFacts(), input.variant));
  // A GPU build offloads every layer and the mmproj: that is what it is chosen for.
  const gpu = variant.variant !== 'default';
  const side = d.vision.imageSize;
  const dir = mkdtempSync(join(tmpdir(), 'bench-mtmd-'));
  const loadStart = ctx.clock.now();
  let context: Awaited<ReturnType<typeof node.loadModel>> | undefined;
  try {
    // The ORT runner's frames: makeTestImage(imageSize, seed + i), one tile each.
    const imagePaths: string[] = [];
    for (let i = 0; i < input.images; i++) {
      const path = join(dir, `image-${i}.png`);
      writeFileSync(path, await sharp(Buffer.from(makeTestImage(side, input.seed + i)), { raw: { width: side, height: side, channels: 3 } }).png().toBuffer());
      imagePaths.push(path);
    }
    const wrapper = MTMD_IMAGE_WRAPPERS[d.family] ?? '';
    const contextSize = input.textTokens + input.images * (d.imageTokensPerTile + wrapper.length) + input.outputTokens + 16;
    const mmprojPath = input.mmprojPath;
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
    const loadMs = ctx.clock.now() - loadStart;
    const systemInfo = context.getSystemInfo().trim();
    const simd = simdVerdict(systemInfo);
    const pipeline = new MtmdPipeline(context, ctx.clock, openContext, ctx.log);
    const text = promptText(input.textTokens, input.seed);
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
        phaseSplit: MTMD_PHASE_SPLIT,
        [METRIC_SOURCES_SETTING]: metricSourcesSetting(MTMD_COMPOSED_FIGURES),
        [METRIC_SOURCES_DETAIL_SETTING]: MTMD_COMPOSED_DETAIL,
        imagePreprocessing: `mtmd's own (${d.family}); a ${side}x${side} frame is one tile in both mtmd and the reference preprocessing`,
        imageTokensReference: d.imageTokensPerTile,
        ...(wrapper ? { promptTextAddedByMtmd: `${wrapper} per image (${wrapper.length} tokens with the byte-level vocabulary), counted in promptTokens` } : {}),
        outputTokens: input.outputTokens,
        sampling: 'greedy (temperature 0, top_k 1), ignore_eos',
        ...input.settings,
      },
      ...(simd.missing.length ? { flags: [{ kind: 'no-simd' as const, message: noSimdMessage(binding, simd) }] } : {}),
      runIteration: (index, warmup) => pipeline.run({ text, imagePaths, outputTokens: input.outputTokens }, index, warmup),
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
