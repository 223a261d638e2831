/**
 * The HTTP side of the endpoint runner on node:http, chosen over fetch for direct access to each
 * network read (the time a token arrives is the time its bytes are handed to us) and to socket
 * error codes. Nothing here throws: every failure comes back as a `failure` with a reason a user
 * can act on. Request headers (the API key) never appear in any message.
 */
import http from 'node:http';
import https from 'node:https';
import { callWhenDue, type Clock } from '../../core/clock.ts';
import { excerpt } from './chunk.ts';
import { errorMessage } from '../../core/errors.ts';

export interface HttpTarget {
  url: URL;
  headers: Record<string, string>;
  agent: http.Agent;
  /**
   * Longest silence, ms: before the response headers, or between two reads of the body. A stream
   * still sending (a long chunk arriving slowly) is never a timeout; a stalled one is aborted.
   */
  timeoutMs: number;
  /**
   * Longest whole request, ms, from the request to the end of the answer: a server that keeps a
   * request open with keep-alive comments is stopped here (default DEFAULT_DEADLINE_MS).
   */
  deadlineMs?: number;
  /** Most bytes read of one answer's body (default: DEFAULT_MAX_STREAM_BYTES streamed, MAX_JSON_BYTES for JSON). */
  maxResponseBytes?: number;
}

/** Default overall limit of one request, ms. */
export const DEFAULT_DEADLINE_MS = 600_000;
/** Default cap of a streamed answer, bytes: thousands of tokens of SSE chunks take a few MiB. */
export const DEFAULT_MAX_STREAM_BYTES = 64 * 2 ** 20;
/** Cap of a JSON answer (calibration, tokenize, models), bytes: a tokenized prompt is tens of KiB. */
export const MAX_JSON_BYTES = 4 * 2 ** 20;

export type FailureKind = 'connect' | 'http' | 'timeout' | 'reset' | 'parse' | 'server' | 'content-type' | 'too-large';

export interface StreamOutcome {
  /** Clock time just before the request was handed to the socket. */
  startMs: number;
  /** Clock time of the answer's end ([DONE], end of body) or of the failure. */
  endMs: number;
  status: number | null;
  serverHeader: string | null;
  failure: { kind: FailureKind; message: string } | null;
}

/** Handed each network read of a successful response with its arrival time. */
export interface StreamConsumer {
  /** Return true when the answer is complete ([DONE]); throw to abort with a parse/server error. */
  onData(bytes: Buffer, tMs: number): boolean;
  /** Describes progress for error messages, e.g. "after 3 tokens". */
  progress(): string;
}

const ERROR_BODY_BYTES = 4096;
/** After [DONE] the rest of the body is drained this long before the socket is given up. */
const DRAIN_MS = 2000;

function errorCode(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  return typeof code === 'string' ? code : (err as Error).name;
}

function describeSocketError(err: unknown, where: string, stage: 'before' | 'during'): { kind: FailureKind; message: string } {
  const code = errorCode(err);
  const msg = errorMessage(err);
  if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED'].includes(code)) {
    return { kind: 'connect', message: `cannot connect to ${where} (${code}: ${msg})` };
  }
  return stage === 'before'
    ? { kind: 'reset', message: `connection to ${where} reset before the response headers (${code}: ${msg})` }
    : { kind: 'reset', message: `connection to ${where} reset mid-stream (${code}: ${msg})` };
}

/** "HTTP 500 Internal Server Error: <message from the JSON error, or the body's start>". */
export function describeHttpError(status: number, statusText: string | undefined, body: string): string {
  let detail = excerpt(body, 300);
  try {
    const json = JSON.parse(body) as { error?: unknown; message?: unknown; detail?: unknown };
    const err = json.error;
    if (typeof err === 'string') detail = err;
    else if (err && typeof err === 'object' && typeof (err as { message?: unknown }).message === 'string') {
      detail = (err as { message: string }).message;
    } else if (typeof json.message === 'string') detail = json.message;
    else if (typeof json.detail === 'string') detail = json.detail;
  } catch {
    // Not JSON: the excerpt of the text is the best detail there is.
  }
  return `HTTP ${status}${statusText ? ` ${statusText}` : ''}: ${detail || '(empty body)'}`;
}

/** The URL as safe to print: no credentials, no query string. */
export function displayUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

function requestFn(url: URL): typeof http.request {
  return url.protocol === 'https:' ? https.request : http.request;
}

/** POSTs `body` and streams the answer to `consumer`; resolves (never rejects) with the outcome. */
export async function postStream(target: HttpTarget, body: string, clock: Clock, consumer: StreamConsumer): Promise<StreamOutcome> {
  const first = await attemptStream(target, body, clock, consumer);
  // A keep-alive socket the server closed while idle fails before any response byte. Node's docs
  // advise sending such a request again on a fresh connection (req.reusedSocket); the server
  // never answered it, so at worst it does a little extra work. The record times the retry.
  if (first.staleSocket) return attemptStream(target, body, clock, consumer);
  return first;
}

function attemptStream(target: HttpTarget, body: string, clock: Clock, consumer: StreamConsumer): Promise<StreamOutcome & { staleSocket: boolean }> {
  const where = displayUrl(target.url);
  return new Promise((resolve) => {
    const controller = new AbortController();
    let status: number | null = null;
    let serverHeader: string | null = null;
    let lastDataMs = 0;
    let settled = false;
    let res: http.IncomingMessage | undefined;

    const settle = (failure: StreamOutcome['failure'], endMs = clock.now()) => {
      if (settled) return;
      settled = true;
      cancelDeadline();
      cancelOverall();
      if (failure) {
        // A failed exchange leaves the socket in an unknown state: never reuse it.
        controller.abort();
        res?.destroy();
      }
      const staleSocket = failure !== null && failure.kind === 'reset' && status === null && req.reusedSocket;
      resolve({ startMs, endMs, status, serverHeader, failure, staleSocket });
    };

    // The silence limit counts from startMs (taken before the timer is armed) and, once bytes
    // flow, from the last read: when it falls due after a read, it is armed again from that read.
    const startMs = clock.now();
    lastDataMs = startMs;
    let cancelDeadline: () => void = () => {};
    const armDeadline = (dueMs: number): void => {
      cancelDeadline = callWhenDue(() => clock.now(), dueMs, () => {
        const now = clock.now();
        if (lastDataMs + target.timeoutMs > now) {
          armDeadline(lastDataMs + target.timeoutMs);
          return;
        }
        const stalled = status === null ? 'no response headers yet' : `no data for the last ${Math.round(now - lastDataMs)} ms`;
        settle({ kind: 'timeout', message: `request timed out after ${target.timeoutMs} ms (${stalled}; ${consumer.progress()})` }, now);
      });
    };
    armDeadline(startMs + target.timeoutMs);
    // The whole request too: a server sending a keep-alive comment every second is never silent.
    const deadlineMs = target.deadlineMs ?? DEFAULT_DEADLINE_MS;
    const cancelOverall = callWhenDue(() => clock.now(), startMs + deadlineMs, () => {
      settle({ kind: 'timeout', message: `request took longer than its deadline of ${deadlineMs} ms (options.deadlineMs; ${consumer.progress()})` });
    });
    const maxBytes = target.maxResponseBytes ?? DEFAULT_MAX_STREAM_BYTES;
    let bodyBytes = 0;
    const req = requestFn(target.url)(target.url, {
      method: 'POST',
      headers: { ...target.headers, 'content-length': String(Buffer.byteLength(body)) },
      agent: target.agent,
      signal: controller.signal,
    });
    req.on('error', (err) => settle(describeSocketError(err, where, status === null ? 'before' : 'during')));
    req.on('response', (response) => {
      res = response;
      lastDataMs = clock.now();
      status = response.statusCode ?? null;
      serverHeader = typeof response.headers.server === 'string' ? response.headers.server : null;
      const contentType = response.headers['content-type'] ?? '';
      const ok = status !== null && status >= 200 && status < 300;
      if (!ok || !contentType.includes('text/event-stream')) {
        collectText(response, ERROR_BODY_BYTES, (text) => {
          const message = !ok
            ? describeHttpError(status ?? 0, response.statusMessage, text)
            : `expected a text/event-stream answer, got "${contentType || 'no content-type'}" (did the server ignore stream: true?): ${excerpt(text)}`;
          settle({ kind: ok ? 'content-type' : 'http', message });
        });
        return;
      }
      let bodyEnded = false;
      response.on('data', (bytes: Buffer) => {
        if (settled) return;
        const t = clock.now();
        lastDataMs = t;
        bodyBytes += bytes.length;
        if (bodyBytes > maxBytes) {
          settle({ kind: 'too-large', message: `answer larger than ${maxBytes} bytes (options.maxResponseBytes); stopped reading ${consumer.progress()}` }, t);
          return;
        }
        let done: boolean;
        try {
          done = consumer.onData(bytes, t);
        } catch (err) {
          const kind: FailureKind = (err as Error).name === 'StreamServerError' ? 'server' : 'parse';
          settle({ kind, message: errorMessage(err) }, t);
          return;
        }
        if (done) {
          settle(null, t);
          // Let the body finish so the keep-alive socket can serve the next request.
          const drain = setTimeout(() => response.destroy(), DRAIN_MS);
          response.once('close', () => clearTimeout(drain));
          response.resume();
        }
      });
      response.on('end', () => {
        bodyEnded = true;
        settle(null);
      });
      response.on('error', (err) => {
        const failure = describeSocketError(err, where, 'during');
        settle({ kind: failure.kind, message: `${failure.message} ${consumer.progress()}` });
      });
      response.on('close', () => {
        if (!bodyEnded) settle({ kind: 'reset', message: `connection to ${where} closed mid-stream ${consumer.progress()}` });
      });
    });
    req.end(body);
  });
}

function collectText(res: http.IncomingMessage, maxBytes: number, done: (text: string) => void): void {
  const parts: Buffer[] = [];
  let size = 0;
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    done(Buffer.concat(parts).toString('utf8'));
  };
  res.on('data', (b: Buffer) => {
    if (size < maxBytes) parts.push(b.subarray(0, maxBytes - size));
    size += b.length;
  });
  res.on('end', finish);
  res.on('error', finish);
  res.on('close', finish);
}

export interface JsonAnswer {
  status: number;
  json: unknown;
  text: string;
  serverHeader: string | null;
  /** The Retry-After header (seconds or an HTTP date), when the server sent one. */
  retryAfter: string | null;
}

/**
 * A plain JSON POST (calibration, tokenize). Rejects with a clear Error on network failure, on an
 * answer not complete within timeoutMs (a limit of the whole request, not of silence) and on an
 * answer larger than maxResponseBytes (MAX_JSON_BYTES by default).
 */
export function postJson(target: HttpTarget, payload: unknown): Promise<JsonAnswer> {
  const where = displayUrl(target.url);
  const body = JSON.stringify(payload);
  const maxBytes = target.maxResponseBytes ?? MAX_JSON_BYTES;
  return new Promise((resolve, reject) => {
    const controller = new AbortController();
    const timer = setTimeout(() => {
      controller.abort();
      reject(new Error(`POST ${where} timed out after ${target.timeoutMs} ms`));
    }, target.timeoutMs);
    const req = requestFn(target.url)(target.url, {
      method: 'POST',
      headers: { ...target.headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
      agent: target.agent,
      signal: controller.signal,
    });
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`POST ${where}: ${describeSocketError(err, where, 'before').message}`));
    });
    req.on('response', (res) => {
      const parts: Buffer[] = [];
      let size = 0;
      res.on('data', (b: Buffer) => {
        size += b.length;
        if (size > maxBytes) {
          clearTimeout(timer);
          controller.abort();
          res.destroy();
          reject(new Error(`POST ${where}: answer larger than ${maxBytes} bytes; stopped reading`));
          return;
        }
        parts.push(b);
      });
      res.on('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`POST ${where}: ${describeSocketError(err, where, 'during').message}`));
      });
      res.on('end', () => {
        clearTimeout(timer);
        const text = Buffer.concat(parts).toString('utf8');
        let json: unknown = null;
        try {
          json = JSON.parse(text);
        } catch {
          json = null;
        }
        resolve({
          status: res.statusCode ?? 0,
          json,
          text,
          serverHeader: typeof res.headers.server === 'string' ? res.headers.server : null,
          retryAfter: typeof res.headers['retry-after'] === 'string' ? res.headers['retry-after'] : null,
        });
      });
    });
    req.end(body);
  });
}
