import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/**
 * The import rules of docs/architecture.md, checked by dependency-cruiser over the non-test
 * sources: layers only import downwards, sibling folders of one layer stay apart, no cycles.
 */
describe('architecture', () => {
  it('imports follow the layers, with no cycles', () => {
    let output = '';
    let failed = false;
    try {
      output = execFileSync('node_modules/.bin/depcruise', ['--config', '.dependency-cruiser.cjs', '--output-type', 'err', '.'], { encoding: 'utf8' });
    } catch (err) {
      failed = true;
      output = String((err as { stdout?: string }).stdout ?? err);
    }
    expect(failed ? output : '').toBe('');
    expect(output).toMatch(/no dependency violations found/);
  }, 120_000);
});
