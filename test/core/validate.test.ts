import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../core/errors.ts';
import { schemaValidator } from '../../core/validate.ts';

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
});
