import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { registerCalibrateCommand, renderCalibration } from '../../cli/calibrate.ts';
import { InputError } from '../../core/errors.ts';
import { loadCalibration } from '../../roofline/calibrate/store.ts';
import { testCalibration } from './fixtures.ts';
import { tempDir } from '../helpers/tmp.ts';

const dir = tempDir('roofline-cli-');
afterEach(() => vi.restoreAllMocks());

async function bench(args: string[]): Promise<string> {
  const out: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out.push(String(chunk));
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  const program = new Command('bench').exitOverride();
  registerCalibrateCommand(program);
  await program.parseAsync(['node', 'bench', 'calibrate', ...args]);
  return out.join('');
}

describe('bench calibrate', () => {
  it('writes a published board calibration under the suite target name', async () => {
    const text = await bench(['--target', 'orin-nx-16gb', '--label', 'jetson', '--dir', dir]);
    expect(text).toContain('# Calibration of orin-nx-16gb (target jetson)');
    expect(text).toMatch(/\| read bandwidth +\| +102\.4 \| GB\/s +\| published \| NVIDIA Jetson Orin NX Series Modules Data Sheet/);
    expect(text).toContain(`written: ${join(dir, 'orin-nx-16gb.json')}`);
    expect(loadCalibration(join(dir, 'orin-nx-16gb.json')).target).toBe('jetson');
  });

  it('prints JSON with --json and writes nothing with --no-save', async () => {
    const text = await bench(['--target', 'ax650', '--json', '--no-save', '--dir', join(dir, 'none')]);
    const doc = JSON.parse(text) as { matmul: { int8: { value: number; source: string } }; bandwidth: { read: null } };
    expect(doc.matmul.int8).toMatchObject({ value: 18_000, source: 'published' });
    expect(doc.bandwidth.read).toBeNull();
  });

  it('rejects bad options with the flag named', async () => {
    await expect(bench(['--threads', '0'])).rejects.toThrow(new InputError('--threads expects an integer >= 1, got "0"'));
    await expect(bench(['--target', 'rk3588', '--targets', join(dir, 'missing.yaml')])).rejects.toThrow(/--targets .*missing\.yaml: file not found/);
  });

  it('renders measured figures with their spread and methods', () => {
    const md = renderCalibration(testCalibration(), '/x/testhost.json');
    expect(md).toContain('| read bandwidth | 20.00 | GB/s   | measured | median 18.00, worst 16.00 (n=3) |');
    expect(md).toContain('- read: test figure');
    expect(md.trimEnd().endsWith('written: /x/testhost.json')).toBe(true);
  });
});
