import { ParseError } from '../../core/errors.ts';

/** Runs `fn` and returns the ParseError it throws; fails the test if it throws nothing else. */
export function parseError(fn: () => unknown): ParseError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ParseError) return err;
    throw err;
  }
  throw new Error('expected a ParseError');
}
