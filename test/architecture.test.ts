import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../cli/main.ts';
import { CHILD_COMMANDS } from '../core/commands.ts';

const SOURCE_FOLDERS = ['core', 'targets', 'hw-probes', 'models', 'parsers', 'runners', 'roofline', 'harness', 'analysis', 'reporters', 'history', 'publish', 'cli'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? sourceFiles(join(dir, n)) : /\.(ts|mjs)$/.test(n) ? [join(dir, n)] : []));
}

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

  it('the CLI commands lower layers start as child processes are declared in core/commands.ts, and exist', async () => {
    for (const [name, { words }] of Object.entries(CHILD_COMMANDS)) {
      const program = await buildProgram(['node', 'bench', words[0]]);
      let command = program.commands.find((c) => c.name() === words[0]);
      for (const word of words.slice(1)) command = command?.commands.find((c) => c.name() === word);
      expect(command?.name(), `${name}: bench ${words.join(' ')}`).toBe(words[words.length - 1]);
    }
    // Nothing else names the entry point: a new child-process edge has to be declared there.
    const naming = SOURCE_FOLDERS.flatMap(sourceFiles).filter((f) => f !== join('core', 'commands.ts') && /bin\/bench\.mjs|'bench\.mjs'/.test(readFileSync(f, 'utf8')));
    expect(naming).toEqual([]);
  });
});
