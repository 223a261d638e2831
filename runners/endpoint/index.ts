/**
 * The `endpoint` runner: benchmarks any OpenAI-compatible streaming chat server (llama.cpp
 * server, vLLM, LMDeploy, Ollama, TensorRT-LLM) with test images and a prompt of a set token
 * length.
 *
 * Records under load: one IterationRecord per request (DESIGN.md: an iteration is one measured
 * request). A cell with `concurrency: c` sends its requests in rounds of c concurrent requests;
 * `runRound` returns a round's c records, and `runIteration` — what the harness calls, one
 * record per call — starts a round on the first call and hands out its remaining records on the
 * next c - 1 calls. So `iterations` counts requests and should be a multiple of c; the requests
 * of an unfinished last round are dropped (and logged) at close. Warm-up and measured requests
 * never share a round. Each record says `reported.request`/`round`/`concurrency`, from which
 * load.ts computes throughput and goodput.
 */
import http from 'node:http';
import https from 'node:https';
import type { IterationRecord } from '../../core/events.ts';
import type { PreparedCell, Runner, RunnerContext } from '../../core/runner.ts';
import type { Cell, Suite } from '../../core/suite-types.ts';
import { calibratePrompt, type CalibrationResult } from './calibration.ts';
import type { HttpTarget } from './http-client.ts';
import { displayUrl } from './http-client.ts';
import { dataUrl, generateTestImage, loadImageFiles, scaledImageFiles } from './images.ts';
import { parseCellParams, parseEndpointOptions, type EndpointCellParams, type EndpointConfig } from './options.ts';
import { instructionFor, promptText } from './prompt.ts';
import { hashSeed, mixSeeds, poissonOffsetsMs } from './random.ts';
import { computeLoadMetrics } from './load.ts';
import { runStreamingRequest } from './request.ts';
import { streamingChatBody } from './request-body.ts';
import { errorMessage } from '../../core/errors.ts';

export { computeLoadMetrics, isGoodRequest, busyDurationMs, type GoodputTargets, type LoadMetrics } from './load.ts';
export { buildEndpointSuite, type EndpointSuiteOptions } from './suite.ts';
export { parseEndpointOptions, parseCellParams } from './options.ts';
export { poissonOffsetsMs } from './random.ts';

/** The PreparedCell of this runner, with the round-level entry point a load-aware harness can use. */
export interface PreparedEndpointCell extends PreparedCell {
  /** Sends one round of `concurrency` requests and returns their records, in request order. */
  runRound(round: number, warmup: boolean): Promise<IterationRecord[]>;
  readonly config: EndpointConfig;
  readonly params: EndpointCellParams;
  readonly calibration: CalibrationResult;
}

function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
}

function failedRecord(index: number, warmup: boolean, images: number, t: number, message: string): IterationRecord {
  return { index, warmup, startMs: t, endMs: t, promptTokens: Number.NaN, imageTokens: Number.NaN, images, outputTokens: 0, events: [], error: message };
}

export async function prepareEndpointCell(cell: Cell, suite: Suite, ctx: RunnerContext, env: NodeJS.ProcessEnv = process.env): Promise<PreparedEndpointCell> {
  const config = parseEndpointOptions(suite, env);
  const params = parseCellParams(cell, suite, config);
  if (config.unknownOptions.length > 0) ctx.log(`endpoint: ignoring unknown suite option(s): ${config.unknownOptions.join(', ')}`);

  // With a resolution axis the files are sent at the cell's resolution; otherwise as they are.
  const fileImages = !config.imageFiles
    ? null
    : params.resolution
      ? await scaledImageFiles(config.imageFiles, params.imageSize, 'options.imageFiles')
      : loadImageFiles(config.imageFiles, 'options.imageFiles');

  const secure = config.chatUrl.protocol === 'https:';
  // Keep-alive so that only the first (warm-up) request pays for the TCP/TLS handshake.
  const agent = secure ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'text/event-stream' };
  if (config.apiKey !== null) headers['authorization'] = `Bearer ${config.apiKey}`;
  const chat: HttpTarget = { url: config.chatUrl, headers, agent, timeoutMs: config.timeoutMs, deadlineMs: config.deadlineMs, maxResponseBytes: config.maxResponseBytes };
  // JSON answers (tokenize, calibration) keep postJson's own, smaller cap.
  const chatJson: HttpTarget = { url: config.chatUrl, headers, agent, timeoutMs: config.timeoutMs };
  const tokenize: HttpTarget = { ...chatJson, url: config.tokenizeUrl };
  const apiKey = config.apiKey;
  const redact = (text: string) => (apiKey ? text.split(apiKey).join('[redacted]') : text);

  const cellSeed = mixSeeds(config.seed, hashSeed(cell.id));
  const instruction = instructionFor(params.images);

  let calibration: CalibrationResult;
  try {
    calibration = await calibratePrompt({
      mode: config.calibrate,
      target: params.prefill,
      model: config.model,
      instruction,
      seed: cellSeed,
      needTextPromptTokens: params.images > 0,
      chat: chatJson,
      tokenize,
      serverParams: config.serverParams,
      extraBody: config.extraBody,
    });
  } catch (err) {
    agent.destroy();
    throw new Error(redact(`endpoint ${displayUrl(config.chatUrl)}: ${errorMessage(err)}`));
  }
  ctx.log(
    `endpoint: prompt calibrated by ${calibration.mode}: ${calibration.words} words = ${calibration.textTokens ?? '?'} text tokens ` +
      `(target ${params.prefill})${calibration.notes.length ? `; ${calibration.notes.join('; ')}` : ''}`,
  );

  const sharedImages = new Map<number, string>();
  const imagesFor = async (serial: number): Promise<string[]> => {
    const urls: string[] = [];
    for (let i = 0; i < params.images; i++) {
      if (fileImages) {
        urls.push(fileImages[i % fileImages.length]!);
        continue;
      }
      if (!config.uniqueInputs && sharedImages.has(i)) {
        urls.push(sharedImages.get(i)!);
        continue;
      }
      const seed = config.uniqueInputs ? mixSeeds(cellSeed, serial, i) : mixSeeds(cellSeed, i);
      const url = dataUrl(await generateTestImage(params.imageSize, config.imagePattern, seed), 'image/png');
      if (!config.uniqueInputs) sharedImages.set(i, url);
      urls.push(url);
    }
    return urls;
  };

  let serial = 0;
  const runRound = async (round: number, warmup: boolean): Promise<IterationRecord[]> => {
    const c = params.concurrency;
    // Bodies (image generation, JSON) are built before the round so that no request's send
    // time waits on another's preparation.
    const bodies: string[] = [];
    for (let r = 0; r < c; r++) {
      const n = serial++;
      const text = promptText(calibration.words, config.uniqueInputs ? mixSeeds(cellSeed, n) : cellSeed, instruction);
      const body = streamingChatBody({
        model: config.model,
        text,
        imageUrls: await imagesFor(n),
        maxTokens: config.maxTokens,
        fixedOutputLength: config.fixedOutputLength,
        serverParams: config.serverParams,
        extraBody: config.extraBody,
      });
      bodies.push(JSON.stringify(body));
    }
    const offsets = config.requestRate !== null ? poissonOffsetsMs(c, config.requestRate, mixSeeds(cellSeed, round)) : null;
    const roundStart = ctx.clock.now();
    return Promise.all(
      bodies.map(async (body, r) => {
        const offset = offsets?.[r] ?? 0;
        await sleep(offset - (ctx.clock.now() - roundStart));
        return runStreamingRequest(chat, body, ctx.clock, {
          index: round * c + r,
          warmup,
          images: params.images,
          round,
          request: r,
          concurrency: c,
          scheduledOffsetMs: offsets ? offset : null,
          textPromptTokens: calibration.textPromptTokens,
          maxSseLineBytes: config.maxSseLineBytes,
          maxTokens: config.maxTokens,
        }, redact);
      }),
    );
  };

  const safeRound = async (r: number, warmup: boolean): Promise<IterationRecord[]> => {
    try {
      return await runRound(r, warmup);
    } catch (err) {
      const t = ctx.clock.now();
      const message = redact(`endpoint runner failed to send round ${r}: ${errorMessage(err)}`);
      return Array.from({ length: params.concurrency }, (_, i) => failedRecord(r * params.concurrency + i, warmup, params.images, t, message));
    }
  };

  let round = 0;
  let buffered: { warmup: boolean; records: IterationRecord[] } | null = null;
  let dropped = 0;

  const settings: Record<string, string | number | boolean> = {
    url: displayUrl(config.chatUrl),
    model: config.model,
    maxTokens: config.maxTokens,
    images: params.images,
    imageSize: `${params.imageSize.width}x${params.imageSize.height}`,
    imageSource: fileImages
      ? `files (${config.imageFiles!.length})${params.resolution ? ` scaled to ${params.imageSize.width}x${params.imageSize.height} (cover), JPEG q90` : ', sent as they are'}`
      : `generated ${config.imagePattern} PNG`,
    imageTokensAre: 'server prompt tokens minus the text prompt tokens measured without images',
    prefillTarget: params.prefill,
    prefillTextTokens: calibration.textTokens ?? 'not calibrated',
    calibration: calibration.mode,
    concurrency: params.concurrency,
    recordsAre: `one per request; rounds of ${params.concurrency} concurrent request(s)`,
    uniqueInputs: config.uniqueInputs,
    fixedOutputLength: config.fixedOutputLength,
    serverParams: config.serverParams,
    timeoutMs: config.timeoutMs,
    maxSseLineBytes: config.maxSseLineBytes,
    ttftMeaning: 'request sent -> first content token: upload, image encoding, prefill and first token',
  };
  if (calibration.textPromptTokens !== null) settings['textPromptTokens'] = calibration.textPromptTokens;
  if (calibration.serverHeader) settings['server'] = calibration.serverHeader;
  // A cell whose calibration had to retry or fall back says so in its record.
  if (calibration.retries > 0) settings['calibrationRetries'] = calibration.retries;
  if (calibration.fallback) settings['calibrationFallback'] = redact(calibration.fallback);
  if (config.requestRate !== null) settings['requestRate'] = config.requestRate;
  if (config.apiKeyEnv !== null) settings['apiKeyEnv'] = config.apiKeyEnv;
  if (config.targets.ttftMs !== undefined) settings['ttftTargetMs'] = config.targets.ttftMs;
  if (config.targets.tpotMs !== undefined) settings['tpotTargetMs'] = config.targets.tpotMs;
  if (config.targets.e2eMs !== undefined) settings['e2eTargetMs'] = config.targets.e2eMs;

  return {
    // The server loaded the model before the run; this runner loads nothing.
    loadMs: 0,
    model: {
      architecture: config.model,
      precision: typeof cell.params['precision'] === 'string' ? cell.params['precision'] : 'as served',
      layout: 'openai-endpoint',
      synthetic: false,
    },
    settings,
    config,
    params,
    calibration,
    runRound: safeRound,
    async runIteration(index: number, warmup: boolean): Promise<IterationRecord> {
      try {
        if (!buffered || buffered.warmup !== warmup || buffered.records.length === 0) {
          dropped += buffered?.records.length ?? 0;
          buffered = { warmup, records: await safeRound(round++, warmup) };
        }
        const record = buffered.records.shift()!;
        record.index = index;
        return record;
      } catch (err) {
        const t = ctx.clock.now();
        return failedRecord(index, warmup, params.images, t, redact(`endpoint runner: ${errorMessage(err)}`));
      }
    },
    summarizeCell(records) {
      const load = computeLoadMetrics(records, config.targets);
      const out: Record<string, { value: number; unit: string }> = {
        request_throughput: { value: load.request_throughput, unit: 'requests/s' },
        output_throughput: { value: load.output_throughput, unit: 'tokens/s' },
        request_goodput: { value: load.request_goodput, unit: 'requests/s' },
        goodput_fraction: { value: load.goodput_fraction, unit: 'fraction' },
      };
      if (load.total_token_throughput !== null) out['total_token_throughput'] = { value: load.total_token_throughput, unit: 'tokens/s' };
      return out;
    },
    async close() {
      dropped += buffered?.records.length ?? 0;
      buffered = null;
      if (dropped > 0) {
        ctx.log(`endpoint: ${dropped} request(s) of unfinished concurrency rounds were not recorded (make warmup and iterations multiples of ${params.concurrency})`);
      }
      agent.destroy();
    },
  };
}

export const endpointRunner: Runner = {
  name: 'endpoint',
  prepare: (cell, suite, ctx) => prepareEndpointCell(cell, suite, ctx),
  // Options (an unset apiKeyEnv variable included) and every cell's values, before the run.
  checkPlan: (suite, cells) => {
    const config = parseEndpointOptions(suite);
    for (const cell of cells) parseCellParams(cell, suite, config);
  },
};
