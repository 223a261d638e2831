import { BENCH_ENTRY_RELATIVE, CHILD_COMMANDS } from '../../core/commands.ts';
import type { IterationRecord } from '../../core/events.ts';
import { InputError } from '../../core/errors.ts';
import type { PreparedCell, Runner, RunnerContext } from '../../core/runner.ts';
import type { Cell, Suite } from '../../core/suite-types.ts';
import type { LineStream, StreamExit } from '../../targets/command-transport.ts';
import { transportForRunner, type RunnerTargetOptions } from '../../targets/runner-target.ts';
import { encodeRequest, shiftRecord, type WorkerMessage } from './protocol.ts';
import { checkOrtPlan } from '../ort/plan-check.ts';

/** Command that starts the suite on the board, relative to the target's workDir. */
const DEFAULT_WORKER = ['node', BENCH_ENTRY_RELATIVE];

/**
 * A queue of the worker's messages: each `next()` waits for the next line, or for the end of
 * the stream (then it resolves with the reason the worker stopped).
 */
class MessageQueue {
  private readonly messages: WorkerMessage[] = [];
  private waiting: ((m: WorkerMessage | StreamExit) => void) | null = null;
  private ended: StreamExit | null = null;
  readonly noise: string[] = [];

  constructor(stream: LineStream) {
    stream.onLine((line) => {
      let message: WorkerMessage;
      try {
        message = JSON.parse(line) as WorkerMessage;
      } catch {
        this.noise.push(line); // a board's shell may print banners; they are kept for the error text
        return;
      }
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = null;
        w(message);
      } else this.messages.push(message);
    });
    stream.onExit((exit) => {
      this.ended = exit;
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = null;
        w(exit);
      }
    });
  }

  next(): Promise<WorkerMessage | StreamExit> {
    const m = this.messages.shift();
    if (m) return Promise.resolve(m);
    if (this.ended) return Promise.resolve(this.ended);
    return new Promise((resolve) => (this.waiting = resolve));
  }
}

function isExit(m: WorkerMessage | StreamExit): m is StreamExit {
  return !('type' in m);
}

function exitText(exit: StreamExit): string {
  return exit.error ?? (exit.stderrTail.trim().split('\n').slice(-3).join(' | ') || `worker exited with code ${exit.code ?? exit.signal}`);
}

/**
 * The in-process ONNX Runtime runner, run on a board that has the suite installed: the host
 * starts `bench worker` over the target's transport, which prepares the cell there and streams
 * each iteration back. Times come back on the board's clock and are moved onto the run clock
 * with the measured offset; its error bound is recorded with the cell.
 */
export function createRemoteOrtRunner(opts: RunnerTargetOptions = {}): Runner {
  return {
    name: 'ort',
    // The model folder is on the board: its presence is the worker's to check.
    checkPlan: (suite, cells) => checkOrtPlan(suite, cells, false),
    async prepare(cell: Cell, suite: Suite, ctx: RunnerContext): Promise<PreparedCell> {
      const transport = transportForRunner(suite, opts);
      if (!ctx.plan) throw new InputError('remote ort runner: the run loop did not say how many iterations to plan');
      const alignment = await transport.alignClock(ctx.clock);
      const workerArgv = Array.isArray(suite.options?.['remoteBench']) ? (suite.options['remoteBench'] as string[]) : DEFAULT_WORKER;
      const request = encodeRequest({ suite, cell, threads: ctx.threads, warmup: ctx.plan.warmup, iterations: ctx.plan.maxIterations });
      const stream = transport.spawn([...workerArgv, ...CHILD_COMMANDS.worker.words, '--request', request]);
      const queue = new MessageQueue(stream);
      let originEpochMs: number | null = null;
      // Prepare on the board: synthesis, session creation; logs pass through.
      for (;;) {
        const m = await queue.next();
        if (isExit(m)) throw new Error(`worker on ${transport.name} stopped before its cell was ready: ${exitText(m)}${queue.noise.length ? ` (output: ${queue.noise.slice(-2).join(' | ')})` : ''}`);
        if (m.type === 'hello') originEpochMs = m.originEpochMs;
        else if (m.type === 'log') ctx.log(`[${transport.name}] ${m.message}`);
        else if (m.type === 'error') throw new Error(`worker on ${transport.name}: ${m.message}`);
        else if (m.type === 'prepared') {
          if (originEpochMs === null) throw new Error(`worker on ${transport.name} did not state its clock`);
          // board clock ms -> run clock ms: through epoch time, corrected by the measured offset.
          const delta = originEpochMs - ctx.clock.originEpochMs - alignment.offsetMs;
          return {
            loadMs: m.loadMs,
            model: m.model,
            ...(m.accuracy ? { accuracy: m.accuracy } : {}),
            settings: {
              ...m.settings,
              remoteTarget: transport.name,
              clockOffsetMs: alignment.offsetMs,
              clockOffsetErrorMs: alignment.errorMs,
              clockAlignment: alignment.method,
            },
            async runIteration(index: number, warmup: boolean): Promise<IterationRecord> {
              for (;;) {
                const next = await queue.next();
                if (isExit(next)) {
                  const t = ctx.clock.now();
                  return { index, warmup, startMs: t, endMs: t, promptTokens: 0, imageTokens: 0, images: 0, outputTokens: 0, events: [], error: `worker on ${transport.name} stopped: ${exitText(next)}` };
                }
                if (next.type === 'log') ctx.log(`[${transport.name}] ${next.message}`);
                else if (next.type === 'iteration') return { ...shiftRecord(next.record, delta), index, warmup };
                else if (next.type === 'error') {
                  const t = ctx.clock.now();
                  return { index, warmup, startMs: t, endMs: t, promptTokens: 0, imageTokens: 0, images: 0, outputTokens: 0, events: [], error: `worker on ${transport.name}: ${next.message}` };
                }
              }
            },
            async close() {
              // The run loop may stop early (adaptive iterations): end the worker either way.
              await stream.stop();
            },
          };
        }
      }
    },
  };
}
