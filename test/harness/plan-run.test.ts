import { describe, expect, it } from 'vitest';
import { planRun, type RunFlagValues } from '../../harness/plan-run.ts';

const flags = (over: Partial<RunFlagValues> = {}): RunFlagValues => ({ calibrate: true, filter: [], out: 'results', adaptiveMetric: [], probe: [], ...over });

/** planRun decides everything `bench run`'s flags ask for, in the harness, before anything runs or is locked. */
describe('planRun', () => {
  it('turns the flags into the run loop request for the suite and its target', async () => {
    const plan = await planRun(flags({ suite: 'internvl-tiny', filter: ['images=1'], iterations: 3, adaptive: 5, maxIterations: 9, probe: ['system'], baseline: 0.5 }));
    expect(plan.target.name).toBe('local');
    expect(plan.suite!.suite.name).toBe('internvl-tiny');
    expect(plan.request).toMatchObject({
      target: 'local',
      filters: ['images=1'],
      iterations: 3,
      adaptive: { targetCiPct: 5, maxIterations: 9 },
      probes: ['system'],
      baselineSeconds: 0.5,
      prebuildModels: true,
      confirmPlan: false,
      roofline: { calibrate: true, recalibrate: false },
    });
  });

  it('refuses contradictions and bad values naming the flag', async () => {
    await expect(planRun(flags({ suite: 'internvl-tiny', model: 'x' }))).rejects.toThrow('--model only apply with --endpoint URL');
    await expect(planRun(flags({ suite: 'internvl-tiny', maxFailedFraction: 2 }))).rejects.toThrow('--max-failed-fraction expects a number from 0 to 1, got 2');
    await expect(planRun(flags({ suite: 'internvl-tiny', retryFailed: true }))).rejects.toThrow('--retry-failed only applies with --resume RUN_DIR');
    await expect(planRun(flags({ suite: 'internvl-tiny', calibrate: false, recalibrate: true }))).rejects.toThrow('--recalibrate and --no-calibrate contradict each other');
    await expect(planRun(flags({ suite: 'internvl-tiny', maxIterations: 5 }))).rejects.toThrow('--max-iterations and --cell-budget only apply with --adaptive <pct>');
    await expect(planRun(flags({ suite: 'internvl-tiny', shuffle: 'x' }))).rejects.toThrow('--shuffle expects an integer seed, got "x"');
    await expect(planRun(flags({ suite: 'internvl-tiny', resume: '/nonexistent-run' }))).rejects.toThrow('--resume /nonexistent-run: no result.json in that folder');
  });
});
