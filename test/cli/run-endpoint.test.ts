import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../core/result-types.ts';
import { startFakeServer, type FakeServer } from '../endpoint/fake-server.ts';
import { tempDir } from '../helpers/tmp.ts';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Runs the real CLI as a child process (the server lives in this process, on loopback). */
function bench(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [join(repo, 'bin', 'bench.mjs'), ...args], { env: { ...process.env, CI: 'true', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => done({ code, stdout, stderr }));
  });
}

describe('bench run --endpoint against a real loopback llama.cpp-style server', () => {
  let server: FakeServer;
  beforeAll(async () => {
    server = await startFakeServer({ flavor: 'llamacpp', firstTokenDelayMs: 120, tokenGapMs: 30 });
  });
  afterAll(async () => {
    await server.close();
  });

  it('needs no suite file and writes the usual result and report', async () => {
    const out = tempDir('bench-endpoint-');
    const r = await bench(['run', '--endpoint', server.url, '--model', 'smolvlm', '--images', '1', '--prompt-tokens', '64', '--max-tokens', '8', '--iterations', '3', '--warmup', '1', '--out', out], { TEST_KEY: 'sk-secret-123' });
    expect(r.code, r.stderr).toBe(0);
    const suiteDir = join(out, readdirSync(out)[0]!);
    const runDir = join(suiteDir, readdirSync(suiteDir)[0]!);
    const text = readFileSync(join(runDir, 'result.json'), 'utf8');
    const result = JSON.parse(text) as RunResult;
    expect(result.suite.source).toBe(`endpoint:${server.url}`);
    const cell = result.cells[0]!;
    expect(cell.status).toBe('ok');
    expect(cell.metrics['ttft_ms']!.n).toBe(3);
    // 120 ms to the first token, then 30 ms per token: TTFT >= 120, TPOT close to 30.
    expect(cell.metrics['ttft_ms']!.median).toBeGreaterThanOrEqual(120);
    expect(cell.metrics['tpot_ms']!.median).toBeGreaterThan(25);
    expect(cell.metrics['tpot_ms']!.median).toBeLessThan(45);
    expect(cell.metrics['output_throughput']!.unit).toBe('tokens/s');
    expect(cell.metrics['request_throughput']!.median).toBeGreaterThan(0);
    expect(readFileSync(join(runDir, 'report.md'), 'utf8')).toContain('## Summary');
  }, 60_000);

  it('rejects endpoint flags without --endpoint, and --endpoint without --model', async () => {
    const a = await bench(['run', '--model', 'x']);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/--model only apply with --endpoint URL/);
    const b = await bench(['run', '--endpoint', server.url]);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/--endpoint needs --model NAME/);
  });
});
