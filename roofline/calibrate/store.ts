/**
 * Calibration files: `results/calibration/<host>.json`, one per measured host (or published
 * board), overwritten by each calibration of that host. Reports load the newest file that
 * matches the run's target (and host, for local runs).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { errorMessage, InputError } from '../../core/errors.ts';
import { writeFileAtomic } from '../../core/atomic-write.ts';
import { CALIBRATION_SCHEMA_VERSION, COMPUTE_KEYS, type Calibration, type Figure } from '../../core/calibration-types.ts';

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

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fail(file: string, field: string, expected: string, got: unknown): never {
  const shown = got === undefined ? 'nothing' : JSON.stringify(got)?.slice(0, 60);
  throw new InputError(`${file}: field "${field}": expected ${expected}, got ${shown}`);
}

function str(file: string, obj: Json, key: string, path: string): string {
  const v = obj[key];
  if (typeof v !== 'string' || v.length === 0) fail(file, path, 'a non-empty string', v);
  return v;
}

function num(file: string, obj: Json, key: string, path: string, min = 0): number {
  const v = obj[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) fail(file, path, `a finite number >= ${min}`, v);
  return v;
}

function checkFigure(file: string, v: unknown, path: string): Figure {
  if (!isObject(v)) fail(file, path, 'a figure object {value, source, method, threads}', v);
  const value = v['value'];
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) fail(file, `${path}.value`, 'a positive finite rate', value);
  if (v['source'] !== 'measured' && v['source'] !== 'published') fail(file, `${path}.source`, '"measured" or "published"', v['source']);
  str(file, v, 'method', `${path}.method`);
  if (v['threads'] !== null && (typeof v['threads'] !== 'number' || !Number.isInteger(v['threads']))) {
    fail(file, `${path}.threads`, 'an integer or null', v['threads']);
  }
  if (v['source'] === 'published' && typeof v['citation'] !== 'string') fail(file, `${path}.citation`, 'a citation for a published figure', v['citation']);
  return v as unknown as Figure;
}

function checkFigureOrNull(file: string, v: unknown, path: string): Figure | null {
  return v === null ? null : checkFigure(file, v, path);
}

function checkFigureMap(file: string, v: unknown, path: string, allowed?: readonly string[]): void {
  if (!isObject(v)) fail(file, path, 'an object of figures', v);
  for (const [k, f] of Object.entries(v)) {
    if (allowed && !allowed.includes(k)) fail(file, `${path}.${k}`, `one of ${allowed.join(', ')}`, k);
    checkFigure(file, f, `${path}.${k}`);
  }
}

/** Validates a parsed calibration document; `file` names it in errors. */
export function checkCalibration(doc: unknown, file: string): Calibration {
  if (!isObject(doc)) fail(file, '(root)', 'a calibration object', doc);
  const version = num(file, doc, 'schemaVersion', 'schemaVersion', 1);
  if (version > CALIBRATION_SCHEMA_VERSION) {
    fail(file, 'schemaVersion', `${CALIBRATION_SCHEMA_VERSION} or older (this build cannot read newer calibrations)`, version);
  }
  str(file, doc, 'host', 'host');
  str(file, doc, 'target', 'target');
  const created = str(file, doc, 'createdAt', 'createdAt');
  if (Number.isNaN(Date.parse(created))) fail(file, 'createdAt', 'an ISO date', created);
  num(file, doc, 'durationMs', 'durationMs');
  num(file, doc, 'threads', 'threads');
  const machine = doc['machine'];
  if (!isObject(machine)) fail(file, 'machine', 'an object', machine);
  if (typeof machine['cpu'] !== 'string') fail(file, 'machine.cpu', 'a string', machine['cpu']);
  const bw = doc['bandwidth'];
  if (!isObject(bw)) fail(file, 'bandwidth', 'an object {read, copy, extra}', bw);
  checkFigureOrNull(file, bw['read'], 'bandwidth.read');
  checkFigureOrNull(file, bw['copy'], 'bandwidth.copy');
  checkFigureMap(file, bw['extra'] ?? {}, 'bandwidth.extra');
  checkFigureMap(file, doc['matmul'], 'matmul', COMPUTE_KEYS);
  checkFigureMap(file, doc['matmulExtra'] ?? {}, 'matmulExtra');
  if (doc['weightStream'] !== undefined) checkFigureMap(file, doc['weightStream'], 'weightStream', COMPUTE_KEYS);
  if (doc['decodeAttention'] !== undefined) checkFigure(file, doc['decodeAttention'], 'decodeAttention');
  const formats = doc['runtimeFormats'] ?? {};
  if (!isObject(formats)) fail(file, 'runtimeFormats', 'an object', formats);
  for (const [k, f] of Object.entries(formats)) {
    if (!isObject(f) || typeof f['as'] !== 'string' || typeof f['reason'] !== 'string') {
      fail(file, `runtimeFormats.${k}`, '{as: string, reason: string}', f);
    }
  }
  const notes = doc['notes'] ?? [];
  if (!Array.isArray(notes) || notes.some((n) => typeof n !== 'string')) fail(file, 'notes', 'an array of strings', notes);
  return {
    ...(doc as unknown as Calibration),
    bandwidth: { ...(bw as unknown as Calibration['bandwidth']), extra: (bw['extra'] ?? {}) as Record<string, Figure> },
    matmulExtra: (doc['matmulExtra'] ?? {}) as Record<string, Figure>,
    runtimeFormats: formats as Calibration['runtimeFormats'],
    notes: notes as string[],
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
