import { describe, expect, it } from 'vitest';
import { ParseError } from '../../core/errors.ts';
import { boardImportKinds, findImportKind } from '../../parsers/index.ts';
import { fixtureSections, section } from './fixture-sections.ts';

/** One real sample per kind, and a figure its summary must show. */
const SAMPLES: Record<string, { file: string; needle: string; shows: string }> = {
  'ax-run-model': { file: 'parsers-ax650.txt', needle: 'ax_run_model tool 1.0.0', shows: '| 7.658 | 7.662 | 7.672 | 12730188 |' },
  'ax-llm': { file: 'parsers-ax650.txt', needle: 'MiniCPM-V 2.0 (VLM: image encode + ttft)', shows: '| 784.11 | 523.50 |' },
  llamacpp: { file: 'parsers-llamacpp.txt', needle: 'pythia_1_4b-tg-q4_0', shows: '635.96 ms / 63 runs (99.06 t/s)' },
  'llama-bench': { file: 'parsers-llamacpp.txt', needle: 'llama-bench -d 0,512', shows: '| pp512 @ d512 | 6425.91 | 18.88 |' },
  trtexec: { file: 'parsers-trtexec.txt', needle: 'same GPU/model, batch 8', shows: 'throughput 48.951 qps' },
  'trtexec-profile': { file: 'parsers-trtexec.txt', needle: 'mobilenet.qat.onnx.engine.profile.json', shows: '73 layers over 6610 iterations' },
  'trtexec-times': { file: 'parsers-trtexec-times.txt', needle: 'exportTimes', shows: '3 inferences' },
  'ort-profile': { file: 'parsers-ort-profile-node130.txt', needle: 'onnxruntime-node 1.30.0', shows: '| CPUExecutionProvider | 9 | 0.274 |' },
};

describe('boardImportKinds', () => {
  it('offers the kinds the CLI documents, each with a description', () => {
    expect(boardImportKinds.map((k) => k.kind)).toEqual([
      'ax-run-model',
      'ax-llm',
      'llamacpp',
      'llama-bench',
      'trtexec',
      'trtexec-profile',
      'trtexec-times',
      'ort-profile',
    ]);
    for (const k of boardImportKinds) expect(k.description.length).toBeGreaterThan(20);
  });

  it.each(Object.entries(SAMPLES))('%s: parses a real sample, summarizes it and survives JSON output', (kind, sample) => {
    const importer = findImportKind(kind)!;
    const parsed = importer.parse(section(sample.file, sample.needle).text, `${kind}.txt`);
    expect(importer.summarize(parsed)).toContain(sample.shows);
    // `bench import --json` prints the parse result: it must round-trip through JSON unchanged.
    expect(JSON.parse(JSON.stringify(parsed))).toEqual(parsed);
  });

  it('reports bad input as ParseError naming the source, for every kind', () => {
    for (const importer of boardImportKinds) {
      let caught: unknown;
      try {
        importer.parse('this is not a tool output', 'notes.txt');
      } catch (err) {
        caught = err;
      }
      expect(caught, importer.kind).toBeInstanceOf(ParseError);
      expect((caught as ParseError).source).toBe('notes.txt');
      expect((caught as ParseError).message.startsWith('notes.txt')).toBe(true);
    }
  });

  it('finds no unknown kind', () => {
    expect(findImportKind('tegrastats')).toBeUndefined();
  });
});

/**
 * Which kind reads each sample of the fixtures (keyed by the 1-based line of its "### source:"
 * header); every other kind must reject it. Empty lists: published README tables, other tools
 * (axcl-smi, pulsar2 run) and the deliberately truncated excerpts.
 */
const ACCEPTED_BY: Record<string, Record<number, string[]>> = {
  'parsers-ax650.txt': {
    1: ['ax-llm'], // Qwen2.5-0.5B prefill build
    20: ['ax-llm'], // MiniCPM-V 2.0 (prefill branch)
    37: ['ax-llm'], // InternVL2-1B
    58: ['ax-llm'], // MiniCPM-V 2.0 (minicpm-v branch)
    77: ['ax-llm'], // Phi-3-mini, no ttft line
    91: [], // published LLM benchmark tables
    132: ['ax-run-model'], // tool 1.0.0
    150: ['ax-run-model'], // --verify
    160: ['ax-run-model'], // tool 2.1.2c
    179: ['ax-llm'], // axllm run Qwen3-0.6B
    235: [], // pulsar2 run (x86 simulator, no timing)
    244: [], // InternVL3-2B published table
    255: [], // InternVL3-2B published subgraph list
    274: ['ax-llm'], // InternVL3-2B python video demo
    300: ['ax-llm'], // InternVL3.5-2B python image demo
    311: [], // published subgraph summary
    334: [], // SmolVLM2 published table
    366: [], // Qwen2.5-VL published summary
    375: [], // axcl-smi
    394: [], // axcl-smi info --cmm
    401: [], // mem_cmm_info
    432: ['ax-run-model'], // ax-samples ax_yolov5s
    458: [], // published CV benchmark table
    476: ['ax-run-model'], // axcl-samples ax_yolo11
    512: [], // Janus-Pro published table
  },
  'parsers-llamacpp.txt': {
    1: ['llama-bench'],
    7: ['llama-bench'],
    15: ['llama-bench'],
    31: ['llama-bench'],
    36: ['llama-bench'],
    114: ['llama-bench'],
    118: ['llamacpp'],
    133: ['llamacpp'],
    146: ['llamacpp'],
    168: ['llamacpp'],
    175: ['llamacpp'],
    183: ['llamacpp'],
    189: ['llamacpp'],
    194: ['llamacpp'],
    201: ['llamacpp'],
    270: ['llamacpp'],
    282: ['llamacpp'],
    294: ['llamacpp'],
    303: ['llamacpp'],
    312: ['llamacpp'],
    325: ['llamacpp'],
    339: ['llamacpp'],
    346: ['llama-bench'],
  },
  'parsers-trtexec.txt': {
    1: ['trtexec'],
    34: ['trtexec'],
    51: ['trtexec'],
    55: ['trtexec'],
    58: ['trtexec'],
    61: ['trtexec-profile'],
    139: [], // exportTimes excerpt, truncated
    145: [], // TREx metadata (not trtexec output), truncated
    149: [], // exportProfile, truncated
    157: ['trtexec'],
    187: ['trtexec'],
    205: ['trtexec-profile'],
    218: [], // exportProfile, truncated
  },
  'parsers-ort-profile.txt': { 1: ['ort-profile'], 29: ['ort-profile'] },
  'parsers-trtexec-legacy.txt': { 1: ['trtexec'], 178: ['trtexec'] },
  'parsers-llava-extra.txt': { 1: ['llamacpp'], 12: ['llamacpp'] },
  'parsers-trtexec-times.txt': { 1: ['trtexec-times'] },
  'parsers-ort-profile-node130.txt': { 1: ['ort-profile'] },
};

describe('fixture coverage', () => {
  it.each(Object.keys(ACCEPTED_BY))('%s: each sample is read by its kind and rejected by the others', (file) => {
    const sections = fixtureSections(file);
    expect(sections.map((s) => s.headerLine)).toEqual(Object.keys(ACCEPTED_BY[file]!).map(Number));
    for (const s of sections) {
      const accepted = boardImportKinds.filter((k) => {
        try {
          k.parse(s.text, file);
          return true;
        } catch (err) {
          if (!(err instanceof ParseError)) throw err;
          return false;
        }
      });
      expect(accepted.map((k) => k.kind), `${file}:${s.headerLine}`).toEqual(ACCEPTED_BY[file]![s.headerLine]);
    }
  });
});
