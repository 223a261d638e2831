/**
 * The endpoint runner against a real HTTP server on 127.0.0.1 (fake-server.ts) streaming the
 * llama.cpp, vLLM and ik_llama.cpp formats of test/fixtures/endpoint-sse-*.txt with controlled
 * delays: 150 ms to the first token, then 40 ms between chunks.
 *
 * Tolerances (requests of 16 output tokens):
 * - TTFT within [150, 200) ms: the server counts its 150 ms from the moment it has read the
 *   request, so loopback transfer and timer lateness on a busy 2-core machine can only add.
 * - TPOT within 60 / (n - 1) = 4 ms of its expected value: the server schedules chunks on
 *   absolute times, so the error is (lateness of the last chunk - lateness of the first) /
 *   (n - 1), and 60 ms covers the scheduling hiccups seen with the machine's load average at 4.
 * - Chunk ITL: single gaps can be off by a hiccup, so their median must be 40 ± 5 ms.
 */
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseCellParams, parseEndpointOptions } from '../../runners/endpoint/options.ts';
import { createClock } from '../../core/clock.ts';
import type { IterationRecord } from '../../core/events.ts';
import type { RunnerContext } from '../../core/runner.ts';
import type { Cell, Suite } from '../../core/suite-types.ts';
import { computeLoadMetrics, endpointRunner, prepareEndpointCell, type PreparedEndpointCell } from '../../runners/endpoint/index.ts';
import { pngSize } from '../../runners/endpoint/images.ts';
import { chunkItlMs, tpotMs, ttftMs } from '../../core/metrics.ts';
import { IMAGE_TOKENS, startFakeServer, TEMPLATE_TOKENS, type Behaviour, type FakeServer } from './fake-server.ts';
import { buildEndpointSuite } from '../../runners/endpoint/suite.ts';
import { errorMessage } from '../../core/errors.ts';
import { tempDir } from '../helpers/tmp.ts';

const FIRST_MS = 150;
const GAP_MS = 40;
const TTFT_SLACK_MS = 50;
const OUTPUT_TOKENS = 16;
const TPOT_TOL_MS = 60 / (OUTPUT_TOKENS - 1);

const llamacpp: Behaviour = { flavor: 'llamacpp', firstTokenDelayMs: FIRST_MS, tokenGapMs: GAP_MS };

let server: FakeServer;
const logs: string[] = [];
const ctx: RunnerContext = { clock: createClock(), threads: 1, log: (m) => logs.push(m) };

beforeAll(async () => {
  server = await startFakeServer(llamacpp);
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  server.queue = [];
  server.defaultBehaviour = llamacpp;
  server.tokenize = true;
  server.requiredKey = null;
  server.requests.length = 0;
  server.maxInFlight = 0;
  logs.length = 0;
});

function suite(options: Record<string, unknown> = {}): Suite {
  const s = buildEndpointSuite({ url: server.url, model: 'phi-4', maxTokens: OUTPUT_TOKENS });
  return { ...s, options: { ...s.options, imageSize: 32, ...options } };
}

function cell(params: Record<string, string | number | boolean>): Cell {
  return { id: Object.entries(params).map(([k, v]) => `${k}=${v}`).join(','), index: 0, params };
}

async function run(prepared: PreparedEndpointCell, warmup: number, measured: number): Promise<IterationRecord[]> {
  const out: IterationRecord[] = [];
  for (let i = 0; i < warmup + measured; i++) out.push(await prepared.runIteration(i, i < warmup));
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/**
 * Every record succeeded, and the median TTFT and TPOT over the records are within tolerance:
 * the median of three keeps one request hit by a scheduling hiccup (the machine is shared) from
 * failing the check while a wrong definition would still move all three.
 */
function expectTimings(records: IterationRecord[], tpotExpected: number): void {
  for (const rec of records) expect(rec.error).toBeUndefined();
  const ttft = median(records.map((r) => ttftMs(r)!));
  expect(ttft).toBeGreaterThanOrEqual(FIRST_MS);
  expect(ttft).toBeLessThan(FIRST_MS + TTFT_SLACK_MS);
  expect(Math.abs(median(records.map((r) => tpotMs(r)!)) - tpotExpected)).toBeLessThanOrEqual(TPOT_TOL_MS);
  for (const rec of records) expect(ttftMs(rec)!).toBeGreaterThanOrEqual(FIRST_MS);
}

const chatRequests = () => server.requests.filter((r) => r.path === '/v1/chat/completions' && r.body['stream'] === true);

describe('timing against the stream formats', () => {
  it('llama.cpp (timings + [DONE]): TTFT and TPOT match the server delays; server figures kept', async () => {
    const prepared = await prepareEndpointCell(cell({ images: 1, prefill: 32, concurrency: 1 }), suite(), ctx);
    expect(prepared.calibration).toMatchObject({ mode: 'tokenize', textTokens: 32, textPromptTokens: TEMPLATE_TOKENS + 32 });
    const records = await run(prepared, 1, 3);
    await prepared.close();
    expect(records.map((r) => [r.index, r.warmup])).toEqual([[0, true], [1, false], [2, false], [3, false]]);
    expectTimings(records.slice(1), GAP_MS);
    for (const rec of records.slice(1)) {
      expect(rec.outputTokens).toBe(16);
      expect(rec.events.filter((e) => e.kind === 'token')).toHaveLength(16);
      const itl = chunkItlMs(rec);
      expect(itl).toHaveLength(15);
      expect(Math.abs(median(itl) - GAP_MS)).toBeLessThanOrEqual(5);
      expect(rec.promptTokens).toBe(TEMPLATE_TOKENS + 32 + IMAGE_TOKENS);
      expect(rec.imageTokens).toBe(IMAGE_TOKENS);
      expect(rec.images).toBe(1);
      // The prefill phase is the TTFT window; decode runs first -> last token.
      const phases = rec.events.filter((e) => e.kind === 'phase');
      expect(phases.map((p) => p.kind === 'phase' && p.phase)).toEqual(['prefill', 'decode']);
      expect(phases[0]!.kind === 'phase' && phases[0]!.endMs - phases[0]!.startMs).toBe(ttftMs(rec));
      expect(rec.reported).toMatchObject({
        'usage.prompt_tokens': 105,
        'usage.completion_tokens': 16,
        'timings.prompt_n': 105,
        'timings.prompt_ms': FIRST_MS,
        'timings.predicted_n': 16,
        'timings.predicted_ms': 15 * GAP_MS,
        done_marker: 1,
        chunk_counts_from_server: 0,
        output_tokens_from_server: 1,
        http_status: 200,
        request: 0,
        concurrency: 1,
      });
    }
    expect(prepared.settings).toMatchObject({ calibration: 'tokenize', prefillTextTokens: 32, server: 'llama.cpp', concurrency: 1 });
  });

  it('llama.cpp with timings_per_token: per-chunk counts come from the server', async () => {
    server.defaultBehaviour = { ...llamacpp, perChunkCounts: true, tokensPerChunk: 2 };
    const prepared = await prepareEndpointCell(cell({ images: 0, prefill: 16 }), suite(), ctx);
    const records = await run(prepared, 0, 3);
    const rec = records[0];
    await prepared.close();
    const tokens = rec!.events.filter((e) => e.kind === 'token');
    expect(tokens.map((t) => t.kind === 'token' && [t.index, t.count])).toEqual([0, 2, 4, 6, 8, 10, 12, 14].map((i) => [i, 2]));
    expect(rec!.reported?.['chunk_counts_from_server']).toBe(1);
    // 8 chunks 40 ms apart carry 16 tokens: TPOT = 7 * 40 / 15.
    expectTimings(records, (7 * GAP_MS) / 15);
    expect(rec!.imageTokens).toBe(0);
  });

  it('vLLM with continuous usage: multi-token chunks counted from usage deltas', async () => {
    server.defaultBehaviour = { flavor: 'vllm', firstTokenDelayMs: FIRST_MS, tokenGapMs: GAP_MS, perChunkCounts: true, tokensPerChunk: 2 };
    const prepared = await prepareEndpointCell(cell({ images: 2, prefill: 20 }), suite(), ctx);
    const records = await run(prepared, 0, 3);
    const rec = records[0];
    await prepared.close();
    expectTimings(records, (7 * GAP_MS) / 15);
    expect(rec!.events.filter((e) => e.kind === 'token').map((t) => t.kind === 'token' && t.count)).toEqual(Array(8).fill(2));
    expect(rec!.outputTokens).toBe(16);
    expect(rec!.imageTokens).toBe(2 * IMAGE_TOKENS);
    expect(rec!.reported).toMatchObject({ 'usage.completion_tokens': 16, chunk_counts_from_server: 1, done_marker: 1 });
    expect(rec!.reported?.['timings.prompt_n']).toBeUndefined();
  });

  it('vLLM without per-chunk counts: one per text chunk, n_output from the final usage', async () => {
    server.defaultBehaviour = { flavor: 'vllm', firstTokenDelayMs: FIRST_MS, tokenGapMs: GAP_MS };
    const prepared = await prepareEndpointCell(cell({ images: 1, prefill: 20 }), suite({ serverParams: false }), ctx);
    const records = await run(prepared, 0, 3);
    const rec = records[0];
    await prepared.close();
    // The third chunk has empty content (as in the vLLM capture): 15 arrivals for 16 tokens.
    expect(rec!.events.filter((e) => e.kind === 'token')).toHaveLength(15);
    expect(rec!.outputTokens).toBe(16);
    expect(rec!.reported).toMatchObject({ chunk_counts_from_server: 0, output_tokens_from_server: 1 });
    expectTimings(records, GAP_MS);
    const body = chatRequests()[0]!.body;
    expect(body['stream_options']).toEqual({ include_usage: true });
    expect(body['cache_prompt']).toBeUndefined();
  });

  it('a stream without [DONE] (ik_llama.cpp) that closes with finish_reason is a complete answer', async () => {
    server.defaultBehaviour = { flavor: 'ik-no-done', firstTokenDelayMs: FIRST_MS, tokenGapMs: GAP_MS };
    const prepared = await prepareEndpointCell(cell({ images: 1, prefill: 24 }), suite(), ctx);
    const records = await run(prepared, 0, 3);
    const rec = records[0];
    await prepared.close();
    expectTimings(records, GAP_MS);
    expect(rec!.reported).toMatchObject({ done_marker: 0, 'usage.completion_tokens': 16 });
  });
});

describe('requests', () => {
  it('send distinct prompts and images of the cell size to defeat server caches', async () => {
    const prepared = await prepareEndpointCell(cell({ images: 2, prefill: 12, image_size: '48x40' }), suite({ imagePattern: 'pattern' }), ctx);
    await run(prepared, 0, 2);
    await prepared.close();
    const [a, b] = chatRequests().map((r) => r.body);
    const parts = (body: Record<string, unknown> | undefined) => (body!['messages'] as Array<{ content: Array<Record<string, unknown>> }>)[0]!.content;
    const imgs = (body: Record<string, unknown> | undefined) => parts(body).filter((p) => p['type'] === 'image_url').map((p) => (p['image_url'] as { url: string }).url);
    expect(imgs(a)).toHaveLength(2);
    const png = Buffer.from(imgs(a)[0]!.replace('data:image/png;base64,', ''), 'base64');
    expect(pngSize(png)).toEqual({ width: 48, height: 40 });
    expect(imgs(a)[0]).not.toBe(imgs(b)[0]);
    expect(parts(a)[0]!['text']).not.toBe(parts(b)[0]!['text']);
    expect(a).toMatchObject({ model: 'phi-4', stream: true, max_tokens: 16, ignore_eos: true, min_tokens: 16, stream_options: { include_usage: true } });
  });

  it('send the image files at the cell resolution and count image tokens as prompt minus text tokens', async () => {
    const dir = tempDir('bench-endpoint-res-');
    const file = join(dir, 'frame.png');
    await sharp(Buffer.alloc(640 * 480 * 3, 90), { raw: { width: 640, height: 480, channels: 3 } }).png().toFile(file);
    const prepared = await prepareEndpointCell(cell({ images: 2, prefill: 12, resolution: '320x180' }), suite({ imageFiles: [file] }), ctx);
    const [rec] = await run(prepared, 0, 1);
    await prepared.close();
    const body = chatRequests()[0]!.body!;
    const urls = (body['messages'] as Array<{ content: Array<Record<string, unknown>> }>)[0]!.content
      .filter((p) => p['type'] === 'image_url')
      .map((p) => (p['image_url'] as { url: string }).url);
    expect(urls).toHaveLength(2);
    expect(urls[0]).toMatch(/^data:image\/jpeg;base64,/);
    const meta = await sharp(Buffer.from(urls[0]!.split(',')[1]!, 'base64')).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 320, 180]);
    // the fake server counts IMAGE_TOKENS per image on top of the text prompt
    expect(rec!.imageTokens).toBe(2 * IMAGE_TOKENS);
    expect(rec!.promptTokens - rec!.imageTokens).toBe(prepared.calibration.textPromptTokens);
    expect(prepared.settings['imageSource']).toBe('files (1) scaled to 320x180 (cover), JPEG q90');
    expect(() => parseCellParams(cell({ images: 1, resolution: '720p', image_size: 448 }), suite(), parseEndpointOptions(suite()))).toThrow(/give either resolution or image_size/);
  });

  it('calibrate through usage when the server has no /tokenize', async () => {
    server.tokenize = false;
    const prepared = await prepareEndpointCell(cell({ images: 1, prefill: 40 }), suite(), ctx);
    expect(prepared.calibration).toMatchObject({ mode: 'usage', textTokens: 40, textPromptTokens: TEMPLATE_TOKENS + 40 });
    const [rec] = await run(prepared, 0, 1);
    await prepared.close();
    expect(rec!.promptTokens).toBe(TEMPLATE_TOKENS + 40 + IMAGE_TOKENS);
    expect(rec!.imageTokens).toBe(IMAGE_TOKENS);
    expect(logs.some((l) => /calibrated by usage: \d+ words = 40 text tokens \(target 40\); no \/tokenize on this server \(HTTP 404\)/.test(l))).toBe(true);
  });
});

describe('failures become the iteration error and the run goes on', () => {
  it('HTTP 500, malformed data, stall, reset, truncated body, then a good request', async () => {
    server.queue = [
      { ...llamacpp, failure: { kind: 'http500' } },
      { ...llamacpp, failure: { kind: 'malformed', afterTokens: 2 } },
      { ...llamacpp, failure: { kind: 'stall', afterTokens: 2 } },
      { ...llamacpp, failure: { kind: 'reset', afterTokens: 2 } },
      { ...llamacpp, failure: { kind: 'truncate', afterTokens: 2 } },
    ];
    const prepared = await prepareEndpointCell(cell({ images: 1, prefill: 16 }), suite({ timeoutMs: 600, maxTokens: 6 }), ctx);
    const records = await run(prepared, 0, 6);
    await prepared.close();
    const [http500, malformed, stall, reset, truncated, ok] = records;
    const where = `${server.url}/v1/chat/completions`;

    expect(http500!.error).toBe('HTTP 500 Internal Server Error: simulated failure: failed to allocate KV cache');
    expect(http500!.reported?.['http_status']).toBe(500);

    // Role chunk on line 1, tokens on lines 3 and 5, the broken event on line 7.
    expect(malformed!.error).toMatch(new RegExp(`^SSE stream from ${where}:7: malformed SSE data, not JSON`));
    expect(malformed!.events.filter((e) => e.kind === 'token')).toHaveLength(2);

    expect(stall!.error).toMatch(/^request timed out after 600 ms \(no data for the last \d+ ms; after 2 tokens\)$/);
    // The 600 ms are of silence: counted from the last byte (the second token), not the start.
    const lastToken = stall!.events.filter((e) => e.kind === 'token').at(-1)!;
    expect(stall!.endMs - lastToken.tMs).toBeGreaterThanOrEqual(600);
    expect(stall!.endMs - lastToken.tMs).toBeLessThan(800);
    // Tokens up to the stall are kept, with the TTFT still measured.
    expect(ttftMs(stall!)).toBeGreaterThanOrEqual(FIRST_MS);

    expect(reset!.error).toMatch(new RegExp(`^connection to ${where} (reset|closed) mid-stream.*after 2 tokens$`));
    expect(truncated!.error).toBe('stream ended without [DONE] and without a finish_reason after 2 tokens: the answer is truncated');

    expect(ok!.error).toBeUndefined();
    expect(ok!.outputTokens).toBe(6);
    expect(ttftMs(ok!)).toBeGreaterThanOrEqual(FIRST_MS);
  });

  it('a keep-alive connection the server dropped does not fail the next request', async () => {
    // Every request after the first on a connection finds it dropped, as when the server closed
    // an idle keep-alive socket; the runner sends it again on a new connection.
    server.dropReusedConnections = true;
    try {
      const prepared = await prepareEndpointCell(cell({ images: 0, prefill: 8 }), suite({ calibrate: 'off' }), ctx);
      const records = await run(prepared, 0, 3);
      await prepared.close();
      expect(records.map((r) => r.error ?? 'ok')).toEqual(['ok', 'ok', 'ok']);
      expect(chatRequests()).toHaveLength(3);
    } finally {
      server.dropReusedConnections = false;
    }
  });

  it('a refused connection is an error of the iteration, and of prepare', async () => {
    const other = await startFakeServer(llamacpp);
    const s = buildEndpointSuite({ url: other.url, model: 'm', maxTokens: 4 });
    const prepared = await prepareEndpointCell(cell({ images: 0, prefill: 8 }), s, ctx);
    await other.close();
    const [rec] = await run(prepared, 0, 1);
    await prepared.close();
    expect(rec!.error).toMatch(new RegExp(`^cannot connect to ${other.url}/v1/chat/completions \\(ECONNREFUSED`));
    await expect(prepareEndpointCell(cell({ images: 0, prefill: 8 }), s, ctx)).rejects.toThrow(/cannot connect.*ECONNREFUSED/);
  });
});

describe('API key', () => {
  const KEY = 'sk-test-5ecret-value';

  it('is read from the named env var, sent as a bearer token and never recorded', async () => {
    server.requiredKey = KEY;
    const prepared = await prepareEndpointCell(cell({ images: 1, prefill: 8 }), suite({ apiKeyEnv: 'BENCH_TEST_KEY' }), ctx, { BENCH_TEST_KEY: KEY });
    const records = await run(prepared, 0, 1);
    await prepared.close();
    expect(records[0]!.error).toBeUndefined();
    expect(server.requests.length).toBeGreaterThan(2);
    expect(server.requests.every((r) => r.authorization === `Bearer ${KEY}`)).toBe(true);
    const everything = JSON.stringify({ records, settings: prepared.settings, model: prepared.model, logs });
    expect(everything).not.toContain(KEY);
    expect(prepared.settings['apiKeyEnv']).toBe('BENCH_TEST_KEY');
  });

  it('a wrong key fails prepare with the server message and without the key', async () => {
    server.requiredKey = KEY;
    const err = await prepareEndpointCell(cell({ images: 0, prefill: 8 }), suite({ apiKeyEnv: 'BENCH_TEST_KEY' }), ctx, { BENCH_TEST_KEY: 'sk-wrong-key' }).catch((e: Error) => e);
    expect(errorMessage(err)).toMatch(/HTTP 401: Invalid API Key/);
    expect(errorMessage(err)).not.toContain('sk-wrong-key');
  });
});

describe('concurrency', () => {
  it('concurrency 2 sends two overlapping requests per round; throughput counts the overlap', async () => {
    const prepared = await prepareEndpointCell(cell({ images: 1, prefill: 8, concurrency: 2 }), suite(), ctx);
    const records = await run(prepared, 0, 4);
    await prepared.close();
    expect(server.maxInFlight).toBe(2);
    expect(records.map((r) => [r.index, r.reported?.['round'], r.reported?.['request']])).toEqual([
      [0, 0, 0],
      [1, 0, 1],
      [2, 1, 0],
      [3, 1, 1],
    ]);
    for (const [a, b] of [[records[0]!, records[1]!], [records[2]!, records[3]!]] as const) {
      expect(Math.abs(a.startMs - b.startMs)).toBeLessThan(20);
      expect(a.startMs < b.endMs && b.startMs < a.endMs).toBe(true);
    }
    expectTimings(records, GAP_MS);
    const load = computeLoadMetrics(records, { ttftMs: FIRST_MS + TTFT_SLACK_MS, tpotMs: GAP_MS + TPOT_TOL_MS });
    const window = (x: IterationRecord, y: IterationRecord) => Math.max(x.endMs, y.endMs) - Math.min(x.startMs, y.startMs);
    const busy = window(records[0]!, records[1]!) + window(records[2]!, records[3]!);
    expect(load.duration_ms).toBeCloseTo(busy, 9);
    expect(load.request_throughput).toBeCloseTo(4000 / busy, 9);
    expect(load.output_throughput).toBeCloseTo(64000 / busy, 9);
    // Two requests in the time of one (~750 ms): more than 1.8x the serial rate.
    expect(load.request_throughput).toBeGreaterThan((1.8 * 1000) / (FIRST_MS + 15 * GAP_MS + TTFT_SLACK_MS));
    expect(load.good_requests).toBe(4);
  });

  it('an unfinished round is dropped and logged; warm-up and measured never share a round', async () => {
    const prepared = await prepareEndpointCell(cell({ images: 0, prefill: 8, concurrency: 2 }), suite(), ctx);
    const records = await run(prepared, 1, 1);
    await prepared.close();
    expect(records.map((r) => [r.warmup, r.reported?.['round']])).toEqual([[true, 0], [false, 1]]);
    expect(chatRequests()).toHaveLength(4);
    expect(logs).toContain('endpoint: 2 request(s) of unfinished concurrency rounds were not recorded (make warmup and iterations multiples of 2)');
  });

  it('request rate: sends follow the seeded Poisson schedule within the round', async () => {
    const prepared = await prepareEndpointCell(cell({ images: 0, prefill: 8, concurrency: 3 }), suite({ requestRate: 10, seed: 3 }), ctx);
    const records = await prepared.runRound(0, false);
    await prepared.close();
    const offsets = records.map((r) => r.reported?.['scheduled_offset_ms']);
    expect(offsets[0]).toBe(0);
    expect(offsets[1]!).toBeGreaterThan(0);
    expect(offsets[2]!).toBeGreaterThan(offsets[1]!);
    for (const r of records) {
      expect(Math.abs(r.startMs - records[0]!.startMs - r.reported!['scheduled_offset_ms']!)).toBeLessThan(40);
      expect(r.error).toBeUndefined();
    }
  });
});

it('is registered under the name "endpoint"', () => {
  expect(endpointRunner.name).toBe('endpoint');
});
