/**
 * Suite options of the `command` runner:
 *
 *   options:
 *     target: orin-nx               # optional; `bench run --target` wins
 *     command: [llava-cli, -m, "{modelFile}", --image, "{imageFile}", -p, "{prompt}", -n, "{outputTokens}"]
 *     parser: llamacpp              # or ax-llm
 *     stdin: "{prompt}\n{imageFile}\nq\n"   # optional, for interactive demos
 *     imageFiles: [images/dog.jpg]  # files on the target, cycled to the cell's image count
 *     vars: { modelFile: MobileVLM-1.7B/ggml-model-q4_k.gguf }   # extra placeholders
 *     timeoutMs: 600000
 *     weightFormat: q8_0            # optional: the model's weight type, for roofline bounds
 */
import { COMMAND_RUNNER_SPEC } from './spec.ts';
import { InputError } from '../../core/errors.ts';
import type { Cell, Suite } from '../../core/suite-types.ts';
import { instructionFor, promptText } from '../endpoint/prompt.ts';
import { hashSeed } from '../endpoint/random.ts';
import { checkArgTemplates, expandArgv, substitute, type ArgTemplate } from './template.ts';
import { toolParser, type ToolParser } from './tool-timings.ts';

export interface CommandRunnerConfig {
  command: ArgTemplate[];
  parserName: string;
  parse: ToolParser;
  stdin?: string;
  imageFiles: string[];
  vars: Record<string, string>;
  timeoutMs: number;
  promptSeed: number;
  /**
   * The weight type of the model the command runs (a GGUF's Q8_0 is "q8_0"), which the runner
   * cannot see: recorded as the model's precision, and the format roofline bounds count bytes in.
   */
  weightFormat?: string;
}

const KNOWN = new Set(COMMAND_RUNNER_SPEC.options);
const DEFAULT_TIMEOUT_MS = 600_000;

function stringList(value: unknown, where: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw new InputError(`${where}: expected a list of strings`);
  return value as string[];
}

export function parseCommandOptions(suite: Suite): CommandRunnerConfig {
  const o = suite.options ?? {};
  const where = (field: string) => `suite "${suite.name}": options.${field}`;
  const unknown = Object.keys(o).filter((k) => !KNOWN.has(k));
  if (unknown.length) throw new InputError(`${where(unknown[0]!)}: not an option of the command runner (known: ${[...KNOWN].join(', ')})`);
  const parser = toolParser(o['parser'], where('parser'));
  const stdin = o['stdin'];
  if (stdin !== undefined && typeof stdin !== 'string') throw new InputError(`${where('stdin')}: expected a string`);
  const timeoutMs = o['timeoutMs'] ?? DEFAULT_TIMEOUT_MS;
  if (typeof timeoutMs !== 'number' || !(timeoutMs > 0)) throw new InputError(`${where('timeoutMs')}: expected a positive number of ms`);
  const varsRaw = o['vars'] ?? {};
  if (typeof varsRaw !== 'object' || varsRaw === null || Array.isArray(varsRaw)) throw new InputError(`${where('vars')}: expected a map of names to strings`);
  const vars: Record<string, string> = {};
  for (const [k, v] of Object.entries(varsRaw)) {
    if (typeof v !== 'string' && typeof v !== 'number') throw new InputError(`${where(`vars.${k}`)}: expected a string`);
    vars[k] = String(v);
  }
  const seed = o['promptSeed'] ?? 1;
  if (typeof seed !== 'number' || !Number.isInteger(seed)) throw new InputError(`${where('promptSeed')}: expected an integer`);
  const config: CommandRunnerConfig = {
    command: checkArgTemplates(o['command'], where('command')),
    parserName: parser.name,
    parse: parser.parse,
    imageFiles: stringList(o['imageFiles'], where('imageFiles')),
    vars,
    timeoutMs,
    promptSeed: seed,
  };
  if (stdin !== undefined) config.stdin = stdin;
  const format = o['weightFormat'];
  if (format !== undefined) {
    if (typeof format !== 'string' || !/^[a-z][a-z0-9_]{0,15}$/i.test(format)) {
      throw new InputError(`${where('weightFormat')}: expected a weight type name such as q8_0, q4_0, f16 (got ${JSON.stringify(format)})`);
    }
    config.weightFormat = format.toLowerCase();
  }
  return config;
}

/** The cell's image count (the `images` axis, 0 when absent). */
export function cellImages(cell: Cell): number {
  const v = cell.params['images'] ?? 0;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new InputError(`cell ${cell.id}: images must be a whole number, got ${JSON.stringify(v)}`);
  return v;
}

export interface CommandInvocation {
  argv: string[];
  stdin?: string;
}

/**
 * The command and stdin of one iteration. Placeholders: every cell parameter ({images},
 * {prefill}, {precision}, ...), {outputTokens}, {iteration}, {model} (the suite's model name or
 * path), {prompt} (seeded filler words, about one token each, then an instruction — not
 * calibrated to a tokenizer), {imageFile} (the first image; also per image in forEachImage),
 * {imageFiles} (all, comma-separated), and options.vars.
 */
export function commandFor(config: CommandRunnerConfig, suite: Suite, cell: Cell, iteration: number): CommandInvocation {
  const images = cellImages(cell);
  if (images > 0 && config.imageFiles.length === 0) {
    throw new InputError(`suite "${suite.name}": cell ${cell.id} asks for ${images} image(s) but options.imageFiles is empty`);
  }
  const files = Array.from({ length: images }, (_, i) => config.imageFiles[i % config.imageFiles.length]!);
  const prefill = cell.params['prefill'];
  const words = typeof prefill === 'number' ? prefill : 0;
  const values: Record<string, string> = {
    ...config.vars,
    ...Object.fromEntries(Object.entries(cell.params).map(([k, v]) => [k, String(v)])),
    outputTokens: String(suite.defaults.outputTokens),
    iteration: String(iteration),
    model: 'name' in suite.model ? suite.model.name : 'path' in suite.model ? suite.model.path : suite.model.zoo,
    prompt: promptText(words, hashSeed(`${cell.id}#${config.promptSeed}`), instructionFor(images)),
    imageFile: files[0] ?? '',
    imageFiles: files.join(','),
  };
  const where = `suite "${suite.name}": options.command`;
  const out: CommandInvocation = { argv: expandArgv(config.command, values, files, where) };
  if (config.stdin !== undefined) out.stdin = substitute(config.stdin, values, `suite "${suite.name}": options.stdin`);
  return out;
}
