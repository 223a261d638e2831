import { describe, expect, it } from 'vitest';
import { axLlmDecodeTokensPerSecond, parseAxLlm, summarizeAxLlm } from '../../parsers/ax-llm.ts';
import { section } from './fixture-sections.ts';
import { parseError } from './parse-error.ts';

const FIXTURE = 'parsers-ax650.txt';
const MiB = 1024 * 1024;

describe('parseAxLlm: C++ runtime logs', () => {
  it('reads the Qwen2.5-0.5B prefill build: two text requests', () => {
    const result = parseAxLlm(section(FIXTURE, 'Qwen2.5-0.5B prefill build').text, 'qwen.log');
    expect(result.command).toBe('./run_qwen2.5_0.5B_prefill_ax650.sh');
    expect(result.init).toEqual({
      started: true,
      initOk: true,
      initElapsedMs: 2640,
      remainCmmBytes: 11442 * MiB,
      maxTokenLen: 1023,
      kvCacheSize: 128,
      kvCacheNum: 1023,
      prefillTokenNum: 128,
    });
    expect(result.turns).toEqual([
      {
        line: 9,
        prompt: '你是谁',
        images: [],
        imageEncodeMs: [],
        prefillTtftMs: 125.02,
        output: { text: '我是来自阿里云的超大规模语言模型，我叫通义千问。', firstLine: 11, lastLine: 11 },
        reportedAvgTokensPerS: 29.29,
        stopReason: 'eos',
        complete: true,
      },
      {
        line: 14,
        prompt: 'Translate to English：天气预报说今天下午会下雨，请带上雨伞',
        images: [],
        imageEncodeMs: [],
        prefillTtftMs: 124.31,
        output: { text: 'The weather forecast says it will rain today, so bring an umbrella.', firstLine: 16, lastLine: 16 },
        reportedAvgTokensPerS: 29.97,
        stopReason: 'eos',
        complete: true,
      },
    ]);
  });

  it('reads MiniCPM-V 2.0 (prefill branch): image encode + ttft on one request', () => {
    const result = parseAxLlm(section(FIXTURE, 'MiniCPM-V 2.0 (VLM: image encode + ttft)').text);
    expect(result.command).toBe('./run_minicpmv.sh');
    expect(result.init).toMatchObject({ initOk: true, initElapsedMs: 35300, remainCmmBytes: 8037 * MiB, kvCacheSize: 2304, kvCacheNum: 1023, prefillTokenNum: 128 });
    expect(result.turns).toHaveLength(1);
    const [turn] = result.turns;
    expect(turn).toMatchObject({
      line: 9,
      prompt: '图片中有什么',
      images: ['pig.jpg'],
      imageEncodeMs: [784.114014],
      prefillTtftMs: 523.5,
      reportedAvgTokensPerS: 5.41,
      stopReason: 'eos',
      complete: true,
    });
    expect(turn!.imageEmbedSizes).toBeUndefined();
    expect(turn!.output?.text.startsWith('这幅图片展示了一只小猪')).toBe(true);
    expect(turn!.output?.text.endsWith('户外时光。')).toBe(true);
    expect([turn!.output?.firstLine, turn!.output?.lastLine]).toEqual([13, 13]);
  });

  it('reads InternVL2-1B: bos/eos ids, 224x224 vpm, encode time with embedding size', () => {
    const result = parseAxLlm(section(FIXTURE, 'InternVL2-1B (VLM, 224x224 vpm)').text);
    expect(result.init).toEqual({
      started: true,
      initOk: true,
      bosId: -1,
      eosId: 151645,
      initElapsedMs: 1430,
      remainCmmBytes: 11116 * MiB,
      maxTokenLen: 1023,
      kvCacheSize: 128,
      kvCacheNum: 1023,
      prefillTokenNum: 128,
      vpmHeight: 224,
      vpmWidth: 224,
    });
    expect(result.turns).toHaveLength(1);
    expect(result.turns[0]).toMatchObject({
      prompt: '描述下图片',
      images: ['images/ssd_dog.jpg'],
      imageEncodeMs: [397.944],
      imageEmbedSizes: [57344],
      prefillTtftMs: 124.73,
      reportedAvgTokensPerS: 31.16,
      output: { firstLine: 17, lastLine: 17 },
    });
  });

  it('reads MiniCPM-V 2.0 (minicpm-v branch, progress bar and log on separate lines)', () => {
    const result = parseAxLlm(section(FIXTURE, 'branch minicpm-v').text);
    expect(result.command).toBe('./run_minicpmv-2.sh');
    expect(result.init).toMatchObject({ initOk: true, initElapsedMs: 33540, remainCmmBytes: 8086 * MiB, kvCacheSize: 2304 });
    expect(result.turns.map((t) => [t.prompt, t.images, t.imageEncodeMs, t.prefillTtftMs, t.reportedAvgTokensPerS])).toEqual([
      ['描述下图片', ['ssd_dog.jpg'], [728.507019], 520.94, 5.55],
    ]);
  });

  it('reads the older Phi-3 log that has no ttft line (and an empty ">>" prompt)', () => {
    const result = parseAxLlm(section(FIXTURE, 'Phi-3-mini int8').text);
    expect(result.command).toBe('./run_phi3_mini.sh');
    expect(result.init).toEqual({
      started: true,
      initOk: true,
      initElapsedMs: 28390,
      remainCmmBytes: 9045 * MiB,
      maxTokenLen: 1023,
      kvCacheSize: 3072,
      kvCacheNum: 1023,
    });
    expect(result.turns).toHaveLength(1);
    expect(result.turns[0]).toEqual({
      line: 9,
      prompt: 'who are you?',
      images: [],
      imageEncodeMs: [],
      output: {
        text: ' I am Phi, an AI developed by Microsoft, designed to assist and provide information to users across a wide range of topics. How can I assist you today?',
        firstLine: 10,
        lastLine: 10,
      },
      reportedAvgTokensPerS: 4.4,
      stopReason: 'eos',
      complete: true,
    });
  });

  it('reads the axllm runtime (Qwen3-0.6B): prefill groups, config, KV-cache and chunk lines', () => {
    const result = parseAxLlm(section(FIXTURE, 'axllm run Qwen3-0.6B').text);
    expect(result.command).toBe('axllm run Qwen3-0.6B/');
    expect(result.init).toEqual({
      started: true,
      initOk: true,
      tokenizerType: 1,
      initElapsedMs: 3250,
      remainCmmBytes: 8662 * MiB,
      maxTokenLen: 2559,
      kvCacheSize: 1024,
      kvCacheNum: 2559,
      prefillTokenNum: 128,
      prefillGroups: [
        { group: 1, maxKvCacheNum: 1 },
        { group: 2, maxKvCacheNum: 512 },
        { group: 3, maxKvCacheNum: 1024 },
        { group: 4, maxKvCacheNum: 1536 },
        { group: 5, maxKvCacheNum: 2048 },
      ],
      prefillMaxTokenNum: 2048,
      config: {
        enable_repetition_penalty: false,
        enable_temperature: false,
        enable_top_k_sampling: false,
        enable_top_p_sampling: false,
        penalty_window: 20,
        repetition_penalty: 1.2,
        temperature: 0.9,
        top_k: 10,
        top_p: 0.8,
      },
    });
    expect(result.turns).toHaveLength(1);
    const [turn] = result.turns;
    expect(turn).toMatchObject({
      line: 37,
      prompt: 'who are you?',
      precomputeLen: 0,
      promptTokens: 23,
      prefillChunks: 1,
      prefillChunkDetails: [{ index: 0, historyLen: 0, group: 1, kvCacheNum: 0, inputTokens: 23 }],
      prefillTtftMs: 173.71,
      reportedAvgTokensPerS: 15.68,
      stopReason: 'eos',
      complete: true,
      kvCacheAfter: { precomputeLen: 168, remaining: 1880 },
      output: { firstLine: 45, lastLine: 49 },
    });
    expect(turn!.output!.text.split('\n')[0]).toBe('<think>');
    expect(turn!.output!.text.endsWith('Let me know how I can help!')).toBe(true);
  });
});

describe('parseAxLlm: Python demos of the *.axera repos', () => {
  it('reads the InternVL3.5-2B image run (model type, compiler, slices, answer)', () => {
    const result = parseAxLlm(section(FIXTURE, 'InternVL3.5-2B python infer_axmodel.py').text);
    expect(result.init).toEqual({ started: false, initOk: true, modelType: '2 (triple core)', compilerVersion: '5.1-dirty 0fdbfe15-dirty' });
    expect(result.turns).toHaveLength(1);
    expect(result.turns[0]).toMatchObject({ line: 5, prefillChunks: 3, prefillSlicesDone: 3, complete: false, imageEncodeMs: [] });
    expect(result.turns[0]!.output!.text.startsWith('这是一张红熊猫的照片。')).toBe(true);
    expect(result.turns[0]!.prefillTtftMs).toBeUndefined();
  });

  it('reads the InternVL3-2B video run (prefill token count, 17 slices, tqdm decode bar)', () => {
    const result = parseAxLlm(section(FIXTURE, 'python demo video run').text);
    expect(result.init.initOk).toBe(true);
    expect(result.turns).toHaveLength(1);
    expect(result.turns[0]).toMatchObject({
      promptTokens: 2156,
      prefillChunks: 17,
      prefillSlicesDone: 17,
      decodeProgress: { position: 2280, maxPosition: 2559, elapsedMs: 18000, ratePerSecond: 123.66 },
      stopReason: 'eos',
      output: { firstLine: 24, lastLine: 24 },
    });
    expect(result.turns[0]!.output!.text.startsWith('视频展示了两只红熊猫')).toBe(true);
    expect(result.turns[0]!.reportedAvgTokensPerS).toBeUndefined();
  });
});

describe('parseAxLlm: several requests of a Python demo', () => {
  it('starts a new request at each prefill that follows generated text', () => {
    const one = section(FIXTURE, 'InternVL3.5-2B python infer_axmodel.py').text;
    const result = parseAxLlm(`${one}\n${one.split('\n').slice(3).join('\n')}`);
    expect(result.turns.map((t) => [t.line, t.prefillChunks, t.prefillSlicesDone, t.output?.text.slice(0, 11)])).toEqual([
      [5, 3, 3, '这是一张红熊猫的照片。'],
      [12, 3, 3, '这是一张红熊猫的照片。'],
    ]);
  });
});

describe('parseAxLlm: errors and helpers', () => {
  it('rejects published tables and other tools\' output', () => {
    for (const needle of ['LLM_Benchmark_AX650N.md', 'per-subgraph timing summary', 'pulsar2 run simulator', 'axcl-smi info --cmm']) {
      expect(parseError(() => parseAxLlm(section(FIXTURE, needle).text, 'x')).reason).toMatch(/no ax-llm output found/);
    }
  });

  it('rejects a log cut during model init', () => {
    const text = section(FIXTURE, 'Qwen2.5-0.5B prefill build').text.split('\n').slice(0, 5).join('\n');
    const err = parseError(() => parseAxLlm(text, 'cut.log'));
    expect(err.reason).toMatch(/truncated log: it ends during model init/);
    expect(err.line).toBe(5);
  });

  it('rejects a ttft / speed / encode line cut in the middle, at its line', () => {
    const ttft = parseError(() => parseAxLlm('>> hi\n[I][                             Run][ 484]: ttft: 125.0', 'a.log'));
    expect([ttft.line, ttft.reason]).toEqual([2, 'malformed ttft line: expected "ttft: <ms> ms", got "ttft: 125.0"']);
    const avg = parseError(() => parseAxLlm('>> hi\n[N][ Run][ 623]: hit eos,avg 29. token/s'));
    expect(avg.line).toBe(2);
    const enc = parseError(() => parseAxLlm('[I][ Encode][ 365]: image encode time : ms'));
    expect(enc.reason).toMatch(/malformed encode line/);
  });

  it('rejects garbage and empty input', () => {
    expect(parseError(() => parseAxLlm('just some text\nnothing else', 'g')).message).toMatch(/^g: no ax-llm output found/);
    expect(parseError(() => parseAxLlm('')).reason).toMatch(/empty input/);
  });

  it('converts the tool\'s avg token/s to decode tokens/s when the token count is known', () => {
    // N tokens (first included) over the time after TTFT hold N-1 decode steps.
    expect(axLlmDecodeTokensPerSecond(15.68, 145)).toBeCloseTo((15.68 * 144) / 145, 12);
    expect(axLlmDecodeTokensPerSecond(10, 2)).toBe(5);
    expect(() => axLlmDecodeTokensPerSecond(10, 1)).toThrow(RangeError);
  });

  it('summarizes requests and states what the figures mean', () => {
    const summary = summarizeAxLlm(parseAxLlm(section(FIXTURE, 'InternVL2-1B (VLM, 224x224 vpm)').text));
    expect(summary).toContain('init: ok, 1.43 s, CMM left 11116 MiB, prefill chunk 128 tokens');
    expect(summary).toContain('| 1 | 描述下图片 | 1 | 397.94 | 124.73 | — | 31.16 | eos |');
    expect(summary).toContain('prefill TTFT excludes image encoding');
  });
});
