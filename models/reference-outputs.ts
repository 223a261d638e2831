/**
 * The fp32 twin's outputs, kept on disk. The accuracy gate compares every quantised build with
 * the same fp32 outputs (the same token ids and synthetic image through the same fp32 build):
 * computing them costs loading the 3.6 GB twin and running it, once per gated precision. They
 * are a pure function of the fp32 build (its hash), the inputs, the machine's kernels (CPU
 * flags, ONNX Runtime version) and the thread count, so they are stored under a key of all of
 * these and computed once; a file that does not match what it should hold is computed again.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic-write.ts';

export interface ReferenceOutputs {
  logits: Float32Array;
  image: Float32Array | null;
}

/** Where the gate keeps fp32 outputs, and for which machine they hold. */
export interface ReferenceCache {
  /** Folder (the accuracy gate's `<cacheDir>/accuracy/`). */
  dir: string;
  /** MachineIdentity.key: fp32 kernels (and so the last bits of the outputs) differ per CPU and ORT build. */
  machineKey: string;
}

export interface ReferenceKey {
  model: string;
  scale: string;
  /** Hash of the fp32 build (models/zoo.ts buildHash). */
  fp32Hash: string;
  ids: readonly number[];
  threads: number;
}

/** No cached reference is larger than this (the full-scale one is ~20 MB): a bigger file is not ours. */
const MAX_BYTES = 512 * 2 ** 20;
const MAGIC = 0x31464552; // "REF1" little-endian
const NO_IMAGE = 0xffffffff;
const HEADER_BYTES = 12;

export function referencePath(cache: ReferenceCache, key: ReferenceKey): string {
  const inputs = createHash('sha256').update(JSON.stringify({ ids: key.ids, threads: key.threads })).digest('hex').slice(0, 12);
  return join(cache.dir, `fp32-outputs-${key.model}-${key.scale}-${key.fp32Hash.slice(0, 12)}-${cache.machineKey}-${inputs}.bin`);
}

/** The stored outputs, or null when there are none or the file is not a whole record of `logitsLength` logits. */
export function readReference(path: string, logitsLength: number): ReferenceOutputs | null {
  if (!existsSync(path)) return null;
  try {
    const size = statSync(path).size;
    if (!statSync(path).isFile() || size > MAX_BYTES || size < HEADER_BYTES) return null;
    const bytes = readFileSync(path);
    const magic = bytes.readUInt32LE(0);
    const logits = bytes.readUInt32LE(4);
    const image = bytes.readUInt32LE(8);
    const floats = logits + (image === NO_IMAGE ? 0 : image);
    if (magic !== MAGIC || logits !== logitsLength || bytes.length !== HEADER_BYTES + 4 * floats) return null;
    // Copied out of the Buffer: its offset in Node's pool need not be 4-byte aligned.
    const data = new Float32Array(floats);
    new Uint8Array(data.buffer).set(bytes.subarray(HEADER_BYTES));
    return { logits: data.subarray(0, logits), image: image === NO_IMAGE ? null : data.subarray(logits) };
  } catch {
    return null;
  }
}

/** Written whole then renamed, so a concurrent reader sees the old file, the new one or none. */
export function writeReference(path: string, dir: string, out: ReferenceOutputs): void {
  mkdirSync(dir, { recursive: true });
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt32LE(MAGIC, 0);
  header.writeUInt32LE(out.logits.length, 4);
  header.writeUInt32LE(out.image ? out.image.length : NO_IMAGE, 8);
  const parts: Uint8Array[] = [header, new Uint8Array(out.logits.buffer, out.logits.byteOffset, out.logits.byteLength)];
  if (out.image) parts.push(new Uint8Array(out.image.buffer, out.image.byteOffset, out.image.byteLength));
  writeFileAtomic(path, parts);
}
