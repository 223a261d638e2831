import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../core/errors.ts';
import { RESULT_SCHEMA_VERSION, type RunResult } from '../core/result-types.ts';
import { metricUnit } from '../core/metric-registry.ts';
import { schemaValidator } from '../core/validate.ts';

const schemaPath = join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), 'schema', 'result.schema.json');
const validate = schemaValidator<RunResult>(JSON.parse(readFileSync(schemaPath, 'utf8')) as object, { prefix: 'not a valid result' });

/** Validates a parsed result document against schema/result.schema.json. */
export function checkResult(doc: unknown, source: string): RunResult {
  const version = (doc as { schemaVersion?: unknown } | null)?.schemaVersion;
  if (typeof version === 'number' && version !== RESULT_SCHEMA_VERSION) {
    throw new InputError(`${source}: result schema version ${version}; this tool reads version ${RESULT_SCHEMA_VERSION}`);
  }
  const result = validate(doc, source);
  // One record per cell id: a second record of an id would hide a measured cell (issue 18.5).
  const seen = new Set<string>();
  result.cells.forEach((cell, i) => {
    if (seen.has(cell.id)) throw new InputError(`${source}: not a valid result: field "cells[${i}].id": cell id "${cell.id.slice(0, 200)}" occurs twice`);
    seen.add(cell.id);
  });
  if (new Set(result.plannedCells).size !== result.plannedCells.length) {
    const dup = result.plannedCells.find((id, i) => result.plannedCells.indexOf(id) !== i)!;
    throw new InputError(`${source}: not a valid result: field "plannedCells": cell id "${dup.slice(0, 200)}" occurs twice`);
  }
  checkTimings(result, source);
  checkEnergySummaries(result, source);
  return result;
}

/**
 * Bounds of what a machine can draw, for the stored power and energy figures (the raw power
 * samples have the same bounds in the schema): negative watts or joules (other than the net
 * figures, which are above idle and may dip below it) reached a comparison as a change of
 * -100000100%, and 1e300 J as +2e301%.
 */
const MAX_WATTS = 100_000;
const MAX_JOULES = 1e9;
const ENERGY_UNITS: Readonly<Record<string, number>> = { W: MAX_WATTS, J: MAX_JOULES, 'J/token': MAX_JOULES, 'J/image': MAX_JOULES };

function checkEnergySummaries(result: RunResult, source: string): void {
  result.cells.forEach((cell, ci) => {
    for (const [name, stats] of Object.entries(cell.metrics)) {
      const max = ENERGY_UNITS[metricUnit(name)];
      if (max === undefined) continue;
      const min = name.includes('_net') ? -max : 0;
      for (const key of ['median', 'mean', 'min', 'max', 'p90', 'p99'] as const) {
        const v = stats[key];
        if (typeof v === 'number' && (v < min || v > max)) {
          throw new InputError(`${source}: not a valid result: field "cells[${ci}].metrics.${name}.${key}": ${v} ${metricUnit(name)}, outside ${min} to ${max} (no machine draws that)`);
        }
      }
    }
  });
}

/**
 * What the schema cannot say: times within an iteration run forward. A first token timed before
 * (or at) its request's start would be a TTFT of zero or less, and reach the history and
 * comparisons as an "improvement" of 100% or more.
 */
function checkTimings(result: RunResult, source: string): void {
  const refuse = (field: string, what: string): never => {
    throw new InputError(`${source}: not a valid result: field "${field}": ${what}`);
  };
  result.cells.forEach((cell, ci) => {
    cell.iterations.forEach((it, ii) => {
      const at = `cells[${ci}].iterations[${ii}]`;
      if (it.endMs < it.startMs) refuse(`${at}.endMs`, `ends at ${it.endMs} ms, before it starts at ${it.startMs} ms`);
      let lastToken = -Infinity;
      let nextIndex = 0;
      it.events.forEach((ev, ei) => {
        const field = `${at}.events[${ei}]`;
        if (ev.kind === 'token') {
          if (!(ev.tMs > it.startMs)) refuse(`${field}.tMs`, `a token at ${ev.tMs} ms, not after its request started at ${it.startMs} ms (a TTFT must be > 0)`);
          if (ev.tMs < lastToken) refuse(`${field}.tMs`, `a token at ${ev.tMs} ms, before the token before it (${lastToken} ms)`);
          if (ev.index < nextIndex) refuse(`${field}.index`, `token index ${ev.index} repeats or goes back (expected ${nextIndex} or more)`);
          lastToken = ev.tMs;
          nextIndex = ev.index + ev.count;
        } else {
          if (ev.endMs < ev.startMs) refuse(`${field}.endMs`, `the ${ev.kind === 'phase' ? ev.phase : ev.graph} ${ev.kind} ends at ${ev.endMs} ms, before it starts at ${ev.startMs} ms`);
          if (ev.startMs < it.startMs) refuse(`${field}.startMs`, `the ${ev.kind === 'phase' ? ev.phase : ev.graph} ${ev.kind} starts at ${ev.startMs} ms, before its iteration (${it.startMs} ms)`);
        }
      });
    });
  });
}
