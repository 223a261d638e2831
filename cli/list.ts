import type { Command } from 'commander';
import { InputError } from '../core/errors.ts';
import { suiteRunnerNames } from '../core/matrix.ts';
import { listSuiteFiles, loadSuite } from '../harness/suite-loader.ts';
import { listTargets } from './targets.ts';

export function registerListCommand(program: Command): void {
  program
    .command('list')
    .description('List shipped suites, known targets, models of the model zoo, the runners with their capabilities, matrix axes and options, or the hardware probes.')
    .argument('<what>', 'suites | targets | models | runners | probes')
    .option('--targets <file>', 'targets file (default: $BENCH_TARGETS or ./targets.yaml)')
    .action(async (what: string, flags: { targets?: string }) => {
      if (what === 'suites') {
        for (const { name } of listSuiteFiles()) {
          const { suite } = loadSuite(name);
          const axes = Object.entries(suite.matrix).map(([k, v]) => `${k}=${v.join(',')}`).join(' ');
          process.stdout.write(`${name.padEnd(24)} ${suiteRunnerNames(suite).join('+').padEnd(9)} ${suite.target.padEnd(8)} ${axes}\n${''.padEnd(25)}${suite.description ?? ''}\n`);
        }
      } else if (what === 'targets') {
        for (const t of listTargets(flags.targets)) {
          const where = t.kind === 'ssh' ? `${t.user ? `${t.user}@` : ''}${t.host ?? '?'}${t.port ? `:${t.port}` : ''}` : 'this machine';
          process.stdout.write(`${t.name.padEnd(16)} ${t.kind.padEnd(6)} ${where.padEnd(28)} ${t.description ?? ''}\n`);
        }
      } else if (what === 'models') {
        const { listZoo } = await import('../models/zoo.ts');
        for (const m of listZoo()) process.stdout.write(`${m.id.padEnd(20)} ${m.description}\n`);
      } else if (what === 'runners') {
        const { runnerDescriptors } = await import('../runners/registry.ts');
        const { HARNESS_AXES } = await import('../harness/suite-loader.ts');
        for (const { spec, description, capabilities } of runnerDescriptors()) {
          const can = Object.entries(capabilities).filter(([, yes]) => yes).map(([name]) => name);
          process.stdout.write(`${spec.name}\n  ${description}\n  capabilities: ${can.join(', ') || '(none)'}\n  axes:\n`);
          for (const [axis, a] of Object.entries({ ...spec.axes, ...HARNESS_AXES })) {
            process.stdout.write(`    ${axis.padEnd(17)} ${a.meaning}; ${a.allowed}\n`);
          }
          process.stdout.write(`  options: ${spec.options.join(', ')}\n`);
        }
      } else if (what === 'probes') {
        const { probeDescriptors } = await import('../hw-probes/registry.ts');
        for (const p of probeDescriptors()) {
          process.stdout.write(`${p.name.padEnd(12)} samples ${p.samples.join(', ')}\n${''.padEnd(13)}${p.description}\n`);
          if (p.tools.length) process.stdout.write(`${''.padEnd(13)}tools: ${p.tools.map((t) => `${t.tool}${t.required ? '' : ' (optional)'}`).join(', ')}\n`);
        }
      } else {
        throw new InputError(`bench list: unknown "${what}"; expected suites, targets, models, runners or probes`);
      }
    });
}
