import type { Command } from 'commander';
import { createClock } from '../core/clock.ts';
import { detectProbes, readOnce, snapshotAll } from '../hw-probes/detect.ts';
import { describeSample } from '../hw-probes/describe.ts';
import { probeDescriptor } from '../hw-probes/registry.ts';
import { LocalTransport, type CommandTransport } from '../targets/command-transport.ts';
import { closeSharedTransports, sharedTransport } from '../targets/targets.ts';
import { intOption } from './options.ts';
import { resolveTarget } from './targets.ts';

export function registerProbeCommand(program: Command): void {
  program
    .command('probe')
    .description('List the hardware probes of a target, what each can read, and live values.')
    .option('-t, --target <name>', 'target to probe', 'local')
    .option('--targets <file>', 'targets file (default: $BENCH_TARGETS or ./targets.yaml)')
    .option('-d, --duration <seconds>', 'read live values once a second for this long', intOption('--duration', 0), 3)
    .action(async (flags: { target: string; targets?: string; duration: number }) => {
      const target = resolveTarget(flags.target, flags.targets);
      const transport = target.kind === 'local' ? new LocalTransport() : sharedTransport(target);
      try {
        await probeTarget(transport, flags);
      } finally {
        await closeSharedTransports();
      }
    });
}

async function probeTarget(transport: CommandTransport, flags: { target: string; duration: number }): Promise<void> {
  const detected = await detectProbes(transport);
  process.stdout.write(`probes on ${flags.target}:\n`);
  for (const d of detected) process.stdout.write(`  ${d.available ? 'yes' : 'no '}  ${d.name.padEnd(11)} ${d.reason}\n`);
  const available = detected.filter((d) => d.available);
  // Only a probe that reads this host alone (system) found: nothing here measures power.
  if (!available.some((d) => probeDescriptor(d.name)?.thisHostOnly === undefined)) {
    process.stdout.write('no power source here: energy per phase needs tegrastats, hwmon power inputs, RAPL (powercap) or nvidia-smi; an Axera board needs an external meter.\n');
  }
  const { facts } = await snapshotAll(available);
  if (Object.keys(facts).length) {
    process.stdout.write('facts:\n');
    for (const [k, v] of Object.entries(facts)) process.stdout.write(`  ${k}: ${v}\n`);
  }
  const clock = createClock();
  for (let i = 0; i < flags.duration; i++) {
    for (const r of await readOnce(available, clock)) {
      const text = r.sample ? describeSample(r.sample).join('; ') : `error: ${r.error}`;
      process.stdout.write(`[${(clock.now() / 1000).toFixed(1)} s] ${r.name}: ${text}\n`);
    }
    if (i < flags.duration - 1) await new Promise((res) => setTimeout(res, 1000));
  }
}
