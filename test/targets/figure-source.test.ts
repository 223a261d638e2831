/**
 * Every figure says how it was obtained (issue 30 item 1), on the project's fake boards over a
 * REAL loopback sshd (helpers/fake-board.ts: recorded llava-cli / ax_run_model outputs replayed
 * by stand-in programs): the Jetson suite's `command` runner with parser llamacpp gives
 * TOOL-REPORTED figures, the AX650 suite's subgraph runner COMPOSED ones; result.json,
 * report.md, `bench report A B --compare-by target` and the published site all keep the label,
 * and cross-target rows line up by workload, not by backend.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunResult } from '../../core/result-types.ts';
import type { Suite } from '../../core/suite-types.ts';
import { runSuite } from '../../harness/run-suite.ts';
import { readResult } from '../../harness/result-store.ts';
import { loadSuite } from '../../harness/suite-loader.ts';
import { buildReport } from '../../reporters/build-report.ts';
import { comparisonTables } from '../../reporters/compare/table.ts';
import { renderMarkdown } from '../../reporters/render/markdown.ts';
import { composedStat } from '../../reporters/report-axera.ts';
import { DEFAULT_SITE_OPTIONS, indexView, siteIndex } from '../../publish/site-model.ts';
import { createAxeraSubgraphRunner } from '../../runners/axera/index.ts';
import { createCommandRunner } from '../../runners/command/index.ts';
import { SshTransport } from '../../targets/ssh-transport.ts';
import { createFakeBoard, LAYER_GRAPH, POST_GRAPH, VIT_GRAPH, type FakeBoard } from './helpers/fake-board.ts';
import { loaded, outDir, quietProgress } from './helpers/run.ts';
import { startSshd, type TestSshd } from './helpers/sshd.ts';

let board: FakeBoard;
let sshd: TestSshd;
let orin: SshTransport;
let ax650: SshTransport;
let jetsonRun: RunResult;
let axRun: RunResult;

/** The shipped Jetson suite with the fake's program name (a recorded llava-cli run) in place of llama-mtmd-cli. */
function jetsonSuite(): Suite {
  const suite = loadSuite('internvl-orin-nx').suite;
  const command = [...(suite.options!['command'] as unknown[])];
  command[0] = 'llava-cli';
  return { ...suite, options: { ...suite.options, command } };
}

beforeAll(async () => {
  board = createFakeBoard();
  sshd = await startSshd([board.binDir]);
  const work = join(board.dir, 'work');
  for (const g of [VIT_GRAPH, LAYER_GRAPH, POST_GRAPH]) {
    mkdirSync(join(work, g, '..'), { recursive: true });
    writeFileSync(join(work, g), `stand-in for ${g}\n`);
  }
  orin = new SshTransport(sshd.target('orin-nx', { workDir: board.dir }));
  ax650 = new SshTransport(sshd.target('ax650', { workDir: work }));
  const common = { iterations: 2, warmup: 0, cooldownSeconds: 0, progress: quietProgress() };
  const j = await runSuite({
    ...common,
    suite: loaded(jetsonSuite()),
    target: 'orin-nx',
    filters: ['images=0,1', 'prefill=128'],
    outDir: outDir(),
    runners: { command: createCommandRunner({ transport: orin }) },
  });
  const a = await runSuite({
    ...common,
    suite: loaded(loadSuite('internvl-ax650').suite),
    target: 'ax650',
    filters: ['images=0,1'],
    outDir: outDir(),
    runners: { 'axera-subgraph': createAxeraSubgraphRunner({ transport: ax650 }) },
  });
  // Read back as `bench report` does: validated against schema/result.schema.json.
  jetsonRun = readResult(j.store.file);
  axRun = readResult(a.store.file);
}, 120_000);

afterAll(async () => {
  await orin?.close();
  await ax650?.close();
  sshd?.stop();
  board?.remove();
});

describe('how each figure was obtained', () => {
  it('result.json: the command runner says tool-reported (whose tool, which parser), the Axera method composed', () => {
    for (const c of jetsonRun.cells) {
      expect(c.status, c.error).toBe('ok');
      expect(c.settings['figureSource']).toBe('tool-reported');
      expect(String(c.settings['timing'])).toMatch(/^tool-reported: llava-cli's own durations, parsed from its output by parser llamacpp/);
      // Which lines: the parser's own note.
      expect(String(c.settings['timingNotes'])).toContain('prefill = "prompt eval"');
    }
    for (const c of axRun.cells) {
      expect(c.status, c.error).toBe('ok');
      expect(c.settings['figureSource']).toBe('composed');
      expect(String(c.settings['timing'])).toMatch(/^composed \(Axera method\): every figure is built from ax_run_model/);
    }
  });

  it('report.md never calls tool-reported figures measured, and TTFT is the tool phases summed, with no "other"', () => {
    const md = renderMarkdown(buildReport(jetsonRun));
    expect(md).not.toContain("Figures are measured on this run's monotonic clock");
    expect(md).not.toMatch(/_Measured: medians/);
    expect(md).toContain('Every timing below is TOOL-REPORTED: the durations the program printed about itself (llava-cli, parser llamacpp)');
    expect(md).toContain('TOOL-REPORTED figures (the durations llava-cli, parser llamacpp printed about itself');
    // llava-cli on a Jetson Orin (recorded): CLIP 296.62 ms + prompt eval 306.84 ms = 603.46 ms.
    expect(md).toMatch(/\| 603\.5 ms \(sum of the tool's phases\)/);
    expect(md).not.toContain('"TTFT (end to end)" adds preprocessing');
    const shares = md.slice(md.indexOf('images=1,prefill=128', md.indexOf('Share of TTFT')));
    const line = shares.split('\n')[0]!.split('|').map((s) => s.trim());
    expect(line.at(-2)).toBe('not measured');
    expect(md).not.toMatch(/other 0\.0%|\| 0\.0% \|\s*$/m);
  });

  it('compare-by target keeps both labels and lines rows up by workload, backend and precision going with the column', () => {
    const md = comparisonTables([jetsonRun, axRun], 'target');
    const row = (section: string, key: string) => {
      const part = md.slice(md.indexOf(`### ${section}`));
      return part.split('\n').find((l) => l.startsWith(`| ${key} `))?.split('|').slice(1, -1).map((s) => s.trim());
    };
    const jetsonCell = jetsonRun.cells.find((c) => c.id === 'images=1,prefill=128')!;
    const axCell = axRun.cells.find((c) => c.id === 'images=1,prefill=128,precision=w8a16')!;
    expect(row('ttft_ms', 'images=1,prefill=128')).toEqual([
      'images=1,prefill=128',
      `${jetsonCell.metrics['ttft_ms']!.median.toFixed(1)} (tool-reported)`,
      `${axCell.metrics['ttft_ms']!.median.toFixed(1)} (composed)`,
    ]);
    // The AX650 composed decode figure (g0 x 28 + post) stands beside the tool's decode.
    const composedTpot = composedStat(axCell, 'composed.decoder_ms', 'ms')!.median;
    expect(row('tpot_ms', 'images=1,prefill=128')?.[2]).toBe(`${composedTpot.toFixed(2)} (composed)`);
    expect(md).not.toMatch(/backend=/);
    expect(md).toMatch(/\| backend\s+\| command\s+\| axera-subgraph\s+\|/);
    expect(md).toMatch(/\| precision\s+\| q8_0\s+\| w8a16\s+\|/);
    expect(md).toContain('"(tool-reported)": durations the program under test printed about itself');
    expect(md).toContain('"(composed)": built by arithmetic from measured parts');
  });

  it('the site labels tool-reported and composed figures and shows AX650 composed decode, not "–"', () => {
    const runs = [jetsonRun, axRun].map((r, i) => ({ result: indexView(r, ['ttft_ms', 'tpot_ms']), file: `run${i}.json`, slug: `run${i}` }));
    const { report } = siteIndex(runs, { ...DEFAULT_SITE_OPTIONS, metrics: ['ttft_ms', 'tpot_ms'] });
    const cells = report.sections.flatMap((s) => s.tables).flatMap((t) => t.rows.flat());
    const axCell = axRun.cells.find((c) => c.id === 'images=1,prefill=128,precision=w8a16')!;
    const composedTpot = composedStat(axCell, 'composed.decoder_ms', 'ms')!.median;
    const tpot = cells.find((c) => c.value === composedTpot);
    expect(tpot?.status).toBe('composed');
    expect(tpot?.marks).toContain('composed');
    const tool = cells.find((c) => c.value === jetsonRun.cells[1]!.metrics['ttft_ms']!.median && c.link?.includes('run0'));
    expect(tool?.marks).toContain('tool-reported');
    expect(tool?.note).toMatch(/tool-reported: llava-cli's own durations/);
  });
});
