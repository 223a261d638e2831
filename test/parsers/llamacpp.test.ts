import { describe, expect, it } from 'vitest';
import { ParseError } from '../../core/errors.ts';
import { parseLlamaCppLog, summarizeLlamaCppLog, type LlamaTimingBlock } from '../../parsers/llamacpp.ts';
import { section } from './fixture-sections.ts';
import { parseError } from './parse-error.ts';

const FIXTURE = 'parsers-llamacpp.txt';
const EXTRA = 'parsers-llava-extra.txt';

/** "X ms / N unit (Y ms per token, Z tokens per second)" as the parser returns it. */
function c(ms: number, count: number, unit: 'tokens' | 'runs', msPerToken: number | null, tokensPerSecond: number | null) {
  return { ms, count, unit, msPerToken, tokensPerSecond };
}

function onlyBlock(needle: string, file = FIXTURE): LlamaTimingBlock {
  const result = parseLlamaCppLog(section(file, needle).text, needle);
  expect(result.timings).toHaveLength(1);
  return result.timings[0]!;
}

describe('parseLlamaCppLog: timing blocks', () => {
  it('reads llama_perf_* with a log prefix and the build line (llama-cli build 4247, Apple M4)', () => {
    const result = parseLlamaCppLog(section(FIXTURE, 'pythia_1_4b-tg-q4_0').text);
    expect(result.build).toEqual({ number: 4247, commit: '82bca225' });
    expect(result.timings).toEqual([
      {
        format: 'llama_perf',
        line: 4,
        sample: c(1.22, 71, 'runs', 0.02, 58340.18),
        loadMs: 695.75,
        promptEval: c(42.75, 7, 'tokens', 6.11, 163.74),
        eval: c(635.96, 63, 'runs', 10.09, 99.06),
        total: { ms: 682.07, count: 70, unit: 'tokens' },
      },
    ]);
  });

  it('reads legacy llama_print_timings whose total has no token count (build 1749, V100)', () => {
    expect(onlyBlock('open_llama_7b_v2-tg-q4_0.log@a3f36291930f7b594f74f583cc2233557458d1e6 | llama.cpp build 1749')).toEqual({
      format: 'llama_print_timings',
      line: 2,
      loadMs: 1053.91,
      sample: c(128.28, 256, 'runs', 0.5, 1995.63),
      promptEval: c(18.73, 8, 'tokens', 2.34, 427.17),
      eval: c(2224.38, 255, 'runs', 8.72, 114.64),
      total: { ms: 2462.61 },
    });
  });

  it('turns "inf tokens per second" into null (perplexity run, 0.00 ms eval)', () => {
    const result = parseLlamaCppLog(section(FIXTURE, "edge case with 'inf tokens per second' and 0.00 ms eval").text);
    expect(result.build).toEqual({ number: 1749, commit: '0040d42' });
    expect(result.timings).toEqual([
      {
        format: 'llama_print_timings',
        line: 14,
        loadMs: 862.09,
        sample: c(0, 1, 'runs', 0, null),
        promptEval: c(3580.56, 8192, 'tokens', 0.44, 2287.91),
        eval: c(0, 1, 'runs', 0, null),
        total: { ms: 5539.14 },
      },
    ]);
  });

  it('reads llama_perf_* without prefix (ik_llama.cpp BitNet on CPU)', () => {
    expect(onlyBlock('discussions/95 - Bitnet.md')).toEqual({
      format: 'llama_perf',
      line: 1,
      sample: c(15.96, 136, 'runs', 0.12, 8521.84),
      loadMs: 390.49,
      promptEval: c(380.52, 8, 'tokens', 47.56, 21.02),
      eval: c(6114.1, 127, 'runs', 48.14, 20.77),
      total: { ms: 6530.61, count: 135, unit: 'tokens' },
    });
  });

  it('reads the RTX 5090 chat block (leading blank line)', () => {
    expect(onlyBlock('issues/514 - CUDA Kernel Error on RTX 5090')).toEqual({
      format: 'llama_perf',
      line: 2,
      sample: c(22.49, 204, 'runs', 0.11, 9069.49),
      loadMs: 1524.84,
      promptEval: c(149.75, 14, 'tokens', 10.7, 93.49),
      eval: c(4173.56, 189, 'runs', 22.08, 45.29),
      total: { ms: 4409.74, count: 203, unit: 'tokens' },
    });
  });

  it('reads very large figures and an inf eval rate without a sampler line (perplexity on a DeepSeek-class model)', () => {
    expect(onlyBlock("llama-perplexity on DeepSeek-class model")).toEqual({
      format: 'llama_perf',
      line: 1,
      loadMs: 226439.86,
      promptEval: c(8320298.42, 287232, 'tokens', 28.97, 34.52),
      eval: c(0, 1, 'runs', 0, null),
      total: { ms: 8511632.28, count: 287233, unit: 'tokens' },
    });
  });

  it('reads the old llama-server "INFO [ print_timings]" lines with their key=value tails', () => {
    expect(onlyBlock('older server.cpp JSON-ish log style')).toEqual({
      format: 'server-log',
      line: 1,
      promptEval: c(2078.89, 190, 'tokens', 10.94, 91.4),
      eval: c(107381.01, 1557, 'runs', 68.97, 14.5),
      total: { ms: 109459.9 },
    });
  });

  it('reads the transitional llama_print_timings with "/ N tokens" on total (Jetson AGX Orin)', () => {
    expect(onlyBlock('Jetson AGX Orin, llama.cpp llama-cli (Sept 2024)')).toEqual({
      format: 'llama_print_timings',
      line: 1,
      loadMs: 1408.27,
      sample: c(70.05, 128, 'runs', 0.55, 1827.32),
      promptEval: c(120.08, 9, 'tokens', 13.34, 74.95),
      eval: c(3303.93, 127, 'runs', 26.02, 38.44),
      total: { ms: 3597.17, count: 136, unit: 'tokens' },
    });
  });

  it('reads the server JSON "timings" of a full /completion response', () => {
    expect(onlyBlock("POST /completion non-streaming response")).toEqual({
      format: 'server-json',
      line: 56,
      promptEval: { ms: 315.259, count: 6, unit: 'tokens', msPerToken: 52.54316666666667, tokensPerSecond: 19.031970538509604 },
      eval: { ms: 876.246, count: 20, unit: 'tokens', msPerToken: 43.8123, tokensPerSecond: 22.824640568972644 },
    });
  });

  it('reads a bare "timings" member excerpt (predicted_n = 1)', () => {
    expect(onlyBlock('predicted_n=1 edge case')).toEqual({
      format: 'server-json',
      line: 1,
      promptEval: { ms: 300.789, count: 13, unit: 'tokens', msPerToken: 23.137615384615383, tokensPerSecond: 43.21966561277175 },
      eval: { ms: 3.726, count: 1, unit: 'tokens', msPerToken: 3.726, tokensPerSecond: 268.3843263553409 },
    });
  });

  it('reads the modern server "slot print_timing" block behind journald prefixes', () => {
    expect(onlyBlock("Canonical 'gemma3' inference snap")).toEqual({
      format: 'server-log',
      line: 6,
      promptEval: c(263.1, 13, 'tokens', 20.24, 49.41),
      eval: c(2719.4, 31, 'tokens', 87.72, 11.4),
      total: { ms: 2982.49, count: 44, unit: 'tokens' },
    });
  });

  it('reads decimal commas (comma-locale machine)', () => {
    expect(onlyBlock("COMMA decimal-separator locale")).toEqual({
      format: 'llama_print_timings',
      line: 3,
      loadMs: 106.78,
      sample: c(0.42, 5, 'runs', 0.08, 11990.41),
      promptEval: c(405, 10, 'tokens', 40.5, 24.69),
      eval: c(191.03, 4, 'runs', 47.76, 20.94),
      total: { ms: 598.19, count: 14, unit: 'tokens' },
    });
  });

  it('turns "-nan" with 0 tokens into null, with decimal commas (session-cache run)', () => {
    expect(onlyBlock("session-cache run")).toEqual({
      format: 'llama_print_timings',
      line: 3,
      loadMs: 105.21,
      sample: c(0.38, 5, 'runs', 0.08, 13123.36),
      promptEval: c(0, 0, 'tokens', null, null),
      eval: c(181.53, 4, 'runs', 45.38, 22.04),
      total: { ms: 204.61, count: 4, unit: 'tokens' },
    });
  });

  it('reads "main: decoded N tokens in X s" and the perf block amid gdb noise (Llama 3.2 Vision)', () => {
    const result = parseLlamaCppLog(section(FIXTURE, 'Llama 3.2 Vision (11B)').text);
    expect(result.decodeSummaries).toEqual([{ line: 4, tokens: 32, ms: 13380, tokensPerSecond: 2.39 }]);
    expect(result.timings).toEqual([
      {
        format: 'llama_perf',
        line: 7,
        loadMs: 14388.28,
        promptEval: c(6141.74, 18, 'tokens', 341.21, 2.93),
        eval: c(12827.71, 31, 'runs', 413.8, 2.42),
        total: { ms: 27771.62, count: 49, unit: 'tokens' },
      },
    ]);
  });

  it('reads an interactive session whose total includes think time (Qwen3-30B on RTX 4070)', () => {
    expect(onlyBlock('ended with Ctrl+C')).toEqual({
      format: 'llama_perf',
      line: 1,
      sample: c(25.55, 390, 'runs', 0.07, 15264.79),
      loadMs: 12043.37,
      promptEval: c(444.75, 24, 'tokens', 18.53, 53.96),
      eval: c(23582.66, 602, 'runs', 39.17, 25.53),
      total: { ms: 737557.31, count: 626, unit: 'tokens' },
    });
  });

  it('keeps consecutive blocks apart', () => {
    const text = [section(FIXTURE, 'Bitnet.md').text, section(FIXTURE, 'COMMA decimal-separator').text].join('\n');
    const result = parseLlamaCppLog(text);
    expect(result.timings.map((b) => [b.format, b.loadMs, b.eval?.tokensPerSecond])).toEqual([
      ['llama_perf', 390.49, 20.77],
      ['llama_print_timings', 106.78, 20.94],
    ]);
  });
});

describe('parseLlamaCppLog: image encoding', () => {
  it('reads mtmd "image slice encoded" and "image decoded (batch 1/1)" lines', () => {
    const result = parseLlamaCppLog(section(FIXTURE, 'llama-mtmd-cli (2025)').text);
    expect(result.timings).toEqual([]);
    expect(result.imageEncodes).toEqual([{ line: 3, media: 'image', ms: 709, tool: 'mtmd' }]);
    expect(result.imageDecodes).toEqual([{ line: 5, media: 'image', batch: 1, batches: 1, tokens: 256, ms: 11 }]);
  });

  it('reads llava "encode_image_with_clip" lines (MobileVLM on Jetson Orin)', () => {
    const result = parseLlamaCppLog(section(EXTRA, 'run on Orin').text);
    expect(result.imageEncodes).toEqual([{ line: 1, media: 'image', ms: 296.62, msPerPatch: 2.06, tool: 'llava' }]);
    expect(result.timings).toEqual([
      {
        format: 'llama_print_timings',
        line: 5,
        loadMs: 1067.64,
        sample: c(1.53, 6, 'runs', 0.25, 3934.43),
        promptEval: c(306.84, 246, 'tokens', 1.25, 801.72),
        eval: c(91.5, 6, 'runs', 15.25, 65.58),
        total: { ms: 1352.63, count: 252, unit: 'tokens' },
      },
    ]);
  });

  it('reads "image embedding created: N tokens" (MobileVLM on i7-10750H)', () => {
    const result = parseLlamaCppLog(section(EXTRA, 'i7-10750H').text);
    expect(result.imageEmbeddings).toEqual([{ line: 1, tokens: 144 }]);
    expect(result.imageEncodes).toEqual([{ line: 3, media: 'image', ms: 2730.94, msPerPatch: 18.96, tool: 'llava' }]);
    expect(result.timings[0]).toMatchObject({
      loadMs: 5506.6,
      sample: c(0.44, 13, 'runs', 0.03, 29545.45),
      promptEval: c(2031.58, 190, 'tokens', 10.69, 93.52),
      eval: c(438.92, 12, 'runs', 36.58, 27.34),
      total: { ms: 5990.25, count: 202, unit: 'tokens' },
    });
  });

  it('summarizes blocks and encodes', () => {
    const summary = summarizeLlamaCppLog(parseLlamaCppLog(section(EXTRA, 'run on Orin').text));
    expect(summary).toContain('| 5 | llama_print_timings | 1067.64 | 306.84 ms / 246 tokens (801.72 t/s) | 91.50 ms / 6 runs (65.58 t/s) | 1352.63 |');
    expect(summary).toContain('image encodes (ms): 296.62 (llava, line 1)');
  });
});

describe('parseLlamaCppLog: errors', () => {
  it('rejects a timing line cut in the middle, at its line', () => {
    const text = [
      'llama_perf_context_print:        load time =     695.75 ms',
      'llama_perf_context_print: prompt eval time =      42.75 ms /     7',
    ].join('\n');
    const err = parseError(() => parseLlamaCppLog(text, 'cut.log'));
    expect(err.line).toBe(2);
    expect(err.reason).toBe('unexpected text after timing figures: "/     7"');
    expect(parseError(() => parseLlamaCppLog('llama_print_timings:        load time =  ms')).reason).toMatch(/malformed timing line/);
  });

  it('does not take generated text for timing lines', () => {
    const text = ['Q: how long? A: the total time = 3 hours, roughly.', 'eval time = a while', section(FIXTURE, 'Bitnet.md').text].join('\n');
    const result = parseLlamaCppLog(text);
    expect(result.timings).toHaveLength(1);
    expect(result.timings[0]!.line).toBe(3);
  });

  it('rejects a cut server JSON "timings" object', () => {
    const text = section(FIXTURE, 'predicted_n=1 edge case').text.split('\n').slice(0, 5).join('\n');
    expect(parseError(() => parseLlamaCppLog(text)).reason).toMatch(/truncated server JSON/);
  });

  it('rejects garbage, empty input and llama-bench output', () => {
    expect(parseError(() => parseLlamaCppLog('hello world', 'g.log')).message).toMatch(/^g\.log: no llama\.cpp timing lines found/);
    expect(() => parseLlamaCppLog('')).toThrow(ParseError);
    expect(() => parseLlamaCppLog(section(FIXTURE, 'llama-bench -o csv').text)).toThrow(/no llama\.cpp timing lines/);
  });
});
