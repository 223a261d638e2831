/**
 * JSON reading for tool outputs, with errors that name the line (JSON.parse only gives a
 * character position, or nothing at all for input that stops early).
 */
import { failAt } from './common.ts';
import { errorMessage } from '../core/errors.ts';

/**
 * 0-based line index of character offsets in one text. The line starts are found once (one pass)
 * and each lookup is a binary search, so naming the line of every element of a 300k-event
 * profile costs O(n + k log n) instead of a rescan of the text per element.
 */
export function lineIndex(text: string): (offset: number) => number {
  const starts: number[] = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return (offset: number): number => {
    // Last line start <= offset.
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
}

/** 0-based line index of one character offset (for a single lookup; use lineIndex for many). */
export function lineOfOffset(text: string, offset: number): number {
  let line = 0;
  const end = Math.min(offset, text.length);
  for (let i = text.indexOf('\n'); i !== -1 && i < end; i = text.indexOf('\n', i + 1)) line++;
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
  // Output pieces, joined once at the end: indexing a string built by += would flatten it on
  // every closing bracket, which is quadratic on a large profile.
  const out: string[] = [];
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
      out.push(JSON.stringify(value));
      continue;
    }
    const word = /^(True|False|None)\b/.exec(text.slice(i, i + 5));
    if (word) {
      out.push(word[1] === 'True' ? 'true' : word[1] === 'False' ? 'false' : 'null');
      i += word[1]!.length;
      continue;
    }
    if (c === ']' || c === '}') {
      // Python allows a trailing comma before a closing bracket; JSON does not. Looking back
      // from the end (not a regex over the whole output) keeps this linear in the text.
      let k = out.length - 1;
      while (k >= 0 && /^\s$/.test(out[k]!)) k--;
      if (k >= 0 && out[k] === ',') out.splice(k, 1);
      out.push(c);
      i++;
      continue;
    }
    if (/[\s\[{:,0-9.eE+-]/.test(c)) {
      out.push(c);
      i++;
      continue;
    }
    failAt(source, at(), `unexpected character "${c}" in Python literal`);
  }
  return out.join('');
}

/**
 * Character offsets of the elements of a top-level JSON array, by element index (so errors about
 * one element can name its line). Every element counts, objects or not, so index k is always
 * element k. Assumes `text` is valid JSON.
 */
export function topLevelElementOffsets(text: string): number[] {
  const offsets: number[] = [];
  let depth = 0;
  let inString = false;
  // At depth 1, true between "[" or "," and the next element's first character.
  let expectElement = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \\ */) i++;
      else if (c === 34 /* " */) inString = false;
      continue;
    }
    if (depth === 1 && expectElement && c !== 32 && c !== 10 && c !== 13 && c !== 9 && c !== 93 /* ] */) {
      offsets.push(i);
      expectElement = false;
    }
    if (c === 34) inString = true;
    else if (c === 91 /* [ */ || c === 123 /* { */) {
      depth++;
      if (depth === 1) expectElement = true;
    } else if (c === 93 || c === 125) depth--;
    else if (c === 44 /* , */ && depth === 1) expectElement = true;
  }
  return offsets;
}
