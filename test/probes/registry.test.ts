import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkSuite } from '../../harness/suite-loader.ts';
import { probeDescriptor, probeNames, probeTools, registerProbe } from '../../hw-probes/registry.ts';

const BUILT_IN = ['tegrastats', 'axera', 'hwmon', 'powercap', 'nvidia-smi', 'system'];

/** Source folders outside hw-probes/ whose code must ask the registry instead of naming a probe. */
const CODE_FOLDERS = ['cli', 'harness', 'analysis', 'reporters', 'publish', 'history', 'roofline', 'core', 'runners', 'models', 'targets'];

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? tsFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

const suiteDoc = (probes: string[]) => ({
  name: 't',
  target: 'local',
  runner: 'endpoint',
  model: { name: 'm' },
  defaults: { iterations: 1, warmup: 0, outputTokens: 4 },
  matrix: { prefill: [8] },
  options: { url: 'http://127.0.0.1:1' },
  probes,
});

describe('probe registry', () => {
  it('lists the built-in probes, and both schema enums name exactly them', () => {
    expect(probeNames()).toEqual(BUILT_IN);
    const suite = JSON.parse(readFileSync('schema/suite.schema.json', 'utf8')) as { properties: { probes: { items: { enum: string[] } } } };
    expect(suite.properties.probes.items.enum).toEqual(probeNames());
    const targets = JSON.parse(readFileSync('targets/targets.schema.json', 'utf8')) as { definitions: { target: { properties: { probes: { items: { enum: string[] } } } } } };
    expect(targets.definitions.target.properties.probes.items.enum).toEqual(probeNames());
  });

  it('says which tools each probe needs, and which board checks it asks for', () => {
    expect(probeTools(['tegrastats', 'nvidia-smi', 'hwmon']).map((t) => `${t.tool}:${t.required}`)).toEqual([
      'tegrastats:true',
      'nvpmodel:false',
      'jetson_clocks:false',
      'nvidia-smi:true',
    ]);
    expect(probeTools(['axera']).filter((t) => t.required).map((t) => t.tool)).toEqual(['ax_run_model']);
    expect(probeDescriptor('axera')!.boardChecks).toEqual(['axera-cmm']);
    expect(probeDescriptor('tegrastats')!.boardChecks).toEqual(['jetson-power-mode']);
    expect(BUILT_IN.filter((n) => probeDescriptor(n)!.samples.includes('power') || probeDescriptor(n)!.samples.includes('energy'))).toEqual([
      'tegrastats',
      'hwmon',
      'powercap',
      'nvidia-smi',
    ]);
  });

  it('a suite naming an unknown probe is refused with the field and the known names', () => {
    expect(checkSuite(suiteDoc(['hwmon', 'system']), 's.yaml').probes).toEqual(['hwmon', 'system']);
    expect(() => checkSuite(suiteDoc(['system', 'tegrastat']), 's.yaml')).toThrow(
      `s.yaml: field "probes[1]": expected one of ${BUILT_IN.map((n) => JSON.stringify(n)).join(', ')}`,
    );
  });

  it('refuses a second probe of a taken name, and names that could not key a record', () => {
    expect(() => registerProbe({ ...probeDescriptor('hwmon')! }, 'test')).toThrow(/test: a probe named "hwmon" is already registered/);
    expect(() => registerProbe({ ...probeDescriptor('hwmon')!, name: 'Power Meter' }, 'test')).toThrow(/probe name "Power Meter" is not allowed/);
    expect(probeNames()).toEqual(BUILT_IN);
  });

  it('no probe name is a string literal in code outside hw-probes/', () => {
    // "axera" and "system" are also a model layout and a preflight row: only comparisons with them count.
    const literal = new RegExp(`['"\`](tegrastats|hwmon|powercap|nvidia-smi)['"\`]|(===|!==|includes\\()\\s*['"\`](axera|system)['"\`]`);
    const found: string[] = [];
    for (const file of CODE_FOLDERS.flatMap(tsFiles)) {
      readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
        const code = line.replace(/\/\/.*$/, '');
        if (!/^\s*(\/\*\*|\*)/.test(code) && literal.test(code)) found.push(`${file}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(found).toEqual([]);
  });
});
