import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject } from 'ajv';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { errorMessage, InputError, SuiteError } from '../core/errors.ts';
import type { LoadedSuite, Suite } from '../core/suite-types.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const SUITES_DIR = join(repoRoot, 'suites');
const SCHEMA_PATH = join(repoRoot, 'schema', 'suite.schema.json');

const ajv = new Ajv({ allErrors: true, strict: false });
const validateSuite = ajv.compile<Suite>(JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as object);

/** Turns Ajv's JSON pointer ("/matrix/images/0") into a field path ("matrix.images[0]"). */
function fieldPath(pointer: string, extra?: string): string {
  const parts = pointer.split('/').filter(Boolean);
  let out = '';
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : out ? `.${p}` : p;
  if (extra) out += out ? `.${extra}` : extra;
  return out || '(root)';
}

function describe(err: ErrorObject): { field: string; expected: string } {
  const p = err.params as Record<string, unknown>;
  switch (err.keyword) {
    case 'required':
      return { field: fieldPath(err.instancePath, String(p['missingProperty'])), expected: 'is required' };
    case 'additionalProperties':
      return {
        field: fieldPath(err.instancePath, String(p['additionalProperty'])),
        expected: 'is not a known field',
      };
    case 'enum':
      return {
        field: fieldPath(err.instancePath),
        expected: `expected one of ${(p['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
      };
    case 'oneOf':
      return {
        field: fieldPath(err.instancePath),
        expected: 'expected {zoo, scale[, layout, seed]} for a synthesised model, {path} for ONNX files, or {name}',
      };
    default:
      return { field: fieldPath(err.instancePath), expected: `expected a value that ${err.message ?? 'matches the schema'}` };
  }
}

/** Ajv reports every branch of a oneOf; the oneOf summary alone is what a user can act on. */
function mostUseful(errors: ErrorObject[]): ErrorObject {
  const oneOf = errors.find((e) => e.keyword === 'oneOf');
  if (oneOf) return oneOf;
  return errors[0]!;
}

/** Checks a parsed suite document; throws SuiteError naming the source, the field and what was expected. */
export function checkSuite(doc: unknown, source: string): Suite {
  if (!validateSuite(doc)) {
    const { field, expected } = describe(mostUseful(validateSuite.errors ?? []));
    throw new SuiteError(source, field, expected);
  }
  const suite = doc;
  for (const [axis, values] of Object.entries(suite.matrix)) {
    const seen = new Set(values.map((v) => JSON.stringify(v)));
    if (seen.size !== values.length) {
      throw new SuiteError(source, `matrix.${axis}`, 'expected distinct values (a value is repeated)');
    }
  }
  return suite;
}

export function hashSuite(suite: Suite): string {
  return createHash('sha256').update(canonicalJson(suite)).digest('hex').slice(0, 16);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function parseSuiteText(text: string, source: string): Suite {
  let doc: unknown;
  try {
    doc = extname(source) === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? `:${err.linePos[0].line}` : '';
    throw new InputError(`${source}${where}: not valid ${extname(source) === '.json' ? 'JSON' : 'YAML'}: ${errorMessage(err).split('\n')[0]}`);
  }
  return checkSuite(doc, source);
}

/** Names of the suites shipped in suites/. */
export function listSuiteFiles(): Array<{ name: string; file: string }> {
  if (!existsSync(SUITES_DIR)) return [];
  return readdirSync(SUITES_DIR)
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .map((f) => ({ name: basename(f).replace(/\.(ya?ml|json)$/, ''), file: join(SUITES_DIR, f) }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Loads a suite by shipped name ("internvl-cpu") or by file path. */
export function loadSuite(nameOrFile: string): LoadedSuite {
  const looksLikePath = /[\\/]/.test(nameOrFile) || /\.(ya?ml|json)$/.test(nameOrFile);
  let file: string;
  if (looksLikePath) {
    file = resolve(nameOrFile);
    if (!existsSync(file)) throw new InputError(`suite file not found: ${nameOrFile}`);
  } else {
    const found = listSuiteFiles().find((s) => s.name === nameOrFile);
    if (!found) {
      const known = listSuiteFiles().map((s) => s.name).join(', ') || '(none)';
      throw new InputError(`unknown suite "${nameOrFile}"; shipped suites: ${known} (or give a path to a YAML/JSON file)`);
    }
    file = found.file;
  }
  const suite = parseSuiteText(readFileSync(file, 'utf8'), file);
  return { suite, source: file, hash: hashSuite(suite) };
}
