import { describe, expect, it } from 'vitest';
import { lineIndex, lineOfOffset, pythonLiteralToJson } from '../../parsers/json-text.ts';
import { parseOrtProfile } from '../../parsers/ort-profile.ts';
import { parseTrtexecTimes } from '../../parsers/trtexec.ts';
import { syntheticOrtProfile, syntheticTrtexecTimes } from '../../bench/synthetic-logs.ts';

/** Least of a few timings, ms: the least is the one least disturbed by a busy machine. */
function leastMs(fn: () => void, repeats = 3): number {
  let best = Infinity;
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    fn();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

describe('line lookup of JSON elements (issue 18.2)', () => {
  it('lineIndex gives the same line as counting newlines, at every offset', () => {
    const text = 'a\n\nbc\nd\r\nefg\n\n';
    const lineOf = lineIndex(text);
    for (let offset = 0; offset <= text.length; offset++) {
      const naive = text.slice(0, offset).split('\n').length - 1;
      expect(lineOf(offset)).toBe(naive);
      expect(lineOfOffset(text, offset)).toBe(naive);
    }
  });

  it('a bad ORT event 3000 lines down is named by its line', () => {
    const lines = syntheticOrtProfile(4000).split('\n');
    // Line index 3001 holds event 3000 (line 0 is "["); an event that is not an object.
    lines[3001] = '7,';
    expect(() => parseOrtProfile(lines.join('\n'), 'p.json')).toThrow(/p\.json:3002: event 3000 should be an object/);
  });

  it('a bad trtexec record 5000 lines down is named by its line', () => {
    const lines = syntheticTrtexecTimes(6000).split('\n');
    lines[5001] = lines[5001]!.replace(/"computeMs" : [0-9.]+/, '"computeMs" : "x"');
    expect(() => parseTrtexecTimes(lines.join('\n'), 't.json')).toThrow(/t\.json:5002: record 5000: "computeMs" should be a number/);
  });

  it('parse time grows linearly with the number of events (4x events: well under 16x time)', () => {
    const small = syntheticOrtProfile(2000);
    const large = syntheticOrtProfile(8000);
    parseOrtProfile(small, 'warm.json');
    const ratio = leastMs(() => parseOrtProfile(large, 'l.json')) / leastMs(() => parseOrtProfile(small, 's.json'));
    // Linear: about 4; the old per-element rescan was quadratic (about 16).
    expect(ratio).toBeLessThan(9);
  });

  it('trtexec --exportTimes parse time grows linearly with the records', () => {
    const small = syntheticTrtexecTimes(2000);
    const large = syntheticTrtexecTimes(8000);
    parseTrtexecTimes(small, 'warm.json');
    const ratio = leastMs(() => parseTrtexecTimes(large, 'l.json')) / leastMs(() => parseTrtexecTimes(small, 's.json'));
    expect(ratio).toBeLessThan(9);
  });

  it('a Python-printed list converts in linear time, dropping trailing commas', () => {
    expect(pythonLiteralToJson("[{'a': True, 'b': [1, 2,], },]", 'x')).toBe('[{"a": true, "b": [1, 2] }]');
    const item = "{'cat': 'Node', 'dur': 3, 'args': {'op_name': 'MatMul'}}";
    const small = `[${Array(5000).fill(item).join(', ')}]`;
    const large = `[${Array(20000).fill(item).join(', ')}]`;
    pythonLiteralToJson(small, 'warm');
    const ratio = leastMs(() => pythonLiteralToJson(large, 'l')) / leastMs(() => pythonLiteralToJson(small, 's'));
    expect(ratio).toBeLessThan(9);
  });
});
