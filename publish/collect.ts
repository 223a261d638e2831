/** The results `bench publish` reads: result.json files named, or found under folders named. */
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InputError } from '../core/errors.ts';
import { readResult, RESULT_FILE } from '../harness/result-store.ts';
import type { RunResult } from '../core/result-types.ts';
import type { PublishedRun } from './site-model.ts';

function findResults(dir: string, out: string[]): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) findResults(path, out);
    else if (entry.name === RESULT_FILE) out.push(path);
  }
}

/** Each argument a result file or a folder searched recursively, in a stable order. */
export function resultFiles(args: readonly string[]): string[] {
  const files: string[] = [];
  for (const arg of args) {
    const path = resolve(arg);
    if (!existsSync(path)) throw new InputError(`${arg}: no such file or folder`);
    if (statSync(path).isDirectory()) {
      const found: string[] = [];
      findResults(path, found);
      if (found.length === 0) throw new InputError(`${arg}: no ${RESULT_FILE} under this folder`);
      files.push(...found.sort());
    } else files.push(path);
  }
  // Real paths: a symbolic link is read through, so the site gets the file and never the link,
  // and one file reached by two names is one run.
  return [
    ...new Set(
      files.map((file) => {
        const real = realpathSync(file);
        if (!statSync(real).isFile()) throw new InputError(`${file}: not a regular file`);
        return real;
      }),
    ),
  ];
}

/** A run's page name before duplicates are numbered: suite and run id, safe for any file system. */
export function baseSlug(result: RunResult): string {
  return `${result.suite.name}-${result.runId}`.replace(/[^A-Za-z0-9._-]+/g, '_');
}

/** Page names from run ids, unique and safe for any file system. */
export function slugger(): (result: RunResult) => string {
  const seen = new Map<string, number>();
  return (result) => {
    const base = baseSlug(result);
    const k = (seen.get(base) ?? 0) + 1;
    seen.set(base, k);
    return k > 1 ? `${base}-${k}` : base;
  };
}

/** Every result read and validated against the schema (a bad one stops with its file and field). */
export function collectRuns(args: readonly string[]): PublishedRun[] {
  const slug = slugger();
  return resultFiles(args).map((file) => {
    const result = readResult(file);
    return { result, file, slug: slug(result) };
  });
}
