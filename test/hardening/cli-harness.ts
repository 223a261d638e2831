/** Runs `bench` in this process with stdout/stderr captured, for the hardening tests. */
import { vi } from 'vitest';
import { main } from '../../cli/main.ts';

export interface BenchOutput {
  code: number;
  stdout: string;
  stderr: string;
}

export async function bench(...args: string[]): Promise<BenchOutput> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((stdout += String(s)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((stderr += String(s)), true));
  process.exitCode = undefined;
  try {
    const code = await main(['node', 'bench', ...args]);
    return { code, stdout, stderr };
  } finally {
    process.exitCode = undefined;
    out.mockRestore();
    err.mockRestore();
  }
}
