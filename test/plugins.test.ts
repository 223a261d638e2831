import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunResult } from '../core/result-types.ts';
import { tempDir } from './helpers/tmp.ts';

/**
 * docs/architecture.md's promise: a runner and a probe written outside this repository's
 * runners/ and hw-probes/ (here test/fixtures/plugins/), each registered with one line of
 * bench.config.yaml, are listed by `bench list`, run in a suite, and reach the report and the
 * published site, with no other file changed. Real CLI processes, real work (SHA-256 chains),
 * real /proc/meminfo samples.
 */
const repo = join(import.meta.dirname, '..');
const fixture = (name: string) => join(repo, 'test', 'fixtures', 'plugins', name);

function bench(args: string[], env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [join(repo, 'bin', 'bench.mjs'), ...args], { env: { ...process.env, CI: 'true', ...env }, encoding: 'utf8' });
}

describe('plug-ins registered in bench.config.yaml', () => {
  const dir = tempDir('bench-plugins-');
  const config = join(dir, 'bench.config.yaml');
  writeFileSync(config, `plugins:\n  - ${fixture('sha-chain-runner.ts')}\n  - ${fixture('meminfo-probe.ts')}\n`);
  const env = { BENCH_CONFIG: config };

  it('appear in bench list, and only where configured', () => {
    const runners = bench(['list', 'runners'], env);
    expect(runners.status, runners.stderr).toBe(0);
    expect(runners.stdout).toMatch(/^sha-chain\n {2}SHA-256 chains standing for prefill and decode \(a plug-in fixture\)\n {2}capabilities: streamsTokens\n {2}axes:\n {4}prefill /m);
    expect(runners.stdout).toContain('  options: rounds\n');
    const probes = bench(['list', 'probes'], env);
    expect(probes.status, probes.stderr).toBe(0);
    expect(probes.stdout).toMatch(/^meminfo +samples memory\n/m);
    // Without the config, the built-in registries are unchanged.
    const plain = bench(['list', 'runners'], { BENCH_CONFIG: '' });
    expect(plain.stdout).not.toContain('sha-chain');
  }, 60_000);

  it('run in a suite, and reach the report and the published site', () => {
    const suite = join(dir, 'sha.yaml');
    writeFileSync(
      suite,
      [
        'name: sha-plugin',
        'target: local',
        'runner: sha-chain',
        'model: { name: sha-chain }',
        'defaults: { iterations: 3, warmup: 1, outputTokens: 4 }',
        'matrix: { prefill: [8, 16] }',
        'options: { rounds: 300 }',
        'probes: [meminfo]',
        '',
      ].join('\n'),
    );
    const out = join(dir, 'results');
    const run = bench(['run', '--suite', suite, '--out', out, '--probe-interval', '5', '--baseline', '0'], env);
    expect(run.status, run.stderr).toBe(0);
    const runDir = join(out, 'sha-plugin', readdirSync(join(out, 'sha-plugin'))[0]!);
    const result = JSON.parse(readFileSync(join(runDir, 'result.json'), 'utf8')) as RunResult;
    expect(result.cells.map((c) => `${c.id}:${c.status}`)).toEqual(['prefill=8:ok', 'prefill=16:ok']);
    for (const c of result.cells) {
      expect(c.settings['runner']).toBe('sha-chain');
      // Figures from the plug-in's events: 4 tokens per request, TTFT = the prefill's hashing.
      expect(c.metrics['ttft_ms']!.n).toBe(3);
      expect(c.metrics['tpot_ms']!.median).toBeGreaterThan(0);
      expect(c.metrics['decode_tokens_per_s']!.median).toBeCloseTo(1000 / c.metrics['tpot_ms']!.median, 0);
      // The plug-in probe sampled the cell: memory in use, below the total.
      const samples = c.probes!.samples.filter((s) => s.probe === 'meminfo');
      expect(samples.length).toBeGreaterThan(0);
      for (const s of samples) expect(s.ram!.usedMb).toBeLessThan(s.ram!.totalMb);
    }
    // The prefill phase and the prompt size come from the plug-in's own records.
    for (const c of result.cells) {
      expect(c.metrics['prefill_ms']!.median).toBeGreaterThan(0);
      expect(c.iterations.filter((i) => !i.warmup).map((i) => i.promptTokens)).toEqual([c.params['prefill'], c.params['prefill'], c.params['prefill']]);
    }
    expect(result.environment.board?.['meminfo.total_mib']).toMatch(/^\d+$/);
    const report = readFileSync(join(runDir, 'report.md'), 'utf8');
    expect(report).toContain('prefill=16');

    const site = join(dir, 'site');
    const publish = bench(['publish', out, '--out', site], env);
    expect(publish.status, publish.stderr).toBe(0);
    const index = readFileSync(join(site, 'index.html'), 'utf8');
    expect(index).toContain('sha-chain node:crypto sha256 x300');
  }, 180_000);

  it('a plug-in that exports no descriptor is refused naming the file and the entry (exit 2)', () => {
    const bad = join(dir, 'bad.config.yaml');
    writeFileSync(bad, `plugins:\n  - ${join(repo, 'core', 'random.ts')}\n`);
    const r = bench(['list', 'runners'], { BENCH_CONFIG: bad });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${bad}: plugins[0] (${join(repo, 'core', 'random.ts')}): exports neither \`runner\``);
  }, 60_000);
});
