/**
 * Gate checks of one cell that are not a statistical test: machine-load flags, output tokens
 * generated against those asked, and the accuracy gate's verdict. `bench compare` and
 * `bench history check` both use them, so the two gates fail on the same evidence.
 */
import type { CellFlagKind, CellResult } from '../core/result-types.ts';
import type { AccuracyCheck } from '../core/runner.ts';
import type { GateFinding } from './comparison-types.ts';
import type { ConfigurationIdentity } from './identity.ts';

/**
 * Flags that say the machine, not the code, may have made the cell slow: it was loaded (busy,
 * steal, run-queue) or throttled (clocks dropped or a temperature limit was crossed) while the
 * cell measured (harness/cell-quality.ts sets them). A would-be regression on such a cell is
 * "cannot judge" until it is re-measured (`bench compare --confirm`).
 */
export const MACHINE_LOAD_FLAGS: readonly CellFlagKind[] = ['busy', 'steal', 'run-queue', 'throttled'];

/** The machine-load flags a cell carries, in MACHINE_LOAD_FLAGS order. */
export function machineLoadFlags(cell: Pick<CellResult, 'flags'>): CellFlagKind[] {
  const kinds = new Set((cell.flags ?? []).map((f) => f.kind));
  return MACHINE_LOAD_FLAGS.filter((k) => kinds.has(k));
}

/**
 * Fewer output tokens than asked: a decode that stopped early makes TPOT and tokens/s missing
 * or meaningless (one token per request has no decode at all). The number asked is the
 * identity's output_tokens; when it is not a number, the base cell's fewest tokens stand in.
 */
export function shortOutputFinding(base: CellResult | null, cand: CellResult, candIdentity: ConfigurationIdentity): GateFinding | null {
  const measured = (c: CellResult) => c.iterations.filter((it) => !it.warmup && !it.error);
  const asked = Number(candIdentity.fields.output_tokens);
  let expected: number;
  let what: string;
  if (Number.isFinite(asked) && asked > 0) {
    expected = asked;
    what = `asked ${asked}`;
  } else {
    const baseCounts = base ? measured(base).map((it) => it.outputTokens) : [];
    if (!baseCounts.length) return null;
    expected = Math.min(...baseCounts);
    what = `the base generated at least ${expected}`;
  }
  const short = measured(cand).filter((it) => it.outputTokens < expected);
  if (!short.length) return null;
  const fewest = Math.min(...short.map((it) => it.outputTokens));
  return {
    kind: 'short-output',
    outcome: 'fail',
    cellId: cand.id,
    reason: `${short.length} of ${measured(cand).length} measured requests generated fewer output tokens than ${what} (fewest ${fewest})`,
  };
}

/** Cosines are compared with this slack: the same model and runtime can round differently with another reduction order. */
export const ACCURACY_COSINE_SLACK = 1e-4;

function accuracyWorse(b: AccuracyCheck, c: AccuracyCheck): string[] {
  const out: string[] = [];
  if (c.top1 < b.top1) out.push(`top-1 agreement ${(b.top1 * 100).toFixed(1)}% -> ${(c.top1 * 100).toFixed(1)}%`);
  if (c.cosine < b.cosine - ACCURACY_COSINE_SLACK) out.push(`logit cosine ${b.cosine.toFixed(5)} -> ${c.cosine.toFixed(5)}`);
  if (b.imageCosine !== null && c.imageCosine !== null && c.imageCosine < b.imageCosine - ACCURACY_COSINE_SLACK) {
    out.push(`image feature cosine ${b.imageCosine.toFixed(5)} -> ${c.imageCosine.toFixed(5)}`);
  }
  return out;
}

/**
 * The accuracy gate (quantised cells against fp32): failing in the candidate, recorded in the
 * base but missing in the candidate, or worse than the base's (lower top-1, or a cosine lower
 * by more than ACCURACY_COSINE_SLACK). A model that became numerically wrong is not "faster".
 */
export function accuracyFinding(base: Pick<CellResult, 'accuracy'> | null, cand: Pick<CellResult, 'id' | 'accuracy'>): GateFinding | null {
  const c = cand.accuracy;
  const b = base?.accuracy;
  if (c && !c.passed) {
    return { kind: 'accuracy', outcome: 'fail', cellId: cand.id, reason: `accuracy gate failed against fp32: ${c.failures.join('; ') || `cosine ${c.cosine.toFixed(4)}, top-1 ${(c.top1 * 100).toFixed(1)}%`}` };
  }
  if (b && !c) return { kind: 'accuracy', outcome: 'fail', cellId: cand.id, reason: 'the base cell has an accuracy verdict, the candidate none' };
  if (b && c) {
    const worse = accuracyWorse(b, c);
    if (worse.length) return { kind: 'accuracy', outcome: 'fail', cellId: cand.id, reason: `accuracy worse than the base: ${worse.join(', ')}` };
  }
  return null;
}

/**
 * The cell, or a failed copy of it when it says ok but holds no measured iteration without an
 * error: its summary figures (if any) rest on nothing a verdict can check, so every verdict
 * (compare, history) treats it as a failed cell, saying why.
 */
export function asMeasured(cell: CellResult): CellResult {
  if (cell.status !== 'ok' || cell.iterations.some((it) => !it.warmup && !it.error)) return cell;
  const why = cell.iterations.length ? 'every measured iteration has an error, or there are only warm-ups' : 'it has no iterations';
  return { ...cell, status: 'failed', error: `marked ok but nothing was measured (${why})` };
}
