/**
 * Power mode as an axis: fake `nvpmodel`, `jetson_clocks` and `sudo` that KEEP STATE (the mode
 * id in a file, every call logged) stand in for a Jetson's tools, put first on the PATH of real
 * processes started through the local transport. The harness must set each cell's mode, record
 * what the board then reports, refuse modes the board does not have, and put the board back as
 * it was at the end and on interruption.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { IterationRecord } from '../../core/events.ts';
import type { Runner } from '../../core/runner.ts';
import type { Suite } from '../../core/suite-types.ts';
import { expandMatrix } from '../../core/matrix.ts';
import { PowerModeController, findMode, parseNvpmodelConf } from '../../harness/power-mode.ts';
import { runSuite } from '../../harness/run-suite.ts';
import { parseSuiteText } from '../../harness/suite-loader.ts';
import { LocalTransport } from '../../targets/command-transport.ts';
import { loaded, outDir, quietProgress } from './helpers/run.ts';
import { tempDir } from '../helpers/tmp.ts';

const dir = tempDir('bench-power-');
const bin = join(dir, 'bin');
const conf = join(dir, 'nvpmodel.conf');
const state = join(dir, 'mode');
const calls = join(dir, 'calls.log');

function script(name: string, body: string): void {
  const file = join(bin, name);
  writeFileSync(file, `#!/bin/sh\n${body}`);
  chmodSync(file, 0o755);
}

mkdirSync(bin, { recursive: true });

writeFileSync(conf, '< POWER_MODEL ID=0 NAME=MAXN >\nCPU_ONLINE CORE_0 1\n< POWER_MODEL ID=1 NAME=15W >\nCPU_ONLINE CORE_0 1\n< POWER_MODEL ID=2 NAME=25W >\n< PM_CONFIG DEFAULT=2 >\n');
// nvpmodel -q prints the mode as the real tool does ("NV Power Mode: NAME" then the id).
script(
  'nvpmodel',
  `D='${dir}'
echo "nvpmodel $*" >> "$D/calls.log"
id=$(cat "$D/mode")
case "$1" in
  -q) name=$(sed -n "s/^< POWER_MODEL ID=$id NAME=\\([^ >]*\\) >.*/\\1/p" '${conf}'); printf 'NV Power Mode: %s\\n%s\\n' "$name" "$id";;
  -m) echo "$2" > "$D/mode";;
  *) echo "fake nvpmodel: $*" >&2; exit 1;;
esac
`,
);
script(
  'jetson_clocks',
  `D='${dir}'
echo "jetson_clocks $*" >> "$D/calls.log"
case "$1" in
  --show) printf 'SOC family:tegra234  Machine:Fake Orin\\ncpu0:  Online=1 Governor=schedutil MinFreq=729600 MaxFreq=1510400 CurrentFreq=1510400 IdleStates: WFI=1\\nGPU MinFreq=306000000 MaxFreq=624750000 CurrentFreq=624750000\\nEMC MinFreq=204000000 MaxFreq=2133000000 CurrentFreq=2133000000 FreqOverride=0\\nNV Power Mode: x\\n';;
esac
exit 0
`,
);
// sudo -n CMD...: runs CMD (the tests have no root); logs that it was asked for.
script('sudo', `D='${dir}'\n[ "$1" = "-n" ] || { echo "sudo: expected -n" >&2; exit 1; }\nshift\necho "sudo $*" >> "$D/calls.log"\nexec "$@"\n`);

const oldPath = process.env['PATH'];
process.env['PATH'] = `${bin}:${oldPath}`;
afterAll(() => {
  process.env['PATH'] = oldPath;
});
beforeEach(() => {
  writeFileSync(state, '2\n');
  writeFileSync(calls, '');
});

const log = () => readFileSync(calls, 'utf8').trim().split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('sudo ') && !l.endsWith(' -q') && !l.endsWith('--show'));

const suite = (extra: Partial<Suite['defaults']> = {}, modes: Array<string | number> = ['MAXN', '15W']): Suite => ({
  name: 'power',
  model: { name: 'fake' },
  target: 'jetson',
  runner: 'fake',
  defaults: { warmup: 0, iterations: 1, outputTokens: 1, powerModeSettleSeconds: 0, ...extra },
  matrix: { power_mode: modes, images: [0, 1] },
});

function fakeRunner(during?: (cellIndex: number) => void): Runner {
  return {
    name: 'fake',
    async prepare(cell) {
      return {
        loadMs: 0,
        model: { architecture: 'fake', precision: 'fp32', layout: 'none', synthetic: true },
        settings: {},
        async runIteration(index, warmup): Promise<IterationRecord> {
          during?.(cell.index);
          return { index, warmup, startMs: 0, endMs: 1, promptTokens: 1, imageTokens: 0, images: 0, outputTokens: 1, events: [{ kind: 'token', tMs: 1, index: 0, count: 1 }] };
        },
        async close() {},
      };
    },
  };
}

describe('power modes on a Jetson (fake stateful nvpmodel)', () => {
  it('reads the modes of nvpmodel.conf and finds them by name or id', () => {
    const modes = parseNvpmodelConf(readFileSync(conf, 'utf8'));
    expect(modes).toEqual([{ id: 0, name: 'MAXN' }, { id: 1, name: '15W' }, { id: 2, name: '25W' }]);
    expect(findMode('15w', modes)?.id).toBe(1);
    expect(findMode(0, modes)?.name).toBe('MAXN');
    expect(findMode('2', modes)?.name).toBe('25W');
    expect(findMode('10W', modes)).toBeUndefined();
  });

  it('sets each mode once for its cells, records what the board reports, restores the original', async () => {
    const run = await runSuite({ suite: loaded(suite()), target: 'jetson', filters: [], outDir: outDir(), runners: { fake: fakeRunner() }, progress: quietProgress(), nvpmodelConf: conf });
    const cells = run.store.result.cells;
    expect(cells.map((c) => [c.id, c.status, c.settings['powerMode']])).toEqual([
      ['power_mode=MAXN,images=0', 'ok', 'MAXN (id 0)'],
      ['power_mode=MAXN,images=1', 'ok', 'MAXN (id 0)'],
      ['power_mode=15W,images=0', 'ok', '15W (id 1)'],
      ['power_mode=15W,images=1', 'ok', '15W (id 1)'],
    ]);
    expect(cells[0]!.settings).toMatchObject({ powerModeRequested: 'MAXN (id 0)', jetsonClocks: 'off', clock_GPU_mhz: '625 of 625' });
    // one change per mode, then back to 25W (id 2), the board's mode before the run
    expect(log()).toEqual(['nvpmodel -m 0', 'nvpmodel -m 1', 'nvpmodel -m 2']);
    expect(readFileSync(state, 'utf8').trim()).toBe('2');
  });

  it('with jetsonClocks: stores the clocks before the first change, locks after each, restores both at the end', async () => {
    await runSuite({ suite: loaded(suite({ jetsonClocks: true })), target: 'jetson', filters: [], outDir: outDir(), runners: { fake: fakeRunner() }, progress: quietProgress(), nvpmodelConf: conf });
    expect(log()).toEqual(['jetson_clocks --store', 'nvpmodel -m 0', 'jetson_clocks', 'nvpmodel -m 1', 'jetson_clocks', 'nvpmodel -m 2', 'jetson_clocks --restore']);
    // every change went through sudo -n
    expect(readFileSync(calls, 'utf8')).toContain('sudo nvpmodel -m 0');
  });

  it('restores the board when the run is interrupted', async () => {
    let interrupted: ((modeAtCall: string) => void) | null = null;
    const done = new Promise<string>((r) => (interrupted = r));
    const runner = fakeRunner((cellIndex) => {
      if (cellIndex === 1) process.emit('SIGINT', 'SIGINT');
    });
    await runSuite({
      suite: loaded(suite({}, ['15W'])),
      target: 'jetson',
      filters: [],
      outDir: outDir(),
      runners: { fake: runner },
      progress: quietProgress(),
      nvpmodelConf: conf,
      // The CLI ends the process here; the board must already be back in its mode.
      onInterrupted: () => interrupted!(readFileSync(state, 'utf8').trim()),
    });
    expect(await done).toBe('2');
    expect(log()).toEqual(['nvpmodel -m 1', 'nvpmodel -m 2']);
  });

  it('refuses a mode the board does not have, naming the axis and the modes it has', async () => {
    const s = suite({}, ['MAXN', '10W']);
    await expect(PowerModeController.open(new LocalTransport(), s, expandMatrix(s.matrix), { jetsonClocks: false, settleSeconds: 0, confPath: conf }, () => {})).rejects.toThrow(
      /field "matrix\.power_mode\[1\]": "10W" is not a power mode of local; its modes are MAXN \(id 0\), 15W \(id 1\), 25W \(id 2\)/,
    );
    expect(log()).toEqual([]);
  });

  it('is a harness axis the suite loader accepts for any runner', () => {
    const text = `name: p\nmodel: {name: x}\ntarget: jetson\nrunner: command\ndefaults: {warmup: 0, iterations: 1, outputTokens: 1, jetsonClocks: true}\nmatrix: {power_mode: [MAXN, 15W], images: [1]}\noptions: {command: [x]}\n`;
    expect(parseSuiteText(text, 'p.yaml').matrix['power_mode']).toEqual(['MAXN', '15W']);
  });
});
