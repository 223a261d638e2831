import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { InputError } from '../core/errors.ts';
import { RESULT_SCHEMA_VERSION, type RunResult } from '../core/result-types.ts';

const schemaPath = join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), 'schema', 'result.schema.json');
const ajv = new Ajv({ allErrors: false, strict: false });
const validate = ajv.compile<RunResult>(JSON.parse(readFileSync(schemaPath, 'utf8')) as object);

/** Validates a parsed result document against schema/result.schema.json. */
export function checkResult(doc: unknown, source: string): RunResult {
  const version = (doc as { schemaVersion?: unknown } | null)?.schemaVersion;
  if (typeof version === 'number' && version !== RESULT_SCHEMA_VERSION) {
    throw new InputError(`${source}: result schema version ${version}; this tool reads version ${RESULT_SCHEMA_VERSION}`);
  }
  if (!validate(doc)) {
    const e = validate.errors?.[0];
    const field = e?.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : '(root)';
    throw new InputError(`${source}: not a valid result: field "${field}" ${e?.message ?? 'does not match the schema'}`);
  }
  return doc;
}
