/**
 * Which @fugood/llama.node build an image cell loads (runners/llamacpp/llama-node-variant.ts):
 * the choice is a pure function of the machine's facts, tested for a Jetson and other machines
 * (no CUDA here); loading is checked on this machine, where the installed linux-x64-cuda
 * package cannot load (no NVIDIA driver): an auto choice never picks it, a named one fails loudly
 * instead of llama.node's silent fallback to its CPU build.
 */
import { describe, expect, it } from 'vitest';
import { chooseLlamaNodeVariant, CUDA12_RUNTIME_FILE, L4T_RELEASE_FILE, llamaNodePackageName, machineFacts, parseVariantOption, type MachineFacts } from '../../runners/llamacpp/llama-node-variant.ts';
import { loadVariant } from '../../runners/llamacpp/mtmd-binding.ts';
import { llamaCppRunner } from '../../runners/llamacpp/index.ts';
import type { Suite } from '../../core/suite-types.ts';

const orin: MachineFacts = { platform: 'linux', arch: 'arm64', jetson: true, cuda12: true };

describe('llama.node variant by machine', () => {
  it('a Jetson with the CUDA 12 runtime gets the linux-arm64-cuda build', () => {
    const c = chooseLlamaNodeVariant(orin, 'auto');
    expect(c).toEqual({ variant: 'cuda', packageName: '@fugood/node-llama-linux-arm64-cuda', reason: expect.stringContaining(L4T_RELEASE_FILE), explicit: false });
    expect(c.reason).toContain(CUDA12_RUNTIME_FILE);
  });

  it('a Jetson without CUDA 12 (JetPack 5), another arm64 board and x64 get the default build, saying why', () => {
    const jp5 = chooseLlamaNodeVariant({ ...orin, cuda12: false }, 'auto');
    expect([jp5.variant, jp5.packageName]).toEqual(['default', '@fugood/node-llama-linux-arm64']);
    expect(jp5.reason).toMatch(/a Jetson without the CUDA 12 runtime/);
    const pi = chooseLlamaNodeVariant({ ...orin, jetson: false }, 'auto');
    expect([pi.variant, pi.reason]).toEqual(['default', `auto: not a Jetson (linux arm64, no ${L4T_RELEASE_FILE})`]);
    // An x64 machine with CUDA keeps the CPU build unless the suite asks (its cells stay CPU cells).
    const x64 = chooseLlamaNodeVariant({ platform: 'linux', arch: 'x64', jetson: false, cuda12: true }, 'auto');
    expect([x64.variant, x64.packageName, x64.reason]).toEqual(['default', '@fugood/node-llama-linux-x64', 'auto: not a Jetson (linux x64)']);
  });

  it('the suite option overrides the machine either way', () => {
    expect(chooseLlamaNodeVariant(orin, 'default')).toEqual({ variant: 'default', packageName: '@fugood/node-llama-linux-arm64', reason: 'options.llamaNodeVariant: default', explicit: true });
    const vk = chooseLlamaNodeVariant({ platform: 'linux', arch: 'x64', jetson: false, cuda12: false }, 'vulkan');
    expect([vk.variant, vk.packageName, vk.explicit]).toEqual(['vulkan', '@fugood/node-llama-linux-x64-vulkan', true]);
    expect(llamaNodePackageName('win32', 'x64', 'cuda')).toBe('@fugood/node-llama-win32-x64-cuda');
  });

  it('a bad option value is bad input, before any cell runs', () => {
    expect(parseVariantOption(undefined, 'suite "s"')).toBe('auto');
    expect(() => parseVariantOption('CUDA', 'suite "s"')).toThrow('suite "s": options.llamaNodeVariant must be one of auto, default, cuda, vulkan, got "CUDA"');
    const suite: Suite = { name: 's', model: { zoo: 'internvl2_5-1b', scale: 'tiny' }, target: 'local', runner: 'llamacpp', defaults: { warmup: 0, iterations: 1, outputTokens: 2 }, matrix: {}, options: { llamaNodeVariant: 'gpu' } };
    expect(() => llamaCppRunner.checkPlan!(suite, [])).toThrow(/options\.llamaNodeVariant must be one of auto, default, cuda, vulkan, got "gpu"/);
  });

  it('on this machine: the CUDA build does not load, a named variant fails with the loader\'s reason, an auto one falls back and says so', async () => {
    const facts = machineFacts();
    const here = chooseLlamaNodeVariant(facts, 'cuda');
    let cudaLoads = true;
    try {
      await loadVariant(here);
    } catch (err) {
      cudaLoads = false;
      // The loader's own reason (a missing library or package), not a silent CPU run.
      expect(String(err)).toMatch(new RegExp(`${here.packageName} did not load: .+ \\(options\\.llamaNodeVariant: cuda\\)`));
    }
    if (cudaLoads) return; // a machine with a working CUDA build: nothing more to check here
    const fellBack = await loadVariant({ ...here, explicit: false, reason: 'auto: test' });
    expect(fellBack.variant).toBe('default');
    expect(fellBack.packageName).toBe(llamaNodePackageName(process.platform, process.arch, 'default'));
    expect(fellBack.reason).toMatch(/^auto: test; @fugood\/node-llama-.*-cuda did not load: .+, so the default build runs$/);
  });
});
