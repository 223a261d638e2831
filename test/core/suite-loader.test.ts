import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../core/errors.ts';
import { listSuiteFiles, loadSuite, parseSuiteText } from '../../harness/suite-loader.ts';
import { tempDir } from '../helpers/tmp.ts';

const valid = `
name: demo
model: {zoo: internvl2_5-1b, scale: tiny}
target: local
runner: ort
defaults: {warmup: 1, iterations: 3, outputTokens: 8}
matrix:
  images: [0, 1]
  prefill: [64]
  precision: [fp32]
  chunk: [0, 32]
`;

function errorOf(text: string, file = 'suites/demo.yaml'): ValidationError {
  try {
    parseSuiteText(text, file);
  } catch (err) {
    if (err instanceof ValidationError) return err;
    throw err;
  }
  throw new Error('expected a ValidationError');
}

describe('suite validation', () => {
  it('accepts a valid suite with an extra axis', () => {
    const suite = parseSuiteText(valid, 'demo.yaml');
    expect(suite.matrix['chunk']).toEqual([0, 32]);
    expect(suite.defaults.iterations).toBe(3);
  });

  it('names the file, the field and what was expected', () => {
    const e1 = errorOf(valid.replace('iterations: 3', 'iterations: 0'));
    expect(e1.file).toBe('suites/demo.yaml');
    expect(e1.field).toBe('defaults.iterations');
    expect(e1.message).toMatch(/suites\/demo\.yaml: field "defaults\.iterations": expected a value that must be >= 1/);

    const e2 = errorOf(valid.replace('precision: [fp32]', 'precision: [fp64]'));
    expect(e2.field).toBe('matrix.precision[0]');
    expect(e2.message).toMatch(/expected one of "fp32", "fp16", "int8", "int4"/);

    const e3 = errorOf(valid.replace('runner: ort\n', ''));
    expect(e3.field).toBe('runner');
    expect(e3.expected).toBe('is required (or list runners as a matrix axis, e.g. matrix.runner: [ort, llamacpp])');

    const e4 = errorOf(valid.replace('target: local', 'target: local\niterations: 5'));
    expect(e4.field).toBe('iterations');
    expect(e4.expected).toBe('is not a known field');

    const e5 = errorOf(valid.replace('images: [0, 1]', 'images: []'));
    expect(e5.field).toBe('matrix.images');

    const e6 = errorOf(valid.replace('images: [0, 1]', 'images: [1, 1]'));
    expect(e6.message).toMatch(/matrix\.images.*distinct/);

    const e7 = errorOf(valid.replace('model: {zoo: internvl2_5-1b, scale: tiny}', 'model: {zoo: internvl2_5-1b}'));
    expect(e7.field).toBe('model');
  });

  it('refuses axes, values and options the runner does not know, naming file, field and what is allowed', () => {
    const frames = errorOf(valid.replace('runner: ort', 'runner: command').replace('precision: [fp32]\n  chunk: [0, 32]', 'frames: [1, 4]'));
    expect(frames.file).toBe('suites/demo.yaml');
    expect(frames.field).toBe('matrix.frames');
    expect(frames.expected).toBe('is not an axis of the command runner; its axes are images, prefill, precision (and power_mode for any runner)');

    const typo = errorOf(valid.replace('chunk: [0, 32]', 'resolutoin: [720p]'));
    expect(typo.field).toBe('matrix.resolutoin');
    expect(typo.expected).toMatch(/its axes are images, prefill, precision, vision_precision, llm_precision, output_tokens, chunk, resolution, frames \(and power_mode for any runner\)/);

    const badResolution = errorOf(valid.replace('chunk: [0, 32]', 'resolution: [1280x720, 1280*720]'));
    expect(badResolution.field).toBe('matrix.resolution[1]');
    expect(badResolution.expected).toMatch(/"1280\*720" is not allowed: expected WIDTHxHEIGHT \(e\.g\. 448x448, 1280x720.*preset: 480p, 720p, 1080p, 1440p, 4k/);

    const badFrames = errorOf(valid.replace('chunk: [0, 32]', 'frames: [0]'));
    expect(badFrames.field).toBe('matrix.frames[0]');

    const option = errorOf(`${valid}options: { maxTile: 6 }\n`);
    expect(option.field).toBe('options.maxTile');
    expect(option.expected).toMatch(/is not an option of the ort runner; its options are .*maxTiles/);

    const runner = errorOf(valid.replace('runner: ort', 'runner: onnx'));
    expect(runner.field).toBe('runner');
    expect(runner.expected).toMatch(/unknown runner "onnx"; expected one of ort, llamacpp, endpoint, command, axera-subgraph/);

    // A runner axis: every axis must be one each runner knows.
    const both = errorOf(valid.replace('runner: ort\n', '').replace('chunk: [0, 32]', 'runner: [ort, llamacpp]\n  resolution: [720p]'));
    expect(both.field).toBe('matrix.resolution');
    expect(both.expected).toMatch(/is not an axis of the llamacpp runner/);

    const ok = parseSuiteText(valid.replace('chunk: [0, 32]', 'resolution: [448x448, 720p, 4k]\n  frames: [8]'), 'demo.yaml');
    expect(ok.matrix['resolution']).toEqual(['448x448', '720p', '4k']);
  });

  it('reports YAML syntax errors with the line', () => {
    expect(() => parseSuiteText('name: x\nmatrix: [1, 2\n', 'bad.yaml')).toThrow(/bad\.yaml:\d+: not valid YAML/);
  });

  it('loads suites by name and by path; unknown names list the shipped ones', () => {
    const names = listSuiteFiles().map((s) => s.name);
    expect(names).toContain('internvl-cpu');
    const loaded = loadSuite('internvl-cpu');
    expect(loaded.suite.model).toMatchObject({ zoo: 'internvl2_5-1b', scale: 'full' });
    expect(loaded.hash).toMatch(/^[0-9a-f]{16}$/);
    expect(() => loadSuite('nope')).toThrow(/unknown suite "nope"; shipped suites: .*internvl-cpu/);
    const dir = tempDir('suite-');
    const file = join(dir, 'mine.json');
    writeFileSync(file, JSON.stringify({ name: 'mine', model: { path: '/m' }, target: 'local', runner: 'ort', defaults: { warmup: 0, iterations: 1, outputTokens: 2 }, matrix: { images: [0] } }));
    expect(loadSuite(file).suite.name).toBe('mine');
    expect(loadSuite(file).hash).toBe(loadSuite(file).hash);
  });
});
