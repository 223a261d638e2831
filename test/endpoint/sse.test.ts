import { describe, expect, it } from 'vitest';
import { errorMessage, ParseError } from '../../core/errors.ts';
import { parseChunk } from '../../runners/endpoint/chunk.ts';
import { SseDecoder, type SseEvent } from '../../runners/endpoint/sse.ts';
import { StreamServerError } from '../../core/errors.ts';
import { StreamAccumulator } from '../../runners/endpoint/stream-accumulator.ts';
import { readSseFixture } from './fake-server.ts';

function decodeAll(pieces: Array<string | Uint8Array>): { events: SseEvent[]; incomplete: boolean } {
  const d = new SseDecoder();
  const events: SseEvent[] = [];
  for (const p of pieces) events.push(...d.push(p));
  const end = d.end();
  return { events: [...events, ...end.events], incomplete: end.incomplete };
}

function accumulate(events: SseEvent[]): StreamAccumulator {
  const acc = new StreamAccumulator('fixture');
  events.forEach((ev, i) => acc.onEvent(ev, 100 + 10 * i));
  return acc;
}

describe('SSE decoding of captured streams', () => {
  it('llama.cpp server (usage + timings + [DONE]): skips the "..." elision line, keeps the final figures', () => {
    const { events, incomplete } = decodeAll([readSseFixture('endpoint-sse-llamacpp.txt').body]);
    expect(incomplete).toBe(false);
    expect(events.map((e) => e.line)).toEqual([1, 5, 7, 9]);
    expect(events[3]!.data).toBe('[DONE]');
    const acc = accumulate(events);
    // Only " climb" is text: the role chunk (content null) and the closing chunk are not tokens.
    expect(acc.tokens).toEqual([{ kind: 'token', tMs: 110, index: 0, count: 1 }]);
    expect(acc.exactCounts).toBe(false);
    expect(acc.doneMarker).toBe(true);
    expect(acc.finishReason).toBe('length');
    expect(acc.usage).toEqual({ completion_tokens: 50, prompt_tokens: 13, total_tokens: 63 });
    expect(acc.timings?.['prompt_n']).toBe(13);
    expect(acc.timings?.['prompt_ms']).toBe(239.618);
    expect(acc.timings?.['predicted_n']).toBe(50);
    expect(acc.timings?.['predicted_ms']).toBe(680.938);
    expect(acc.timings?.['predicted_per_second']).toBeCloseTo(73.42812414639806, 12);
  });

  it('ik_llama.cpp (no [DONE]): usage without timings, the answer closed by finish_reason', () => {
    const { events, incomplete } = decodeAll([readSseFixture('endpoint-sse-ik-llamacpp-no-done.txt').body]);
    expect(incomplete).toBe(false);
    expect(events).toHaveLength(3);
    const acc = accumulate(events);
    expect(acc.doneMarker).toBe(false);
    expect(acc.finishReason).toBe('length');
    expect(acc.tokens.map((t) => t.index)).toEqual([0, 1]);
    expect(acc.usage).toEqual({ completion_tokens: 50, prompt_tokens: 14, total_tokens: 64 });
    expect(acc.timings).toBeNull();
  });

  it('vLLM (empty-content chunks, stop_reason, [DONE]): counts only chunks with text', () => {
    const { events } = decodeAll([readSseFixture('endpoint-sse-vllm.txt').body]);
    expect(events).toHaveLength(7);
    const acc = accumulate(events);
    // "<think>", "\n" and " 😊" carry text; the role chunk and two "" chunks do not.
    expect(acc.textChunks).toBe(3);
    expect(acc.tokens.map((t) => t.tMs)).toEqual([110, 120, 140]);
    expect(acc.finishReason).toBe('stop');
    expect(acc.usage).toBeNull();
    expect(acc.doneMarker).toBe(true);
  });

  it('gives the same events when the bytes arrive one at a time, with CRLF line ends', () => {
    const body = readSseFixture('endpoint-sse-vllm.txt').body;
    const whole = decodeAll([body]).events;
    const bytes = Buffer.from(body.replace(/\n/g, '\r\n'), 'utf8');
    const split = decodeAll([...bytes].map((b) => Uint8Array.of(b))).events;
    expect(split).toEqual(whole);
    expect(split[4]!.data).toContain('" 😊"');
  });

  it('reports an event cut off by the end of the stream as incomplete', () => {
    const r = decodeAll(['data: {"choices":[]}\n\ndata: {"choi']);
    expect(r.events).toHaveLength(1);
    expect(r.incomplete).toBe(true);
  });
});

describe('chunk parsing', () => {
  it('throws a ParseError naming the stream line for data that is not JSON', () => {
    let caught: unknown;
    try {
      parseChunk('{"choices":[{"delta":{"content":"x"}', 'SSE stream from http://h/v1/chat/completions', 7);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ParseError);
    expect((caught as ParseError).line).toBe(7);
    expect(errorMessage(caught)).toMatch(/^SSE stream from http:\/\/h\/v1\/chat\/completions:7: malformed SSE data, not JSON/);
  });

  it('rejects JSON that is not a chunk', () => {
    expect(() => parseChunk('[1,2]', 's', 3)).toThrow(/s:3: expected a JSON object/);
    expect(() => parseChunk('{"choices":{}}', 's', 3)).toThrow(/"choices" is not an array/);
    expect(() => parseChunk('{"id":"x"}', 's', 3)).toThrow(/expected a chat.completion.chunk/);
  });

  it('turns an error object in the stream into a StreamServerError', () => {
    const acc = new StreamAccumulator('s');
    expect(() => acc.onEvent({ data: '{"error":{"code":500,"message":"context shift disabled","type":"server_error"}}', line: 11 }, 5)).toThrow(StreamServerError);
    expect(() => acc.onEvent({ data: '{"error":{"code":500,"message":"context shift disabled","type":"server_error"}}', line: 11 }, 5)).toThrow(
      /line 11\): context shift disabled \(500\)/,
    );
  });

  it('uses cumulative per-chunk counts (vLLM continuous usage) as token counts', () => {
    const acc = new StreamAccumulator('s');
    const chunk = (content: string, completion: number, finish: string | null = null, choices = true) =>
      JSON.stringify({
        choices: choices ? [{ index: 0, delta: { content }, finish_reason: finish }] : [],
        usage: { prompt_tokens: 20, completion_tokens: completion, total_tokens: 20 + completion },
      });
    const feed = [chunk('', 0), chunk('ab', 2), chunk('', 3), chunk('abc', 6), chunk('', 6, 'length'), chunk('', 6, null, false)];
    feed.forEach((data, i) => acc.onEvent({ data, line: 1 + 2 * i }, 10 * i));
    // The empty chunk with one new token is a token arrival; the role/closing chunks are not.
    expect(acc.tokens).toEqual([
      { kind: 'token', tMs: 10, index: 0, count: 2 },
      { kind: 'token', tMs: 20, index: 2, count: 1 },
      { kind: 'token', tMs: 30, index: 3, count: 3 },
    ]);
    expect(acc.exactCounts).toBe(true);
  });

  it('does not take a closing total for a delta when the content chunks had no counts', () => {
    const acc = new StreamAccumulator('s');
    acc.onEvent({ data: '{"choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}]}', line: 1 }, 1);
    acc.onEvent({ data: '{"choices":[{"index":0,"delta":{},"finish_reason":"length"}],"usage":{"completion_tokens":50,"prompt_tokens":13}}', line: 3 }, 2);
    expect(acc.tokens).toEqual([{ kind: 'token', tMs: 1, index: 0, count: 1 }]);
    expect(acc.exactCounts).toBe(false);
    expect(acc.usage?.['completion_tokens']).toBe(50);
  });
});
