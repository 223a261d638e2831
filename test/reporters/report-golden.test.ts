import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkResult } from '../../harness/result-schema.ts';
import { buildReport } from '../../reporters/build-report.ts';
import { renderMarkdown } from '../../reporters/render/markdown.ts';

const dir = join(import.meta.dirname, '../fixtures/reports');
const FIXTURES = ['ort-tiny', 'axera-subgraph', 'axera-e2e', 'endpoint'];

describe('report.md from a stored result.json', () => {
  for (const name of FIXTURES) {
    it(`${name}: same text as before the report model`, () => {
      const result = checkResult(JSON.parse(readFileSync(join(dir, `${name}.result.json`), 'utf8')), name);
      const before = readFileSync(join(dir, `${name}.report-before.md`), 'utf8');
      expect(renderMarkdown(buildReport(result))).toBe(before);
    });
  }
});
