import { hostname } from 'node:os';
import type { Command } from 'commander';
import { createClock } from '../core/clock.ts';
import { decodeRequest, type WorkerMessage } from '../runners/remote/protocol.ts';
import { errorMessage } from '../core/errors.ts';

function send(message: WorkerMessage): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

/**
 * `bench worker`: what the host starts on a board (over SSH) to run one cell with the
 * in-process ONNX Runtime runner there, streaming each iteration back as it finishes.
 */
export function registerWorkerCommand(program: Command): void {
  program
    .command('worker', { hidden: true })
    .description('Run one cell in process and stream its iterations as JSON lines (started by the host on a board).')
    .requiredOption('--request <base64>', 'the cell, suite and options, as the host encodes them')
    .action(async (flags: { request: string }) => {
      const req = decodeRequest(flags.request);
      const clock = createClock();
      send({ type: 'hello', originEpochMs: clock.originEpochMs, host: hostname(), node: process.versions.node });
      const { ortRunner } = await import('../runners/ort/index.ts');
      try {
        const prepared = await ortRunner.prepare(req.cell, req.suite, {
          clock,
          threads: req.threads,
          log: (message) => send({ type: 'log', message }),
        });
        send({
          type: 'prepared',
          loadMs: prepared.loadMs,
          model: prepared.model,
          settings: prepared.settings,
          ...(prepared.accuracy ? { accuracy: prepared.accuracy } : {}),
        });
        try {
          for (let i = 0; i < req.warmup + req.iterations; i++) {
            send({ type: 'iteration', record: await prepared.runIteration(i, i < req.warmup) });
          }
        } finally {
          await prepared.close();
        }
        send({ type: 'done' });
      } catch (err) {
        send({ type: 'error', message: errorMessage(err) });
        process.exitCode = 1;
      }
    });
}
