import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../core/errors.ts';
import { parseSuiteText } from '../../harness/suite-loader.ts';
import type { Suite } from '../../core/suite-types.ts';
import { generateTestImage, loadImageFiles, pngSize } from '../../runners/endpoint/images.ts';
import { endpointUrls, parseCellParams, parseEndpointOptions } from '../../runners/endpoint/options.ts';
import { calibrateWords, instructionFor, promptText } from '../../runners/endpoint/prompt.ts';
import { streamingChatBody } from '../../runners/endpoint/request-body.ts';
import { buildEndpointSuite } from '../../runners/endpoint/suite.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('prompt text', () => {
  it('has the requested number of words plus the instruction, in a seeded order', () => {
    const a = promptText(40, 1, instructionFor(1));
    expect(a.split(' ')).toHaveLength(40 + 5);
    expect(a.endsWith('Describe the image in detail.')).toBe(true);
    expect(promptText(40, 1, 'x')).toBe(promptText(40, 1, 'x'));
    expect(promptText(40, 2, 'x')).not.toBe(promptText(40, 1, 'x'));
  });

  it('calibration finds the word count that gives the target tokens', async () => {
    // A tokenizer with 7 tokens of overhead and 2 tokens per word.
    const probes: number[] = [];
    const r = await calibrateWords(107, async (w) => {
      probes.push(w);
      return 7 + 2 * w;
    });
    expect(r).toEqual({ words: 50, tokens: 107, probes: probes.length });
    expect(probes.length).toBeLessThanOrEqual(4);
  });

  it('returns the closest reachable count, preferring the shorter prompt on a tie', async () => {
    const r = await calibrateWords(108, async (w) => 7 + 2 * w);
    expect(r.tokens).toBe(107);
    expect(r.words).toBe(50);
    const short = await calibrateWords(3, async (w) => 5 + w);
    expect(short).toMatchObject({ words: 0, tokens: 5 });
  });
});

describe('test images', () => {
  it('are PNGs of the requested size, the same bytes for the same seed', async () => {
    const a = await generateTestImage({ width: 64, height: 48 }, 'noise', 5);
    expect(pngSize(a)).toEqual({ width: 64, height: 48 });
    expect(a.equals(await generateTestImage({ width: 64, height: 48 }, 'noise', 5))).toBe(true);
    expect(a.equals(await generateTestImage({ width: 64, height: 48 }, 'noise', 6))).toBe(false);
    const p = await generateTestImage({ width: 40, height: 40 }, 'pattern', 5);
    expect(pngSize(p)).toEqual({ width: 40, height: 40 });
    // Noise does not compress: at least the raw RGB size.
    expect(a.length).toBeGreaterThan(64 * 48 * 3);
  });

  it('files are read into data URLs; a bad entry is named', () => {
    const dir = tempDir('endpoint-img-');
    writeFileSync(join(dir, 'a.jpg'), Buffer.from([0xff, 0xd8, 0xff]));
    expect(loadImageFiles([join(dir, 'a.jpg')], 'options.imageFiles')).toEqual(['data:image/jpeg;base64,/9j/']);
    expect(() => loadImageFiles([join(dir, 'a.jpg'), join(dir, 'missing.png')], 'options.imageFiles')).toThrow(/options\.imageFiles\[1\]: cannot read/);
    expect(() => loadImageFiles([join(dir, 'a.txt')], 'options.imageFiles')).toThrow(/options\.imageFiles\[0\]: .* unknown image extension/);
  });
});

describe('options', () => {
  it('derives the chat and /tokenize URLs from a root, a /v1 base or the full path', () => {
    const s = (u: string) => {
      const r = endpointUrls(u, 'x');
      return [r.chatUrl.href, r.tokenizeUrl.href];
    };
    expect(s('http://jetson:8080')).toEqual(['http://jetson:8080/v1/chat/completions', 'http://jetson:8080/tokenize']);
    expect(s('http://jetson:8080/v1/')).toEqual(['http://jetson:8080/v1/chat/completions', 'http://jetson:8080/tokenize']);
    expect(s('https://h/proxy/v1/chat/completions')).toEqual(['https://h/proxy/v1/chat/completions', 'https://h/proxy/tokenize']);
    expect(() => endpointUrls('ftp://h', 'x')).toThrow(/options\.url.*http or https/);
    expect(() => endpointUrls('http://user:sk-1@h', 'x')).toThrow(/without credentials/);
  });

  const suite = (options: Record<string, unknown>): Suite => ({ ...buildEndpointSuite({ url: 'http://127.0.0.1:1', model: 'm' }), options });

  it('names the field that is wrong', () => {
    expect(() => parseEndpointOptions(suite({ model: 'm' }))).toThrow(ValidationError);
    expect(() => parseEndpointOptions(suite({ model: 'm' }))).toThrow(/options\.url.*is required/);
    expect(() => parseEndpointOptions(suite({ url: 'http://h', model: 'm', maxTokens: 0 }))).toThrow(/options\.maxTokens.*positive integer, got 0/);
    expect(() => parseEndpointOptions(suite({ url: 'http://h', model: 'm', requestRate: -1 }))).toThrow(/options\.requestRate/);
    expect(() => parseEndpointOptions(suite({ url: 'http://h', model: 'm', apiKeyEnv: 'sk-abc-123' }))).toThrow(/name of an environment variable/);
  });

  it('reads the key from the env var it names, and fails clearly when it is unset', () => {
    const s = suite({ url: 'http://h', model: 'm', apiKeyEnv: 'MY_KEY', ttftTargetMs: 500 });
    const c = parseEndpointOptions(s, { MY_KEY: 'secret-1' });
    expect(c.apiKey).toBe('secret-1');
    expect(c.apiKeyEnv).toBe('MY_KEY');
    expect(c.targets).toEqual({ ttftMs: 500 });
    expect(() => parseEndpointOptions(s, {})).toThrow(/options\.apiKeyEnv.*names MY_KEY, which is not set/);
  });

  it('reads cell params with defaults and image_size as N or WxH', () => {
    const s = suite({ url: 'http://h', model: 'm', imageSize: 336 });
    const c = parseEndpointOptions(s, {});
    expect(parseCellParams({ id: 'a', index: 0, params: {} }, s, c)).toEqual({ images: 1, prefill: 128, concurrency: 1, imageSize: { width: 336, height: 336 } });
    expect(parseCellParams({ id: 'b', index: 0, params: { images: 3, prefill: 512, concurrency: 4, image_size: '640x480' } }, s, c)).toEqual({
      images: 3,
      prefill: 512,
      concurrency: 4,
      imageSize: { width: 640, height: 480 },
    });
    expect(() => parseCellParams({ id: 'c', index: 0, params: { concurrency: 0 } }, s, c)).toThrow(/cell c: field "concurrency": expected an integer >= 1/);
  });

  it('builds a streaming body asking for usage and a fixed output length', () => {
    const body = streamingChatBody({ model: 'm', text: 't', imageUrls: ['data:image/png;base64,AA'], maxTokens: 64, fixedOutputLength: true, serverParams: true, extraBody: { top_k: 1 } });
    expect(body).toMatchObject({
      model: 'm',
      max_tokens: 64,
      stream: true,
      stream_options: { include_usage: true, continuous_usage_stats: true },
      ignore_eos: true,
      min_tokens: 64,
      cache_prompt: false,
      timings_per_token: true,
      top_k: 1,
      messages: [{ role: 'user', content: [{ type: 'text', text: 't' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AA' } }] }],
    });
    const strict = streamingChatBody({ model: 'm', text: 't', imageUrls: [], maxTokens: 8, fixedOutputLength: false, serverParams: false, extraBody: {} });
    expect(Object.keys(strict).sort()).toEqual(['max_tokens', 'messages', 'model', 'stream', 'stream_options', 'temperature']);
    expect(strict['stream_options']).toEqual({ include_usage: true });
  });
});

describe('suites', () => {
  it('buildEndpointSuite gives a valid suite with the command-line values', () => {
    const s = buildEndpointSuite({ url: 'http://jetson:8080', model: 'qwen2.5-vl-3b', images: 2, promptTokens: 256, maxTokens: 64, concurrency: 4, iterations: 10, warmup: 1 });
    expect(s.runner).toBe('endpoint');
    expect(s.matrix).toEqual({ images: [2], prefill: [256], concurrency: [4] });
    // Whole concurrency rounds: 10 -> 12 requests, 1 -> 4 warm-up requests.
    expect(s.defaults).toEqual({ warmup: 4, iterations: 12, outputTokens: 64 });
    expect(s.options).toEqual({ url: 'http://jetson:8080', model: 'qwen2.5-vl-3b', maxTokens: 64, timeoutMs: 120000 });
    expect(() => parseSuiteText(JSON.stringify(s), 'built.json')).not.toThrow();
    expect(() => buildEndpointSuite({ url: 'http://h', model: 'm', concurrency: 0 })).toThrow(/--concurrency: expected an integer >= 1, got 0/);
    expect(() => buildEndpointSuite({ url: 'jetson:8080', model: 'm' })).toThrow(/options\.url/);
  });

  it('suites/endpoint-default.yaml is the suite buildEndpointSuite gives for its url and model', () => {
    const path = join(import.meta.dirname, '..', '..', 'suites', 'endpoint-default.yaml');
    const fromFile = parseSuiteText(readFileSync(path, 'utf8'), path);
    expect(fromFile).toEqual(buildEndpointSuite({ url: 'http://127.0.0.1:8080', model: 'default' }));
  });

  for (const file of ['endpoint-default.yaml', 'llamacpp-orin-nx.yaml']) {
    it(`suites/${file} passes the suite schema and the runner's option checks`, () => {
      const path = join(import.meta.dirname, '..', '..', 'suites', file);
      const s = parseSuiteText(readFileSync(path, 'utf8'), path);
      expect(s.runner).toBe('endpoint');
      const c = parseEndpointOptions(s, {});
      expect(c.model.length).toBeGreaterThan(0);
      for (const v of s.matrix['concurrency'] ?? [1]) expect(s.defaults.iterations % Number(v)).toBe(0);
    });
  }
});
