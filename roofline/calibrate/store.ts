/**
 * Calibration files: `results/calibration/<host>.json`, one per measured host (or published
 * board), overwritten by each calibration of that host. Reports load the newest file that
 * matches the run's target (and host, for local runs).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { errorMessage, InputError, ValidationError } from '../../core/errors.ts';
import { writeFileAtomic } from '../../core/atomic-write.ts';
import { CALIBRATION_SCHEMA_VERSION, type Calibration } from '../../core/calibration-types.ts';
import { schemaValidator } from '../../core/validate.ts';

export const DEFAULT_CALIBRATION_DIR = join('results', 'calibration');

/** File-name-safe form of a host name. */
export function calibrationFileName(host: string): string {
  const safe = host.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '_');
  return `${safe || 'unnamed-host'}.json`;
}

export function saveCalibration(calibration: Calibration, dir = DEFAULT_CALIBRATION_DIR): string {
  const folder = resolve(dir);
  mkdirSync(folder, { recursive: true });
  const path = join(folder, calibrationFileName(calibration.host));
  writeFileAtomic(path, `${JSON.stringify(calibration, null, 2)}\n`);
  return path;
}

const SCHEMA_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'schema', 'calibration.schema.json');
const validateCalibration = schemaValidator<Calibration>(JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as object, {
  oneOf: 'expected null or a figure object {value, source, method, threads}',
});

/** Validates a parsed calibration document (schema/calibration.schema.json); `file` names it in errors. */
export function checkCalibration(doc: unknown, file: string): Calibration {
  const version = (doc as { schemaVersion?: unknown } | null)?.schemaVersion;
  if (typeof version === 'number' && version > CALIBRATION_SCHEMA_VERSION) {
    throw new ValidationError(file, 'schemaVersion', `expected ${CALIBRATION_SCHEMA_VERSION} or older (this build cannot read newer calibrations), got ${version}`);
  }
  const c = validateCalibration(doc, file);
  if (Number.isNaN(Date.parse(c.createdAt))) throw new ValidationError(file, 'createdAt', `expected an ISO date, got ${JSON.stringify(c.createdAt)}`);
  // Optional parts of older files read as empty.
  return {
    ...c,
    bandwidth: { ...c.bandwidth, extra: c.bandwidth.extra ?? {} },
    matmulExtra: c.matmulExtra ?? {},
    runtimeFormats: c.runtimeFormats ?? {},
    notes: c.notes ?? [],
  };
}

export function loadCalibration(path: string): Calibration {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new InputError(`${path}: cannot read calibration (${errorMessage(err)})`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new InputError(`${path}: not JSON (${errorMessage(err)})`);
  }
  return checkCalibration(doc, path);
}

export interface CalibrationQuery {
  target: string;
  /** Required to match for measured (local) calibrations: another machine's figures do not apply. */
  host?: string;
}

/**
 * The newest calibration in `dir` for a target: a measured one must also be of `host` when a
 * host is given; a published one matches on the target alone. Files that do not parse are
 * skipped and named in `skipped`, so one bad file does not hide the others.
 */
export function findCalibration(
  query: CalibrationQuery,
  dir = DEFAULT_CALIBRATION_DIR,
): { calibration: Calibration | null; path: string | null; skipped: string[] } {
  const folder = resolve(dir);
  const skipped: string[] = [];
  if (!existsSync(folder)) return { calibration: null, path: null, skipped };
  let best: { calibration: Calibration; path: string } | null = null;
  for (const name of readdirSync(folder).filter((n) => n.endsWith('.json')).sort()) {
    const path = join(folder, name);
    let c: Calibration;
    try {
      c = loadCalibration(path);
    } catch (err) {
      skipped.push(errorMessage(err));
      continue;
    }
    if (c.target !== query.target) continue;
    const measured = c.bandwidth.read?.source === 'measured' || Object.values(c.matmul).some((f) => f?.source === 'measured');
    if (measured && query.host !== undefined && c.host !== query.host) continue;
    if (!best || Date.parse(c.createdAt) > Date.parse(best.calibration.createdAt)) best = { calibration: c, path };
  }
  return { calibration: best?.calibration ?? null, path: best?.path ?? null, skipped };
}
