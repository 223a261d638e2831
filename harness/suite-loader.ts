import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { errorMessage, InputError, ValidationError } from '../core/errors.ts';
import type { LoadedSuite, Suite } from '../core/suite-types.ts';
import { schemaValidator } from '../core/validate.ts';
import { expectedProbeNames, isProbeName } from '../hw-probes/registry.ts';
import { runnerNames, runnerSpec } from '../runners/registry.ts';
import type { AxisSpec } from '../runners/spec.ts';
import { POWER_MODE_AXIS, POWER_MODE_AXIS_SPEC } from './power-mode.ts';
import { suiteRunnerNames } from '../core/matrix.ts';

/** Axes the harness itself acts on, for every runner. */
export const HARNESS_AXES: Readonly<Record<string, AxisSpec>> = { [POWER_MODE_AXIS]: POWER_MODE_AXIS_SPEC };

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const SUITES_DIR = join(repoRoot, 'suites');
const SCHEMA_PATH = join(repoRoot, 'schema', 'suite.schema.json');

/**
 * The schema file's `probes` enum lists the built-in probes (for editors, tested against the
 * registry); which names exist, plug-ins included, is hw-probes/registry.ts's to say (checkSuite).
 */
function loadSchema(): object {
  const schema = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as { properties: { probes: { items: object } } };
  schema.properties.probes.items = { type: 'string', minLength: 1 };
  return schema;
}

const validateSuite = schemaValidator<Suite>(loadSchema(), {
  oneOf: 'expected {zoo, scale[, layout, seed]} for a synthesised model, {path} for ONNX files, or {name}',
});

/** Checks a parsed suite document; throws ValidationError naming the source, the field and what was expected. */
export function checkSuite(doc: unknown, source: string): Suite {
  const suite = validateSuite(doc, source);
  // The top-level runner may be replaced by a runner axis (runners side by side).
  if (suite.runner === undefined && suite.matrix['runner'] === undefined) {
    throw new ValidationError(source, 'runner', 'is required (or list runners as a matrix axis, e.g. matrix.runner: [ort, llamacpp])');
  }
  for (const [axis, values] of Object.entries(suite.matrix)) {
    const seen = new Set(values.map((v) => JSON.stringify(v)));
    if (seen.size !== values.length) {
      throw new ValidationError(source, `matrix.${axis}`, 'expected distinct values (a value is repeated)');
    }
  }
  (suite.probes ?? []).forEach((name, i) => {
    if (!isProbeName(name)) throw new ValidationError(source, `probes[${i}]`, expectedProbeNames());
  });
  checkAgainstRunner(suite, source);
  return suite;
}

/**
 * Every matrix axis and every option must be one the suite's runner uses, with values it can
 * use: an unknown axis (say `frames` on a runner without video) would otherwise run with no
 * effect and be published as if it had one.
 */
function checkAgainstRunner(suite: Suite, source: string): void {
  const runnerField = suite.matrix['runner'] ? 'matrix.runner' : 'runner';
  const names = suiteRunnerNames(suite);
  if (names.length === 0) throw new ValidationError(source, 'runner', 'is required (or a matrix.runner axis)');
  const specs = names.map((name, i) => {
    const spec = runnerSpec(name);
    if (!spec) {
      throw new ValidationError(source, suite.matrix['runner'] ? `${runnerField}[${i}]` : runnerField, `unknown runner "${name}"; expected one of ${runnerNames().join(', ')}`);
    }
    return spec;
  });
  // The matrix is a product: every axis reaches every runner of the suite.
  for (const [axis, values] of Object.entries(suite.matrix)) {
    if (axis === 'runner') continue;
    for (const spec of specs) {
      const axisSpec = Object.hasOwn(spec.axes, axis) ? spec.axes[axis] : Object.hasOwn(HARNESS_AXES, axis) ? HARNESS_AXES[axis] : undefined;
      if (!axisSpec) {
        throw new ValidationError(
          source,
          `matrix.${axis}`,
          `is not an axis of the ${spec.name} runner; its axes are ${Object.keys(spec.axes).join(', ')} (and ${Object.keys(HARNESS_AXES).join(', ')} for any runner)`,
        );
      }
      values.forEach((value, i) => {
        if (!axisSpec.accepts(value, suite)) {
          throw new ValidationError(source, `matrix.${axis}[${i}]`, `${JSON.stringify(value)} is not allowed${specs.length > 1 ? ` by the ${spec.name} runner` : ''}: expected ${axisSpec.allowed}`);
        }
      });
    }
  }
  const known = new Set(specs.flatMap((s) => s.options));
  for (const key of Object.keys(suite.options ?? {})) {
    if (!known.has(key)) {
      throw new ValidationError(source, `options.${key}`, `is not an option of the ${names.join(' or ')} runner; its options are ${[...known].join(', ')}`);
    }
  }
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
