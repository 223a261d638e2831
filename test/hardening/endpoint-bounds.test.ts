/**
 * Every network read of the endpoint runner is bounded (issue 26.4), against a real loopback
 * server that misbehaves: a huge JSON answer, keep-alive comments that never let a request fall
 * silent, a stream larger than its cap, tokens past max_tokens without [DONE]. Each comes back as
 * a failed request with its reason, in bounded time and memory. The server stops writing when
 * the client goes away, and writes at most a fixed number of pieces.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClock } from '../../core/clock.ts';
import { postJson, postStream, type HttpTarget } from '../../runners/endpoint/http-client.ts';
import { runStreamingRequest } from '../../runners/endpoint/request.ts';

const MAX_WRITES = 2000;
let server: http.Server;
let base: string;
const agent = new http.Agent({ keepAlive: false });

/** Writes `piece` every `gapMs` (or as fast as the socket takes it when 0) until the client leaves or MAX_WRITES. */
function pump(res: http.ServerResponse, piece: (i: number) => string | Buffer, gapMs: number): void {
  let i = 0;
  let stopped = false;
  res.on('close', () => (stopped = true));
  const next = () => {
    if (stopped || i >= MAX_WRITES) return void res.end();
    const ok = res.write(piece(i++));
    if (gapMs > 0) setTimeout(next, gapMs);
    else if (ok) setImmediate(next);
    else res.once('drain', next);
  };
  next();
}

const chunk = (text: string) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: text } }] })}\n\n`;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url === '/huge-json') {
        res.writeHead(200, { 'content-type': 'application/json' });
        // 64 KiB pieces: 2000 of them would be 125 MiB; the client stops at its 4 MiB cap.
        return pump(res, () => Buffer.alloc(64 * 1024, 0x20), 0);
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (req.url === '/keepalive') return pump(res, () => ': keep-alive\n\n', 50);
      if (req.url === '/huge-stream') return pump(res, () => chunk('x'.repeat(60_000)), 0);
      if (req.url === '/past-max-tokens') return pump(res, (i) => chunk(`t${i} `), 5);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  agent.destroy();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const target = (path: string, extra: Partial<HttpTarget> = {}): HttpTarget => ({ url: new URL(path, base), headers: {}, agent, timeoutMs: 5000, ...extra });
const quiet = { onData: () => false, progress: () => 'after 0 tokens' };

describe('bounded endpoint reads', () => {
  it('a JSON answer (calibration, tokenize) larger than its cap is refused, not buffered', async () => {
    const before = process.memoryUsage().rss;
    await expect(postJson(target('/huge-json'), {})).rejects.toThrow(/answer larger than 4194304 bytes; stopped reading/);
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * 2 ** 20);
  });

  it('keep-alive comments do not hold a request past its overall deadline', async () => {
    const clock = createClock();
    const t0 = Date.now();
    const out = await postStream(target('/keepalive', { timeoutMs: 400, deadlineMs: 900 }), '{}', clock, quiet);
    expect(out.failure?.kind).toBe('timeout');
    expect(out.failure?.message).toContain('longer than its deadline of 900 ms (options.deadlineMs');
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(out.endMs - out.startMs).toBeGreaterThanOrEqual(900);
  });

  it('a streamed answer larger than maxResponseBytes fails the request with the cap named', async () => {
    const out = await postStream(target('/huge-stream', { maxResponseBytes: 2 * 2 ** 20 }), '{}', createClock(), quiet);
    expect(out.failure?.kind).toBe('too-large');
    expect(out.failure?.message).toMatch(/^answer larger than 2097152 bytes \(options\.maxResponseBytes\); stopped reading/);
  });

  it('a stream past max_tokens without [DONE] is stopped at the requested count', async () => {
    const meta = { index: 0, warmup: false, images: 0, round: 0, request: 0, concurrency: 1, scheduledOffsetMs: null, textPromptTokens: null, maxTokens: 8 };
    const record = await runStreamingRequest(target('/past-max-tokens'), '{}', createClock(), meta, (t) => t);
    expect(record.error).toBe('server streamed more tokens than the max_tokens (8) asked: stopped reading after 9 tokens');
    const tokens = record.events.filter((e) => e.kind === 'token');
    expect(tokens).toHaveLength(9);
    expect(record.endMs - record.startMs).toBeLessThan(5000);
  });
});
