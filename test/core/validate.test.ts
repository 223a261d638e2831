import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../core/errors.ts';
import { schemaValidator } from '../../core/validate.ts';
import { checkResult } from '../../harness/result-schema.ts';

const schema = {
  type: 'object',
  required: ['name', 'items'],
  additionalProperties: false,
  properties: {
    name: { type: 'string' },
    items: { type: 'array', items: { type: 'object', properties: { rate: { type: 'number', exclusiveMinimum: 0, 'x-expected': 'a positive rate' } } } },
    choice: { oneOf: [{ type: 'null' }, { type: 'object', required: ['k'], properties: { k: { type: 'integer' } } }] },
  },
};

function errorOf(doc: unknown): ValidationError {
  try {
    schemaValidator<unknown>(schema, { oneOf: 'null or {k}' })(doc, 'f.json');
  } catch (err) {
    if (err instanceof ValidationError) return err;
  }
  throw new Error('expected a ValidationError');
}

describe('the one validator', () => {
  it('names file, field path with list indices, and what was expected, in the schema\'s own words', () => {
    const e = errorOf({ name: 'a', items: [{ rate: 1 }, { rate: -2 }] });
    expect(e.message).toBe('f.json: field "items[1].rate": expected a positive rate, got -2');
    expect([e.file, e.field]).toEqual(['f.json', 'items[1].rate']);
  });

  it('reports missing and unknown fields', () => {
    expect(errorOf({ items: [] }).message).toBe('f.json: field "name": is required');
    expect(errorOf({ name: 'a', items: [], nmae: 1 }).message).toBe('f.json: field "nmae": is not a known field');
  });

  it('shows the error inside the oneOf branch the user meant, else the summary', () => {
    expect(errorOf({ name: 'a', items: [], choice: { k: 1.5 } }).message).toBe('f.json: field "choice.k": expected a value that must be integer');
    expect(errorOf({ name: 'a', items: [], choice: 3 }).message).toBe('f.json: field "choice": null or {k}');
  });

  // Documents are checked by a fast compilation (first error, no detail; a oneOf with a
  // discriminator checks only the branch its tag names) and only a refused one by the detailed
  // compilation: both must accept and refuse the same documents, and messages stay the detailed ones.
  it('accepts and refuses raw events of a result the same way, with the detailed message', () => {
    const good = JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/reports/ort-tiny.result.json'), 'utf8')) as { cells: Array<{ iterations: Array<{ events: Array<Record<string, unknown>> }> }> };
    expect(() => checkResult(structuredClone(good), 'r.json')).not.toThrow();
    const badEvent = (edit: (e: Record<string, unknown>) => void) => {
      const doc = structuredClone(good);
      edit(doc.cells[0]!.iterations[1]!.events[2]!);
      try {
        checkResult(doc, 'r.json');
      } catch (err) {
        return (err as Error).message;
      }
      return 'accepted';
    };
    expect(badEvent((e) => (e['kind'] = 'phaze'))).toBe('r.json: not a valid result: field "cells[0].iterations[1].events[2].kind": expected one of "phase", "subgraph", "token"');
    // The branch the tag names is the one reported, not another branch's tag.
    expect(badEvent((e) => {
      for (const k of Object.keys(e)) delete e[k];
      Object.assign(e, { kind: 'token', index: 0, count: 1 });
    })).toBe('r.json: not a valid result: field "cells[0].iterations[1].events[2].tMs": is required');
    expect(badEvent((e) => (e['startMs'] = 'soon'))).toBe('r.json: not a valid result: field "cells[0].iterations[1].events[2].startMs": expected a value that must be number');
    expect(badEvent((e) => delete e['kind'])).toBe('r.json: not a valid result: field "cells[0].iterations[1].events[2].kind": is required');
  });
});
