import type { Clock } from '../core/clock.ts';
import { emptyRun, finishedRun, WarningLog, type Probe, type SamplingState, type ProbeAvailability, type ProbeRun, type ProbeSnapshot } from './probe.ts';
import { validateInterval } from './polling.ts';
import type { CommandTransport, LineStream } from '../targets/command-transport.ts';
import type { HwSample } from '../core/probe-types.ts';
import { errorMessage } from '../core/errors.ts';

/** A tool that prints one sample per line at an interval it is told (tegrastats, nvidia-smi -lms). */
export interface StreamedSource {
  readonly name: string;
  readonly transport: CommandTransport;
  detect(): Promise<ProbeAvailability>;
  snapshot(): Promise<ProbeSnapshot>;
  /** The command to spawn for a given interval. */
  command(intervalMs: number): string[];
  /**
   * Turns one stdout line into a sample stamped at `tMs` (its arrival on the run clock); null
   * for lines that carry no sample (headers). Throws for lines it cannot read.
   */
  parseLine(line: string, tMs: number): HwSample | null;
  /** Forgets per-run parser state (a CSV header); called before each spawn. */
  reset?(): void;
  /** Warnings the parser wants to add once per run (e.g. which power column was used). */
  runNotes?(): string[];
}

const READ_ONCE_INTERVAL_MS = 250;
const READ_ONCE_TIMEOUT_MS = 5000;

/**
 * Turns a StreamedSource into a Probe. Lines are stamped when they arrive; a line the parser
 * rejects and an unexpected exit of the tool become warnings, never exceptions.
 */
export function createStreamedProbe(source: StreamedSource): Probe {
  let state: (SamplingState & { warnings: WarningLog; stream: LineStream | null }) | null = null;

  const attach = (stream: LineStream, clock: Clock, onSample: (s: HwSample) => void, warnings: WarningLog): void => {
    stream.onLine((line) => {
      const tMs = clock.now();
      if (!line.trim()) return;
      try {
        const sample = source.parseLine(line, tMs);
        if (sample) onSample(sample);
      } catch (err) {
        warnings.add(`${source.name}: unreadable output skipped: ${errorMessage(err)}`);
      }
    });
    stream.onExit((exit) => {
      if (exit.stoppedByUs) return;
      if (exit.error) warnings.add(`${source.name}: could not run: ${exit.error}`);
      else {
        const why = exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;
        warnings.add(`${source.name}: stopped by itself (${why})${exit.stderrTail ? `: ${exit.stderrTail.split('\n').slice(-3).join(' | ')}` : ''}`);
      }
    });
  };

  return {
    name: source.name,
    detect: () => source.detect(),
    snapshot: () => source.snapshot(),
    async start(clock, intervalMs) {
      validateInterval(intervalMs);
      if (state) throw new Error(`${source.name}: start() called twice without stop()`);
      const warnings = new WarningLog();
      const alignment = await source.transport.alignClock(clock);
      const s = { clock, intervalMs, startedMs: clock.now(), samples: [] as HwSample[], warnings, stream: null as LineStream | null, alignment };
      state = s;
      const availability = await source.detect().catch((err: Error) => ({ available: false, reason: err.message }));
      if (!availability.available) {
        warnings.add(`${source.name}: not sampled: ${availability.reason}`);
        return;
      }
      source.reset?.();
      s.stream = source.transport.spawn(source.command(intervalMs));
      attach(s.stream, clock, (sample) => s.samples.push(sample), warnings);
    },
    lastSampleMs: () => state?.samples.at(-1)?.tMs ?? null,
    async stop(): Promise<ProbeRun> {
      const s = state;
      if (!s) {
        return emptyRun(source.name, `${source.name}: stop() without start()`);
      }
      state = null;
      if (s.stream) await s.stream.stop().catch(() => undefined);
      const warnings = [...(source.runNotes?.() ?? []), ...s.warnings.list()];
      if (s.stream && s.samples.length === 0) warnings.push(`${source.name}: no samples were received`);
      return finishedRun(source.name, s, warnings);
    },
    async readOnce(clock) {
      const availability = await source.detect();
      if (!availability.available) throw new Error(`${source.name}: ${availability.reason}`);
      source.reset?.();
      const warnings = new WarningLog();
      const stream = source.transport.spawn(source.command(READ_ONCE_INTERVAL_MS));
      try {
        return await new Promise<HwSample>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`${source.name}: no sample within ${READ_ONCE_TIMEOUT_MS} ms${warnings.list().length ? `: ${warnings.list().join('; ')}` : ''}`)),
            READ_ONCE_TIMEOUT_MS,
          );
          attach(stream, clock, (sample) => {
            clearTimeout(timer);
            resolve(sample);
          }, warnings);
          stream.onExit((exit) => {
            if (exit.stoppedByUs) return;
            clearTimeout(timer);
            reject(new Error(warnings.list().join('; ') || `${source.name}: exited before printing a sample`));
          });
        });
      } finally {
        await stream.stop().catch(() => undefined);
      }
    },
  };
}
