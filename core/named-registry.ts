import { InputError } from './errors.ts';

/** Names a plug-in may have: they appear in suites, cell ids, result records, file names and tables. */
const PLUGIN_NAME = /^[a-z][a-z0-9-]{0,39}$/;

/**
 * Descriptors of one kind of plug-in (runners, probes) by name: built-in ones first, then those
 * registered at start-up. A name already taken, or not of the allowed form, is refused, never replaced.
 */
export class NamedRegistry<T> {
  private readonly byName = new Map<string, T>();

  constructor(
    private readonly kind: string,
    private readonly nameOf: (descriptor: T) => unknown,
    builtIn: readonly T[],
  ) {
    for (const d of builtIn) this.byName.set(String(nameOf(d)), d);
  }

  register(descriptor: T, from: string): void {
    const name = this.nameOf(descriptor);
    if (typeof name !== 'string' || !PLUGIN_NAME.test(name)) {
      throw new InputError(`${from}: ${this.kind} name ${JSON.stringify(name)} is not allowed; expected lower-case letters, digits and "-" (at most 40), starting with a letter`);
    }
    if (this.byName.has(name)) throw new InputError(`${from}: a ${this.kind} named "${name}" is already registered`);
    this.byName.set(name, descriptor);
  }

  get(name: string): T | undefined {
    return this.byName.get(name);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  all(): readonly T[] {
    return [...this.byName.values()];
  }

  names(): string[] {
    return [...this.byName.keys()];
  }
}
