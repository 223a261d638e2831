/** Suite axes and runners named like Object.prototype members are unknown names, not a crash (issue 26.12). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../core/errors.ts';
import { parseSuiteText } from '../../harness/suite-loader.ts';

const base = readFileSync(join(import.meta.dirname, '../../suites/internvl-tiny.yaml'), 'utf8');
const NAMES = ['constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty'];

describe('names of Object.prototype members', () => {
  it.each(NAMES)('axis %s is refused as not an axis of the runner, runner %s as unknown', (name) => {
    const axis = base.replace(/^matrix:\n/m, `matrix:\n  ${name}: [1, 2]\n`);
    expect(() => parseSuiteText(axis, 'x.yaml')).toThrow(ValidationError);
    expect(() => parseSuiteText(axis, 'x.yaml')).toThrow(`x.yaml: field "matrix.${name}": is not an axis of the ort runner`);
    const runner = base.replace(/^runner: .*$/m, `runner: ${name}`);
    expect(() => parseSuiteText(runner, 'x.yaml')).toThrow(`x.yaml: field "runner": unknown runner "${name}"`);
  });
});
