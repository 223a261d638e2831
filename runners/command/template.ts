/**
 * Argument templates: each element of a suite's `command` is substituted on its own, so a value
 * with spaces or quotes stays one argument and nothing is ever parsed by a shell. `{name}` is a
 * placeholder, `{{` and `}}` are literal braces. An element `{ forEachImage: [...] }` is repeated
 * once per image of the cell, with `{imageFile}` and `{imageIndex}` set.
 */
import { InputError } from '../../core/errors.ts';

export type ArgTemplate = string | { forEachImage: string[] };

export function substitute(template: string, values: Readonly<Record<string, string>>, where: string): string {
  return template.replace(/\{\{|\}\}|\{([^{}]*)\}/g, (match, name: string | undefined) => {
    if (match === '{{') return '{';
    if (match === '}}') return '}';
    const key = (name ?? '').trim();
    const value = values[key];
    if (value === undefined) {
      throw new InputError(`${where}: unknown placeholder {${key}} in "${template}"; known: ${Object.keys(values).map((k) => `{${k}}`).join(', ')}`);
    }
    return value;
  });
}

/** Checks a suite's `command` value and returns it typed. */
export function checkArgTemplates(value: unknown, where: string): ArgTemplate[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new InputError(`${where}: expected a non-empty list of arguments (the program first), e.g. [llava-cli, -m, model.gguf, --image, "{imageFile}"]`);
  }
  return value.map((el, i) => {
    if (typeof el === 'string') return el;
    if (typeof el === 'number') return String(el);
    if (el && typeof el === 'object' && !Array.isArray(el)) {
      const keys = Object.keys(el);
      const inner = (el as { forEachImage?: unknown }).forEachImage;
      if (keys.length === 1 && Array.isArray(inner) && inner.every((s) => typeof s === 'string' || typeof s === 'number')) {
        return { forEachImage: inner.map(String) };
      }
    }
    throw new InputError(`${where}[${i}]: expected a string or { forEachImage: [strings] }, got ${JSON.stringify(el)}`);
  });
}

/** The argv of one run: placeholders substituted per element, image groups expanded. */
export function expandArgv(templates: readonly ArgTemplate[], values: Readonly<Record<string, string>>, imageFiles: readonly string[], where: string): string[] {
  const argv: string[] = [];
  templates.forEach((t, i) => {
    if (typeof t === 'string') {
      argv.push(substitute(t, values, `${where}[${i}]`));
      return;
    }
    imageFiles.forEach((file, index) => {
      const perImage = { ...values, imageFile: file, imageIndex: String(index) };
      for (const inner of t.forEachImage) argv.push(substitute(inner, perImage, `${where}[${i}].forEachImage`));
    });
  });
  return argv;
}
