/**
 * `npm run bench:preprocess`: what InternVL's image preprocessing costs per resolution, as the
 * ORT runner's `preprocess` phase does it (decode the JPEG, resize to the tile grid, cut and
 * normalise 448x448 tiles + thumbnail), on the project's own images (assets/images) brought to
 * each resolution. Medians over rounds that alternate the resolutions, so a drift of the machine
 * hits all of them; the figures are this machine's under its load at the time (printed).
 *
 * Options (env): PREPROCESS_ROUNDS (default 7).
 */
import { loadavg } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { summarize } from '../core/stats.ts';
import { imagePlan } from '../models/preprocess/plan.ts';
import { formatResolution, parseResolution } from '../models/preprocess/resolution.ts';
import { PIXEL_CONVENTIONS, encodeJpeg, prepareTiles, type VisualItem } from '../runners/ort/visual-inputs.ts';

const rounds = Number(process.env['PREPROCESS_ROUNDS'] ?? 7);
const source = join(import.meta.dirname, '..', 'assets', 'images', 'street-3840x2160.jpg');
const resolutions = ['448x448', '720p', '1080p', '4k'].map((r) => parseResolution(r, 'bench'));
const geo = { tileSize: 448, tokensPerTile: 256 };

const items: VisualItem[] = [];
for (const r of resolutions) {
  const { data, info } = await sharp(source).resize(r.width, r.height, { fit: 'cover' }).raw().toBuffer({ resolveWithObject: true });
  const jpeg = await encodeJpeg({ data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height }, formatResolution(r));
  items.push({ kind: 'image', plan: imagePlan('internvl', r, geo), sources: [jpeg] });
}

const steps = new Map<string, Map<string, number[]>>();
const totals = new Map<string, number[]>();
for (let round = 0; round < rounds + 1; round++) {
  for (const item of items) {
    const key = formatResolution(item.plan.source);
    const perStep = new Map<string, number>();
    const timed = async <T>(step: string, fn: () => Promise<T>): Promise<T> => {
      const t0 = performance.now();
      const v = await fn();
      perStep.set(step, (perStep.get(step) ?? 0) + performance.now() - t0);
      return v;
    };
    const t0 = performance.now();
    await prepareTiles(item, 448, PIXEL_CONVENTIONS.internvl, timed);
    const total = performance.now() - t0;
    if (round === 0) continue; // warm-up round
    totals.set(key, [...(totals.get(key) ?? []), total]);
    const byStep = steps.get(key) ?? new Map<string, number[]>();
    for (const [s, ms] of perStep) byStep.set(s, [...(byStep.get(s) ?? []), ms]);
    steps.set(key, byStep);
  }
}

console.log(`InternVL preprocessing per image, median of ${rounds} rounds (sharp ${sharp.versions.sharp}, libvips ${sharp.versions.vips}, ${sharp.concurrency()} libvips thread(s)); load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log('| resolution | tiles | image tokens | decode ms | resize ms | tile+normalise ms | total ms |');
console.log('|---|---:|---:|---:|---:|---:|---:|');
for (const item of items) {
  const key = formatResolution(item.plan.source);
  const med = (xs: number[] | undefined) => (xs ? summarize(xs, 'ms').median.toFixed(2) : '–');
  const s = steps.get(key)!;
  console.log(`| ${key} | ${item.plan.tiles} | ${item.plan.tokens} | ${med(s.get('image_decode'))} | ${med(s.get('image_resize'))} | ${med(s.get('tile_normalize'))} | ${med(totals.get(key))} |`);
}
