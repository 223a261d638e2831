/**
 * Issue 18.8: one 429, 500 or silence at /tokenize or the usage probe no longer fails a cell.
 * A real HTTP server on 127.0.0.1 counts tokens as words (one per space-separated word) and
 * answers with the faults each test scripts.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { calibratePrompt, retryAfterMs, type CalibrationInput } from '../../runners/endpoint/calibration.ts';
import type { HttpTarget } from '../../runners/endpoint/http-client.ts';

type Fault = { status: number; retryAfter?: string } | 'silence';

interface Server {
  url: string;
  hits: Record<string, number>;
  arrivals: number[];
  close(): Promise<void>;
}

const TEMPLATE = 9;

/** Serves /tokenize and /v1/chat/completions (usage only); `faults[path]` are used up in order. */
async function start(faults: Record<string, Fault[]>, opts: { tokenizeFailsAlways?: boolean; usageFailsAlways?: boolean } = {}): Promise<Server> {
  const hits: Record<string, number> = {};
  const arrivals: number[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const path = req.url ?? '';
      hits[path] = (hits[path] ?? 0) + 1;
      arrivals.push(Date.now());
      const fault = faults[path]?.shift() ?? (path === '/tokenize' && opts.tokenizeFailsAlways ? { status: 503 } : path.endsWith('/completions') && opts.usageFailsAlways ? { status: 500 } : undefined);
      if (fault === 'silence') return; // never answers: the attempt's time limit ends it
      if (fault) {
        res.writeHead(fault.status, { 'content-type': 'application/json', ...(fault.retryAfter ? { 'retry-after': fault.retryAfter } : {}) });
        res.end(JSON.stringify({ error: { message: `simulated ${fault.status}` } }));
        return;
      }
      const json = JSON.parse(body) as { content?: string; messages?: Array<{ content: string }> };
      const words = (t: string) => t.split(' ').filter(Boolean).length;
      res.writeHead(200, { 'content-type': 'application/json' });
      if (path === '/tokenize') res.end(JSON.stringify({ tokens: Array(words(json.content ?? '')).fill(1) }));
      else res.end(JSON.stringify({ usage: { prompt_tokens: TEMPLATE + words(json.messages?.[0]?.content ?? ''), completion_tokens: 1 } }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    hits,
    arrivals,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

let server: Server | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function input(url: string, mode: CalibrationInput['mode'] = 'auto'): CalibrationInput {
  const agent = new http.Agent({ keepAlive: false });
  const target = (path: string): HttpTarget => ({ url: new URL(path, url), headers: {}, agent, timeoutMs: 5000 });
  return {
    mode,
    target: 40,
    model: 'm',
    instruction: 'Describe.',
    seed: 1,
    needTextPromptTokens: false,
    chat: target('/v1/chat/completions'),
    tokenize: target('/tokenize'),
    serverParams: true,
    extraBody: {},
    retry: { attempts: 3, baseDelayMs: 20, maxDelayMs: 2000, timeoutMs: 300 },
  };
}

describe('calibration requests are retried, then fall back (18.8)', () => {
  it('a 429 with Retry-After: 1 at /tokenize is waited out and retried; the result counts the retry', async () => {
    server = await start({ '/tokenize': [{ status: 429, retryAfter: '1' }] });
    const c = await calibratePrompt(input(server.url));
    expect(c.mode).toBe('tokenize');
    expect(c.textTokens).toBe(40);
    expect(c.retries).toBe(1);
    expect(c.fallback).toBeNull();
    // The second request came at least the asked second after the first.
    expect(server.arrivals[1]! - server.arrivals[0]!).toBeGreaterThanOrEqual(950);
    expect(c.notes.join(' ')).toMatch(/1 calibration request\(s\) sent again/);
  });

  it('a 500 and a silence in the middle of the /tokenize search are retried', async () => {
    server = await start({ '/tokenize': [{ status: 500 }] });
    const c = await calibratePrompt(input(server.url));
    expect(c.mode).toBe('tokenize');
    expect(c.retries).toBe(1);
    await server.close();
    server = await start({ '/tokenize': ['silence'] });
    const s = await calibratePrompt(input(server.url));
    expect(s.mode).toBe('tokenize');
    expect(s.textTokens).toBe(40);
    expect(s.retries).toBe(1);
  });

  it('/tokenize failing every attempt falls back to usage, and says so', async () => {
    server = await start({}, { tokenizeFailsAlways: true });
    const c = await calibratePrompt(input(server.url));
    expect(server.hits['/tokenize']).toBe(3);
    expect(c.mode).toBe('usage');
    expect(c.textTokens).toBe(40);
    expect(c.fallback).toMatch(/POST .*\/tokenize gave HTTP 503: simulated 503; calibrated through usage instead/);
  });

  it('the usage probe failing every attempt sends the prompt uncalibrated, recorded as a fallback', async () => {
    server = await start({}, { tokenizeFailsAlways: true, usageFailsAlways: true });
    const c = await calibratePrompt(input(server.url));
    expect(c.mode).toBe('off');
    expect(c.words).toBe(40);
    expect(c.fallback).toMatch(/^calibration failed \(.*HTTP 500.*simulated 500.*\); prompt not calibrated/);
    // Bounded: 3 attempts for the empty message, then 3 for the first probe; no endless retry.
    expect(server.hits['/v1/chat/completions']).toBe(6);
  });

  it('mode tokenize still fails loudly when /tokenize never works', async () => {
    server = await start({}, { tokenizeFailsAlways: true });
    await expect(calibratePrompt(input(server.url, 'tokenize'))).rejects.toThrow(/options\.calibrate is "tokenize" but POST .*\/tokenize gave HTTP 503/);
  });

  it('Retry-After in seconds and as an HTTP date', () => {
    expect(retryAfterMs('2')).toBe(2000);
    expect(retryAfterMs('Wed, 21 Oct 2015 07:28:05 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(5000);
    expect(retryAfterMs('soon')).toBeNull();
    expect(retryAfterMs(null)).toBeNull();
  });
});
