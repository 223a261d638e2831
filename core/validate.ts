/**
 * The one input validator: JSON Schema (Ajv) for every document a user or a tool hands the suite
 * (suites, targets files, results, calibrations, runner options), with one message style:
 *
 *   <source>: [<part>: ]field "<dotted.path>": <what was expected>
 *
 * e.g. `suites/x.yaml: field "defaults.iterations": expected a value that must be >= 1` or
 * `targets.yaml: target "orin": field "port": expected a value that must be <= 65535`.
 *
 * A schema can say in words what a field expects with the annotation `"x-expected"`; the message
 * then reads `expected <words>, got <value>`.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { ValidationError } from './errors.ts';

export interface ValidatorOptions {
  /**
   * Names the part of the document an error sits in and the path inside it, e.g. the entry of a
   * list by its name: (['targets', '2', 'port']) -> { label: 'target "orin"', parts: ['port'] }.
   */
  locate?: (parts: string[], doc: unknown) => { label: string; parts: string[] };
  /** What to say when a `oneOf` fails (Ajv reports every branch; one summary is what a user can act on). */
  oneOf?: string;
  /** Words before the field, e.g. "not a valid result". */
  prefix?: string;
  /** Report every error (joined by "; ") instead of the most useful one. */
  all?: boolean;
}

// Two compilations of each schema, which accept exactly the same documents. The fast one stops
// at the first error and keeps no error detail: it is what almost every document meets (a result
// of 80,000 events validates 2-3x faster). The detailed one runs only on a document the fast one
// refused: allErrors to pick the most useful error, verbose so errors carry the failing value
// and its schema, for x-expected and "got" in messages. `discriminator` (a oneOf whose branches
// are told apart by a const property, e.g. an event's "kind") checks only the branch named; the
// detailed compilation ignores the keyword and reports the oneOf as it always has.
// strict: false (our schemas carry x-expected annotations) would also let Infinity and NaN pass as
// numbers; strictNumbers keeps them out: JSON has neither, but a hand-edited 1e400 parses as
// Infinity and a YAML .inf is one.
const fastAjv = new Ajv({ allErrors: false, strict: false, strictNumbers: true, discriminator: true });
const detailedAjv = new Ajv({ allErrors: true, strict: false, strictNumbers: true, verbose: true });

const quote = (v: unknown) => JSON.stringify(v);

function shown(v: unknown): string {
  if (v === undefined) return 'nothing';
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** The schema's own words for what it expects, when it has them. */
function expectedWords(schema: unknown): string | undefined {
  const words = (schema as Record<string, unknown> | null)?.['x-expected'];
  return typeof words === 'string' ? words : undefined;
}

function describe(err: ErrorObject, options: ValidatorOptions): { parts: string[]; expected: string } | null {
  const parts = err.instancePath.split('/').filter(Boolean).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  const p = err.params as Record<string, unknown>;
  if (err.keyword === 'propertyNames') {
    const words = expectedWords(err.schema);
    return { parts: [...parts, String(p['propertyName'])], expected: words ? `expected ${words}, got ${shown(p['propertyName'])}` : 'is not an allowed name' };
  }
  const words = expectedWords(err.parentSchema);
  if (words && err.keyword !== 'required' && err.keyword !== 'additionalProperties') return { parts, expected: `expected ${words}, got ${shown(err.data)}` };
  switch (err.keyword) {
    case 'required':
      return { parts: [...parts, String(p['missingProperty'])], expected: 'is required' };
    case 'additionalProperties':
      return { parts: [...parts, String(p['additionalProperty'])], expected: 'is not a known field' };
    case 'enum':
      return { parts, expected: `expected one of ${(p['allowedValues'] as unknown[]).map(quote).join(', ')}` };
    case 'const':
      return { parts, expected: `expected ${quote(p['allowedValue'])}` };
    case 'oneOf':
      return { parts, expected: options.oneOf ?? 'expected exactly one of the allowed forms' };
    case 'if':
      // The branch that failed reports its own error.
      return null;
    case 'type':
      if (typeof err.data === 'number' && !Number.isFinite(err.data)) {
        return { parts, expected: `expected a finite number, got ${err.data} (a number too large for a double, such as 1e400, reads as Infinity)` };
      }
      return { parts, expected: `expected a value that ${err.message ?? 'matches the schema'}` };
    default:
      return { parts, expected: `expected a value that ${err.message ?? 'matches the schema'}` };
  }
}

/**
 * The errors worth showing. A failed oneOf: the deepest error inside it when one branch got
 * further than the type check (that branch is what the user meant), else the oneOf's summary.
 * A propertyNames error hides its nested enum.
 */
function usefulErrors(errors: readonly ErrorObject[], all: boolean): ErrorObject[] {
  const oneOf = errors.find((e) => e.keyword === 'oneOf');
  if (oneOf && !all) {
    // A field every branch needs (the tag itself) missing says more than "none of the forms".
    const missing = errors.find((e) => e.keyword === 'required' && e.instancePath === oneOf.instancePath && !e.schemaPath.startsWith(`${oneOf.schemaPath}/`));
    if (missing) return [missing];
    let deeper = errors.filter((e) => e.instancePath.startsWith(`${oneOf.instancePath}/`) && e.keyword !== 'oneOf');
    // Branches told apart by a tag (a const property such as an event's "kind"): a branch whose
    // tag did not match is not what the user meant. When one branch's tag matched, its errors
    // are the ones to show; when none did, the tag itself is wrong: name the tags allowed.
    const branchOf = (e: ErrorObject) => /^\/(\d+)\//.exec(e.schemaPath.slice(oneOf.schemaPath.length))?.[1];
    const tagMisses = deeper.filter((e) => e.keyword === 'const' && e.instancePath.split('/').length === oneOf.instancePath.split('/').length + 1);
    if (tagMisses.length) {
      const missed = new Set(tagMisses.map(branchOf));
      // The meant branch's own errors, including those on the tagged object itself (a required field).
      const inBranches = errors.filter((e) => e !== oneOf && e.schemaPath.startsWith(`${oneOf.schemaPath}/`) && (e.instancePath === oneOf.instancePath || e.instancePath.startsWith(`${oneOf.instancePath}/`)));
      const meant = inBranches.filter((e) => !missed.has(branchOf(e)));
      if (meant.length) deeper = meant;
      else if (tagMisses.every((e) => e.instancePath === tagMisses[0]!.instancePath)) {
        return [{ ...tagMisses[0]!, keyword: 'enum', params: { allowedValues: tagMisses.map((e) => (e.params as { allowedValue: unknown }).allowedValue) } }];
      }
    }
    deeper.sort((a, b) => b.instancePath.length - a.instancePath.length);
    return [deeper[0] ?? oneOf];
  }
  const names = errors.filter((e) => e.keyword === 'propertyNames');
  const rest = errors.filter((e) => !(names.length && e.propertyName !== undefined && e.keyword !== 'propertyNames'));
  return all ? rest : rest.slice(0, 1);
}

/** The field path in messages: dotted, list indices in brackets ("matrix.images[0]"). */
export function fieldPath(parts: readonly string[]): string {
  let out = '';
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : out ? `.${p}` : p;
  return out || '(root)';
}

/** Formats one issue in the common style. */
export function issueText(source: string, field: string, expected: string, part?: string, prefix?: string): string {
  return `${source}: ${prefix ? `${prefix}: ` : ''}${part ? `${part}: ` : ''}field "${field}": ${expected}`;
}

/**
 * A checker for one schema: returns the document typed as T, or throws an InputError naming the
 * source, the part, the field and what was expected.
 */
export function schemaValidator<T>(schema: object, options: ValidatorOptions = {}): (doc: unknown, source: string) => T {
  let fast: ValidateFunction<T> | undefined;
  let detailed: ValidateFunction<T> | undefined;
  return (doc: unknown, source: string): T => {
    // Compiled on first use: loading a module must not cost a schema compilation it never needs.
    fast ??= fastAjv.compile<T>(schema);
    if (fast(doc)) return doc;
    detailed ??= detailedAjv.compile<T>(schema);
    if (detailed(doc)) throw new Error(`${source}: the two compilations of one schema disagree on this document`);
    const issues: Array<{ field: string; expected: string; text: string }> = [];
    for (const err of usefulErrors(detailed.errors ?? [], options.all === true)) {
      const d = describe(err, options);
      if (!d) continue;
      const located = options.locate ? options.locate(d.parts, doc) : { label: '', parts: d.parts };
      const field = fieldPath(located.parts);
      const text = issueText(source, field, d.expected, located.label || undefined, options.prefix);
      if (!issues.some((i) => i.text === text)) issues.push({ field, expected: d.expected, text });
    }
    const first = issues[0] ?? { field: '(root)', expected: 'does not match the schema', text: issueText(source, '(root)', 'does not match the schema', undefined, options.prefix) };
    throw new ValidationError(source, first.field, first.expected, issues.length ? issues.map((i) => i.text).join('; ') : first.text);
  };
}
