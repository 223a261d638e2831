/**
 * A real node:http server on 127.0.0.1 that answers like llama.cpp server, vLLM or
 * ik_llama.cpp. Chunks are replayed from the JSON of the captured streams in
 * test/fixtures/endpoint-sse-*.txt (only content and counts are changed), with controlled
 * delays: the first token `firstTokenDelayMs` after the request arrived, then one content chunk
 * every `tokenGapMs`, scheduled on absolute times so timer jitter does not add up.
 *
 * Token counts: prompt_tokens = 9 (chat template) + whitespace-separated words of the text
 * parts + 64 per image; /tokenize counts words. Failure modes reproduce what the runner must
 * survive: HTTP 500, a malformed data line, a stall, a socket destroyed mid-stream, a body cut
 * short.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { callWhenDue } from '../../core/clock.ts';

export type Flavor = 'llamacpp' | 'vllm' | 'ik-no-done';

export type Failure =
  | { kind: 'http500' }
  | { kind: 'malformed'; afterTokens: number }
  | { kind: 'stall'; afterTokens: number }
  | { kind: 'reset'; afterTokens: number }
  | { kind: 'truncate'; afterTokens: number };

export interface Behaviour {
  flavor: Flavor;
  firstTokenDelayMs: number;
  tokenGapMs: number;
  /** Tokens carried by each content chunk. */
  tokensPerChunk?: number;
  /** Send a cumulative count in every chunk when the request asks (vLLM continuous usage, llama.cpp timings_per_token). */
  perChunkCounts?: boolean;
  failure?: Failure;
}

export const TEMPLATE_TOKENS = 9;
export const IMAGE_TOKENS = 64;

export interface ReceivedRequest {
  path: string;
  body: Record<string, unknown>;
  authorization: string | undefined;
  arrivedMs: number;
}

export interface FakeServer {
  url: string;
  requests: ReceivedRequest[];
  /** Most chat streams open at the same time. */
  maxInFlight: number;
  /** Behaviour of the next streamed requests, taken in order; `defaultBehaviour` afterwards. */
  queue: Behaviour[];
  defaultBehaviour: Behaviour;
  tokenize: boolean;
  /** Refuse requests without this bearer key. */
  requiredKey: string | null;
  /**
   * Destroy a connection, without answering, when a second request comes on it: to the client
   * this is what a keep-alive socket the server closed while idle looks like.
   */
  dropReusedConnections: boolean;
  close(): Promise<void>;
}

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

/** Header lines (###) dropped; the HTTP head (if any) and the SSE body of a fixture. */
export function readSseFixture(name: string): { head: string[]; body: string } {
  const lines = readFileSync(join(FIXTURES, name), 'utf8').split('\n').filter((l) => !l.startsWith('### '));
  if (lines[0]?.startsWith('HTTP/')) {
    const blank = lines.indexOf('');
    return { head: lines.slice(0, blank), body: lines.slice(blank + 1).join('\n') };
  }
  return { head: [], body: lines.join('\n') };
}

type Json = Record<string, unknown>;

function dataObjects(name: string): Json[] {
  return readSseFixture(name)
    .body.split('\n')
    .filter((l) => l.startsWith('data: {'))
    .map((l) => JSON.parse(l.slice(6)) as Json);
}

interface Templates {
  role: Json | null;
  content: Json;
  final: Json;
  done: boolean;
  headers: Record<string, string>;
}

function clone(j: Json): Json {
  return JSON.parse(JSON.stringify(j)) as Json;
}

function headersOf(name: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readSseFixture(name).head.slice(1)) {
    const i = line.indexOf(':');
    const key = line.slice(0, i).trim();
    // Transfer-Encoding and Keep-Alive are node's business.
    if (!['transfer-encoding', 'keep-alive'].includes(key.toLowerCase())) out[key] = line.slice(i + 1).trim();
  }
  return out;
}

function loadTemplates(): Record<Flavor, Templates> {
  const llama = dataObjects('endpoint-sse-llamacpp.txt');
  const ik = dataObjects('endpoint-sse-ik-llamacpp-no-done.txt');
  const vllm = dataObjects('endpoint-sse-vllm.txt');
  return {
    llamacpp: { role: llama[0]!, content: llama[1]!, final: llama[2]!, done: true, headers: headersOf('endpoint-sse-llamacpp.txt') },
    'ik-no-done': { role: null, content: ik[0]!, final: ik[2]!, done: false, headers: headersOf('endpoint-sse-ik-llamacpp-no-done.txt') },
    vllm: { role: vllm[0]!, content: vllm[1]!, final: vllm[5]!, done: true, headers: { 'Content-Type': 'text/event-stream; charset=utf-8', Server: 'uvicorn' } },
  };
}

function firstChoice(chunk: Json): Json {
  return (chunk['choices'] as Json[])[0]!;
}

function setContent(chunk: Json, text: string): Json {
  const c = clone(chunk);
  (firstChoice(c)['delta'] as Json)['content'] = text;
  return c;
}

function countWords(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

/** prompt_tokens the fake "model" charges for a chat request. */
export function fakePromptTokens(body: Json): number {
  const messages = (body['messages'] as Json[] | undefined) ?? [];
  let tokens = TEMPLATE_TOKENS;
  for (const m of messages) {
    const content = m['content'];
    if (typeof content === 'string') tokens += countWords(content);
    else if (Array.isArray(content)) {
      for (const part of content as Json[]) {
        if (part['type'] === 'text') tokens += countWords(String(part['text']));
        else if (part['type'] === 'image_url') tokens += IMAGE_TOKENS;
      }
    }
  }
  return tokens;
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    req.on('data', (b: Buffer) => parts.push(b));
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
  });
}

export async function startFakeServer(defaultBehaviour: Behaviour): Promise<FakeServer> {
  const templates = loadTemplates();
  const t0 = performance.now();
  let inFlight = 0;

  const state: FakeServer = {
    url: '',
    requests: [],
    maxInFlight: 0,
    queue: [],
    defaultBehaviour,
    tokenize: true,
    requiredKey: null,
    dropReusedConnections: false,
    close: async () => {},
  };

  const served = new WeakMap<object, number>();
  const server = http.createServer(async (req, res) => {
    const text = await readBody(req);
    const count = (served.get(req.socket) ?? 0) + 1;
    served.set(req.socket, count);
    if (state.dropReusedConnections && count > 1) {
      req.socket.destroy();
      return;
    }
    const arrivedMs = performance.now() - t0;
    const body = (text ? JSON.parse(text) : {}) as Json;
    state.requests.push({ path: req.url ?? '', body, authorization: req.headers.authorization, arrivedMs });
    // Like the real servers, every answer names the server (llama.cpp) or its ASGI host (vLLM).
    res.setHeader('Server', state.defaultBehaviour.flavor === 'vllm' ? 'uvicorn' : 'llama.cpp');
    if (state.requiredKey !== null && req.headers.authorization !== `Bearer ${state.requiredKey}`) {
      res.writeHead(401, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: { code: 401, message: 'Invalid API Key', type: 'authentication_error' } }));
      return;
    }
    if (req.url === '/tokenize') {
      if (!state.tokenize) {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('File Not Found');
        return;
      }
      const n = countWords(String(body['content'] ?? body['prompt'] ?? ''));
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ tokens: Array.from({ length: n }, (_, i) => 1000 + i) }));
      return;
    }
    if (req.url !== '/v1/chat/completions') {
      res.writeHead(404).end();
      return;
    }
    const promptTokens = fakePromptTokens(body);
    if (body['stream'] !== true) {
      // The runner's calibration probe: one token, usage only.
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(
        JSON.stringify({
          id: 'chatcmpl-probe',
          object: 'chat.completion',
          choices: [{ index: 0, message: { role: 'assistant', content: 'The' }, finish_reason: 'length' }],
          usage: { prompt_tokens: promptTokens, completion_tokens: 1, total_tokens: promptTokens + 1 },
        }),
      );
      return;
    }
    const b = state.queue.shift() ?? state.defaultBehaviour;
    streamAnswer(b, templates[b.flavor], body, promptTokens, req, res, () => {
      inFlight += 1;
      state.maxInFlight = Math.max(state.maxInFlight, inFlight);
      res.once('close', () => {
        inFlight -= 1;
      });
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}

function streamAnswer(b: Behaviour, t: Templates, body: Json, promptTokens: number, req: http.IncomingMessage, res: http.ServerResponse, opened: () => void): void {
  if (b.failure?.kind === 'http500') {
    res.writeHead(500, { 'Content-Type': 'application/json', Server: 'llama.cpp' }).end(
      JSON.stringify({ error: { code: 500, message: 'simulated failure: failed to allocate KV cache', type: 'server_error' } }),
    );
    return;
  }
  opened();
  const start = performance.now();
  const maxTokens = Number(body['max_tokens'] ?? 16);
  const perChunk = b.tokensPerChunk ?? 1;
  const chunks = Math.ceil(maxTokens / perChunk);
  const streamOptions = (body['stream_options'] as Json | undefined) ?? {};
  const countsInChunks =
    b.perChunkCounts === true &&
    ((b.flavor === 'vllm' && streamOptions['continuous_usage_stats'] === true) || (b.flavor !== 'vllm' && body['timings_per_token'] === true));
  let closed = false;
  res.once('close', () => {
    closed = true;
  });

  const send = (obj: Json | string) => {
    if (!closed) res.write(`data: ${typeof obj === 'string' ? obj : JSON.stringify(obj)}\n\n`);
  };
  const withCount = (chunk: Json, cumulative: number): Json => {
    if (!countsInChunks) return chunk;
    const c = clone(chunk);
    if (b.flavor === 'vllm') c['usage'] = { prompt_tokens: promptTokens, completion_tokens: cumulative, total_tokens: promptTokens + cumulative };
    else c['timings'] = { prompt_n: promptTokens, prompt_ms: b.firstTokenDelayMs, predicted_n: cumulative, predicted_ms: cumulative * b.tokenGapMs };
    return c;
  };

  res.writeHead(200, t.headers);
  // Role-only chunk before any token: the runner must not take it for the first token.
  if (t.role) send(withCount(t.role, 0));

  let i = 0;
  let sent = 0;
  const next = () => {
    if (closed) return;
    const f = b.failure;
    if (f && f.kind !== 'http500' && i === f.afterTokens) {
      if (f.kind === 'malformed') send('{"choices":[{"finish_reason":null,"index":0,"delta":{"content":"x"}');
      else if (f.kind === 'reset') req.socket.destroy();
      else if (f.kind === 'truncate') res.end();
      // stall: send nothing more and keep the connection open until the client gives up.
      return;
    }
    if (i < chunks) {
      const n = Math.min(perChunk, maxTokens - sent);
      sent += n;
      // vLLM sends empty-content chunks for some tokens (fixture): the 3rd chunk is one.
      const text = b.flavor === 'vllm' && i === 2 && !countsInChunks ? '' : 'ab'.repeat(n);
      send(withCount(setContent(t.content, text), sent));
      i += 1;
      const due = start + b.firstTokenDelayMs + i * b.tokenGapMs;
      setTimeout(next, Math.max(0, due - performance.now()));
      return;
    }
    const final = clone(t.final);
    const usage = { completion_tokens: maxTokens, prompt_tokens: promptTokens, total_tokens: promptTokens + maxTokens };
    if (b.flavor === 'vllm') {
      send(withCount(final, sent));
      // With include_usage vLLM closes with a usage-only chunk (choices: []), then [DONE].
      if (streamOptions['include_usage'] === true) {
        send({ id: final['id'], object: 'chat.completion.chunk', created: final['created'], model: final['model'], choices: [], usage });
      }
    } else {
      final['usage'] = usage;
      if (t.done) {
        final['timings'] = {
          prompt_n: promptTokens,
          prompt_ms: b.firstTokenDelayMs,
          prompt_per_token_ms: b.firstTokenDelayMs / promptTokens,
          prompt_per_second: (promptTokens * 1000) / b.firstTokenDelayMs,
          predicted_n: maxTokens,
          predicted_ms: (chunks - 1) * b.tokenGapMs,
          predicted_per_token_ms: ((chunks - 1) * b.tokenGapMs) / maxTokens,
          predicted_per_second: (maxTokens * 1000) / ((chunks - 1) * b.tokenGapMs),
        };
      }
      send(final);
    }
    if (t.done) send('[DONE]');
    res.end();
  };
  // The first token is never early, whatever Node's timer granularity.
  callWhenDue(() => performance.now(), start + b.firstTokenDelayMs, next);
}
