import { describe, expect, it } from 'vitest';
import { lineIndex, lineOfOffset, pythonLiteralToJson } from '../../parsers/json-text.ts';
import { parseOrtProfile } from '../../parsers/ort-profile.ts';
import { parseTrtexecTimes } from '../../parsers/trtexec.ts';
import { syntheticOrtProfile, syntheticTrtexecTimes } from '../../bench/synthetic-logs.ts';

/**
 * Time of `large` over time of `small`, each the least of 5 runs taken alternately (the least is
 * the one least disturbed by a busy machine; alternating spreads load bursts over both).
 */
function timeRatio(small: () => void, large: () => void): number {
  small();
  large();
  let bestSmall = Infinity;
  let bestLarge = Infinity;
  for (let i = 0; i < 5; i++) {
    let t0 = performance.now();
    small();
    bestSmall = Math.min(bestSmall, performance.now() - t0);
    t0 = performance.now();
    large();
    bestLarge = Math.min(bestLarge, performance.now() - t0);
  }
  return bestLarge / bestSmall;
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

  // 8x the input: linear code takes about 8x the time, the old per-element rescan about 64x; the
  // bound in between leaves room for a busy machine's noise.
  it('parse time grows linearly with the number of events (8x events: well under 64x time)', () => {
    const small = syntheticOrtProfile(3000);
    const large = syntheticOrtProfile(24000);
    const ratio = timeRatio(() => parseOrtProfile(small, 's.json'), () => parseOrtProfile(large, 'l.json'));
    expect(ratio).toBeLessThan(24);
  });

  it('trtexec --exportTimes parse time grows linearly with the records', () => {
    const small = syntheticTrtexecTimes(3000);
    const large = syntheticTrtexecTimes(24000);
    const ratio = timeRatio(() => parseTrtexecTimes(small, 's.json'), () => parseTrtexecTimes(large, 'l.json'));
    expect(ratio).toBeLessThan(24);
  });

  it('a Python-printed list converts in linear time, dropping trailing commas', () => {
    expect(pythonLiteralToJson("[{'a': True, 'b': [1, 2,], },]", 'x')).toBe('[{"a": true, "b": [1, 2] }]');
    const item = "{'cat': 'Node', 'dur': 3, 'args': {'op_name': 'MatMul'}}";
    const small = `[${Array(2500).fill(item).join(', ')}]`;
    const large = `[${Array(20000).fill(item).join(', ')}]`;
    const ratio = timeRatio(() => pythonLiteralToJson(small, 's'), () => pythonLiteralToJson(large, 'l'));
    expect(ratio).toBeLessThan(24);
  });
});
