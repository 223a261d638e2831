/**
 * The measurement behind the choice of statistics in reporters/compare/rank-stats.ts: coverage,
 * width and power of the rank (Mann-Whitney / Hodges-Lehmann / Moses) interval against a
 * percentile bootstrap of the ratio of medians, on log-normal latencies with 5% CV.
 * Not a test (about 30 s): run with `npx tsx test/compare/method-study.ts`.
 */
import { estimateShift } from '../../core/rank-stats.ts';
import { logNormal, rng } from './noise.ts';

const median = (a: readonly number[]): number => {
  const s = [...a].sort((x, y) => x - y);
  const k = s.length;
  return k % 2 ? s[k >> 1]! : (s[k / 2 - 1]! + s[k / 2]!) / 2;
};

/** Percentile bootstrap of log(median(cand) / median(base)), for comparison only. */
function bootstrapLogRatio(base: number[], cand: number[], rand: () => number, confidence: number, resamples: number): [number, number] {
  const draws: number[] = [];
  const pick = (xs: number[]) => xs.map(() => xs[Math.floor(rand() * xs.length)]!);
  for (let i = 0; i < resamples; i++) draws.push(Math.log(median(pick(cand)) / median(pick(base))));
  draws.sort((x, y) => x - y);
  const a = (1 - confidence) / 2;
  return [draws[Math.floor(a * resamples)]!, draws[Math.ceil((1 - a) * resamples) - 1]!];
}

const THRESHOLD = 0.05;
for (const n of [5, 10, 20]) {
  for (const confidence of [0.95, 0.99]) {
    const trials = 1000;
    const rand = rng(7);
    const tally = { coverRank: 0, coverBoot: 0, widthRank: 0, widthBoot: 0, powerRank: 0, powerBoot: 0 };
    for (let t = 0; t < trials; t++) {
      const draw = logNormal(rand, 100, 0.05);
      const base = Array.from({ length: n }, draw);
      const same = Array.from({ length: n }, draw);
      const rank = estimateShift(base.map(Math.log), same.map(Math.log), confidence);
      const boot = bootstrapLogRatio(base, same, rand, confidence, 1000);
      if (rank.ci && rank.ci[0] <= 0 && rank.ci[1] >= 0) tally.coverRank++;
      if (boot[0] <= 0 && boot[1] >= 0) tally.coverBoot++;
      if (rank.ci) tally.widthRank += rank.ci[1] - rank.ci[0];
      tally.widthBoot += boot[1] - boot[0];
      // A planted 10% slowdown: caught when the medians moved beyond the threshold and the interval excludes 0.
      const slow = same.map((v) => v * 1.1);
      const moved = median(slow) / median(base) - 1 > THRESHOLD;
      const rankSlow = estimateShift(base.map(Math.log), slow.map(Math.log), confidence);
      if (moved && rankSlow.ci && rankSlow.ci[0] > 0) tally.powerRank++;
      if (moved && bootstrapLogRatio(base, slow, rand, confidence, 1000)[0] > 0) tally.powerBoot++;
    }
    const pct = (x: number) => `${((100 * x) / trials).toFixed(1)}%`;
    console.log(
      `n=${n} level=${confidence}: coverage rank ${pct(tally.coverRank)} boot ${pct(tally.coverBoot)}; ` +
        `width rank ${pct(tally.widthRank)} boot ${pct(tally.widthBoot)}; 10% slowdown caught rank ${pct(tally.powerRank)} boot ${pct(tally.powerBoot)}`,
    );
  }
}
