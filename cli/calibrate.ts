import type { Command } from 'commander';
import { markdownTable } from 'markdown-table';
import { InputError } from '../core/errors.ts';
import { calibrate, DEFAULT_BUFFER_MIB, LONG_BUFFER_MIB } from '../roofline/calibrate/calibrate.ts';
import { publishedTargetNames } from '../roofline/calibrate/published.ts';
import { DEFAULT_CALIBRATION_DIR, saveCalibration } from '../roofline/calibrate/store.ts';
import { busyCalibrationNote } from '../roofline/calibration-load.ts';
import type { Calibration, Figure } from '../core/calibration-types.ts';
import { fmt } from '../reporters/format.ts';
import { intOption } from './options.ts';

function row(name: string, f: Figure | null | undefined, unit: string): string[] {
  if (!f) return [name, '–', unit, '–', 'not available'];
  const spread = f.samples ? `median ${fmt(f.samples.median)}, worst ${fmt(f.samples.worst)} (n=${f.samples.n})` : '–';
  return [name, fmt(f.value), unit, f.source, f.source === 'published' ? (f.citation ?? f.method) : spread];
}

/** The calibration as a short Markdown summary for the terminal. */
export function renderCalibration(c: Calibration, path: string | null): string {
  const rows = [
    row('read bandwidth', c.bandwidth.read, 'GB/s'),
    row('copy bandwidth', c.bandwidth.copy, 'GB/s'),
    ...Object.entries(c.bandwidth.extra).map(([k, f]) => row(`  ${k.replace(/_/g, ' ')} (reference)`, f, 'GB/s')),
    ...(['fp32', 'fp16', 'int8', 'int4'] as const).filter((k) => c.matmul[k]).map((k) => row(`${k} matmul`, c.matmul[k], 'G op/s')),
    ...Object.entries(c.matmulExtra).map(([k, f]) => row(`  ${k.replace(/_/g, ' ')} (reference)`, f, 'G op/s')),
    ...(['fp32', 'fp16', 'int8', 'int4'] as const)
      .filter((k) => c.weightStream?.[k])
      .map((k) => row(`${k} weights at batch 1 (decode kernel ceiling)`, c.weightStream?.[k], 'GB/s')),
    ...(c.decodeAttention ? [row('attention at batch 1 (decode kernel ceiling)', c.decodeAttention, 'G op/s')] : []),
  ];
  const lines = [
    `# Calibration of ${c.host} (target ${c.target})`,
    '',
    `${c.machine.cpu}; ${c.machine.runtime}; ${c.threads ? `${c.threads} thread(s); ` : ''}${c.createdAt}${c.durationMs ? `, took ${fmt(c.durationMs / 1000, 1)} s` : ''}${c.loadAverage ? `; load average before ${c.loadAverage.before.join(' ')}, after ${c.loadAverage.after.join(' ')}` : ''}`,
    '',
    markdownTable([['Figure', 'Value', 'Unit', 'Source', 'Spread / citation'], ...rows], { align: ['l', 'r', 'l', 'l', 'l'] }),
    '',
    'Methods:',
    ...[
      ['read', c.bandwidth.read],
      ['copy', c.bandwidth.copy],
      ...Object.entries(c.matmul),
      ...Object.entries(c.weightStream ?? {}).map(([k, f]) => [`${k} decode kernel ceiling`, f] as const),
      ...(c.decodeAttention ? [['attention decode kernel ceiling', c.decodeAttention] as const] : []),
    ]
      .filter((e): e is [string, Figure] => Boolean(e[1]))
      .map(([k, f]) => `- ${k}: ${f.method}`),
    ...(c.notes.length ? ['', 'Notes:', ...c.notes.map((n) => `- ${n}`)] : []),
  ];
  if (path) lines.push('', `written: ${path}`);
  return `${lines.join('\n')}\n`;
}

export function registerCalibrateCommand(program: Command): void {
  program
    .command('calibrate')
    .description(
      'Measure this machine\'s memory bandwidth and matmul peaks per precision (or write a board\'s published peaks) for roofline bounds in reports.',
    )
    .option(
      '-t, --target <target>',
      `"local" measures this machine; a board target writes its published peaks (its "peaks" in the targets file, or built in: ${publishedTargetNames().join(', ')})`,
      'local',
    )
    .option('--targets <file>', 'targets file (default: $BENCH_TARGETS, ./targets.yaml, <repo>/targets.yaml)')
    .option('--label <target>', 'target name to store the calibration under, e.g. the suite\'s target ("jetson"); default: --target')
    .option('--threads <n>', 'intra-op threads and copy workers (default: all logical CPUs)', intOption('--threads'))
    .option('--long', `longer, steadier run: ${LONG_BUFFER_MIB} MiB buffer, more repetitions, MatMulInteger too (default: ${DEFAULT_BUFFER_MIB} MiB, a few seconds)`)
    .option('--buffer-mib <n>', 'read buffer size in MiB (overrides the default of the mode)', intOption('--buffer-mib'))
    .option('--dir <dir>', 'folder for <host>.json', DEFAULT_CALIBRATION_DIR)
    .option('--no-save', 'print only, do not write the calibration file')
    .option('--json', 'print the calibration as JSON')
    .action(
      async (flags: { target: string; targets?: string; label?: string; threads?: number; long?: boolean; bufferMib?: number; dir: string; save: boolean; json?: boolean }) => {
        const c = await calibrate({
          target: flags.target,
          targetsFile: flags.targets,
          label: flags.label,
          threads: flags.threads,
          long: flags.long,
          bufferMiB: flags.bufferMib,
          log: (m) => process.stderr.write(`calibrate: ${m}\n`),
        });
        const path = flags.save ? saveCalibration(c, flags.dir) : null;
        process.stdout.write(flags.json ? `${JSON.stringify(c, null, 2)}\n` : renderCalibration(c, path));
        const busy = busyCalibrationNote(c);
        if (busy) process.stderr.write(`calibrate: warning: ${busy}\n`);
        if (flags.json && path) process.stderr.write(`written: ${path}\n`);
      },
    );
}
