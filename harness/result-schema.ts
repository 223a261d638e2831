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
  return validate(doc, source);
}
