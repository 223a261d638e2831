/**
 * `npm run bench:build`: how fast the model zoo synthesises the default suite's models (cold
 * start of a first `npm start`), against how fast this disk takes the same number of bytes.
 *
 * Each precision is built into a fresh temporary cache (nothing is reused), timed, and its files
 * counted; then the same number of bytes is written as zeros in 16 MiB chunks and fsynced, which
 * is the most a builder could reach on this disk. The temporary folders are removed.
 *
 * Options (env): BUILD_PRECISIONS (default "int8,int4"), BUILD_SCALE (full), BUILD_HASH (1 =
 * print a sha256 over every built file, to check that a builder change kept the bytes),
 * BUILD_KEEP_DIR (build into this cache folder and keep it, e.g. to warm the real cache).
 */
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureModel, type Precision, type Scale } from '../models/zoo.ts';

const precisions = (process.env['BUILD_PRECISIONS'] ?? 'int8,int4').split(',').map((p) => p.trim()) as Precision[];
const scale = (process.env['BUILD_SCALE'] ?? 'full') as Scale;
const hashFiles = process.env['BUILD_HASH'] === '1';
const keepDir = process.env['BUILD_KEEP_DIR'];

const MB = 1e6;

function folderBytes(dir: string): { bytes: number; files: string[] } {
  const files = readdirSync(dir).filter((f) => f !== 'builder.json').sort();
  return { bytes: files.reduce((s, f) => s + statSync(join(dir, f)).size, 0), files };
}

function folderHash(dir: string, files: readonly string[]): string {
  const h = createHash('sha256');
  for (const f of files) {
    h.update(f);
    h.update(readFileSync(join(dir, f)));
  }
  return h.digest('hex');
}

/** Seconds to write `bytes` zeros in 16 MiB chunks and fsync them: the disk's own ceiling. */
function diskCeiling(dir: string, bytes: number): number {
  const path = join(dir, 'disk-ceiling.bin');
  const chunk = new Uint8Array(16 * 2 ** 20);
  const t0 = performance.now();
  const fd = openSync(path, 'w');
  for (let at = 0; at < bytes; at += chunk.length) writeSync(fd, chunk, 0, Math.min(chunk.length, bytes - at), at);
  fsyncSync(fd);
  closeSync(fd);
  const s = (performance.now() - t0) / 1000;
  rmSync(path, { force: true });
  return s;
}

console.log(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
for (const precision of precisions) {
  const cacheDir = keepDir ?? mkdtempSync(join(tmpdir(), `bench-build-${precision}-`));
  try {
    const t0 = performance.now();
    const built = await ensureModel({ model: 'internvl2_5-1b', scale, precision, layout: 'onnx-community', cacheDir });
    const seconds = (performance.now() - t0) / 1000;
    const { bytes, files } = folderBytes(built.dir);
    const note = built.built ? '' : ' (was already in BUILD_KEEP_DIR: not a build time)';
    console.log(`${precision} ${scale}: ${(bytes / MB).toFixed(1)} MB in ${files.length} files, ${seconds.toFixed(1)} s, ${(bytes / MB / seconds).toFixed(1)} MB/s${note}`);
    const disk = diskCeiling(cacheDir, bytes);
    console.log(`  same bytes as zeros + fsync on this disk: ${disk.toFixed(1)} s, ${(bytes / MB / disk).toFixed(1)} MB/s`);
    if (hashFiles) console.log(`  sha256 of all files: ${folderHash(built.dir, files)}`);
  } finally {
    if (!keepDir) rmSync(cacheDir, { recursive: true, force: true });
  }
}
console.log(`load average at end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
