/**
 * What the suite knows about a probe: its name (as targets.yaml, suites and --probe give it),
 * what it samples, the tools it needs on the machine, and a factory. Each probe declares one
 * beside its sampler; hw-probes/registry.ts lists them. The harness (per-cell sampling,
 * preflight's tool checks), the suite loader and `bench list probes` read the registry, so a new
 * probe is its module and one line in the registry (or a `plugins:` entry, docs/architecture.md).
 */
import type { Probe } from '../core/probe-types.ts';
import type { CommandTransport } from '../core/transport.ts';
import type { FileSource } from './files.ts';

/** What a probe's samples hold. */
export type SampledQuantity = 'power' | 'energy' | 'cpu' | 'gpu' | 'npu' | 'memory' | 'temperature';

/** A program a probe runs: a required one missing fails the preflight, an optional one warns. */
export interface ProbeTool {
  tool: string;
  required: boolean;
  why: string;
}

/** Board checks `bench doctor` makes when a target lists the probe (the probe says which board it is for). */
export type BoardCheck = 'axera-cmm' | 'jetson-power-mode';

/** Where a probe reads from: the transport (commands), the files (sysfs/procfs, local or through it). */
export interface ProbeContext {
  transport: CommandTransport;
  files: FileSource;
  /** True when the transport is this machine. */
  local: boolean;
  /** Read an Axera PCIe/M.2 card through `axcl-smi` on this device index. */
  axclDevice?: number;
  /** Ask the Axera probe to switch NPU statistics on. */
  enableNpuStats?: boolean;
}

export interface ProbeDescriptor {
  name: string;
  /** Where it works and what it reads, one line (`bench list probes`). */
  description: string;
  samples: readonly SampledQuantity[];
  tools: readonly ProbeTool[];
  boardChecks?: readonly BoardCheck[];
  /** Set for a probe that reads only the host running this process: why it cannot read a remote target (it reports itself unavailable there). */
  thisHostOnly?: string;
  create(ctx: ProbeContext): Probe;
}
