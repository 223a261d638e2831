/**
 * Issue 18.7: the SSE decoder is linear in the stream however long a line is, refuses a line
 * beyond its cap with a clear error, and a long chunk still arriving is not a timeout.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createClock } from '../../core/clock.ts';
import { postStream } from '../../runners/endpoint/http-client.ts';
import { SseDecoder, SseLineTooLongError } from '../../runners/endpoint/sse.ts';

/**
 * Feeds 16 MiB in 64 KiB reads, as one `data:` line (`oneLine`) or as 64 KiB lines, and returns
 * the least time of 3, ms. The same bytes and reads either way: only a decoder that rescans its
 * pending line is slower on the single line (the old one: about 50x here).
 */
function decode16MiBMs(oneLine: boolean): number {
  const total = 16 * 2 ** 20;
  const read = Buffer.alloc(64 * 1024, 'x'.charCodeAt(0));
  if (!oneLine) read.write('\n\ndata: ', read.length - 8);
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    const d = new SseDecoder(64 * 2 ** 20);
    const t0 = performance.now();
    let events = d.push('data: ').length;
    for (let sent = 0; sent < total; sent += read.length) events += d.push(read).length;
    events += d.push('\n\n').length;
    best = Math.min(best, performance.now() - t0);
    expect(events).toBe(oneLine ? 1 : total / read.length + 1);
  }
  return best;
}

describe('SseDecoder limits', () => {
  it('decodes a 16 MiB line about as fast as 16 MiB of 64 KiB lines (no rescan of the pending line)', () => {
    let single = Infinity;
    let many = Infinity;
    // Alternated: load bursts of a busy machine spread over both.
    for (let i = 0; i < 2; i++) {
      many = Math.min(many, decode16MiBMs(false));
      single = Math.min(single, decode16MiBMs(true));
    }
    expect(single / many, `one line: ${single.toFixed(1)} ms, 256 lines: ${many.toFixed(1)} ms`).toBeLessThan(6);
  });

  it('many short lines in one read are each found once', () => {
    const body = 'data: {"x":1}\r\n\r\n'.repeat(20000);
    const d = new SseDecoder();
    expect(d.push(body)).toHaveLength(20000);
  });

  it('a line at the cap is accepted, one byte more is refused with the cap and the option named', () => {
    const ok = new SseDecoder(1000);
    expect(ok.push(`data: ${'a'.repeat(994)}\n\n`)).toHaveLength(1);
    const d = new SseDecoder(1000);
    d.push('data: {"id":1}\n\n');
    d.push(`data: ${'a'.repeat(600)}`);
    expect(() => d.push('b'.repeat(400))).toThrow(SseLineTooLongError);
    expect(() => new SseDecoder(1000).push(`data: ${'a'.repeat(995)}`)).toThrow(/SSE line 1 is longer than 1000 bytes \(options\.maxSseLineBytes\)/);
  });

  it('an event of many data lines is capped too', () => {
    const d = new SseDecoder(1000);
    expect(() => d.push(`${'data: aaaaaaaaaa\n'.repeat(200)}\n`)).toThrow(/SSE event starting at line 1 has more than 1000 bytes of data/);
  });

  it('CRLF split across two reads is one line end; a multi-byte character split across reads survives', () => {
    const d = new SseDecoder();
    expect(d.push('data: a\r')).toEqual([]);
    expect(d.push('\n\r\ndata: b\r\n')).toEqual([{ data: 'a', line: 1 }]);
    const euro = Buffer.from('data: €\n\n');
    expect(d.push(euro.subarray(0, 7))).toEqual([]);
    expect(d.push(euro.subarray(7))).toEqual([{ data: 'b\n€', line: 3 }]);
  });
});

describe('a long chunk still arriving is not a timeout', () => {
  let server: http.Server | undefined;
  afterEach(async () => {
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    server = undefined;
  });

  it('a 2 MB data line sent over 1.2 s with timeoutMs 400 arrives whole; a stall after it times out', async () => {
    const piece = 'x'.repeat(2 ** 20 / 12);
    server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: {"choices":[{"delta":{"content":"');
        let sent = 0;
        const timer = setInterval(() => {
          res.write(piece);
          if (++sent === 24) {
            clearInterval(timer);
            res.write('"}}]}\n\n');
            if (req.url === '/stall') return; // never finishes: the silence must time out
            res.end('data: [DONE]\n\n');
          }
        }, 50);
      });
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as AddressInfo).port;
    const clock = createClock();
    const agent = new http.Agent({ keepAlive: false });
    const events: number[] = [];
    const consume = (decoder: SseDecoder) => ({
      onData(bytes: Buffer) {
        for (const ev of decoder.push(bytes)) {
          if (ev.data === '[DONE]') return true;
          events.push(ev.data.length);
        }
        return false;
      },
      progress: () => `after ${events.length} events`,
    });
    const ok = await postStream({ url: new URL(`http://127.0.0.1:${port}/ok`), headers: {}, agent, timeoutMs: 400 }, '{}', clock, consume(new SseDecoder()));
    expect(ok.failure).toBeNull();
    expect(ok.endMs - ok.startMs).toBeGreaterThan(1000);
    expect(events[0]).toBeGreaterThan(2 * 2 ** 20 - 100);

    const stalled = await postStream({ url: new URL(`http://127.0.0.1:${port}/stall`), headers: {}, agent, timeoutMs: 400 }, '{}', clock, consume(new SseDecoder()));
    expect(stalled.failure?.kind).toBe('timeout');
    expect(stalled.failure?.message).toMatch(/^request timed out after 400 ms \(no data for the last \d+ ms; after 2 events\)$/);
    agent.destroy();
  });
});
