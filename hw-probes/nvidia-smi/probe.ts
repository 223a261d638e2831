import type { Probe, ProbeAvailability, ProbeSnapshot } from '../probe.ts';
import { createStreamedProbe } from '../streaming.ts';
import type { CommandTransport } from '../../targets/command-transport.ts';
import { parseNvidiaSmiCsv, smiPowerBasis, smiRowToSample, smiText, SmiCsvReader, type SmiPowerBasis } from './parse.ts';
import { errorMessage } from '../../core/errors.ts';

/** Fields sampled each tick. `power.draw.instant/average` exist on drivers from 2023 on. */
export const SMI_FIELDS = [
  'timestamp',
  'index',
  'name',
  'power.draw',
  'power.draw.average',
  'power.draw.instant',
  'utilization.gpu',
  'utilization.memory',
  'clocks.current.graphics',
  'clocks.current.sm',
  'clocks.current.memory',
  'memory.used',
  'memory.total',
  'temperature.gpu',
] as const;

/** For older drivers that reject the newer power fields. */
export const SMI_LEGACY_FIELDS = SMI_FIELDS.filter((f) => f !== 'power.draw.average' && f !== 'power.draw.instant');

const SNAPSHOT_FIELDS = ['index', 'name', 'uuid', 'driver_version', 'pstate', 'power.limit', 'clocks.max.graphics', 'clocks.max.memory', 'persistence_mode'];

export interface NvidiaSmiProbeOptions {
  transport: CommandTransport;
  executable?: string;
  /** GPU indices to sample (`-i`); default all. */
  gpus?: number[];
}

/**
 * Desktop/server NVIDIA GPUs through `nvidia-smi --query-gpu ... -lms N`. One line per GPU per
 * tick, so each sample holds one GPU and one rail named `GPU<index>`: with several GPUs, pick the
 * rail (or sum per-GPU energies) rather than summing rails within a sample.
 */
export function createNvidiaSmiProbe(opts: NvidiaSmiProbeOptions): Probe {
  const { transport } = opts;
  const exe = opts.executable ?? 'nvidia-smi';
  const select = opts.gpus?.length ? ['-i', opts.gpus.join(',')] : [];
  let fields: readonly string[] = SMI_FIELDS;
  let reader = new SmiCsvReader('nvidia-smi output');
  let lineNo = 0;
  const bases = new Set<SmiPowerBasis>();

  const query = (list: readonly string[], extra: string[]): string[] => [exe, `--query-gpu=${list.join(',')}`, '--format=csv,nounits', ...select, ...extra];

  const detect = async (): Promise<ProbeAvailability> => {
    const res = await transport.run(query(SMI_FIELDS, []), { timeoutMs: 10_000 });
    if (res.error) {
      return {
        probe: 'nvidia-smi',
        available: false,
        reason: /not found/.test(res.error) ? `${exe} not found (no NVIDIA driver on ${transport.name})` : res.error,
      };
    }
    if (res.code !== 0 && /not a valid field/i.test(res.stdout + res.stderr)) {
      const legacy = await transport.run(query(SMI_LEGACY_FIELDS, []), { timeoutMs: 10_000 });
      if (legacy.code === 0) {
        fields = SMI_LEGACY_FIELDS;
        return { probe: 'nvidia-smi', available: true, reason: 'older driver: no power.draw.instant, power.draw is used (a 1 s average on Ampere and newer)' };
      }
    }
    if (res.code !== 0) {
      const why = (res.stdout + res.stderr).trim().split('\n')[0] ?? '';
      return { probe: 'nvidia-smi', available: false, reason: `${exe} failed (exit ${res.code}): ${why}` };
    }
    fields = SMI_FIELDS;
    try {
      const rows = parseNvidiaSmiCsv(res.stdout, 'nvidia-smi').rows;
      const names = rows.map((r) => `${smiText(r, 'index') ?? '?'}: ${smiText(r, 'name') ?? 'GPU'}`);
      return { probe: 'nvidia-smi', available: true, reason: names.length ? names.join('; ') : 'no GPU rows' };
    } catch (err) {
      return { probe: 'nvidia-smi', available: false, reason: errorMessage(err) };
    }
  };

  const snapshot = async (): Promise<ProbeSnapshot> => {
    const res = await transport.run([exe, `--query-gpu=${SNAPSHOT_FIELDS.join(',')}`, '--format=csv', ...select], { timeoutMs: 10_000 });
    if (res.code !== 0) {
      return { probe: 'nvidia-smi', facts: {}, warnings: [`nvidia-smi facts unavailable: ${res.error ?? (res.stderr.trim() || `exit ${res.code}`)}`] };
    }
    const facts: Record<string, string> = {};
    try {
      for (const row of parseNvidiaSmiCsv(res.stdout, 'nvidia-smi').rows) {
        const idx = smiText(row, 'index') ?? '0';
        for (const [field, cell] of Object.entries(row.cells)) {
          if (field === 'index') continue;
          facts[`gpu${idx}.${field}`] =
            cell.kind === 'missing' ? cell.reason : cell.kind === 'number' ? `${cell.value}${cell.unit ? ` ${cell.unit}` : ''}` : cell.value;
        }
      }
      return { probe: 'nvidia-smi', facts, warnings: [] };
    } catch (err) {
      return { probe: 'nvidia-smi', facts, warnings: [errorMessage(err)] };
    }
  };

  return createStreamedProbe({
    name: 'nvidia-smi',
    transport,
    detect,
    snapshot,
    command: (intervalMs) => query(fields, ['-lms', String(Math.max(1, Math.round(intervalMs)))]),
    reset: () => {
      reader = new SmiCsvReader('nvidia-smi output');
      lineNo = 0;
      bases.clear();
    },
    parseLine: (line, tMs) => {
      lineNo += 1;
      const row = reader.push(line, lineNo);
      if (!row) return null;
      bases.add(smiPowerBasis(row));
      return smiRowToSample(row, tMs);
    },
    runNotes: () => {
      const notes: string[] = [];
      if (bases.has('power.draw')) notes.push('nvidia-smi: power from power.draw (power.draw.instant not reported): on Ampere and newer it is a 1 s average, so phases shorter than ~1 s are smeared');
      if (bases.has('none')) notes.push('nvidia-smi: some rows had no power reading ([N/A])');
      return notes;
    },
  });
}
