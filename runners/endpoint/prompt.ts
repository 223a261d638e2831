/**
 * Prompt text of a requested token length. The text is words drawn (seeded) from a list of
 * short, common English words that are one token in the usual BPE and SentencePiece
 * vocabularies, so the token count grows by one per word and does not depend on the order the
 * words come in — which lets every request get its own order (defeating prefix caches) at the
 * same length. The length is measured by the server's tokenizer, never assumed; see
 * calibration.ts.
 */
import { seededRandom } from './random.ts';

const WORDS = [
  'the', 'of', 'and', 'to', 'in', 'is', 'was', 'for', 'on', 'with', 'as', 'at', 'by', 'from', 'this', 'that',
  'it', 'are', 'be', 'or', 'an', 'which', 'have', 'not', 'one', 'all', 'has', 'but', 'they', 'were', 'his', 'had',
  'their', 'can', 'more', 'been', 'other', 'time', 'would', 'new', 'some', 'into', 'two', 'there', 'first', 'also',
  'only', 'after', 'may', 'over', 'such', 'most', 'these', 'used', 'about', 'many', 'when', 'then', 'than', 'like',
  'what', 'each', 'way', 'where',
] as const;

export function instructionFor(images: number): string {
  return images > 0 ? 'Describe the image in detail.' : 'Continue the text.';
}

/** `words` filler words in an order given by `seed`, then the instruction. */
export function promptText(words: number, seed: number, instruction: string): string {
  const rand = seededRandom(seed);
  const parts: string[] = [];
  for (let i = 0; i < words; i++) parts.push(WORDS[Math.floor(rand() * WORDS.length)]!);
  parts.push(instruction);
  return parts.join(' ');
}

export interface WordCalibration {
  words: number;
  /** Tokens of the text at `words` by the counter. */
  tokens: number;
  probes: number;
}

/**
 * Finds the number of filler words whose text has `target` tokens, by asking `count` (the
 * server's tokenizer, directly or through usage) at a few word counts: a secant step on the
 * tokens-per-word ratio, then single-word steps. Returns the closest count found when the exact
 * target cannot be reached (a text shorter than the instruction, a tokenizer that merges words).
 */
export async function calibrateWords(target: number, count: (words: number) => Promise<number>, maxProbes = 14): Promise<WordCalibration> {
  const seen = new Map<number, number>();
  const probe = async (w: number): Promise<number> => {
    const known = seen.get(w);
    if (known !== undefined) return known;
    const t = await count(w);
    seen.set(w, t);
    return t;
  };
  const base = await probe(0);
  let best: WordCalibration = { words: 0, tokens: base, probes: 0 };
  const better = (w: number, t: number) => {
    const d = Math.abs(t - target);
    const bd = Math.abs(best.tokens - target);
    // Ties go to the shorter prompt: never overshoot the requested prefill without need.
    if (d < bd || (d === bd && t < best.tokens)) best = { words: w, tokens: t, probes: 0 };
  };
  if (base >= target) return { ...best, probes: seen.size };

  let w = Math.max(1, target - base);
  while (seen.size < maxProbes) {
    const t = await probe(w);
    better(w, t);
    if (t === target) break;
    const perWord = t > base ? (t - base) / w : 1;
    let next = Math.max(1, Math.round((target - base) / perWord));
    if (seen.has(next)) {
      // The secant lands on a known point: walk one word toward the target instead.
      next = best.words + (best.tokens < target ? 1 : -1);
      if (next < 1 || seen.has(next)) break;
    }
    w = next;
  }
  return { ...best, probes: seen.size };
}
