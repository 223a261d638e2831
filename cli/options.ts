import { InputError } from '../core/errors.ts';

/** Parses a positive integer option value, naming the option when it is not one. */
export function intOption(name: string, min = 1) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InputError(`${name} expects an integer >= ${min}, got "${value}"`);
    return n;
  };
}
