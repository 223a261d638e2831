/**
 * Suite options and cell params of the endpoint runner, checked once per cell with errors that
 * name the field. See runners/endpoint/README.md for the list with defaults.
 */
import { ValidationError } from '../../core/errors.ts';
import { ENDPOINT_RUNNER_SPEC } from './spec.ts';
import { RESOLUTION_FORMS, tryParseResolution } from '../../models/preprocess/resolution.ts';
import type { Cell, Suite } from '../../core/suite-types.ts';
import type { ImagePattern, ImageSize } from './images.ts';
import type { GoodputTargets } from './load.ts';
import { DEFAULT_MAX_SSE_LINE_BYTES } from './sse.ts';
import { DEFAULT_DEADLINE_MS, DEFAULT_MAX_STREAM_BYTES } from './http-client.ts';

export type CalibrationMode = 'auto' | 'tokenize' | 'usage' | 'off';

export interface EndpointConfig {
  /** POST target for chat completions. */
  chatUrl: URL;
  /** Server root, where llama.cpp and vLLM serve /tokenize. */
  tokenizeUrl: URL;
  model: string;
  maxTokens: number;
  /** Name of the env var that held the key (the key itself is only in `apiKey`). */
  apiKeyEnv: string | null;
  apiKey: string | null;
  /** A request fails when no byte arrives for this long (before the headers or between reads). */
  timeoutMs: number;
  /** Cap of one SSE line or one event's data, bytes. */
  maxSseLineBytes: number;
  /** Longest whole request, ms (keep-alive comments do not extend it). */
  deadlineMs: number;
  /** Cap of one streamed answer, bytes. */
  maxResponseBytes: number;
  /** Poisson arrivals within a round when set (requests/s). */
  requestRate: number | null;
  targets: GoodputTargets;
  imageFiles: string[] | null;
  imageSize: ImageSize;
  imagePattern: ImagePattern;
  /** Vary prompt word order and image pixels per request to defeat server-side caches. */
  uniqueInputs: boolean;
  /** Ask the server to generate exactly maxTokens (ignore_eos, min_tokens). */
  fixedOutputLength: boolean;
  /** Send server-specific fields (llama.cpp, vLLM); off for strict OpenAI servers. */
  serverParams: boolean;
  calibrate: CalibrationMode;
  seed: number;
  /** Merged last into every chat request body. */
  extraBody: Record<string, unknown>;
  /** Option names this runner does not know (probably typos), for a warning. */
  unknownOptions: string[];
}

export interface EndpointCellParams {
  images: number;
  /** Target text tokens of the prompt (template and image tokens excluded). */
  prefill: number;
  concurrency: number;
  imageSize: ImageSize;
  /** Set when the cell has a resolution axis: image files are scaled to imageSize before sending. */
  resolution?: true;
}

const KNOWN_OPTIONS = new Set(ENDPOINT_RUNNER_SPEC.options);

export const DEFAULT_TIMEOUT_MS = 120_000;
export const DEFAULT_IMAGE_SIZE = 448;

/** Chat URL and /tokenize URL from what a user types: a root, a /v1 base or the full path. */
export function endpointUrls(raw: string, where: string): { chatUrl: URL; tokenizeUrl: URL } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ValidationError(where, 'options.url', `expected an http(s) URL such as http://127.0.0.1:8080, got "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ValidationError(where, 'options.url', `expected an http or https URL, got protocol "${url.protocol}"`);
  }
  if (url.username || url.password) {
    throw new ValidationError(where, 'options.url', 'expected a URL without credentials (name the env var holding the key in options.apiKeyEnv)');
  }
  const path = url.pathname.replace(/\/+$/, '');
  let root: string;
  let chat: string;
  if (path.endsWith('/chat/completions')) {
    chat = path;
    root = path.replace(/(\/v1)?\/chat\/completions$/, '');
  } else if (path.endsWith('/v1')) {
    chat = `${path}/chat/completions`;
    root = path.slice(0, -3);
  } else {
    chat = `${path}/v1/chat/completions`;
    root = path;
  }
  const base = `${url.protocol}//${url.host}`;
  return { chatUrl: new URL(base + chat + url.search), tokenizeUrl: new URL(`${base}${root}/tokenize`) };
}

function positiveNumber(v: unknown, where: string, field: string, integer: boolean): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
    throw new ValidationError(where, field, `expected a ${integer ? 'positive integer' : 'positive number'}, got ${JSON.stringify(v)}`);
  }
  return v;
}

function optionalPositive(v: unknown, where: string, field: string, integer: boolean): number | null {
  return v === undefined || v === null ? null : positiveNumber(v, where, field, integer);
}

function bool(v: unknown, fallback: boolean, where: string, field: string): boolean {
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw new ValidationError(where, field, `expected true or false, got ${JSON.stringify(v)}`);
  return v;
}

/** "448", 448 or "640x480". */
export function parseImageSize(v: unknown, where: string, field: string): ImageSize {
  if (typeof v === 'number' && Number.isInteger(v) && v > 0) return { width: v, height: v };
  if (typeof v === 'string') {
    const m = /^(\d+)(?:x(\d+))?$/.exec(v.trim());
    if (m) {
      const width = Number(m[1]);
      const height = m[2] !== undefined ? Number(m[2]) : width;
      if (width > 0 && height > 0) return { width, height };
    }
  }
  throw new ValidationError(where, field, `expected a size in pixels such as 448 or "640x480", got ${JSON.stringify(v)}`);
}

/** Reads and checks `suite.options`; the API key is read from the env var it names. */
export function parseEndpointOptions(suite: Suite, env: NodeJS.ProcessEnv = process.env): EndpointConfig {
  const where = `suite "${suite.name}"`;
  const o = suite.options ?? {};
  if (typeof o['url'] !== 'string' || o['url'] === '') {
    throw new ValidationError(where, 'options.url', 'is required: the server URL, e.g. http://127.0.0.1:8080');
  }
  if (typeof o['model'] !== 'string' || o['model'] === '') {
    throw new ValidationError(where, 'options.model', 'is required: the model name the server serves (as in GET /v1/models)');
  }
  const { chatUrl, tokenizeUrl } = endpointUrls(o['url'], where);

  let apiKeyEnv: string | null = null;
  let apiKey: string | null = null;
  if (o['apiKeyEnv'] !== undefined) {
    if (typeof o['apiKeyEnv'] !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(o['apiKeyEnv'])) {
      throw new ValidationError(where, 'options.apiKeyEnv', 'expected the name of an environment variable (not the key itself)');
    }
    apiKeyEnv = o['apiKeyEnv'];
    const key = env[apiKeyEnv];
    if (key === undefined || key === '') {
      throw new ValidationError(where, 'options.apiKeyEnv', `names ${apiKeyEnv}, which is not set in the environment`);
    }
    apiKey = key;
  }

  let imageFiles: string[] | null = null;
  if (o['imageFiles'] !== undefined) {
    const files = o['imageFiles'];
    if (!Array.isArray(files) || files.length === 0 || !files.every((f): f is string => typeof f === 'string' && f !== '')) {
      throw new ValidationError(where, 'options.imageFiles', 'expected a non-empty list of image file paths');
    }
    imageFiles = files;
  }

  const pattern = o['imagePattern'] ?? 'noise';
  if (pattern !== 'noise' && pattern !== 'pattern') {
    throw new ValidationError(where, 'options.imagePattern', `expected "noise" or "pattern", got ${JSON.stringify(pattern)}`);
  }
  const calibrate = o['calibrate'] ?? 'auto';
  if (calibrate !== 'auto' && calibrate !== 'tokenize' && calibrate !== 'usage' && calibrate !== 'off') {
    throw new ValidationError(where, 'options.calibrate', `expected "auto", "tokenize", "usage" or "off", got ${JSON.stringify(calibrate)}`);
  }
  const seed = o['seed'] ?? 0;
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0) {
    throw new ValidationError(where, 'options.seed', `expected an integer >= 0, got ${JSON.stringify(seed)}`);
  }
  const extraBody = o['extraBody'] ?? {};
  if (typeof extraBody !== 'object' || extraBody === null || Array.isArray(extraBody)) {
    throw new ValidationError(where, 'options.extraBody', 'expected an object of fields to add to each request body');
  }

  const targets: GoodputTargets = {};
  const ttft = optionalPositive(o['ttftTargetMs'], where, 'options.ttftTargetMs', false);
  const tpot = optionalPositive(o['tpotTargetMs'], where, 'options.tpotTargetMs', false);
  const e2e = optionalPositive(o['e2eTargetMs'], where, 'options.e2eTargetMs', false);
  if (ttft !== null) targets.ttftMs = ttft;
  if (tpot !== null) targets.tpotMs = tpot;
  if (e2e !== null) targets.e2eMs = e2e;

  return {
    chatUrl,
    tokenizeUrl,
    model: o['model'],
    maxTokens: o['maxTokens'] === undefined ? suite.defaults.outputTokens : positiveNumber(o['maxTokens'], where, 'options.maxTokens', true),
    apiKeyEnv,
    apiKey,
    timeoutMs: o['timeoutMs'] === undefined ? DEFAULT_TIMEOUT_MS : positiveNumber(o['timeoutMs'], where, 'options.timeoutMs', false),
    maxSseLineBytes: o['maxSseLineBytes'] === undefined ? DEFAULT_MAX_SSE_LINE_BYTES : positiveNumber(o['maxSseLineBytes'], where, 'options.maxSseLineBytes', true),
    deadlineMs: o['deadlineMs'] === undefined ? DEFAULT_DEADLINE_MS : positiveNumber(o['deadlineMs'], where, 'options.deadlineMs', false),
    maxResponseBytes: o['maxResponseBytes'] === undefined ? DEFAULT_MAX_STREAM_BYTES : positiveNumber(o['maxResponseBytes'], where, 'options.maxResponseBytes', true),
    requestRate: optionalPositive(o['requestRate'], where, 'options.requestRate', false),
    targets,
    imageFiles,
    imageSize: o['imageSize'] === undefined ? { width: DEFAULT_IMAGE_SIZE, height: DEFAULT_IMAGE_SIZE } : parseImageSize(o['imageSize'], where, 'options.imageSize'),
    imagePattern: pattern,
    uniqueInputs: bool(o['uniqueInputs'], true, where, 'options.uniqueInputs'),
    fixedOutputLength: bool(o['fixedOutputLength'], true, where, 'options.fixedOutputLength'),
    serverParams: bool(o['serverParams'], true, where, 'options.serverParams'),
    calibrate,
    seed,
    extraBody: extraBody as Record<string, unknown>,
    unknownOptions: Object.keys(o).filter((k) => !KNOWN_OPTIONS.has(k)),
  };
}

/**
 * Largest cell values the endpoint runner takes. Each request's images and prompt are built in
 * memory before it is sent (99999 images grew the process by 35 MB/s), so values far beyond what
 * any served model accepts are refused before the run: 1,048,576 tokens is the largest context
 * served models have; 64 images per request is above any server's default multi-image limit.
 */
export const ENDPOINT_CELL_LIMITS = { images: 64, prefill: 1_048_576, concurrency: 1024 } as const;

function intParam(v: unknown, fallback: number, min: number, where: string, field: string, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return fallback;
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min) {
    throw new ValidationError(where, field, `expected an integer >= ${min}, got ${JSON.stringify(v)}`);
  }
  if (n > max) throw new ValidationError(where, field, `${n} is beyond the endpoint runner's limit of ${max} (runners/endpoint/options.ts ENDPOINT_CELL_LIMITS)`);
  return n;
}

/** images (default 1), prefill (default 128), concurrency (default 1), image_size (default options.imageSize). */
export function parseCellParams(cell: Cell, suite: Suite, config: EndpointConfig): EndpointCellParams {
  const where = `suite "${suite.name}", cell ${cell.id}`;
  const p = cell.params;
  return {
    images: intParam(p['images'], 1, 0, where, 'images', ENDPOINT_CELL_LIMITS.images),
    prefill: intParam(p['prefill'], 128, 1, where, 'prefill', ENDPOINT_CELL_LIMITS.prefill),
    concurrency: intParam(p['concurrency'], 1, 1, where, 'concurrency', ENDPOINT_CELL_LIMITS.concurrency),
    imageSize: cellImageSize(p, config, where),
    ...(p['resolution'] !== undefined ? { resolution: true } : {}),
  };
}

/** image_size (pixels) or resolution (WxH or a preset such as 1080p); not both. */
function cellImageSize(p: Cell['params'], config: EndpointConfig, where: string): ImageSize {
  if (p['resolution'] !== undefined) {
    if (p['image_size'] !== undefined) throw new ValidationError(where, 'resolution', 'give either resolution or image_size, not both');
    const r = tryParseResolution(p['resolution']);
    if (!r) throw new ValidationError(where, 'resolution', `${JSON.stringify(p['resolution'])} is not a resolution; expected ${RESOLUTION_FORMS}`);
    return r;
  }
  return p['image_size'] === undefined ? config.imageSize : parseImageSize(p['image_size'], where, 'image_size');
}
