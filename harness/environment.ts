import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import si from 'systeminformation';
import type { Environment } from '../core/result-types.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function packageVersion(name: string): string {
  try {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'node_modules', name, 'package.json'), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'not installed';
  }
}

function gitState(): Environment['git'] {
  try {
    const revision = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const status = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd: repoRoot,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return { revision, dirty: status.trim().length > 0 };
  } catch {
    return { revision: null, dirty: null };
  }
}

/** The facts a reader needs to reproduce or distrust a number: machine, OS, versions, revision. */
export async function captureLocalEnvironment(): Promise<Environment> {
  const [cpu, mem, os] = await Promise.all([si.cpu(), si.mem(), si.osInfo()]);
  const self = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { name: string; version: string };
  return {
    host: {
      hostname: os.hostname,
      cpu: `${cpu.manufacturer} ${cpu.brand}`.trim(),
      cores: cpu.cores,
      physicalCores: cpu.physicalCores,
      memoryBytes: mem.total,
      arch: os.arch,
    },
    os: { platform: os.platform, distro: os.distro, release: os.release, kernel: os.kernel },
    versions: {
      [self.name]: self.version,
      node: process.versions.node,
      'onnxruntime-node': packageVersion('onnxruntime-node'),
      systeminformation: packageVersion('systeminformation'),
    },
    git: gitState(),
  };
}
