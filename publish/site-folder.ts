/**
 * Where a site is written and how it replaces the old one: a staging folder beside the site,
 * renamed into place once whole. Only a folder `bench publish` could have written is replaced;
 * anything else (a home folder, a results folder) is refused rather than removed.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fsyncDir } from '../core/atomic-write.ts';
import { InputError } from '../core/errors.ts';

/** What a published site holds at its top level (write-site.ts writes exactly these). */
const SITE_ENTRIES = new Set(['index.html', 'assets', 'runs']);

/** Refuses (exit 2) a site folder that exists and holds anything a publish does not write. */
export function checkSiteFolder(site: string, flag = '--out'): void {
  const st = statSync(site, { throwIfNoEntry: false });
  if (!st) return;
  if (!st.isDirectory()) throw new InputError(`${flag} ${site}: is a file, not a folder; name a folder for the site`);
  const foreign = readdirSync(site).filter((name) => !SITE_ENTRIES.has(name));
  if (foreign.length) {
    throw new InputError(
      `${flag} ${site}: holds ${foreign.slice(0, 5).join(', ')}${foreign.length > 5 ? ` and ${foreign.length - 5} more` : ''}, which bench publish did not write; ` +
        'a site replaces its folder whole, so name a new or empty folder or an earlier site',
    );
  }
}

/** A new, empty folder beside `site` to write the site into. */
export function stagingFolder(site: string): string {
  checkSiteFolder(site);
  mkdirSync(dirname(site), { recursive: true });
  const staging = join(dirname(site), `.${basename(site)}.publishing-${process.pid}-${randomBytes(3).toString('hex')}`);
  mkdirSync(staging);
  return staging;
}

/** Puts the finished staging folder in the site's place; the old site, if any, is removed only after. */
export function replaceSite(staging: string, site: string): void {
  checkSiteFolder(site);
  const old = statSync(site, { throwIfNoEntry: false }) ? `${staging}.old` : null;
  if (old) renameSync(site, old);
  try {
    renameSync(staging, site);
  } catch (err) {
    if (old) renameSync(old, site);
    throw err;
  }
  fsyncDir(dirname(site));
  if (old) rmSync(old, { recursive: true, force: true });
}
