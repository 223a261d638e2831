/**
 * Every file read is bounded (issue 26.5, 26.15) and untrusted text reaches the terminal without
 * its control sequences (26.13).
 */
import { execFileSync } from 'node:child_process';
import { truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { terminalSafe } from '../../core/terminal-text.ts';
import { MAX_IMAGE_PIXELS, readImageFile } from '../../runners/image-file.ts';
import { encodedSource } from '../../runners/ort/visual-inputs.ts';
import { bench } from './cli-harness.ts';
import { tempDir } from '../helpers/tmp.ts';

let dir: string;
beforeAll(() => {
  dir = tempDir('bench-inputs-');
});

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A valid PNG header declaring width x height (8-bit RGB), with one empty compressed row: tiny on disk. */
function pngDeclaring(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', Buffer.from([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])), chunk('IEND', Buffer.alloc(0))]);
}

describe('bench import reads only regular files of a stated size', () => {
  it('/dev/zero is refused at once, as is a FIFO with no writer (no hang)', async () => {
    const zero = await bench('import', 'tegrastats', '/dev/zero');
    expect(zero.code).toBe(2);
    expect(zero.stderr).toContain('/dev/zero: not a regular file');
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const t0 = Date.now();
    const r = await bench('import', 'tegrastats', fifo);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('not a regular file');
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('a file above 256 MiB is refused from its size, without being read', async () => {
    const big = join(dir, 'big.log');
    writeFileSync(big, '');
    truncateSync(big, 300 * 2 ** 20);
    const r = await bench('import', 'tegrastats', big);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${314572800} bytes, more than the limit of ${268435456} bytes (256 MiB)`);
  });

  it('escape sequences of a hostile log never reach the terminal', async () => {
    const log = join(dir, 'hostile.log');
    writeFileSync(log, '\x1b]0;pwned\x07\x1b[2J\x1b[3Jnot a tegrastats line \x9b31m\x07\n');
    const r = await bench('import', 'tegrastats', log);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('not a tegrastats line');
    expect(r.stderr).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
  });

  it('terminalSafe removes escape sequences and controls, keeps text, newlines and tabs', () => {
    expect(terminalSafe('a\x1b[31mred\x1b[0m\tb\nc\x1b]8;;http://x\x07link\x1b]8;;\x07\x00\x7f\u202e')).toBe('ared\tb\nclink');
    expect(terminalSafe('a\nb\tc', { oneLine: true })).toBe('a b c');
  });
});

describe('images above the pixel limit are refused before decoding', () => {
  it('a tiny PNG declaring 16000x16000 is refused from its header, quickly and with the limit named', async () => {
    const bomb = join(dir, 'bomb.png');
    writeFileSync(bomb, pngDeclaring(16000, 16000));
    const t0 = Date.now();
    await expect(encodedSource(bomb)).rejects.toThrow(`${bomb}: 16000x16000 = 256.0 MP, more than the limit of ${MAX_IMAGE_PIXELS} pixels (8192x8192)`);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('an image within the limit is read with its size', async () => {
    const ok = join(dir, 'ok.png');
    writeFileSync(ok, pngDeclaring(640, 480));
    const img = await readImageFile(ok);
    expect([img.width, img.height]).toEqual([640, 480]);
  });
});
