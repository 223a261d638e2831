import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? tsFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** Code lines (comments left out) of the .ts files under `folders` that match `pattern`, as "file:line: text". */
export function codeLinesMatching(folders: readonly string[], pattern: RegExp): string[] {
  const found: string[] = [];
  for (const file of folders.flatMap(tsFiles)) {
    readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
      const code = line.replace(/\/\/.*$/, '');
      if (!/^\s*(\/\*\*|\*)/.test(code) && pattern.test(code)) found.push(`${file}:${i + 1}: ${line.trim()}`);
    });
  }
  return found;
}
