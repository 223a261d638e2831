/**
 * Suite options of the `axera-subgraph` runner (suites/internvl-ax650.yaml):
 *
 *   options:
 *     layers: 28                # decoder layers the per-layer graph stands for
 *     chunkSize: 128            # prefill tokens per chunk graph g_k (default defaults.chunkSize)
 *     tokensPerImage: 256
 *     graphs:                   # paths on the board, relative to the target's workDir;
 *       vit: vit_axmodel/internvl2_5_1b_mpo_vit.axmodel            # {precision} etc. allowed
 *       layer: InternVL2_5-1B-MPO_axmodel/qwen2_p128_l0_together.axmodel
 *       post: InternVL2_5-1B-MPO_axmodel/qwen2_post.axmodel
 *       groups: { g0: decode.axmodel }   # optional: a separate file per shape group (no -g then)
 *     axRunModel:
 *       warmup: 1               # ax_run_model -w
 *       repeat: 10              # ax_run_model -r
 *       command: [ax_run_model, -m, "{graph}", -w, "{warmup}", -r, "{repeat}"]
 *       groupArgs: [-g, "{group}"]   # how a shape group of the multi-group layer graph is chosen
 *       extraArgs: []           # e.g. [-a, "1"] for an NPU affinity
 *       timeoutMs: 300000
 *     mode: subgraph            # or end-to-end: run the board's demo and parse its log
 *     demo:                     # end-to-end mode
 *       command: [axllm, run, InternVL2_5-1B-MPO/]
 *       stdin: "{prompt}\n{imageFile}\n"
 *       imageFiles: [images/ssd_dog.jpg]
 *       timeoutMs: 600000
 *       compose: true           # also measure the subgraphs once per cell, for composed figures beside the measured ones
 *
 * How ax_run_model picks a shape group is not in its documented usage (pulsar2 docs list
 * -m -r -w -a -v -b -i -o -l); AXERA-TECH's newer model READMEs load one group of a
 * `*_together.axmodel` with `ax_run_model -m ..._l0_together.axmodel -g 0`, hence the default
 * groupArgs. Boards with a tool that lacks -g need `graphs.groups` (one file per group) or
 * another groupArgs.
 */
import { AXERA_RUNNER_SPEC } from './spec.ts';
import { InputError } from '../../core/errors.ts';
import type { Cell, Suite } from '../../core/suite-types.ts';
import { checkArgTemplates, substitute, type ArgTemplate } from '../command/template.ts';

export interface AxRunModelOptions {
  warmup: number;
  repeat: number;
  command: ArgTemplate[];
  groupArgs: string[];
  extraArgs: string[];
  timeoutMs: number;
}

export interface DemoOptions {
  command: ArgTemplate[];
  stdin?: string;
  imageFiles: string[];
  timeoutMs: number;
  compose: boolean;
}

export interface AxeraOptions {
  layers: number;
  chunkSize: number;
  tokensPerImage: number;
  graphs: { vit?: string; layer?: string; post?: string; groups: Record<string, string> };
  axRunModel: AxRunModelOptions;
  mode: 'subgraph' | 'end-to-end';
  demo?: DemoOptions;
  hashGraphs: boolean;
}

const KNOWN = new Set(AXERA_RUNNER_SPEC.options);

function obj(value: unknown, where: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InputError(`${where}: expected a map`);
  return value as Record<string, unknown>;
}

function posInt(value: unknown, where: string, fallback?: number, min = 1): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new InputError(`${where}: expected an integer >= ${min}, got ${JSON.stringify(v)}`);
  return v;
}

function str(value: unknown, where: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !value) throw new InputError(`${where}: expected a non-empty string`);
  return value;
}

function strList(value: unknown, where: string, fallback: string[]): string[] {
  if (value === undefined) return fallback;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' || typeof v === 'number')) throw new InputError(`${where}: expected a list of strings`);
  return value.map(String);
}

export function parseAxeraOptions(suite: Suite): AxeraOptions {
  const o = suite.options ?? {};
  const at = (f: string) => `suite "${suite.name}": options.${f}`;
  const unknown = Object.keys(o).filter((k) => !KNOWN.has(k));
  if (unknown.length) throw new InputError(`${at(unknown[0]!)}: not an option of the axera-subgraph runner (known: ${[...KNOWN].join(', ')})`);

  const g = obj(o['graphs'], at('graphs'));
  const groupsRaw = obj(g['groups'], at('graphs.groups'));
  const groups: Record<string, string> = {};
  for (const [k, v] of Object.entries(groupsRaw)) {
    if (!/^g\d+$/.test(k)) throw new InputError(`${at(`graphs.groups.${k}`)}: group names are g0 (decode) and g1..gN (prefill chunks)`);
    groups[k] = str(v, at(`graphs.groups.${k}`))!;
  }
  for (const k of Object.keys(g)) if (!['vit', 'layer', 'post', 'groups'].includes(k)) throw new InputError(`${at(`graphs.${k}`)}: not a graph role (vit, layer, post, groups)`);

  const a = obj(o['axRunModel'], at('axRunModel'));
  for (const k of Object.keys(a)) {
    if (!['warmup', 'repeat', 'command', 'groupArgs', 'extraArgs', 'timeoutMs'].includes(k)) throw new InputError(`${at(`axRunModel.${k}`)}: not an option (warmup, repeat, command, groupArgs, extraArgs, timeoutMs)`);
  }
  const mode = o['mode'] ?? 'subgraph';
  if (mode !== 'subgraph' && mode !== 'end-to-end') throw new InputError(`${at('mode')}: expected "subgraph" or "end-to-end", got ${JSON.stringify(mode)}`);

  const out: AxeraOptions = {
    layers: posInt(o['layers'], at('layers')),
    chunkSize: posInt(o['chunkSize'], at('chunkSize'), suite.defaults.chunkSize),
    tokensPerImage: posInt(o['tokensPerImage'], at('tokensPerImage'), undefined, 0),
    graphs: { vit: str(g['vit'], at('graphs.vit')), layer: str(g['layer'], at('graphs.layer')), post: str(g['post'], at('graphs.post')), groups },
    axRunModel: {
      warmup: posInt(a['warmup'], at('axRunModel.warmup'), 1, 0),
      repeat: posInt(a['repeat'], at('axRunModel.repeat'), 10),
      command: a['command'] === undefined ? ['ax_run_model', '-m', '{graph}', '-w', '{warmup}', '-r', '{repeat}'] : checkArgTemplates(a['command'], at('axRunModel.command')),
      groupArgs: strList(a['groupArgs'], at('axRunModel.groupArgs'), ['-g', '{group}']),
      extraArgs: strList(a['extraArgs'], at('axRunModel.extraArgs'), []),
      timeoutMs: posInt(a['timeoutMs'], at('axRunModel.timeoutMs'), 300_000),
    },
    mode,
    hashGraphs: o['hashGraphs'] === undefined ? true : o['hashGraphs'] === true,
  };
  if (mode === 'end-to-end' || o['demo'] !== undefined) {
    const d = obj(o['demo'], at('demo'));
    for (const k of Object.keys(d)) {
      if (!['command', 'stdin', 'imageFiles', 'timeoutMs', 'compose'].includes(k)) throw new InputError(`${at(`demo.${k}`)}: not an option (command, stdin, imageFiles, timeoutMs, compose)`);
    }
    const demo: DemoOptions = {
      command: checkArgTemplates(d['command'], at('demo.command')),
      imageFiles: strList(d['imageFiles'], at('demo.imageFiles'), []),
      timeoutMs: posInt(d['timeoutMs'], at('demo.timeoutMs'), 600_000),
      compose: d['compose'] === undefined ? true : d['compose'] === true,
    };
    const stdin = str(d['stdin'], at('demo.stdin'));
    if (stdin !== undefined) demo.stdin = stdin;
    out.demo = demo;
  }
  return out;
}

/** Prompt geometry of a cell: text tokens + image tokens, and the chunk graphs that prefill needs. */
export interface CellGeometry {
  images: number;
  textTokens: number;
  promptTokens: number;
  imageTokens: number;
  chunks: number;
}

export function cellGeometry(cell: Cell, opts: AxeraOptions, suite: Suite): CellGeometry {
  const images = cell.params['images'] ?? 0;
  const prefill = cell.params['prefill'];
  if (typeof images !== 'number' || !Number.isInteger(images) || images < 0) throw new InputError(`cell ${cell.id}: images must be a whole number`);
  if (typeof prefill !== 'number' || !Number.isInteger(prefill) || prefill < 1) {
    throw new InputError(`suite "${suite.name}": cell ${cell.id} needs a "prefill" axis (text tokens of the prompt) for the Axera composition`);
  }
  const imageTokens = images * opts.tokensPerImage;
  const promptTokens = prefill + imageTokens;
  return { images, textTokens: prefill, promptTokens, imageTokens, chunks: Math.ceil(promptTokens / opts.chunkSize) };
}

/** One ax_run_model invocation to make: which graph file and, for the layer graph, which shape group. */
export interface GraphRun {
  /** "vit", "g0".."gN", "post". */
  name: string;
  file: string;
  group?: number;
}

/** The graphs a cell needs, in pipeline order: vit (with images), g1..g_chunks, g0, post. */
export function graphRunsFor(geometry: CellGeometry, opts: AxeraOptions, cell: Cell, suite: Suite): GraphRun[] {
  const values = Object.fromEntries(Object.entries(cell.params).map(([k, v]) => [k, String(v)]));
  const path = (p: string, role: string) => substitute(p, values, `suite "${suite.name}": options.graphs.${role}`);
  const need = (role: 'vit' | 'layer' | 'post'): string => {
    const p = opts.graphs[role];
    if (!p) throw new InputError(`suite "${suite.name}": options.graphs.${role} is required (path of the ${role} axmodel on the board)`);
    return path(p, role);
  };
  const group = (k: number): GraphRun => {
    const own = opts.graphs.groups[`g${k}`];
    return own ? { name: `g${k}`, file: path(own, `groups.g${k}`) } : { name: `g${k}`, file: need('layer'), group: k };
  };
  const runs: GraphRun[] = [];
  if (geometry.images > 0) runs.push({ name: 'vit', file: need('vit') });
  for (let k = 1; k <= geometry.chunks; k++) runs.push(group(k));
  runs.push(group(0));
  runs.push({ name: 'post', file: need('post') });
  return runs;
}

/** argv of one ax_run_model call. */
export function axRunModelArgv(run: GraphRun, a: AxRunModelOptions, where: string): string[] {
  const values = { graph: run.file, warmup: String(a.warmup), repeat: String(a.repeat), group: run.group === undefined ? '' : String(run.group) };
  const argv: string[] = [];
  a.command.forEach((t, i) => {
    if (typeof t !== 'string') throw new InputError(`${where}.command[${i}]: forEachImage has no meaning for ax_run_model`);
    argv.push(substitute(t, values, `${where}.command[${i}]`));
  });
  if (run.group !== undefined) a.groupArgs.forEach((t, i) => argv.push(substitute(t, values, `${where}.groupArgs[${i}]`)));
  for (const x of a.extraArgs) argv.push(x);
  return argv;
}
