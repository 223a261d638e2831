/**
 * Parser for Axera LLM/VLM runtime logs on AX650N:
 * - the C++ runtime (ax-llm `main_*` / `run_*.sh`, and the newer `axllm run`): init lines, per
 *   request "image encode time : X ms", "ttft: X ms", "hit eos,avg N token/s", and the axllm
 *   KV-cache / prefill-chunk lines;
 * - the Python demos of the *.axera model repos (`infer_axmodel.py`, video demo): prefill token
 *   count, slice (chunk) lists, "answer >>" and the tqdm "Decode:" bar.
 *
 * What the tool's figures mean (ax-llm `src/runner/LLM.hpp`, see shared/reference/anchors.md §8):
 * - "ttft" is timed from the start of prefill over the layer graphs to the first token. It
 *   EXCLUDES image encoding and preprocessing, so it is reported here as `prefillTtftMs`, not as
 *   an end-to-end TTFT.
 * - "avg N token/s" divides the number of generated tokens INCLUDING the first one by the time
 *   AFTER the TTFT; that window holds only N-1 decode steps, so the figure overstates decode
 *   tokens/s (DESIGN.md definition) by N/(N-1). It is kept as `reportedAvgTokensPerS`; convert
 *   with `axLlmDecodeTokensPerSecond` when the token count is known.
 */
import { NUM, assertText, failAt, fmt, readNumber, splitLines } from './common.ts';

export interface AxLlmInit {
  /** "LLM init start" was logged. */
  started: boolean;
  /** "LLM init ok" (C++) or "Model loaded successfully!" / "model load done!" (Python) was logged. */
  initOk: boolean;
  /** Elapsed time on the last init progress bar ("[2.64s<2.64s, ...]"), the tool's own timer. */
  initElapsedMs?: number;
  /** Free CMM after loading ("remain_cmm(11442 MB)"); the tool's MB are MiB. */
  remainCmmBytes?: number;
  maxTokenLen?: number;
  kvCacheSize?: number;
  kvCacheNum?: number;
  /** Prefill chunk length in tokens. */
  prefillTokenNum?: number;
  prefillMaxTokenNum?: number;
  /** axllm prefill graph groups: KV length each group's graph serves. */
  prefillGroups?: Array<{ group: number; maxKvCacheNum: number }>;
  vpmHeight?: number;
  vpmWidth?: number;
  bosId?: number;
  eosId?: number;
  tokenizerType?: number;
  /** Python demos: "[INFO] Model type: 2 (triple core)", "[INFO] Compiler version: ...". */
  modelType?: string;
  compilerVersion?: string;
  /** axllm "load config:" block, when it is valid JSON. */
  config?: Record<string, unknown>;
}

export interface AxLlmPrefillChunk {
  index: number;
  historyLen: number;
  group: number;
  kvCacheNum: number;
  inputTokens: number;
}

export interface AxLlmTurn {
  /** 1-based line where the request starts (its prompt, or its first figure). */
  line: number;
  /** Prompt text after ">>" / "prompt >>"; absent when the log does not echo it. */
  prompt?: string;
  images: string[];
  /** One entry per "image encode time : X ms" line (vision encoder, per image). */
  imageEncodeMs: number[];
  /** The "size : N" printed with the encode time (embedding elements; the tool names no unit). */
  imageEmbedSizes?: number[];
  /** "ttft: X ms": prefill start to first token, image encoding excluded (see module comment). */
  prefillTtftMs?: number;
  /** Prompt tokens of this request ("input token num", "input_num_token", "prefill token_len"). */
  promptTokens?: number;
  /** Tokens already in the KV cache before this request (axllm "precompute_len"). */
  precomputeLen?: number;
  /** Number of prefill chunks ("prefill_split_num", or the Python demo's slice list). */
  prefillChunks?: number;
  prefillChunkDetails?: AxLlmPrefillChunk[];
  /** Python demos: slices reported done ("slice prefill done N"). */
  prefillSlicesDone?: number;
  /** "avg N token/s" exactly as printed; NOT decode tokens/s (see module comment). */
  reportedAvgTokensPerS?: number;
  stopReason?: 'eos';
  /** True when the request's closing "avg … token/s" line was seen. */
  complete: boolean;
  /** axllm "GetKVCache: precompute_len:168, remaining:1880" after the request. */
  kvCacheAfter?: { precomputeLen: number; remaining: number };
  /**
   * Python demos' last tqdm "Decode:" bar. Positions count from the start of the prompt, so the
   * bar's rate is NOT decode tokens/s; kept as printed.
   */
  decodeProgress?: { position: number; maxPosition: number; elapsedMs: number; ratePerSecond: number };
  /** Generated text as printed, with its 1-based line span. */
  output?: { text: string; firstLine: number; lastLine: number };
}

export interface AxLlmResult {
  /** Launch command echoed in the log ("./run_qwen2.5_0.5B_prefill_ax650.sh", "axllm run Qwen3-0.6B/"). */
  command?: string;
  init: AxLlmInit;
  turns: AxLlmTurn[];
}

/**
 * Decode tokens/s as DESIGN.md defines it, from ax-llm's "avg N token/s" and the number of
 * generated tokens N (first token included): the tool's window after TTFT holds N-1 steps.
 */
export function axLlmDecodeTokensPerSecond(reportedAvgTokensPerS: number, generatedTokens: number): number {
  if (!Number.isInteger(generatedTokens) || generatedTokens < 2) {
    throw new RangeError(`generatedTokens must be an integer >= 2, got ${generatedTokens}`);
  }
  return (reportedAvgTokensPerS * (generatedTokens - 1)) / generatedTokens;
}

const LOG_RECORD = /\[([IWNEDV])\]\[\s*([^\]]*?)\s*\]\[\s*(\d+)\s*\]:\s?/g;
const PROGRESS = /(\d+)%\s*\|[^|]*\|\s*(\d+)\s*\/\s*(\d+)\s*\[\s*([\d.]+)s\s*<\s*([\d.]+)s,\s*[\d.]+\s*count\/s\]\s*(.*)$/;
const TQDM_DECODE = /^Decode:\s*\d+%\|[^|]*\|\s*(\d+)\/(\d+)\s*\[(\d+(?::\d+){1,2})<[\d:?]+,\s*([\d.]+)it\/s\](.*)$/;
const TTFT = new RegExp(String.raw`^ttft\s*:\s*(${NUM})\s*ms$`);
const ENCODE = new RegExp(String.raw`^image encode time\s*:\s*(${NUM})\s*ms(?:\s*,\s*size\s*:\s*(\d+))?$`);
const AVG = new RegExp(String.raw`avg\s+(${NUM})\s+token/s`);

function clockToMs(clock: string): number {
  return clock.split(':').reduce((total, part) => total * 60 + Number(part), 0) * 1000;
}

interface Segment {
  kind: 'plain' | 'record';
  text: string;
  func?: string;
}

/** Splits one physical line into plain text and log records (a progress bar may share a line with a record). */
function segments(line: string): Segment[] {
  const out: Segment[] = [];
  let last = 0;
  let pendingFunc: string | undefined;
  LOG_RECORD.lastIndex = 0;
  for (let m = LOG_RECORD.exec(line); m; m = LOG_RECORD.exec(line)) {
    const before = line.slice(last, m.index);
    if (pendingFunc === undefined) {
      if (before.trim() !== '') out.push({ kind: 'plain', text: before });
    } else out.push({ kind: 'record', text: before.trim(), func: pendingFunc });
    pendingFunc = m[2]!;
    last = m.index + m[0].length;
  }
  const rest = line.slice(last);
  if (pendingFunc === undefined) out.push({ kind: 'plain', text: rest });
  else out.push({ kind: 'record', text: rest.trim(), func: pendingFunc });
  return out;
}

export function parseAxLlm(text: string, source = '<input>'): AxLlmResult {
  assertText(text, source, 'an ax-llm / axllm log');
  const lines = splitLines(text);
  const init: AxLlmInit = { started: false, initOk: false };
  const turns: AxLlmTurn[] = [];
  let command: string | undefined;
  let current: AxLlmTurn | undefined;
  let recognized = 0;
  let outputLines: Array<{ index: number; text: string }> = [];
  let configLines: string[] | undefined;

  const flushOutput = (): void => {
    if (!current) return;
    while (outputLines.length > 0 && outputLines[0]!.text.trim() === '') outputLines.shift();
    while (outputLines.length > 0 && outputLines[outputLines.length - 1]!.text.trim() === '') outputLines.pop();
    if (outputLines.length > 0) {
      const previous = current.output;
      const text = outputLines.map((l) => l.text).join('\n');
      current.output = {
        text: previous ? `${previous.text}\n${text}` : text,
        firstLine: previous ? previous.firstLine : outputLines[0]!.index + 1,
        lastLine: outputLines[outputLines.length - 1]!.index + 1,
      };
    }
    outputLines = [];
  };
  const newTurn = (index: number): AxLlmTurn => {
    flushOutput();
    current = { line: index + 1, images: [], imageEncodeMs: [], complete: false };
    turns.push(current);
    return current;
  };
  /** The open request, or a new one when the log has no prompt echo before the figures. */
  const openTurn = (index: number): AxLlmTurn => (current && !current.complete ? current : newTurn(index));
  /** Python demos never close a request; a new prefill after generated text starts the next one. */
  const pythonTurn = (index: number): AxLlmTurn =>
    current && !current.complete && current.output === undefined && outputLines.length === 0 && !current.decodeProgress
      ? current
      : newTurn(index);

  const handleRecord = (func: string, message: string, index: number): void => {
    recognized++;
    if (configLines === undefined && /^load config:?$/.test(message)) {
      configLines = [];
      return;
    }
    if (message === 'LLM init start') {
      init.started = true;
      return;
    }
    if (message === 'LLM init ok') {
      init.initOk = true;
      return;
    }
    let m: RegExpExecArray | null;
    if ((m = /^max_token_len\s*:\s*(\d+)$/.exec(message))) init.maxTokenLen = Number(m[1]);
    else if ((m = /^kv_cache_size\s*:\s*(\d+),\s*kv_cache_num\s*:\s*(\d+)$/.exec(message))) {
      init.kvCacheSize = Number(m[1]);
      init.kvCacheNum = Number(m[2]);
    } else if ((m = /^prefill_token_num\s*:\s*(\d+)$/.exec(message))) init.prefillTokenNum = Number(m[1]);
    else if ((m = /^prefill_max_token_num\s*:\s*(\d+)$/.exec(message))) init.prefillMaxTokenNum = Number(m[1]);
    else if ((m = /^grp:\s*(\d+),\s*prefill_max_kv_cache_num\s*:\s*(\d+)$/.exec(message))) {
      (init.prefillGroups ??= []).push({ group: Number(m[1]), maxKvCacheNum: Number(m[2]) });
    } else if ((m = /^vpm_height\s*:\s*(\d+)\s*,\s*vpm_width\s*:\s*(\d+)$/.exec(message))) {
      init.vpmHeight = Number(m[1]);
      init.vpmWidth = Number(m[2]);
    } else if (/^image encode time/.test(message)) {
      m = ENCODE.exec(message);
      if (!m) failAt(source, index, `malformed encode line: expected "image encode time : <ms> ms", got "${message}"`);
      const turn = openTurn(index);
      turn.imageEncodeMs.push(readNumber(m[1]!));
      if (m[2] !== undefined) (turn.imageEmbedSizes ??= []).push(Number(m[2]));
    } else if (/^ttft\b/.test(message)) {
      m = TTFT.exec(message);
      if (!m) failAt(source, index, `malformed ttft line: expected "ttft: <ms> ms", got "${message}"`);
      openTurn(index).prefillTtftMs = readNumber(m[1]!);
    } else if (/token\/s/.test(message)) {
      m = AVG.exec(message);
      if (!m) failAt(source, index, `malformed speed line: expected "avg <N> token/s", got "${message}"`);
      const turn = openTurn(index);
      flushOutput();
      turn.reportedAvgTokensPerS = readNumber(m[1]!);
      if (/hit eos/.test(message)) turn.stopReason = 'eos';
      turn.complete = true;
    } else if ((m = /^input token num\s*:\s*(\d+)\s*,\s*prefill_split_num\s*:\s*(\d+)$/.exec(message))) {
      const turn = openTurn(index);
      turn.promptTokens = Number(m[1]);
      turn.prefillChunks = Number(m[2]);
    } else if ((m = /^prefill chunk p=(\d+) history_len=(\d+) grpid=(\d+) kv_cache_num=(\d+) input_tokens=(\d+)$/.exec(message))) {
      (openTurn(index).prefillChunkDetails ??= []).push({
        index: Number(m[1]),
        historyLen: Number(m[2]),
        group: Number(m[3]),
        kvCacheNum: Number(m[4]),
        inputTokens: Number(m[5]),
      });
    } else if ((m = /prefill_grpid:\d+ kv_cache_num:\d+ precompute_len:(\d+) input_num_token:(\d+)/.exec(message))) {
      const turn = openTurn(index);
      turn.precomputeLen = Number(m[1]);
      turn.promptTokens ??= Number(m[2]);
    } else if (func === 'GetKVCache' && (m = /precompute_len:(\d+),\s*remaining:(\d+)/.exec(message))) {
      const turn = turns[turns.length - 1];
      if (turn) turn.kvCacheAfter = { precomputeLen: Number(m[1]), remaining: Number(m[2]) };
    } else recognized--;
  };

  /** Returns true when the plain text was an init / progress / demo line (not generated text). */
  const handlePlain = (raw: string, index: number): boolean => {
    const line = raw.trim();
    let m: RegExpExecArray | null;
    if ((m = PROGRESS.exec(line))) {
      recognized++;
      init.initElapsedMs = Math.round(Number(m[4]) * 1000);
      const cmm = /remain_cmm\((\d+)\s*MB\)/.exec(m[6]!);
      if (cmm) init.remainCmmBytes = Number(cmm[1]) * 1024 * 1024;
      return true;
    }
    if ((m = /^(?:prompt\s*)?>>(?!>)\s?(.*)$/.exec(line))) {
      recognized++;
      const turn = newTurn(index);
      turn.prompt = m[1]!.trim();
      return true;
    }
    if ((m = /^image\s*>>\s*(.*)$/.exec(line))) {
      recognized++;
      openTurn(index).images.push(m[1]!.trim());
      return true;
    }
    if ((m = /^answer\s*>>\s?(.*)$/.exec(line))) {
      recognized++;
      openTurn(index);
      outputLines.push({ index, text: m[1]! });
      return true;
    }
    if (!current && command === undefined && (m = /(?:^|[#$]\s)((?:\.\/\S+\.sh|axllm\s+\w+)(?:\s.*)?)$/.exec(line))) {
      command = m[1]!.trim();
      return true;
    }
    if ((m = /^bos_id:\s*(-?\d+),\s*eos_id:\s*(-?\d+)$/.exec(line))) {
      recognized++;
      init.bosId = Number(m[1]);
      init.eosId = Number(m[2]);
      return true;
    }
    if ((m = /^tokenizer_type\s*=\s*(\d+)$/.exec(line))) {
      recognized++;
      init.tokenizerType = Number(m[1]);
      return true;
    }
    if ((m = /^\[INFO\]\s*Model type:\s*(.+)$/.exec(line))) {
      recognized++;
      init.modelType = m[1]!.trim();
      return true;
    }
    if ((m = /^\[INFO\]\s*Compiler version:\s*(.+)$/.exec(line))) {
      recognized++;
      init.compilerVersion = m[1]!.trim();
      return true;
    }
    if (/^(Model loaded successfully!|model load done!)$/.test(line)) {
      recognized++;
      init.initOk = true;
      return true;
    }
    if (/^Init InferenceSession:/.test(line)) return true;
    if ((m = /^prefill token_len:\s*(\d+)$/.exec(line))) {
      recognized++;
      pythonTurn(index).promptTokens = Number(m[1]);
      return true;
    }
    if ((m = /^slice_ind(?:ices|exs)(?:\s+is|:)\s*\[([\d,\s]*)\]$/.exec(line))) {
      recognized++;
      pythonTurn(index).prefillChunks = m[1]!.split(',').filter((s) => s.trim() !== '').length;
      return true;
    }
    if ((m = /^slice prefill done:?\s*(\d+)$/i.exec(line))) {
      recognized++;
      const turn = openTurn(index);
      turn.prefillSlicesDone = Math.max(turn.prefillSlicesDone ?? 0, Number(m[1]) + 1);
      return true;
    }
    if ((m = TQDM_DECODE.exec(line))) {
      recognized++;
      const turn = openTurn(index);
      turn.decodeProgress = {
        position: Number(m[1]),
        maxPosition: Number(m[2]),
        elapsedMs: clockToMs(m[3]!),
        ratePerSecond: Number(m[4]),
      };
      if (/hit eos/.test(m[5]!)) turn.stopReason = 'eos';
      return true;
    }
    return false;
  };

  for (let i = 0; i < lines.length; i++) {
    const physical = lines[i]!;
    // A config dump is a brace block right after "load config:"; a log record means it is over.
    if (configLines !== undefined && ((configLines.length === 0 && physical.trim() !== '{') || /\[[IWNEDV]\]\[/.test(physical))) {
      configLines = undefined;
    }
    if (configLines !== undefined) {
      configLines.push(physical);
      if (physical.trim() === '}') {
        try {
          const parsed: unknown = JSON.parse(configLines.join('\n'));
          if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) init.config = parsed as Record<string, unknown>;
        } catch {
          // The config dump is informative only; an odd one is left out rather than guessed at.
        }
        configLines = undefined;
      }
      continue;
    }
    for (const seg of segments(physical)) {
      if (seg.kind === 'record') {
        handleRecord(seg.func!, seg.text, i);
        continue;
      }
      if (handlePlain(seg.text, i)) continue;
      // Anything else inside an open request is generated text.
      if (current && !current.complete) outputLines.push({ index: i, text: seg.text.replace(/\s+$/, '') });
    }
  }
  flushOutput();

  const measured = turns.filter(
    (t) =>
      t.prefillTtftMs !== undefined ||
      t.reportedAvgTokensPerS !== undefined ||
      t.imageEncodeMs.length > 0 ||
      t.promptTokens !== undefined ||
      t.prefillChunks !== undefined ||
      t.output !== undefined,
  );
  if (measured.length === 0) {
    if (recognized === 0 && !init.started) {
      failAt(
        source,
        undefined,
        'no ax-llm output found: expected lines such as "[I][ Init][ 125]: LLM init start", "[I][ Run][ 484]: ttft: 125.02 ms" or "hit eos,avg 29.29 token/s"',
      );
    }
    if (!init.initOk) failAt(source, lines.length - 1, 'truncated log: it ends during model init (no "LLM init ok") and holds no request');
  }
  return { ...(command !== undefined ? { command } : {}), init, turns: measured };
}

function shorten(text: string, max = 32): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export function summarizeAxLlm(result: AxLlmResult): string {
  const { init } = result;
  const head = [
    `init: ${init.initOk ? 'ok' : 'not completed'}` +
      (init.initElapsedMs !== undefined ? `, ${fmt(init.initElapsedMs / 1000)} s` : '') +
      (init.remainCmmBytes !== undefined ? `, CMM left ${Math.round(init.remainCmmBytes / 2 ** 20)} MiB` : '') +
      (init.prefillTokenNum !== undefined ? `, prefill chunk ${init.prefillTokenNum} tokens` : ''),
  ];
  if (result.turns.length === 0) return [...head, 'no requests in the log'].join('\n');
  const rows = result.turns.map(
    (t, i) =>
      `| ${i + 1} | ${t.prompt !== undefined ? shorten(t.prompt) : '—'} | ${t.images.length} | ${
        t.imageEncodeMs.length ? t.imageEncodeMs.map((v) => fmt(v)).join(' + ') : '—'
      } | ${fmt(t.prefillTtftMs)} | ${t.promptTokens ?? '—'} | ${fmt(t.reportedAvgTokensPerS)} | ${t.stopReason ?? (t.complete ? 'done' : '—')} |`,
  );
  return [
    ...head,
    '',
    '| # | prompt | images | image encode ms | prefill TTFT ms | prompt tokens | avg token/s (tool) | stop |',
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |',
    ...rows,
    '',
    'prefill TTFT excludes image encoding; "avg token/s" is the tool\'s figure (tokens incl. the first / time after TTFT), not decode tokens/s.',
  ].join('\n');
}
