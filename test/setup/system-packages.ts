/**
 * Vitest global setup: the system programs the tests drive for real (an OpenSSH server on
 * loopback for the SSH target tests, Debian's Chromium for the published site's browser tests)
 * are installed here when they are missing, so `npm test` passes on a fresh machine with no
 * manual step. Installs only as root through apt-get (Debian's registry is the one this
 * project's machines reach); elsewhere it says what is missing and the tests that need it fail
 * with the same message.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';

interface SystemPackage {
  /** Files any of which shows the program is there. */
  present: string[];
  packages: string[];
  why: string;
}

export const SYSTEM_PACKAGES: readonly SystemPackage[] = [
  { present: ['/usr/sbin/sshd'], packages: ['openssh-server', 'openssh-client'], why: 'SSH target tests (a real sshd on loopback)' },
  { present: ['/usr/bin/chromium'], packages: ['chromium'], why: 'browser tests of the published site (headless Chromium)' },
  { present: ['/usr/bin/g++'], packages: ['g++'], why: "the llamacpp runner's image cells (llama.cpp's mtmd addon is compiled once per machine, runners/llamacpp/mtmd-native)" },
];

function canInstall(): boolean {
  return process.getuid?.() === 0 && existsSync('/usr/bin/apt-get');
}

export default function setup(): void {
  const missing = SYSTEM_PACKAGES.filter((p) => !p.present.some((f) => existsSync(f)));
  if (missing.length > 0) {
    const names = missing.flatMap((p) => p.packages);
    if (!canInstall()) {
      process.stderr.write(`test setup: missing ${names.join(', ')} (${missing.map((p) => p.why).join('; ')}); install them with apt-get as root\n`);
    } else {
      process.stderr.write(`test setup: installing ${names.join(', ')} with apt-get (${missing.map((p) => p.why).join('; ')})\n`);
      const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
      execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], env });
      execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...names], { stdio: ['ignore', 'ignore', 'inherit'], env });
    }
  }
  // sshd run as root needs its privilege-separation folder.
  if (process.getuid?.() === 0 && existsSync('/usr/sbin/sshd')) mkdirSync('/run/sshd', { recursive: true });
}
