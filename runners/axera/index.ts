/**
 * The `axera-subgraph` runner (suites/internvl-ax650.yaml): per-subgraph latency of every
 * compiled graph of an Axera per-layer split, measured on the board with ax_run_model and
 * COMPOSED into the request (reporters/axera-compose.ts, the method of the seed's AX650N table).
 * In end-to-end mode it runs the board's demo (ax-llm / axllm) and records the demo's own
 * timings (MEASURED), with the composition of the same cell beside them under "composed.*".
 */
import type { IterationRecord } from '../../core/events.ts';
import type { PreparedCell, Runner, RunnerContext } from '../../core/runner.ts';
import type { Cell, Suite } from '../../core/suite-types.ts';
import { checkProgram, missingOnTarget, transportForRunner, type RunnerTargetOptions, type TargetFile } from '../../targets/runner-target.ts';
import type { TargetTransport } from '../../targets/types.ts';
import { commandFor, type CommandRunnerConfig } from '../command/options.ts';
import { failedRecord, recordFromTimings } from '../command/record.ts';
import { axLlmTimings } from '../command/tool-timings.ts';
import { composeFromLatencies, composedRecord, composedReported } from './compose-record.ts';
import { measureGraphs, reportedLatencies, type GraphLatency } from './measure.ts';
import { cellGeometry, graphRunsFor, parseAxeraOptions, type AxeraOptions } from './options.ts';
import { errorMessage } from '../../core/errors.ts';

export { parseAxeraOptions, cellGeometry, graphRunsFor, axRunModelArgv, type AxeraOptions, type GraphRun, type CellGeometry } from './options.ts';
export { measureGraph, measureGraphs, reportedLatencies, type GraphLatency } from './measure.ts';
export { composedRecord, composeFromLatencies, composedReported } from './compose-record.ts';

/** sha256 of graph files on a target, computed once per process (multi-GB files take a while). */
const hashCache = new Map<string, string>();

async function hashGraphs(transport: TargetTransport, files: string[]): Promise<{ hashes: Record<string, string>; note?: string }> {
  const key = (f: string) => `${transport.name}|${transport.target.workDir ?? ''}|${f}`;
  const missing = files.filter((f) => !hashCache.has(key(f)));
  if (missing.length) {
    const res = await transport.run(['sha256sum', '--', ...missing], { timeoutMs: 600_000 });
    if (res.failure || res.code !== 0) {
      return { hashes: {}, note: `graph hashes not recorded: sha256sum on ${transport.name} failed (${res.error ?? `exit ${res.code}: ${res.stderr.trim().split('\n')[0] ?? ''}`})` };
    }
    for (const line of res.stdout.split('\n')) {
      const m = /^([0-9a-f]{64})\s+\*?(.+)$/.exec(line.trim());
      if (m) hashCache.set(key(m[2]!), m[1]!);
    }
  }
  const hashes: Record<string, string> = {};
  for (const f of files) {
    const h = hashCache.get(key(f));
    if (h) hashes[f] = h;
  }
  return { hashes };
}

function versionSettings(lat: ReadonlyMap<string, GraphLatency>): Record<string, string> {
  const first = [...lat.values()][0];
  const out: Record<string, string> = {};
  if (first?.versions.pulsar2) out['pulsar2Version'] = first.versions.pulsar2;
  if (first?.versions.engine) out['engineVersion'] = first.versions.engine;
  if (first?.versions.tool) out['axRunModelVersion'] = first.versions.tool;
  return out;
}

function demoConfig(opts: AxeraOptions): CommandRunnerConfig {
  const d = opts.demo!;
  return {
    command: d.command,
    parserName: 'ax-llm',
    parse: axLlmTimings,
    ...(d.stdin !== undefined ? { stdin: d.stdin } : {}),
    imageFiles: d.imageFiles,
    vars: {},
    timeoutMs: d.timeoutMs,
    promptSeed: 1,
  };
}

/** What the planned cells will run and read on the board: ax_run_model (or the demo) and every graph file. */
function axeraNeeds(suite: Suite, cells: readonly Cell[]): { programs: string[]; files: TargetFile[] } {
  const opts = parseAxeraOptions(suite);
  const programs = new Set<string>();
  const files: TargetFile[] = [];
  const endToEnd = opts.mode === 'end-to-end';
  for (const cell of cells) {
    if (!endToEnd || opts.demo!.compose) {
      const first = opts.axRunModel.command[0];
      programs.add(typeof first === 'string' ? first : 'ax_run_model');
      for (const run of graphRunsFor(cellGeometry(cell, opts, suite), opts, cell, suite)) files.push({ path: run.file, what: `graph ${run.name}` });
    }
    if (endToEnd) {
      const demo = demoConfig(opts);
      programs.add(commandFor(demo, suite, cell, 0).argv[0]!);
      demo.imageFiles.slice(0, Number(cell.params['images'] ?? 0)).forEach((path) => files.push({ path, what: 'image file' }));
    }
  }
  return { programs: [...programs], files };
}

export function createAxeraSubgraphRunner(runnerOpts: RunnerTargetOptions = {}): Runner {
  return {
    name: 'axera-subgraph',
    async checkTarget(suite: Suite, cells: readonly Cell[]): Promise<string[]> {
      let needs: ReturnType<typeof axeraNeeds>;
      try {
        needs = axeraNeeds(suite, cells);
      } catch {
        // Options the cells cannot use fail those cells with their own message.
        return [];
      }
      return missingOnTarget(transportForRunner(suite, runnerOpts), needs);
    },
    async prepare(cell: Cell, suite: Suite, ctx: RunnerContext): Promise<PreparedCell> {
      const started = ctx.clock.now();
      const opts = parseAxeraOptions(suite);
      const geometry = cellGeometry(cell, opts, suite);
      const runs = graphRunsFor(geometry, opts, cell, suite);
      const transport = transportForRunner(suite, runnerOpts);
      const endToEnd = opts.mode === 'end-to-end';
      const needSubgraphs = !endToEnd || opts.demo!.compose;
      const compose = { layers: opts.layers, chunkSize: opts.chunkSize, tokensPerImage: opts.tokensPerImage };

      if (needSubgraphs) {
        const first = opts.axRunModel.command[0];
        const tool = typeof first === 'string' ? first : 'ax_run_model';
        const found = await checkProgram(transport, tool);
        if (!found.ok) throw new Error(found.error);
      }
      const demo = endToEnd ? demoConfig(opts) : null;
      if (demo) {
        const first = commandFor(demo, suite, cell, 0);
        const found = await checkProgram(transport, first.argv[0]!);
        if (!found.ok) throw new Error(found.error);
      }

      const settings: Record<string, string | number | boolean> = {
        runner: 'axera-subgraph',
        target: transport.name,
        mode: opts.mode,
        layers: opts.layers,
        chunkSize: opts.chunkSize,
        tokensPerImage: opts.tokensPerImage,
        promptTokens: geometry.promptTokens,
        prefillChunks: geometry.chunks,
        graphs: runs.map((r) => `${r.name}=${r.file}${r.group !== undefined ? `#${r.group}` : ''}`).join(' '),
        axRunModelWarmup: opts.axRunModel.warmup,
        axRunModelRepeat: opts.axRunModel.repeat,
      };
      if (endToEnd) {
        settings['figureSource'] = 'tool-reported';
        settings['timing'] = 'tool-reported: the demo\'s own log (ax-llm); image_encode = "image encode time", prefill = its "ttft" (prefill only); composed figures beside it under reported composed.*';
      } else {
        settings['figureSource'] = 'composed';
        settings['timing'] =
          `composed (Axera method): every figure is built from ax_run_model per-invocation averages, not measured end to end: ` +
          `prefill = (g1 + ... + g${geometry.chunks}) x ${opts.layers} layers + post; decode per token = g0 x ${opts.layers} + post; image encode = images x vit`;
      }

      let hashes: Record<string, string> = {};
      if (opts.hashGraphs) {
        const h = await hashGraphs(transport, [...new Set(runs.map((r) => r.file))]);
        hashes = h.hashes;
        if (h.note) settings['hashNote'] = h.note;
      }

      // End-to-end: the composition is measured once for the cell, to stand beside each demo run.
      let composedOnce: Record<string, number> = {};
      if (demo && needSubgraphs) {
        try {
          const lat = await measureGraphs(transport, runs, opts.axRunModel);
          composedOnce = { ...reportedLatencies(lat), ...composedReported(composeFromLatencies(lat, geometry, compose)) };
          Object.assign(settings, versionSettings(lat));
        } catch (err) {
          settings['composedNote'] = `no composed figures: ${errorMessage(err)}`;
        }
      }
      const loadMs = ctx.clock.now() - started;
      ctx.log(`axera-subgraph: ${transport.name}: ${endToEnd ? `demo ${commandFor(demo!, suite, cell, 0).argv.join(' ')}` : `${runs.length} graph(s) per iteration (${runs.map((r) => r.name).join(', ')})`}`);

      const runSubgraphs = async (index: number, warmup: boolean): Promise<IterationRecord> => {
        const startMs = ctx.clock.now();
        try {
          const lat = await measureGraphs(transport, runs, opts.axRunModel);
          if (settings['pulsar2Version'] === undefined) Object.assign(settings, versionSettings(lat));
          const wall = ctx.clock.now() - startMs;
          return composedRecord(lat, geometry, compose, { index, warmup, startMs, outputTokens: suite.defaults.outputTokens }, { ...reportedLatencies(lat), 'measure.wall_ms': wall });
        } catch (err) {
          return failedRecord(index, warmup, ctx.clock.now(), geometry.images, errorMessage(err));
        }
      };

      const runDemo = async (index: number, warmup: boolean): Promise<IterationRecord> => {
        let inv: ReturnType<typeof commandFor>;
        try {
          inv = commandFor(demo!, suite, cell, index);
        } catch (err) {
          return failedRecord(index, warmup, ctx.clock.now(), geometry.images, errorMessage(err));
        }
        const res = await transport.run(inv.argv, { timeoutMs: demo!.timeoutMs, ...(inv.stdin !== undefined ? { input: inv.stdin } : {}) });
        const endMs = ctx.clock.now();
        if (res.failure) return failedRecord(index, warmup, endMs, geometry.images, res.error ?? 'demo failed', composedOnce);
        if (res.code !== 0) {
          return failedRecord(index, warmup, endMs, geometry.images, `${inv.argv[0]} exited with ${res.code} on ${transport.name}: ${res.stderr.trim().split('\n').slice(-2).join(' | ')}`, composedOnce);
        }
        try {
          const t = axLlmTimings(`${res.stdout}\n${res.stderr}`, `${inv.argv[0]} output on ${transport.name} (iteration ${index})`);
          const rec = recordFromTimings(t, { index, warmup, endMs, images: geometry.images, wallMs: res.wallMs, encoderGraph: 'vit' });
          // The demo does not print prompt tokens in every version; the prompt geometry is known.
          if (!Number.isFinite(rec.promptTokens)) rec.reported = { ...rec.reported, 'expected.prompt_tokens': geometry.promptTokens };
          rec.reported = { ...rec.reported, ...composedOnce };
          return rec;
        } catch (err) {
          return failedRecord(index, warmup, endMs, geometry.images, errorMessage(err), composedOnce);
        }
      };

      return {
        loadMs,
        model: {
          architecture: 'name' in suite.model ? suite.model.name : 'path' in suite.model ? suite.model.path : suite.model.zoo,
          precision: String(cell.params['precision'] ?? 'as compiled'),
          layout: 'axera',
          synthetic: false,
          ...(Object.keys(hashes).length ? { hashes } : {}),
        },
        settings,
        runIteration: endToEnd ? runDemo : runSubgraphs,
        close: async () => undefined,
      };
    },
  };
}

