/**
 * JSON reading for tool outputs, with errors that name the line (JSON.parse only gives a
 * character position, or nothing at all for input that stops early).
 */
import { failAt } from './common.ts';
import { errorMessage } from '../core/errors.ts';

/** 0-based line index of a character offset. */
export function lineOfOffset(text: string, offset: number): number {
  let line = 0;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** Index of the last line holding something other than whitespace. */
function lastContentLine(text: string): number {
  const lines = text.split(/\r?\n/);
  for (let i = lines.length - 1; i >= 0; i--) if (lines[i]!.trim() !== '') return i;
  return 0;
}

/**
 * True when JSON.parse failed only because the text ended too early (a cut-off file): the error
 * is at (or past) the last non-blank character, or JSON.parse reports the end of input.
 */
export function isTruncationError(text: string, err: unknown): boolean {
  const message = errorMessage(err);
  if (/end of JSON input/i.test(message)) return true;
  const position = /position (\d+)/.exec(message);
  return position !== null && Number(position[1]) >= text.trimEnd().length;
}

/**
 * JSON.parse that throws a ParseError naming the line. Input that ends before the document is
 * complete (a cut-off file) is reported as truncated, since that is what users most often have.
 */
export function parseJsonDocument(text: string, source: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    const message = errorMessage(err);
    if (isTruncationError(text, err)) {
      failAt(source, lastContentLine(text), `truncated ${what}: the input ends before the JSON document is closed`);
    }
    const position = /position (\d+)/.exec(message);
    const line = position ? lineOfOffset(text, Number(position[1])) : undefined;
    failAt(source, line, `invalid JSON in ${what}: ${message}`);
  }
}

/** True when brackets/braces opened outside strings are never all closed. */
export function isUnclosed(text: string): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '[' || c === '{') depth++;
    else if (c === ']' || c === '}') depth--;
  }
  return inString || depth > 0;
}

/**
 * Converts a Python literal as printed by `pprint` / `repr` (single-quoted strings, True /
 * False / None) into JSON text. Only the literal subset Python prints for lists, dicts,
 * strings and numbers is accepted; anything else throws with the line where it occurs.
 */
export function pythonLiteralToJson(text: string, source: string, lineOffset = 0): string {
  let out = '';
  let i = 0;
  const at = (): number => lineOffset + lineOfOffset(text, i);
  while (i < text.length) {
    const c = text[i]!;
    if (c === "'" || c === '"') {
      const quote = c;
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length) failAt(source, at(), 'unterminated string in Python literal');
        const d = text[i]!;
        if (d === '\\') {
          const next = text[i + 1];
          if (next === undefined) failAt(source, at(), 'unterminated escape in Python literal');
          const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"' };
          const mapped = simple[next];
          if (mapped === undefined) failAt(source, at(), `unsupported escape "\\${next}" in Python literal`);
          value += mapped;
          i += 2;
          continue;
        }
        if (d === quote) {
          i++;
          break;
        }
        value += d;
        i++;
      }
      out += JSON.stringify(value);
      continue;
    }
    const word = /^(True|False|None)\b/.exec(text.slice(i, i + 5));
    if (word) {
      out += word[1] === 'True' ? 'true' : word[1] === 'False' ? 'false' : 'null';
      i += word[1]!.length;
      continue;
    }
    if (c === ']' || c === '}') {
      // Python allows a trailing comma before a closing bracket; JSON does not.
      out = out.replace(/,\s*$/, '');
      out += c;
      i++;
      continue;
    }
    if (/[\s\[{:,0-9.eE+-]/.test(c)) {
      out += c;
      i++;
      continue;
    }
    failAt(source, at(), `unexpected character "${c}" in Python literal`);
  }
  return out;
}

/**
 * Character offsets of the elements of a top-level JSON array that are objects (so errors about
 * one element can name its line). Assumes `text` is valid JSON.
 */
export function topLevelObjectOffsets(text: string): number[] {
  const offsets: number[] = [];
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '[' || c === '{') {
      if (c === '{' && depth === 1) offsets.push(i);
      depth++;
    } else if (c === ']' || c === '}') depth--;
  }
  return offsets;
}
