import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const fixturesDir = join(repoRoot, 'test', 'fixtures');

/** A fixture's text without its "### ..." attribution header lines. */
export function fixtureBody(name: string): string {
  const lines = readFileSync(join(fixturesDir, name), 'utf8').split('\n');
  let i = 0;
  while (i < lines.length && lines[i]!.startsWith('### ')) i++;
  return lines.slice(i).join('\n');
}

/** The published per-subgraph figures (ms) of targets-internvl-subgraphs.txt, by graph name. */
export function publishedSubgraphFigures(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of fixtureBody('targets-internvl-subgraphs.txt').split('\n')) {
    const m = /^(vit|post|g\d+):\s*([\d.]+)$/.exec(line.trim());
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** A "## name" section of a multi-section fixture. */
export function fixtureSection(name: string, section: string): string {
  const body = fixtureBody(name);
  const parts = body.split(/^## /m);
  const found = parts.find((p) => p.startsWith(`${section}\n`));
  if (!found) throw new Error(`${name}: no section "## ${section}"`);
  return found.slice(section.length + 1);
}
