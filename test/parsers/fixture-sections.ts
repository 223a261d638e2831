/**
 * Reads the multi-sample fixture files (copied from /work/shared/fixtures): each sample starts
 * with a "### source: ..." line naming where the real output comes from.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface FixtureSection {
  /** The "### source: ..." line. */
  header: string;
  /** Sample text (lines after the header up to the next header). */
  text: string;
  /** 1-based line of the header in the fixture file. */
  headerLine: number;
}

export function fixturePath(name: string): string {
  return fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
}

export function readFixture(name: string): string {
  return readFileSync(fixturePath(name), 'utf8');
}

export function fixtureSections(name: string): FixtureSection[] {
  const lines = readFixture(name).split('\n');
  const sections: FixtureSection[] = [];
  let current: { header: string; headerLine: number; body: string[] } | undefined;
  lines.forEach((line, i) => {
    if (line.startsWith('### source:')) {
      if (current) sections.push({ header: current.header, headerLine: current.headerLine, text: current.body.join('\n') });
      current = { header: line, headerLine: i + 1, body: [] };
    } else current?.body.push(line);
  });
  if (current) sections.push({ header: current.header, headerLine: current.headerLine, text: current.body.join('\n') });
  return sections;
}

/** The one section whose header contains `needle` (throws when none or several match). */
export function section(name: string, needle: string): FixtureSection {
  const found = fixtureSections(name).filter((s) => s.header.includes(needle));
  if (found.length !== 1) throw new Error(`${name}: ${found.length} sections match "${needle}"`);
  return found[0]!;
}
