/**
 * Parser for Axera NPU model benchmarks printed on the board:
 * - `ax_run_model` (pulsar2 tool) in every header layout seen so far: tool 1.0.0 ("type: NPU1",
 *   repeat before warmup), tool 2.x ("type: 1 Core", "batch: { auto: 1 }", "parallel"), and the
 *   `--verify` mode that prints no header at all;
 * - the ax-samples / axcl-samples demos (`ax_yolov5s`, `ax_yolo11`, ...), which time the model
 *   with "Repeat N times, avg time X ms, max_time Y ms, min_time Z ms".
 * Markdown blockquote prefixes ("> ", as the pulsar2 docs render the output) are accepted.
 */
import { NUM, assertText, failAt, fmt, readNumber, splitLines } from './common.ts';

export interface AxLatency {
  minMs: number;
  avgMs: number;
  maxMs: number;
}

export interface AxRunModelRun {
  tool: 'ax_run_model' | 'ax-samples';
  /** 1-based line of the latency summary. */
  line: number;
  /** Command line as echoed before the output, when the log holds it. */
  command?: string;
  modelPath?: string;
  /** NPU mode as printed: "NPU1" (tool 1.x), "1 Core" (tool 2.x). */
  modelType?: string;
  vnpu?: string;
  affinity?: string;
  /** As printed: "1" or "{ auto: 1 }". */
  batch?: string;
  parallel?: boolean;
  /** Measured runs (-r) and discarded warm-up runs (-w). */
  repeat?: number;
  warmup?: number;
  pulsar2Version?: string;
  engineVersion?: string;
  toolVersion?: string;
  /** CMM (media memory) the model needs, bytes. */
  cmmSizeBytes?: number;
  /** `--verify` mode: input folders found and models inferred ("total 1/1"). */
  verify?: { inputFolders?: number; inferred?: number; total?: number };
  /** ax-samples demos: input image, its size, runtime library version, post-processing time. */
  imagePath?: string;
  imageHeight?: number;
  imageWidth?: number;
  runtimeVersion?: string;
  postprocessMs?: number;
  detections?: number;
  latency: AxLatency;
  /** Every "key: value" header line exactly as printed (keys lower-cased). */
  header: Record<string, string>;
}

export interface AxRunModelResult {
  runs: AxRunModelRun[];
}

type PendingRun = Partial<AxRunModelRun> & { header: Record<string, string> };

const SUMMARY = new RegExp(String.raw`min\s*=\s*(${NUM})\s*ms\s+max\s*=\s*(${NUM})\s*ms\s+avg\s*=\s*(${NUM})\s*ms`);
const SAMPLES_SUMMARY = new RegExp(
  String.raw`^Repeat\s+(\d+)\s+times,\s*avg time\s+(${NUM})\s*ms,\s*max_time\s+(${NUM})\s*ms,\s*min_time\s+(${NUM})\s*ms`,
);
const HEADER_KEY = /^(model|type|vnpu|affinity|repeat|warmup|batch|parallel|pulsar2 ver|engine ver|tool ver|cmm size)\s*:\s*(.*)$/i;

/** Removes the "> " prefix the pulsar2 docs put in front of every output line. */
function stripQuote(line: string): string {
  return line.replace(/^\s*>(?=\s|$)\s?/, '').trim();
}

function applyHeader(run: PendingRun, key: string, value: string, source: string, index: number): void {
  run.header[key] = value;
  const int = (): number => {
    if (!/^\d+$/.test(value)) failAt(source, index, `"${key}" should be a whole number, got "${value}"`);
    return Number(value);
  };
  switch (key) {
    case 'model':
      run.modelPath = value;
      break;
    case 'type':
      run.modelType = value;
      break;
    case 'vnpu':
      run.vnpu = value;
      break;
    case 'affinity':
      run.affinity = value;
      break;
    case 'repeat':
      run.repeat = int();
      break;
    case 'warmup':
      run.warmup = int();
      break;
    case 'batch':
      run.batch = value;
      break;
    case 'parallel':
      if (value !== 'true' && value !== 'false') failAt(source, index, `"parallel" should be true or false, got "${value}"`);
      run.parallel = value === 'true';
      break;
    case 'pulsar2 ver':
      run.pulsar2Version = value;
      break;
    case 'engine ver':
      run.engineVersion = value;
      break;
    case 'tool ver':
      run.toolVersion = value;
      break;
    case 'cmm size': {
      const m = /^(\d+)\s*Bytes$/i.exec(value);
      if (!m) failAt(source, index, `"cmm size" should be "<N> Bytes", got "${value}"`);
      run.cmmSizeBytes = Number(m[1]);
      break;
    }
  }
}

export function parseAxRunModel(text: string, source = '<input>'): AxRunModelResult {
  assertText(text, source, 'ax_run_model or ax-samples output');
  const lines = splitLines(text);
  const runs: AxRunModelRun[] = [];
  let pending: PendingRun = { header: {} };
  /** 0-based line where the run being read started; undefined between runs. */
  let pendingStart: number | undefined;
  // The last finished run keeps receiving lines printed after its timing (detections).
  let finished: AxRunModelRun | undefined;
  let inHeader = false;

  const startRun = (index: number, tool: AxRunModelRun['tool']): void => {
    if (pendingStart !== undefined) {
      failAt(source, pendingStart, `truncated output: the run started here has no latency summary before the next run at line ${index + 1}`);
    }
    pending = { header: {}, tool };
    pendingStart = index;
    finished = undefined;
  };
  const finishRun = (index: number, tool: AxRunModelRun['tool'], latency: AxLatency): void => {
    const { header, tool: pendingTool, ...fields } = pending;
    const run: AxRunModelRun = { tool: pendingTool ?? tool, line: index + 1, ...fields, latency, header };
    runs.push(run);
    finished = run;
    pending = { header: {} };
    pendingStart = undefined;
    inHeader = false;
  };

  for (let i = 0; i < lines.length; i++) {
    const line = stripQuote(lines[i]!);
    if (line === '') continue;

    const command = /(?:^|[#$]\s*|\s)((?:\S*\/)?(ax_run_model|axcl_run_model|ax_\w+)\s+-m\s+.*)$/.exec(line);
    if (command && !/^(model|image) file/.test(line)) {
      startRun(i, /run_model$/.test(command[2]!) ? 'ax_run_model' : 'ax-samples');
      pending.command = command[1]!.trim();
      continue;
    }
    if (/^Run AxModel:$/i.test(line)) {
      if (!(pendingStart !== undefined && pending.command !== undefined && Object.keys(pending.header).length === 0)) startRun(i, 'ax_run_model');
      pending.tool = 'ax_run_model';
      inHeader = true;
      continue;
    }
    if (inHeader) {
      const kv = HEADER_KEY.exec(line);
      if (kv) {
        applyHeader(pending, kv[1]!.toLowerCase(), kv[2]!.trim(), source, i);
        continue;
      }
      if (/^-{5,}$/.test(line)) {
        inHeader = false;
        continue;
      }
    }

    const verifyFound = /^total found \{(\d+)\} input drive folders\.?$/.exec(line);
    if (verifyFound) {
      pendingStart ??= i;
      pending.tool = 'ax_run_model';
      pending.verify = { ...pending.verify, inputFolders: Number(verifyFound[1]) };
      continue;
    }
    const verifyDone = /^infer model, total (\d+)\/(\d+)\./.exec(line);
    if (verifyDone) {
      pendingStart ??= i;
      pending.verify = { ...pending.verify, inferred: Number(verifyDone[1]), total: Number(verifyDone[2]) };
      continue;
    }

    const summary = SUMMARY.exec(line);
    if (summary) {
      finishRun(i, 'ax_run_model', {
        minMs: readNumber(summary[1]!),
        maxMs: readNumber(summary[2]!),
        avgMs: readNumber(summary[3]!),
      });
      continue;
    }
    if (/^min\s*=/.test(line)) failAt(source, i, 'malformed latency summary: expected "min = <ms> ms   max = <ms> ms   avg = <ms> ms"');

    // ax-samples demo lines.
    const modelFile = /^model file\s*:\s*(.+)$/.exec(line);
    if (modelFile) {
      if (!(pendingStart !== undefined && pending.modelPath === undefined)) startRun(i, 'ax-samples');
      pending.tool = 'ax-samples';
      pending.modelPath = modelFile[1]!.trim();
      continue;
    }
    const imageFile = /^image file\s*:\s*(.+)$/.exec(line);
    if (imageFile) {
      pending.imagePath = imageFile[1]!.trim();
      continue;
    }
    const imageSize = /^img_h, img_w\s*:\s*(\d+)\s+(\d+)$/.exec(line);
    if (imageSize) {
      pending.imageHeight = Number(imageSize[1]);
      pending.imageWidth = Number(imageSize[2]);
      continue;
    }
    const runtime = /^\[Axera version\]:\s*(.+)$/.exec(line);
    if (runtime) {
      pending.runtimeVersion = runtime[1]!.trim();
      continue;
    }
    const post = new RegExp(String.raw`^post process cost time\s*:\s*(${NUM})\s*ms$`).exec(line);
    if (post) {
      pending.postprocessMs = readNumber(post[1]!);
      continue;
    }
    const repeat = SAMPLES_SUMMARY.exec(line);
    if (repeat) {
      pending.repeat = Number(repeat[1]);
      finishRun(i, 'ax-samples', {
        avgMs: readNumber(repeat[2]!),
        maxMs: readNumber(repeat[3]!),
        minMs: readNumber(repeat[4]!),
      });
      continue;
    }
    if (/^Repeat\s+\d+\s+times/.test(line)) {
      failAt(source, i, 'malformed timing line: expected "Repeat N times, avg time <ms> ms, max_time <ms> ms, min_time <ms> ms"');
    }
    const detections = /^detection num\s*:\s*(\d+)$/.exec(line);
    if (detections) {
      const target = finished ?? pending;
      target.detections = Number(detections[1]);
      continue;
    }
  }

  if (pendingStart !== undefined) {
    failAt(
      source,
      pendingStart,
      'truncated output: this run has no latency summary ("min = … ms   max = … ms   avg = … ms" or "Repeat N times, avg time …")',
    );
  }
  if (runs.length === 0) {
    failAt(
      source,
      undefined,
      'no ax_run_model or ax-samples latency summary found: expected a line "min = <ms> ms   max = <ms> ms   avg = <ms> ms" or "Repeat N times, avg time <ms> ms, max_time <ms> ms, min_time <ms> ms"',
    );
  }
  return { runs };
}

export function summarizeAxRunModel(result: AxRunModelResult): string {
  const rows = result.runs.map((run) => {
    const counts = [run.warmup !== undefined ? `w${run.warmup}` : '', run.repeat !== undefined ? `r${run.repeat}` : '']
      .filter(Boolean)
      .join(' ');
    return `| ${run.modelPath ?? '—'} | ${run.modelType ?? '—'} | ${counts || '—'} | ${fmt(run.latency.minMs, 3)} | ${fmt(run.latency.avgMs, 3)} | ${fmt(run.latency.maxMs, 3)} | ${run.cmmSizeBytes ?? '—'} |`;
  });
  return [
    `${result.runs.length} run(s) (${[...new Set(result.runs.map((r) => r.tool))].join(', ')})`,
    '',
    '| model | type | warmup/repeat | min ms | avg ms | max ms | CMM bytes |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: |',
    ...rows,
  ].join('\n');
}
