/**
 * What a target is (a machine a suite runs on) and the transport the suite reaches it through.
 * A targets file (targets.yaml) lists board targets; the built-in `local` target is this machine.
 */
import type { CommandResult, CommandTransport, RunOptions } from './command-transport.ts';

/**
 * Peak figures a vendor publishes for the hardware (for roofline / % of peak). They are quoted,
 * never measured: `source` says where each came from.
 */
export interface PublishedPeaks {
  source: string;
  memoryBandwidthGBps?: number;
  int4Tops?: number;
  int8Tops?: number;
  fp16Tflops?: number;
  bf16Tflops?: number;
  /** Module power budget, W. */
  powerBudgetW?: number;
  notes?: string;
}

export type TargetKind = 'local' | 'ssh';

export interface TargetDefinition {
  name: string;
  kind: TargetKind;
  description?: string;
  /** SSH: host name or address, or a Host alias of ~/.ssh/config. */
  host?: string;
  user?: string;
  port?: number;
  /** SSH: private key file (absolute, ~/..., or relative to the targets file). */
  identity?: string;
  /** SSH: an ssh_config file passed with -F (e.g. to keep tests away from ~/.ssh/config). */
  sshConfig?: string;
  /** SSH: extra -o options, e.g. { StrictHostKeyChecking: accept-new }. */
  sshOptions?: Record<string, string>;
  /** SSH: seconds to wait for the TCP connection + handshake (ConnectTimeout). Default 10. */
  connectTimeoutSeconds?: number;
  /** Default time limit of one command, ms (default 10 s for probes; runners set their own). */
  commandTimeoutMs?: number;
  /** Folder commands run in (relative model paths are relative to it). */
  workDir?: string;
  /** Environment variables set for every command (LD_LIBRARY_PATH for vendor runtimes, ...). */
  env?: Record<string, string>;
  /** Hardware probes to sample on this target ("tegrastats", "axera", "hwmon", ...). */
  probes?: string[];
  peaks?: PublishedPeaks;
  /** Where the definition came from: a targets file path, or "builtin". */
  source: string;
}

/** Why a command could not run, as far as the transport can tell. */
export type CommandFailureKind =
  /** No TCP connection: refused, timed out, no route, unknown host. */
  | 'unreachable'
  /** The server refused our key (or every authentication method). */
  | 'auth'
  /** The server's host key is unknown or changed. */
  | 'host-key'
  /** The connection broke while the command ran. */
  | 'connection-lost'
  /** The program does not exist on the target (shell exit 127). */
  | 'missing-tool'
  /** The program exists but cannot be executed (shell exit 126). */
  | 'not-executable'
  | 'timeout'
  /** Any other failure to start the command or the ssh client. */
  | 'other';

export interface TargetCommandResult extends CommandResult {
  /** Set together with `error` when the command could not run to completion. */
  failure?: CommandFailureKind;
  /** Wall time of the command as seen from here, ms. */
  wallMs: number;
}

export interface TargetRunOptions extends RunOptions {
  /** Text written to the command's stdin (then stdin is closed). */
  input?: string;
}

/**
 * A CommandTransport with the extras runners need: stdin for interactive demos, typed failures,
 * and an explicit close (an SSH transport keeps a master connection open between commands).
 */
export interface TargetTransport extends CommandTransport {
  readonly target: TargetDefinition;
  run(argv: string[], opts?: TargetRunOptions): Promise<TargetCommandResult>;
  close(): Promise<void>;
}
