import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../core/errors.ts';
import { RESULT_SCHEMA_VERSION, type RunResult } from '../core/result-types.ts';
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
  return result;
}
