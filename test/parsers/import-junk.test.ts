/**
 * Issue 18.10: `bench import` says when it found nothing it recognises (exit 2), and its errors
 * quote at most a short excerpt of the input.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ParseError, shortExcerpt } from '../../core/errors.ts';
import { seededRandom } from '../../core/random.ts';
import { tempDir } from '../helpers/tmp.ts';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const dir = tempDir('bench-import-junk-');

function importFile(kind: string, name: string, text: string) {
  const file = join(dir, name);
  writeFileSync(file, text);
  return spawnSync(process.execPath, [join(repo, 'bin', 'bench.mjs'), 'import', kind, file], { encoding: 'utf8', env: { ...process.env, CI: 'true' }, maxBuffer: 64 * 2 ** 20 });
}

function randomLines(bytes: number): string {
  const rand = seededRandom(7);
  const chars = 'abcdefghijklmnopqrstuvwxyz ABCDEFGHIJ0123456789:=.,>[]';
  const lines: string[] = [];
  let size = 0;
  while (size < bytes) {
    let line = '';
    const n = 10 + Math.floor(rand() * 120);
    for (let i = 0; i < n; i++) line += chars[Math.floor(rand() * chars.length)];
    lines.push(line);
    size += n + 1;
  }
  return lines.join('\n');
}

describe('bench import on junk (18.10)', () => {
  it('ax-llm on 2 MB of random lines: exit 2, found nothing it recognises, a short excerpt', () => {
    const r = importFile('ax-llm', 'random.log', randomLines(2 * 2 ** 20));
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/found nothing it recognises as ax-llm output/);
    expect(r.stderr.length).toBeLessThan(1000);
    expect(r.stdout).toBe('');
  }, 60_000);

  it('nvidia-smi on one 4 MB line: exit 2 without echoing it', () => {
    const r = importFile('nvidia-smi', 'one-line.csv', 'x'.repeat(4 * 2 ** 20));
    expect(r.status, r.stderr.slice(0, 500)).toBe(2);
    expect(r.stderr.length + r.stdout.length).toBeLessThan(1000);
  }, 60_000);

  it('a nested-JSON file with a 400 KB value: the error quotes at most a short excerpt', () => {
    const huge = { deep: { list: Array.from({ length: 40000 }, (_, i) => `value-${i}`) } };
    const text = `[\n{ "startEnqMs" : ${JSON.stringify(huge)} }\n]\n`;
    expect(text.length).toBeGreaterThan(400_000);
    const r = importFile('trtexec-times', 'nested.json', text);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/nested\.json:2: record 0: "startEnqMs" should be a number, got \{"deep"/);
    expect(r.stderr.length).toBeLessThan(1000);
  }, 60_000);

  it('shortExcerpt keeps the start and the end and says how much it left out', () => {
    expect(shortExcerpt('abc', 10)).toBe('abc');
    const e = shortExcerpt('a'.repeat(1000) + 'END', 200);
    expect(e.length).toBeLessThan(260);
    expect(e).toMatch(/^a+ … \(803 characters left out\) … a+END$/);
    expect(new ParseError('f', 3, 'x'.repeat(10_000)).message.length).toBeLessThan(500);
  });
});
