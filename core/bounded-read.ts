/**
 * Reading a file named by a user or a result: only a regular file (a FIFO with no writer would
 * block for ever, /dev/zero never ends), and at most a stated size, checked before reading and
 * enforced while reading (a file that grows after the check is cut off at the cap, not buffered).
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { errorMessage, InputError } from './errors.ts';

export const MiB = 2 ** 20;

/**
 * The bytes of a regular file of at most `maxBytes`; anything else is refused (exit 2). `what`
 * starts the message, e.g. "bench import tegrastats: cannot read".
 */
export function readBoundedFile(path: string, maxBytes: number, what: string): Buffer {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO without a writer returns at once instead of waiting for one.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw new InputError(`${what} ${path}: ${errorMessage(err)}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new InputError(`${what} ${path}: not a regular file (a device, pipe or folder is refused)`);
    if (st.size > maxBytes) throw new InputError(`${what} ${path}: ${st.size} bytes, more than the limit of ${maxBytes} bytes (${(maxBytes / MiB).toFixed(0)} MiB)`);
    const buf = Buffer.alloc(Math.min(maxBytes + 1, Math.max(st.size + 1, 1)));
    let filled = 0;
    for (;;) {
      if (filled === buf.length) {
        if (filled > maxBytes) throw new InputError(`${what} ${path}: grew past the limit of ${maxBytes} bytes while being read`);
        break;
      }
      const n = readSync(fd, buf, filled, buf.length - filled, null);
      if (n === 0) break;
      filled += n;
    }
    return buf.subarray(0, filled);
  } finally {
    closeSync(fd);
  }
}

/** At most `maxBytes` of a stream (standard input); more is refused rather than buffered. */
export async function readBoundedStream(stream: AsyncIterable<Buffer | string>, maxBytes: number, what: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += b.length;
    if (size > maxBytes) throw new InputError(`${what}: more than the limit of ${maxBytes} bytes (${(maxBytes / MiB).toFixed(0)} MiB)`);
    parts.push(b);
  }
  return Buffer.concat(parts);
}
