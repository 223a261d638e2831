import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { registerModelsCommand } from '../../cli/models.ts';
import { InputError } from '../../core/errors.ts';
import type { CheckReport } from '../../models/check.ts';
import { tempDir } from '../helpers/tmp.ts';

const cacheDir = tempDir('zoo-cli-');
afterEach(() => vi.restoreAllMocks());

async function run(...args: string[]): Promise<string> {
  const program = new Command('bench').exitOverride();
  registerModelsCommand(program);
  let out = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  await program.parseAsync(['node', 'bench', 'models', ...args]);
  return out;
}

describe('bench models', () => {
  it('list shows every zoo model with its token count', async () => {
    const out = await run('list');
    expect(out).toContain('internvl2_5-1b');
    expect(out).toMatch(/internvl2_5-1b[^\n]*\n\s+vision 24L\/1024 @448px, 256 tokens\/tile, LLM 24L\/896 vocab 151674/);
    expect(out).toMatch(/smolvlm-256m[^\n]*\n\s+vision 12L\/768 @512px, 64 tokens\/tile/);
  });

  it('build --format gguf writes the LLM as GGUF, taking the GGUF type names for --precision', async () => {
    const out = await run('build', 'smolvlm-256m', '--scale', 'tiny', '--format', 'gguf', '--precision', 'q4_0', '--cache-dir', cacheDir);
    const dir = out.trim();
    expect(dir).toContain('smolvlm-256m-tiny-gguf-int4');
    expect(existsSync(join(dir, 'smolvlm-256m-llm-Q4_0.gguf'))).toBe(true);
    await expect(run('build', 'smolvlm-256m', '--scale', 'tiny', '--format', 'gguf', '--precision', 'q5_k', '--cache-dir', cacheDir)).rejects.toThrow(
      'unknown precision "q5_k"; valid precisions: fp32, fp16, int8, int4 (GGUF: f32, f16, q8_0, q4_0)',
    );
    await expect(run('build', 'smolvlm-256m', '--format', 'gguf', '--layout', 'axera')).rejects.toThrow(InputError);
  });

  it('build prints the model folder', async () => {
    const out = await run('build', 'internvl2_5-1b', '--scale', 'tiny', '--precision', 'int4', '--layout', 'axera', '--cache-dir', cacheDir);
    const dir = out.trim();
    expect(dir.startsWith(cacheDir)).toBe(true);
    expect(dir).toContain('internvl2_5-1b-tiny-axera-int4');
    expect(existsSync(join(dir, 'qwen2_p4_l1_together.onnx'))).toBe(true);
    expect(existsSync(join(dir, 'qwen2_post.onnx'))).toBe(true);
    expect(existsSync(join(dir, 'model.embed_tokens.weight.float32.bin'))).toBe(true);
  });

  it('rejects unknown names, listing the valid values', async () => {
    await expect(run('build', 'internvl2_5-1b', '--precision', 'bf16')).rejects.toThrow(InputError);
    await expect(run('build', 'internvl2_5-1b', '--precision', 'bf16')).rejects.toThrow('unknown precision "bf16"; valid precisions: fp32, fp16, int8, int4');
    await expect(run('build', 'internvl2_5-1b', '--scale', 'huge')).rejects.toThrow('valid scales: full, tiny');
    await expect(run('build', 'llava-7b', '--scale', 'tiny', '--cache-dir', cacheDir)).rejects.toThrow(
      'unknown model "llava-7b"; known models: internvl2_5-1b, qwen2-vl-2b, smolvlm-256m, internvl3_5-1b, qwen2_5-vl-3b, qwen3-vl-2b',
    );
    await expect(run('check', 'internvl2_5-1b', '--precision', 'fp16,q3')).rejects.toThrow('unknown precision "q3"');
  });

  it('check reports each precision against fp32', async () => {
    const out = await run('check', 'internvl2_5-1b', '--scale', 'tiny', '--precision', 'fp32,fp16,int8', '--tokens', '16', '--json', '--cache-dir', cacheDir);
    const report = JSON.parse(out) as CheckReport;
    expect(report.tokens).toBe(16);
    expect(report.results.map((r) => r.precision)).toEqual(['fp32', 'fp16', 'int8']);
    const [fp32, fp16, int8] = report.results;
    expect(fp32).toMatchObject({ positions: 16, cosineMean: 1, top1Agreement: 1, maxAbsDiff: 0, imageCosine: 1 });
    // fp16 storage rounds each weight by <= 2^-11 relative: logits stay within 1e-4 in cosine.
    expect(fp16?.cosineMin).toBeGreaterThan(0.9999);
    expect(fp16?.top1Agreement).toBe(1);
    // int8 (per-channel weights, dynamic per-tensor activations) is further off but close.
    expect(int8?.cosineMean).toBeGreaterThan(0.99);
    expect(int8?.cosineMean).toBeLessThan(0.99999);
    // Every precision meets its thresholds (the same on every CPU), so the command exits 0.
    expect(report.results.map((r) => [r.precision, r.passed, r.failures])).toEqual([
      ['fp32', true, []],
      ['fp16', true, []],
      ['int8', true, []],
    ]);
  });

  it('check runs Qwen2-VL (patches + grid_thw, M-RoPE positions) and prints a verdict with the thresholds', async () => {
    const out = await run('check', 'qwen2-vl-2b', '--scale', 'tiny', '--precision', 'int8,int4', '--tokens', '16', '--cache-dir', cacheDir);
    expect(out).toMatch(/^int8 +0\.99\d+ .* pass$/m);
    expect(out).toMatch(/^int4 +0\.9\d+ .* pass$/m);
    expect(out).toContain('thresholds (same on every CPU): int8 cos_mean >= 0.99, top1 >= 60%, image_cos >= 0.995; int4 cos_mean >= 0.9');
  });
});
