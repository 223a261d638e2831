/**
 * What went wrong with an `ssh` invocation, from its exit status and stderr. OpenSSH exits 255
 * for its own errors (and passes the remote command's status through otherwise), so 255 plus
 * the message tells an unreachable board from a refused key or a dropped connection.
 */
import type { CommandFailureKind } from './types.ts';

interface Pattern {
  kind: CommandFailureKind;
  re: RegExp;
  explain: string;
}

// Order matters: the first match wins (a refused key also prints "Connection closed").
const PATTERNS: Pattern[] = [
  { kind: 'host-key', re: /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No (?:ED25519|RSA|ECDSA)? ?host key is known/i, explain: 'the host key is unknown or has changed (check known_hosts, or set sshOptions.StrictHostKeyChecking)' },
  { kind: 'auth', re: /Permission denied \(|Too many authentication failures|no mutual signature|Authentication failed/i, explain: 'the board refused the key (check user, identity and the board\'s authorized_keys)' },
  { kind: 'unreachable', re: /Connection refused/i, explain: 'nothing accepts SSH connections on that port (sshd not running, or wrong port)' },
  { kind: 'unreachable', re: /Could not resolve hostname|Name or service not known|nodename nor servname|Temporary failure in name resolution/i, explain: 'the host name does not resolve' },
  { kind: 'unreachable', re: /Connection timed out|Operation timed out|timed out during banner exchange|No route to host|Network is unreachable|Host is down/i, explain: 'the host does not answer (powered off, wrong address, or a firewall)' },
  { kind: 'connection-lost', re: /Connection (?:closed|reset) by|Broken pipe|client_loop: send disconnect|Timeout, server .* not responding|mux_client_read|Control socket connect|packet_write_wait|Connection to .* closed/i, explain: 'the connection broke while the command ran' },
];

export interface SshFailure {
  kind: CommandFailureKind;
  message: string;
}

/** The last meaningful stderr line, for messages. */
function lastLine(stderr: string): string {
  const lines = stderr
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !/^Warning: Permanently added/.test(l));
  return lines[lines.length - 1] ?? '';
}

/**
 * Classifies an ssh exit-255 failure. `where` names the target ("ssh:ax650 (root@10.0.0.2:22)").
 */
export function classifySshFailure(stderr: string, where: string): SshFailure {
  for (const p of PATTERNS) {
    const m = p.re.exec(stderr);
    if (m) {
      const detail = stderr.split(/\r?\n/).find((l) => p.re.test(l))?.trim() ?? m[0];
      const label = p.kind === 'unreachable' ? 'unreachable' : p.kind === 'auth' ? 'authentication failed' : p.kind === 'host-key' ? 'host key check failed' : 'connection lost';
      return { kind: p.kind, message: `${where}: ${label}: ${p.explain} [ssh: ${detail}]` };
    }
  }
  const tail = lastLine(stderr);
  return { kind: 'other', message: `${where}: ssh failed (exit 255)${tail ? `: ${tail}` : ''}` };
}

/** Messages for the shell's own "could not run it" statuses. */
export function classifyExitStatus(code: number, program: string, stderr: string, where: string): SshFailure | null {
  if (code === 127 && /not found|No such file or directory/i.test(stderr)) {
    return { kind: 'missing-tool', message: `${program}: command not found on ${where} (exit 127${lastLine(stderr) ? `: ${lastLine(stderr)}` : ''})` };
  }
  if (code === 126) {
    return { kind: 'not-executable', message: `${program}: found on ${where} but not executable (exit 126${lastLine(stderr) ? `: ${lastLine(stderr)}` : ''})` };
  }
  return null;
}
