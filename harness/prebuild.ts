import { availableParallelism } from 'node:os';
import { runBenchCommand } from '../core/commands.ts';
import type { Cell, Suite } from '../core/suite-types.ts';
import { isVerdictCached } from '../models/accuracy-gate.ts';
import { isModelCached, PRECISIONS, type Precision } from '../models/zoo.ts';
import { runnerCan } from '../runners/registry.ts';
import { cellPartPrecisions, visionEncoderUsedAt } from '../runners/cell-input.ts';
import { expandMatrix } from '../core/matrix.ts';


/**
 * Cold start: a first local run of a zoo suite needs one synthetic model per precision. Built
 * one by one as each cell comes up, they take the sum of their build times; building is
 * single-threaded random generation and quantisation, so the missing ones are built here first,
 * as many at once as there are CPUs, each in its own `bench models build` process (the cache
 * takes concurrent builds: each writes a temporary folder and renames it). Cells then find
 * them cached. A build that fails here is left to the cell, which reports its error as usual.
 * The run loop calls it after the plan checks, so a suite that names an unknown model is
 * refused before anything is built.
 */
export async function prebuildZooModels(suite: Suite, cells: readonly Cell[], log: (m: string) => void): Promise<void> {
  // A suite with a runner axis is left to its cells, as before: only a single runner that builds zoo models here.
  if (!runnerCan(suite.runner, 'buildsZooModels') || !('zoo' in suite.model)) return;
  const ref = suite.model;
  // Every part's build: the LLM's and, for cells with images, the vision encoder's (vision_precision).
  const needed = cells.flatMap((c) => {
    const parts = cellPartPrecisions(c);
    return parts.vision ? [parts.llm, parts.vision] : [parts.llm];
  });
  const isPrecision = (p: string): p is Precision => (PRECISIONS as readonly string[]).includes(p);
  const precisions = [...new Set(needed)].filter(isPrecision);
  // As the runner asks for them: a build whose vision encoder no cell of the suite runs is LLM-only.
  const matrixCells = expandMatrix(suite.matrix);
  const withVision = (precision: Precision) => precision === 'fp32' || visionEncoderUsedAt(matrixCells, precision);
  const build = (precision: Precision) => ({ model: ref.zoo, scale: ref.scale, precision, layout: 'onnx-community' as const, seed: ref.seed, vision: withVision(precision) });
  // The accuracy gate (runners/ort) checks each cell's LLM build against its fp32 twin before
  // the cell is timed, unless this machine's verdict is cached: the twin is then one more build
  // a first run needs, and building it here overlaps it with the others instead of after them.
  const gated = [...new Set(cells.map((c) => cellPartPrecisions(c).llm))].filter(isPrecision);
  if (!precisions.includes('fp32') && gated.some((p) => !isVerdictCached(build(p)))) precisions.push('fp32');
  const missing = precisions.filter((precision) => !isModelCached(build(precision)));
  if (missing.length < 2) return; // one build gains nothing from running here
  const slots = Math.max(1, Math.min(missing.length, availableParallelism()));
  const named = missing.map((p) => (withVision(p) ? p : `${p} (LLM only)`));
  log(`first run: building ${ref.zoo} (${ref.scale}) ${named.join(', ')}, ${slots} at a time`);
  const started = performance.now();
  const queue = [...missing];
  const worker = async (): Promise<void> => {
    for (let precision = queue.shift(); precision; precision = queue.shift()) {
      const { code, lastStderrLine } = await runBenchCommand('modelsBuild', [
        ref.zoo,
        '--precision',
        precision,
        '--scale',
        ref.scale,
        ...(ref.seed !== undefined ? ['--seed', String(ref.seed)] : []),
        ...(withVision(precision) ? [] : ['--no-vision']),
      ]);
      if (code !== 0) log(`building ${precision} failed here (the cell will try again): ${lastStderrLine}`);
      if (code === 0) log(`built ${ref.zoo} ${precision} (${((performance.now() - started) / 1000).toFixed(1)} s since the builds started)`);
    }
  };
  await Promise.all(Array.from({ length: slots }, worker));
}
