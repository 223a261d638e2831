/**
 * `npx tsx bench/calibrate-check.ts`: checks `bench calibrate`'s read bandwidth against an
 * independent measurement, and shows whether the figure depends on the buffer size.
 *
 * Independent measurement: a small C program (below, compiled here with the system C compiler)
 * whose threads each first-touch, then read (a vectorised 64-bit integer sum) or copy (memcpy)
 * their own slice of one buffer, started together at a barrier; best of several repetitions,
 * as STREAM does. It shares no code, runtime or allocator with the ORT measurement. It stays
 * running and takes commands on stdin, so its rounds interleave with the ORT rounds: on a
 * machine other jobs are using, both see the same conditions.
 *
 * Size sweep: the ORT read at several buffer sizes; where the figure stops changing, the
 * buffer no longer fits in cache, which is what the calibration's default size relies on.
 *
 * Options (env): CHECK_BUFFER_MIB (256, the calibration default), CHECK_THREADS (all logical
 * CPUs), CHECK_ROUNDS (3), CHECK_REPS (minimum C repetitions per round, 5; each round also runs
 * for the ORT measurement's time budget), CHECK_SWEEP (MiB list,
 * "32,64,128,256,512"; "" skips), CC (compiler, "cc"). Exit code 1 when the read figures differ
 * by more than 25%.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { measureOrtRead, touched } from '../roofline/calibrate/bandwidth.ts';
import { calibrate } from '../roofline/calibrate/calibrate.ts';

const bufferMiB = Number(process.env['CHECK_BUFFER_MIB'] ?? 256);
const threads = Number(process.env['CHECK_THREADS'] ?? availableParallelism());
const rounds = Number(process.env['CHECK_ROUNDS'] ?? 3);
const reps = Number(process.env['CHECK_REPS'] ?? 5);
const sweep = (process.env['CHECK_SWEEP'] ?? '32,64,128,256,512').split(',').filter(Boolean).map(Number);
const cc = process.env['CC'] ?? 'cc';
const TOLERANCE = 0.25;
const BUDGET = { timeMs: 400, minIterations: 5, warmupIterations: 2 };

const C_SOURCE = String.raw`
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct { uint64_t *src, *dst; size_t n; uint64_t sum; } Slice;
static pthread_barrier_t start, stop;
static volatile int mode;  /* 0 read, 1 copy, 2 quit, 3 read by thread 0 alone; set before the start barrier */
static uint64_t *all; static size_t total;

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

static void *work(void *p) {
  Slice *s = p;
  for (size_t i = 0; i < s->n; i++) { s->src[i] = i; s->dst[i] = 0; }  /* first touch by the owner */
  pthread_barrier_wait(&stop);
  for (;;) {
    pthread_barrier_wait(&start);
    if (mode == 2) return 0;
    if (mode == 0) { uint64_t a = 0; for (size_t i = 0; i < s->n; i++) a += s->src[i]; s->sum += a; }
    else if (mode == 3) { if (s->src == all) { uint64_t a = 0; for (size_t i = 0; i < total; i++) a += all[i]; s->sum += a; } }
    else memcpy(s->dst, s->src, s->n * 8);
    pthread_barrier_wait(&stop);
  }
}

int main(int argc, char **argv) {
  if (argc < 5) { fprintf(stderr, "usage: bw MIB THREADS MIN_REPS MIN_SECONDS, then r/s/c/q lines on stdin\n"); return 2; }
  size_t mib = strtoul(argv[1], 0, 10); int threads = atoi(argv[2]); int reps = atoi(argv[3]); double seconds = atof(argv[4]);
  if (threads < 1 || threads > 256) { fprintf(stderr, "threads must be 1..256\n"); return 2; }
  size_t n = mib * 1024 * 1024 / 8 / threads * threads;
  uint64_t *src = aligned_alloc(4096, n * 8), *dst = aligned_alloc(4096, n * 8);
  if (!src || !dst) { fprintf(stderr, "out of memory\n"); return 1; }
  all = src; total = n;
  pthread_barrier_init(&start, 0, threads + 1); pthread_barrier_init(&stop, 0, threads + 1);
  pthread_t th[256]; Slice sl[256];
  for (int t = 0; t < threads; t++) { sl[t] = (Slice){ src + n / threads * t, dst + n / threads * t, n / threads, 0 }; pthread_create(&th[t], 0, work, &sl[t]); }
  pthread_barrier_wait(&stop);
  printf("ready\n"); fflush(stdout);
  char line[16];
  while (fgets(line, sizeof line, stdin)) {
    if (line[0] == 'q') break;
    mode = line[0] == 'c' ? 1 : line[0] == 's' ? 3 : 0;
    double best = 0, began = now();
    for (int r = 0; r < reps || now() - began < seconds; r++) {
      /* t0 before releasing the workers: a main thread descheduled after the barrier must
         not start the clock late (that would overstate the bandwidth). */
      double t0 = now(); pthread_barrier_wait(&start); pthread_barrier_wait(&stop); double dt = now() - t0;
      double gbs = (mode == 1 ? 2.0 : 1.0) * n * 8 / dt / 1e9;
      if (gbs > best) best = gbs;
    }
    printf("%s %.3f\n", mode == 1 ? "copy" : "read", best); fflush(stdout);
  }
  mode = 2; pthread_barrier_wait(&start);
  uint64_t check = 0; for (int t = 0; t < threads; t++) { pthread_join(th[t], 0); check += sl[t].sum; }
  printf("checksum %llu\n", (unsigned long long)check);
  return 0;
}
`;

/** The C benchmark as a child process that answers one line per command. */
async function startIndependent(dir: string): Promise<{ ask: (cmd: 'r' | 'c' | 's') => Promise<number>; quit: () => void }> {
  const src = join(dir, 'bw.c');
  const bin = join(dir, 'bw');
  writeFileSync(src, C_SOURCE);
  execFileSync(cc, ['-O3', '-march=native', '-pthread', src, '-o', bin], { stdio: ['ignore', 'inherit', 'inherit'] });
  // As many repetitions as the ORT measurement gets (its time budget), so that on a busy
  // machine both have the same chance of catching the cores free.
  const child = spawn(bin, [String(bufferMiB), String(threads), String(reps), String(BUDGET.timeMs / 1000)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<string> => {
    const r = await lines.next();
    if (r.done) throw new Error('the C benchmark exited early');
    return r.value;
  };
  const first = await next();
  if (first !== 'ready') throw new Error(`C benchmark said "${first}" instead of "ready"`);
  return {
    async ask(cmd) {
      child.stdin.write(`${cmd}\n`);
      const m = (await next()).match(/^(read|copy) ([\d.]+)$/);
      if (!m) throw new Error('unexpected C benchmark output');
      return Number(m[2]);
    },
    quit() {
      child.stdin.end('q\n');
    },
  };
}

const log = (m: string) => process.stderr.write(`${m}\n`);
const load = () => loadavg().map((v) => v.toFixed(2)).join(' ');
const out: string[] = [];

log(`bench calibrate (local, ${bufferMiB} MiB, ${threads} threads)...`);
const loadBefore = load();
const cal = await calibrate({ target: 'local', threads, bufferMiB, log: (m) => log(`  ${m}`) });
out.push(`bench calibrate: read ${cal.bandwidth.read!.value.toFixed(2)} GB/s, copy ${cal.bandwidth.copy!.value.toFixed(2)} GB/s (load average before: ${loadBefore})`);
for (const [k, f] of Object.entries(cal.bandwidth.extra)) out.push(`  reference ${k}: ${f.value.toFixed(2)} GB/s`);
for (const [k, f] of Object.entries(cal.matmul)) out.push(`  matmul ${k}: ${f.value.toFixed(1)} G op/s (median ${f.samples?.median.toFixed(1)})`);

const dir = mkdtempSync(join(tmpdir(), 'calibrate-check-'));
// Best rates seen, by source and thread count.
const best = { ortT: 0, ort1: 0, cT: 0, c1: 0, cCopy: 0 };
let cRan = false;
// Best ORT read / best C read of each round: the two measured in the same minute of load.
const ratios: number[] = [];
try {
  log(`independent C benchmark (${cc}, ${bufferMiB} MiB), ${rounds} interleaved rounds...`);
  const c = await startIndependent(dir);
  const x = touched(Math.floor((bufferMiB * 2 ** 20) / 4 / 4096) * 4096);
  out.push(
    '',
    `| round | load average | ORT read, ${threads} thr | ORT read, 1 thr | C read, ${threads} thr | C read, 1 thr | C copy, ${threads} thr | ORT/C, same window |`,
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (let r = 1; r <= rounds; r++) {
    const l = load();
    const row = {
      ortT: (await measureOrtRead(x, threads, BUDGET)).value,
      ort1: threads === 1 ? 0 : (await measureOrtRead(x, 1, BUDGET)).value,
      cT: await c.ask('r'),
      c1: await c.ask('s'),
      cCopy: await c.ask('c'),
    };
    for (const k of Object.keys(best) as Array<keyof typeof best>) best[k] = Math.max(best[k], row[k]);
    const windowRatio = Math.max(row.ortT, row.ort1) / Math.max(row.cT, row.c1);
    ratios.push(windowRatio);
    out.push(`| ${r} | ${l} | ${row.ortT.toFixed(2)} | ${row.ort1.toFixed(2)} | ${row.cT.toFixed(2)} | ${row.c1.toFixed(2)} | ${row.cCopy.toFixed(2)} | ${windowRatio.toFixed(3)} |`);
  }
  c.quit();
  cRan = true;
} catch (err) {
  log(`  could not build or run the C benchmark (${err instanceof Error ? err.message.split('\n')[0] : String(err)}); install a C compiler (apt-get install gcc) or set CC`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

if (sweep.length) {
  log('size sweep of the ORT read...');
  out.push('', `| buffer MiB | ORT read GB/s, ${threads} thr (best) | median |`, '| ---: | ---: | ---: |');
  for (const mib of sweep) {
    const f = await measureOrtRead(touched(Math.floor((mib * 2 ** 20) / 4 / 4096) * 4096), threads, BUDGET);
    out.push(`| ${mib} | ${f.value.toFixed(2)} | ${f.samples!.median.toFixed(2)} |`);
  }
}

if (cRan) {
  const calRead = cal.bandwidth.read!.value;
  const cBest = Math.max(best.cT, best.c1);
  const ratio = calRead / cBest;
  const ok = Math.abs(ratio - 1) <= TOLERANCE;
  out.push(
    '',
    `same method and thread count, best over the rounds: ${threads} threads ORT/C = ${(best.ortT / best.cT).toFixed(3)}; 1 thread ORT/C = ${threads === 1 ? '–' : (best.ort1 / best.c1).toFixed(3)}`,
    `per-round ORT/C (best of either thread count, same window): ${ratios.map((r) => r.toFixed(3)).join(', ')}`,
    `bench calibrate's read figure ${calRead.toFixed(2)} GB/s vs the C benchmark's best ${cBest.toFixed(2)} GB/s (any thread count, all rounds): ratio ${ratio.toFixed(3)}, ${ok ? 'within' : 'OUTSIDE'} ${TOLERANCE * 100}%`,
  );
  process.exitCode = ok ? 0 : 1;
}
process.stdout.write(`${out.join('\n')}\n`);
