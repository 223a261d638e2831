/**
 * Memory bandwidth microbenchmarks.
 *
 * Read: a ReduceSum over a float32 buffer far larger than the last-level cache, run by ONNX
 * Runtime with intra-op threads = the calibration's thread count. One JS thread cannot
 * saturate memory (V8 does not vectorise a summation loop), ORT's reduction kernel is
 * vectorised and splits rows over its thread pool, and it is the same thread pool and allocator
 * the runner's decode steps go through. The input is fed from JS memory that was touched once
 * beforehand, so no page fault lands in a timed run. Checked against a C read (threads summing
 * their own slices; bench/calibrate-check.ts) on the 2-vCPU development VM, interleaved, over
 * two runs at 1-minute load 2-4: ORT/C = 0.79-1.05 with 2 threads, 0.79-0.90 with 1 (both
 * reached ~55 GB/s with 2 threads when the cores were free); a JS summation loop reached
 * 4-6 GB/s there.
 *
 * Copy: T worker threads, each copying its own pre-touched slice with TypedArray.set (memcpy),
 * started together through an Atomics barrier. ORT is not used for copy: session.run hands back
 * its output in freshly allocated memory (a preallocated output tensor did not help), and where
 * a first touch of memory is slow (VMs that back guest memory lazily) the page faults, not the
 * copy, are timed: an ORT Mul over 256 MiB ran at 0.2 GB/s on the development VM.
 *
 * Read is also measured with one thread and as a GEMV (MatMul M=1 over the same buffer fed as
 * its weight: the decode step's access pattern); copy also with one thread. Each figure is the
 * best of its measurements (a busy machine can starve a multi-threaded run; on an idle one the
 * GEMV sometimes streams faster than the reduction), and `extra` keeps every one of them.
 */
import { Worker } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { gemvModel, reduceSumModel } from './graphs.ts';
import { calibrationSessionOptions, measureSessionRate } from './session.ts';
import { measuredFigure, ratesFromLatencies, timeTask, type TimingBudget } from './timing.ts';
import type { Figure } from '../../core/calibration-types.ts';

export interface BandwidthOptions {
  /** Size of the read buffer; the copy moves half of it per direction. */
  bufferBytes: number;
  threads: number;
  budget: TimingBudget;
  log?: (message: string) => void;
}

export interface BandwidthResult {
  /** The best sustained read over the kernels and thread counts tried. */
  read: Figure;
  copy: Figure;
  /** Every single measurement, by configuration. */
  extra: Record<string, Figure>;
  notes: string[];
}

const ROW = 4096;
const MiB = 2 ** 20;

/** Fills every page so the operating system has backed it before anything is timed. */
export function touched(elements: number): Float32Array {
  const a = new Float32Array(elements);
  a.fill(1);
  return a;
}

/** The read figure of the calibration, over an already touched buffer (length a multiple of 4096). */
export function measureOrtRead(x: Float32Array, threads: number, budget: TimingBudget): Promise<Figure> {
  const rows = x.length / ROW;
  return measureSessionRate({
    name: `read-reducesum-t${threads}`,
    model: reduceSumModel(rows, ROW),
    options: calibrationSessionOptions(threads),
    feeds: { x: new ort.Tensor('float32', x, [rows, ROW]) },
    work: x.byteLength,
    method: (runs) =>
      `ONNX Runtime ReduceSum over a float32 [${rows}, ${ROW}] input (${(x.byteLength / MiB).toFixed(0)} MiB) fed from pre-touched JS memory, last axis reduced, intra-op threads ${threads}; GB/s = input bytes / run time, best of ${runs} runs`,
    threads,
    budget,
  });
}

function measureOrtGemv(x: Float32Array, threads: number, budget: TimingBudget): Promise<Figure> {
  const n = x.length / ROW;
  return measureSessionRate({
    name: `read-gemv-t${threads}`,
    model: gemvModel(ROW, n),
    options: calibrationSessionOptions(threads),
    feeds: {
      x: new ort.Tensor('float32', new Float32Array(ROW).fill(0.5), [1, ROW]),
      w: new ort.Tensor('float32', x, [ROW, n]),
    },
    work: x.byteLength,
    method: (runs) =>
      `ONNX Runtime MatMul [1, ${ROW}] x [${ROW}, ${n}] float32, weight fed as an input (not a packed initializer), intra-op threads ${threads}; GB/s = weight bytes / run time, best of ${runs} runs`,
    threads,
    budget,
  });
}

/**
 * Worker body (plain JS, evaluated): allocates and touches its own slices, then copies on each
 * generation bump of ctl[0] and counts itself done in ctl[1].
 */
const COPY_WORKER = `
const { workerData } = require('node:worker_threads');
const ctl = new Int32Array(workerData.control);
const src = new Float32Array(workerData.elements).fill(1);
const dst = new Float32Array(workerData.elements).fill(0);
Atomics.add(ctl, 1, 1);
Atomics.notify(ctl, 1);
let seen = 0;
for (;;) {
  Atomics.wait(ctl, 0, seen);
  seen = Atomics.load(ctl, 0);
  if (seen < 0) break;
  dst.set(src);
  Atomics.add(ctl, 1, 1);
  Atomics.notify(ctl, 1);
}
`;

/** Blocks until ctl[1] reaches `target` (the main thread may Atomics.wait in Node). */
function waitCount(ctl: Int32Array, target: number, timeoutMs: number): void {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = Atomics.load(ctl, 1);
    if (v >= target) return;
    const left = deadline - performance.now();
    if (left <= 0) throw new Error(`copy workers did not finish within ${timeoutMs} ms`);
    Atomics.wait(ctl, 1, v, left);
  }
}

async function measureWorkerCopy(bytesPerDirection: number, threads: number, budget: TimingBudget): Promise<Figure> {
  const elementsPerWorker = Math.floor(bytesPerDirection / 4 / threads);
  const control = new SharedArrayBuffer(8);
  const ctl = new Int32Array(control);
  const workers = Array.from(
    { length: threads },
    () => new Worker(COPY_WORKER, { eval: true, workerData: { control, elements: elementsPerWorker } }),
  );
  const failures: Error[] = [];
  for (const w of workers) w.on('error', (err: unknown) => failures.push(err instanceof Error ? err : new Error(String(err))));
  try {
    // Touching the slices is slow where first touches fault into the hypervisor; wait without
    // blocking the event loop so a worker that fails (out of memory) is reported.
    while (Atomics.load(ctl, 1) < threads) {
      if (failures.length) throw failures[0];
      await new Promise((r) => setTimeout(r, 10));
    }
    let generation = 0;
    const copyOnce = (): void => {
      Atomics.store(ctl, 1, 0);
      generation += 1;
      Atomics.store(ctl, 0, generation);
      Atomics.notify(ctl, 0);
      waitCount(ctl, threads, 60_000);
    };
    const latencies = await timeTask(`copy-workers-t${threads}`, copyOnce, budget);
    if (failures.length) throw failures[0];
    const moved = 2 * elementsPerWorker * 4 * threads;
    return measuredFigure(
      ratesFromLatencies(moved, latencies),
      `${threads} worker thread(s), each copying its own pre-touched ${((elementsPerWorker * 4) / MiB).toFixed(0)} MiB float32 slice with TypedArray.set (memcpy), started together through an Atomics barrier; GB/s = 2 x bytes copied / time (STREAM convention: read + write)`,
      threads,
    );
  } finally {
    Atomics.store(ctl, 0, -1);
    Atomics.notify(ctl, 0);
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** Copies the first half of the (already touched) read buffer over its second half. */
async function measureJsCopy(x: Float32Array, budget: TimingBudget): Promise<Figure> {
  const half = Math.floor(x.length / 2);
  const src = x.subarray(0, half);
  const dst = x.subarray(half, 2 * half);
  const latencies = await timeTask('copy-js-t1', () => dst.set(src), budget);
  return measuredFigure(
    ratesFromLatencies(2 * src.byteLength, latencies),
    `main JS thread, TypedArray.set of one pre-touched ${(src.byteLength / MiB).toFixed(0)} MiB half of the read buffer over the other (memcpy); GB/s = 2 x bytes copied / time`,
    1,
  );
}

/**
 * The read figure once the fp32 weight chain (weight-stream.ts) has run: that chain streams its
 * float32 weights from memory too, so when it is faster than every read measurement, the machine
 * can read at least that fast and a bound from the slower figure could be beaten.
 */
export function readWithChain(read: Figure, fp32Chain: Figure | undefined): Figure {
  if (!fp32Chain || fp32Chain.value <= read.value) return read;
  return {
    ...fp32Chain,
    method: `the fp32 weight chain (${fp32Chain.value.toFixed(2)} GB/s) beat the read measurements (${read.value.toFixed(2)} GB/s: ${read.method}); here the chain: ${fp32Chain.method}`,
  };
}

/**
 * The best of several measurements of the same quantity (thread counts, kernels). A bound must
 * not be beaten, so the machine's figure is the best rate any configuration sustained; when a
 * configuration with fewer threads wins, other processes were most likely competing for the
 * cores, and a note says so.
 */
export function bestOf(entries: Array<[string, Figure]>, notes: string[], what: string): Figure {
  const sorted = [...entries].sort((a, b) => b[1].value - a[1].value);
  const [winLabel, win] = sorted[0]!;
  const mostThreads = Math.max(...entries.map(([, f]) => f.threads ?? 0));
  if (win.threads !== null && win.threads < mostThreads) {
    const loser = entries.find(([, f]) => f.threads === mostThreads)!;
    notes.push(
      `${what}: ${winLabel} (${win.value.toFixed(2)} GB/s) beat ${loser[0]} (${loser[1].value.toFixed(2)} GB/s) with fewer threads; the machine was probably busy. Calibrate again when it is idle (--long measures longer).`,
    );
  }
  const all = entries.map(([label, f]) => `${label} ${f.value.toFixed(2)}`).join(', ');
  return { ...win, method: `best of ${all} GB/s, here ${winLabel}: ${win.method}` };
}

export async function measureBandwidth(opts: BandwidthOptions): Promise<BandwidthResult> {
  const log = opts.log ?? (() => {});
  const elements = Math.floor(opts.bufferBytes / 4 / ROW) * ROW;
  if (elements < ROW * 16) throw new Error(`bandwidth buffer of ${opts.bufferBytes} bytes is too small`);
  log(`touching a ${((elements * 4) / MiB).toFixed(0)} MiB read buffer`);
  const x = touched(elements);
  const t = opts.threads;
  const tKey = t === 1 ? '1_thread' : `${t}_threads`;
  const extra: Record<string, Figure> = {};
  const reads: Array<[string, Figure]> = [];
  const copies: Array<[string, Figure]> = [];
  const notes: string[] = [];
  const keep = (list: Array<[string, Figure]>, key: string, label: string, f: Figure): void => {
    extra[key] = f;
    list.push([label, f]);
  };
  log(`read: ReduceSum, ${t} thread(s)`);
  keep(reads, `read_reducesum_${tKey}`, `ReduceSum ${t} thr`, await measureOrtRead(x, t, opts.budget));
  if (t !== 1) {
    log('read: ReduceSum, 1 thread');
    keep(reads, 'read_reducesum_1_thread', 'ReduceSum 1 thr', await measureOrtRead(x, 1, opts.budget));
  }
  log(`read: GEMV, ${t} thread(s)`);
  keep(reads, `read_gemv_${tKey}`, `GEMV ${t} thr`, await measureOrtGemv(x, t, opts.budget));
  log(`copy: ${t} worker(s)`);
  keep(copies, `copy_workers_${tKey}`, `${t} workers`, await measureWorkerCopy(x.byteLength / 2, t, opts.budget));
  if (t !== 1) {
    log('copy: 1 JS thread');
    keep(copies, 'copy_js_1_thread', '1 JS thread', await measureJsCopy(x, opts.budget));
  }
  return { read: bestOf(reads, notes, 'read'), copy: bestOf(copies, notes, 'copy'), extra, notes };
}
