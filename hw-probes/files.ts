import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CommandTransport } from '../targets/command-transport.ts';
import { errorMessage, FileReadError, type FileReadProblem } from '../core/errors.ts';

/**
 * Read access to sysfs/procfs-like trees. Probes take one of these instead of touching `fs`, so
 * tests can point them at a fake tree in a temp dir and a remote board can be read through its
 * transport (`cat`), or an Axera PCIe card through `axcl-smi sh cat`.
 */
export interface FileSource {
  /** Human description for messages: "/", "/tmp/fake-sysfs", "axcl-smi device 0". */
  readonly description: string;
  /** Whole text of a file; throws FileReadError. */
  readText(path: string): Promise<string>;
  /** Entry names of a directory; throws FileReadError. */
  list(dir: string): Promise<string[]>;
  /** Writes a file (used only where a probe is explicitly asked to enable statistics). */
  writeText?(path: string, text: string): Promise<void>;
}

/** Text of a file, or null when it cannot be read for any reason. */
export async function tryReadText(files: FileSource, path: string): Promise<string | null> {
  try {
    return await files.readText(path);
  } catch {
    return null;
  }
}

export async function tryList(files: FileSource, dir: string): Promise<string[] | null> {
  try {
    return await files.list(dir);
  } catch {
    return null;
  }
}

function problemOf(err: unknown): FileReadProblem {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing';
  if (code === 'EACCES' || code === 'EPERM') return 'denied';
  return 'other';
}

/** Files of this machine, with every absolute path taken relative to `root` (default "/"). */
export function localFiles(root = '/'): FileSource {
  const resolve = (p: string): string => (root === '/' ? p : join(root, p));
  return {
    description: root,
    async readText(path) {
      try {
        return await readFile(resolve(path), 'utf8');
      } catch (err) {
        throw new FileReadError(path, problemOf(err), errorMessage(err));
      }
    },
    async list(dir) {
      try {
        return (await readdir(resolve(dir))).sort();
      } catch (err) {
        throw new FileReadError(dir, problemOf(err), errorMessage(err));
      }
    },
    async writeText(path, text) {
      try {
        await writeFile(resolve(path), text);
      } catch (err) {
        throw new FileReadError(path, problemOf(err), errorMessage(err));
      }
    },
  };
}

/**
 * Files read by running `cat`/`ls` through a transport. `wrap` turns the plain command into
 * what must actually run, e.g. `(a) => ['axcl-smi', 'sh', ...a, '-d', '0']` for a PCIe card.
 */
export function commandFiles(
  transport: CommandTransport,
  description: string,
  wrap: (argv: string[]) => string[] = (a) => a,
): FileSource {
  const classify = (path: string, stderr: string, stdout: string, error?: string): FileReadError => {
    const text = `${error ?? ''} ${stderr} ${stdout}`;
    if (/no such file|not found|does not exist/i.test(text)) return new FileReadError(path, 'missing', text.trim());
    if (/permission denied|operation not permitted/i.test(text)) return new FileReadError(path, 'denied', text.trim());
    return new FileReadError(path, 'other', text.trim() || 'command failed');
  };
  return {
    description,
    async readText(path) {
      const res = await transport.run(wrap(['cat', path]));
      if (res.code !== 0) throw classify(path, res.stderr, res.stdout, res.error);
      return res.stdout;
    },
    async list(dir) {
      const res = await transport.run(wrap(['ls', '-1', dir]));
      if (res.code !== 0) throw classify(dir, res.stderr, res.stdout, res.error);
      return res.stdout.split('\n').map((s) => s.trim()).filter(Boolean).sort();
    },
  };
}
