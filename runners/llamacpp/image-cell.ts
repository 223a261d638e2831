/**
 * An image cell of the llamacpp runner: the zoo's GGUF LLM and mmproj loaded into llama.cpp's
 * mtmd through the suite's own addon (runners/llamacpp/mtmd-native: mtmd built on first use
 * against the libraries of node-llama-cpp's build, the same build as the text cells), the
 * same synthetic camera frames the ORT runner encodes (written losslessly as PNG outside the
 * timed request), every phase measured by MtmdPipeline.
 *
 * mtmd preprocesses each frame its own way (runners/llamacpp/mtmd-preprocessing.ts): the cell
 * counts mtmd's image tokens per frame before timing (a `prepare`), sizes the context to the
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
import { mmprojSupport, mmprojWeightType, type MmprojWeightType } from '../../models/gguf/mmproj.ts';
import type { Precision } from '../../models/layers/linear.ts';
import { makeTestImage } from '../ort/inputs.ts';
import { chunkTokens, mediaPrompt, MtmdPipeline, MTMD_PHASE_TIMING, MEDIA_MARKER, promptText } from './image-pipeline.ts';
import { NODE_LLAMA_CPP_VERSION } from './binding.ts';
import { loadedCpuBackend, loadMtmdAddon, type MtmdSession } from './mtmd-native/addon.ts';
import { llamaLibrarySettings, type LlamaLibrary } from './mtmd-native/library.ts';
import { compareFramePreprocessing } from './mtmd-preprocessing.ts';
import { noSimdMessage, simdVerdict } from './simd.ts';

export interface ImageCellInput {
  llmPath: string;
  mmprojPath: string | undefined;
  descriptor: VlmDescriptor;
  /** Zoo precision: sets the mmproj's default form (models/gguf/mmproj.ts MMPROJ_WEIGHT_TYPE). */
  precision: Precision;
  /** The suite's options.mmprojType, when it asks for another form than the precision's default. */
  mmprojType: MmprojWeightType | undefined;
  identity: ModelIdentity;
  images: number;
  textTokens: number;
  outputTokens: number;
  seed: number;
  /** The suite's llama.cpp build (options.llamaLibrary / llamaLibraryDir, mtmd-native/library.ts), the text cells' too. */
  library: LlamaLibrary;
  settings: Record<string, string | number | boolean>;
}

/** The roofline's weight format (roofline/precision.ts) of each mmproj form. */
const VISION_PRECISION: Record<MmprojWeightType, string> = { F32: 'fp32', F16: 'fp16', Q8_0: 'q8_0' };

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
  const mmprojType = mmprojWeightType(input.precision, input.mmprojType);
  const library = input.library;
  const { addon, build } = await loadMtmdAddon(library, ctx.log);
  const binding = `mtmd addon on node-llama-cpp ${NODE_LLAMA_CPP_VERSION}'s libllama`;
  // A GPU library offloads every layer and the mmproj: that is what it is chosen for.
  const gpu = library.flavour !== 'cpu';
  const side = d.vision.imageSize;
  const dir = mkdtempSync(join(tmpdir(), 'bench-mtmd-'));
  const loadStart = ctx.clock.now();
  let session: MtmdSession | undefined;
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
    let contextSize = input.textTokens + input.images * (d.imageTokensPerTile + MARKER_ESTIMATE) + input.outputTokens + CONTEXT_SLACK;
    const open = () =>
      addon.open({ model: input.llmPath, mmproj: mmprojPath, nCtx: contextSize, nBatch: contextSize, nThreads: ctx.threads, nGpuLayers: gpu ? 999 : 0, mmprojUseGpu: gpu });
    session = await open();
    // What mtmd makes of one frame and of the whole prompt, before any timing (preprocessing
    // and tokenisation, no encode).
    const frame = chunkTokens(await session.prepare(MEDIA_MARKER, [imagePaths[0]!]));
    const mtmdImageTokens = frame.image;
    const mtmdTextPerImage = frame.total - frame.image;
    const whole = chunkTokens(await session.prepare(mediaPrompt(input.images, text), imagePaths));
    session.reset();
    const needed = whole.total + input.outputTokens + CONTEXT_SLACK;
    if (needed > contextSize) {
      // mtmd's prompt (tiles, wrapper text) is longer than the estimate: a context that holds it.
      session.close();
      session = undefined;
      contextSize = needed;
      session = await open();
    }
    const loadMs = ctx.clock.now() - loadStart;
    const systemInfo = addon.systemInfo().trim();
    const simd = simdVerdict(systemInfo);
    const pre = compareFramePreprocessing(d, mtmdImageTokens);
    const pipeline = new MtmdPipeline(session, ctx.clock);
    const opened = session;
    return {
      loadMs,
      // The vision tower runs in the mmproj's form, which the roofline bounds and the configuration identity holds.
      model: { ...input.identity, visionPrecision: VISION_PRECISION[mmprojType] },
      settings: {
        runner: 'llamacpp',
        binding,
        llamaCppRelease: `${build.info.llamaCppTag} (${build.info.llamaCppCommit.slice(0, 12)})`,
        ...llamaLibrarySettings(library),
        mtmdAddonBuild: build.info.key,
        // First-use build times on this machine: the addon, and the mtmd library it links (once per llama.cpp release).
        mtmdAddonBuildSeconds: Math.round(build.info.buildMs / 100) / 10,
        mtmdLibraryBuildSeconds: Math.round(build.info.mtmdLibraryBuildMs / 100) / 10,
        mtmdAddonCompiler: build.info.compiler,
        // The identity's execution provider (as node-llama-cpp's `gpu`: false, cuda, vulkan).
        gpu: gpu ? library.flavour : 'false',
        gpuOffload: gpu ? 'all LLM layers and the mmproj' : 'none (CPU)',
        llamaDevices: addon.devices().map((x) => `${x.backend}:${x.description}`).join(' '),
        llamaCpuBackend: loadedCpuBackend(),
        llamaSystemInfo: systemInfo,
        llamaBuildSimd: simd.build,
        machineSimd: simd.machine,
        ...(simd.missing.length ? { llamaBuildMissingSimd: simd.missing.join(' ') } : {}),
        threads: ctx.threads,
        contextSize,
        flashAttention: 'off',
        mmproj: input.mmprojPath.split(/[\\/]/).pop()!,
        mmprojType,
        mmprojProjector: support.projector,
        ...(support.differs ? { mmprojDiffersFromOnnx: support.differs } : {}),
        phaseTiming: MTMD_PHASE_TIMING,
        preprocessFamily: pre.family,
        imageSource: 'synthetic camera frames (made before timing), lossless PNG files of the tile size',
        imagePreprocessing: pre.note,
        imageTokensMtmd: mtmdImageTokens,
        imageTokensReference: pre.referenceTokens,
        ...(pre.ortCellTokens !== pre.referenceTokens ? { imageTokensOrtCell: pre.ortCellTokens } : {}),
        visionTilesPerImage: pre.mtmdTiles,
        ...(mtmdTextPerImage > 0 ? { promptTextAddedByMtmd: `${mtmdTextPerImage} text tokens per image (mtmd's image markers, byte-level vocabulary), counted in promptTokens` } : {}),
        outputTokens: input.outputTokens,
        sampling: 'greedy (argmax of the logits), EOS not special',
        ...input.settings,
      },
      ...(simd.missing.length ? { flags: [{ kind: 'no-simd' as const, message: noSimdMessage(binding, simd) }] } : {}),
      runIteration: (index, warmup) => pipeline.run({ text, imagePaths, outputTokens: input.outputTokens, tilesPerImage: pre.mtmdTiles }, index, warmup),
      async close() {
        opened.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    session?.close();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
