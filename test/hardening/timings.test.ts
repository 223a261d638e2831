/** Impossible timings are refused by the result validator (issue 26.14), for every command that reads a result. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../core/result-types.ts';
import { checkResult } from '../../harness/result-schema.ts';
import { makeRun } from '../history/make-history.ts';
import { bench } from './cli-harness.ts';
import { tempDir } from '../helpers/tmp.ts';

let dir: string;
beforeAll(() => {
  dir = tempDir('bench-timings-');
});

/** A run whose first measured iteration of its first cell is changed by `edit`. */
function withIteration(edit: (it: RunResult['cells'][number]['iterations'][number]) => void): RunResult {
  const r = makeRun(0, { runs: 1 });
  edit(r.cells[0]!.iterations.find((i) => !i.warmup)!);
  return r;
}

describe('timings run forward within an iteration', () => {
  it('the generated runs are valid as they are (the check refuses only what is impossible)', () => {
    expect(() => checkResult(JSON.parse(JSON.stringify(makeRun(3, { runs: 4 }))), 'ok.json')).not.toThrow();
  });

  it('a first token at or before its request start (TTFT <= 0) is refused by history add and compare (exit 2)', async () => {
    const bad = withIteration((it) => {
      const first = it.events.find((e) => e.kind === 'token')!;
      if (first.kind === 'token') first.tMs = it.startMs - 5;
    });
    const file = join(dir, 'ttft.json');
    writeFileSync(file, JSON.stringify(bad));
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify(makeRun(0, { runs: 1 })));
    const add = await bench('history', 'add', file, '--db', join(dir, 'h.sqlite'));
    expect(add.code).toBe(2);
    expect(add.stderr).toMatch(/field "cells\[0\]\.iterations\[\d+\]\.events\[\d+\]\.tMs": a token at .* ms, not after its request started at .* ms \(a TTFT must be > 0\)/);
    const cmp = await bench('compare', good, file);
    expect(cmp.code).toBe(2);
    expect(cmp.stderr).toContain('a TTFT must be > 0');
  });

  it('tokens out of order, a phase ending before it starts, an iteration ending before it starts are refused', () => {
    const cases: [string, RunResult][] = [
      ['before the token before it', withIteration((it) => {
        const tokens = it.events.filter((e) => e.kind === 'token');
        if (tokens[1]?.kind === 'token' && tokens[0]?.kind === 'token') tokens[1].tMs = tokens[0].tMs - 1;
      })],
      ['ends at', withIteration((it) => {
        const phase = it.events.find((e) => e.kind === 'phase');
        if (phase?.kind === 'phase') phase.endMs = phase.startMs - 1;
      })],
      ['before it starts', withIteration((it) => (it.endMs = it.startMs - 1))],
    ];
    for (const [words, r] of cases) expect(() => checkResult(JSON.parse(JSON.stringify(r)), 'x.json')).toThrow(words);
  });
});

describe('numbers a double cannot hold', () => {
  // JSON has no Infinity, but a number too large for a double (a hand-edited 1e400) parses as
  // Infinity: an iteration that never ends, a median beyond any threshold. Refused like any bad value.
  const withHuge = (path: (r: RunResult) => { set: (v: number) => void }): string => {
    const r = makeRun(0, { runs: 1 });
    path(r).set(123456.789);
    return JSON.stringify(r).replace('123456.789', '1e400');
  };

  it('an Infinity (1e400) in an iteration, an event or a summary is refused, naming the field', () => {
    const cases: [string, string][] = [
      [withHuge((r) => ({ set: (v) => (r.cells[0]!.iterations[0]!.endMs = v) })), 'cells[0].iterations[0].endMs'],
      [withHuge((r) => ({ set: (v) => {
        const first = r.cells[1]!.iterations[2]!.events[0]!;
        if (first.kind !== 'token') first.startMs = v;
      } })), 'cells[1].iterations[2].events[0].startMs'],
      [withHuge((r) => ({ set: (v) => (r.cells[0]!.metrics['prefill_ms']!.median = v) })), 'cells[0].metrics.prefill_ms.median'],
    ];
    for (const [text, field] of cases) expect(() => checkResult(JSON.parse(text), 'x.json')).toThrow(`x.json: not a valid result: field "${field}": expected a finite number, got Infinity`);
  });

  it('bench compare and bench history check refuse it (exit 2) instead of judging it', async () => {
    const good = join(dir, 'finite.json');
    writeFileSync(good, JSON.stringify(makeRun(0, { runs: 1 })));
    const huge = join(dir, 'huge.json');
    writeFileSync(huge, withHuge((r) => ({ set: (v) => (r.cells[0]!.iterations[1]!.endMs = v) })));
    const cmp = await bench('compare', good, huge);
    expect(cmp.code).toBe(2);
    expect(cmp.stderr).toContain('huge.json: not a valid result: field "cells[0].iterations[1].endMs": expected a finite number, got Infinity');
    const db = join(dir, 'huge.sqlite');
    expect((await bench('history', 'add', good, '--db', db)).code).toBe(0);
    const check = await bench('history', 'check', huge, '--db', db);
    expect(check.code).toBe(2);
    expect(check.stderr).toContain('field "cells[0].iterations[1].endMs"');
  });
});
