import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { backendLabel, registerRunner, runnerCan, runnerDescriptor, runnerNames } from '../../runners/registry.ts';
import { ORT_RUNNER } from '../../runners/ort/descriptor.ts';

const BUILT_IN = ['ort', 'llamacpp', 'endpoint', 'command', 'axera-subgraph'];

/** Source folders outside runners/ whose code must ask the registry instead of naming a runner. */
const CODE_FOLDERS = ['cli', 'harness', 'analysis', 'reporters', 'publish', 'history', 'roofline', 'core', 'hw-probes', 'models'];

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? tsFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('runner registry', () => {
  it('lists the built-in runners, each under its spec name', () => {
    expect(runnerNames()).toEqual(BUILT_IN);
    for (const name of BUILT_IN) expect(runnerDescriptor(name)!.spec.name).toBe(name);
  });

  it('the suite schema names exactly the registered runners', () => {
    const schema = JSON.parse(readFileSync('schema/suite.schema.json', 'utf8')) as { properties: { runner: { description: string } } };
    const listed = /\(([^)]*)\)/.exec(schema.properties.runner.description)![1]!.split(',').map((s) => s.trim());
    expect(listed).toEqual(runnerNames());
  });

  it('capabilities decide what used to be name checks', () => {
    expect(BUILT_IN.filter((n) => runnerCan(n, 'inProcess'))).toEqual(['ort', 'llamacpp']);
    expect(BUILT_IN.filter((n) => runnerCan(n, 'buildsZooModels'))).toEqual(['ort']);
    expect(BUILT_IN.filter((n) => runnerCan(n, 'measuresRemoteServer'))).toEqual(['endpoint']);
    // An old result's runner, or a plug-in that is not loaded, can do nothing.
    expect(runnerCan('tensorrt-llm', 'inProcess')).toBe(false);
    expect(runnerCan(undefined, 'inProcess')).toBe(false);
  });

  it('labels the runtime from what the cell recorded', () => {
    const versions = { 'onnxruntime-node': '1.30.0' };
    expect(backendLabel('ort', { settings: {}, versions })).toBe('ort 1.30.0');
    expect(backendLabel('ort', { settings: {}, versions: {} })).toBe('ort (version not recorded)');
    expect(backendLabel('endpoint', { settings: { server: 'llama.cpp' }, versions })).toBe('endpoint llama.cpp');
    expect(backendLabel('llamacpp', { settings: { binding: 'node-llama-cpp 3.21.1', ggufType: 'Q8_0' }, versions })).toBe('llamacpp node-llama-cpp 3.21.1 Q8_0');
    expect(backendLabel('axera-subgraph', { settings: { engineVersion: '2.6' }, versions })).toBe('axera engine 2.6');
    expect(backendLabel('axera-subgraph', { settings: {}, versions })).toBe('axera (engine version not recorded)');
    expect(backendLabel('command', { settings: {}, versions })).toBe('command');
    expect(backendLabel('ort+llamacpp', { settings: {}, versions })).toBe('ort+llamacpp');
  });

  it('refuses a second runner of a taken name, and names that could not be a file name', () => {
    expect(() => registerRunner(ORT_RUNNER, 'test')).toThrow(/test: a runner named "ort" is already registered/);
    expect(() => registerRunner({ ...ORT_RUNNER, spec: { ...ORT_RUNNER.spec, name: '../x' } }, 'test')).toThrow(/runner name "\.\.\/x" is not allowed/);
    expect(runnerNames()).toEqual(BUILT_IN);
  });

  it('no runner name is a string literal in code outside runners/', () => {
    const literal = new RegExp(`['"\`](${BUILT_IN.join('|')})['"\`]`);
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
