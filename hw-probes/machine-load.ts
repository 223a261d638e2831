/**
 * How busy the machine was while a cell measured, read from Linux's own counters so a noisy
 * figure can be told from a slow one:
 * - load average (1 min) before and after, against the number of CPUs;
 * - CPU steal: the share of CPU time the hypervisor gave to other guests (/proc/stat);
 * - run-queue wait: the share of the time this process's threads were ready to run but waited
 *   for a CPU (/proc/self/task/N/schedstat: run ns, wait ns, timeslices). This is the direct
 *   measure of other processes taking our cores; ONNX Runtime's worker threads count too.
 * Fields are null where the kernel does not expose them (not Linux, schedstats off).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import type { MachineState } from '../core/result-types.ts';

interface CpuTimes {
  steal: number;
  total: number;
}

function readCpuTimes(): CpuTimes | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    const f = line.trim().split(/\s+/);
    if (f[0] !== 'cpu' || f.length < 9) return null;
    // user nice system idle iowait irq softirq steal (guest time is already inside user)
    const v = f.slice(1, 9).map(Number);
    if (v.some((x) => !Number.isFinite(x))) return null;
    return { steal: v[7]!, total: v.reduce((a, b) => a + b, 0) };
  } catch {
    return null;
  }
}

/** Thread id -> [run ns, wait ns] of every thread of this process. */
function readThreadSchedstats(): Map<string, [number, number]> | null {
  try {
    const out = new Map<string, [number, number]>();
    for (const tid of readdirSync('/proc/self/task')) {
      try {
        const [run, wait] = readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
        if (Number.isFinite(run) && Number.isFinite(wait)) out.set(tid, [run!, wait!]);
      } catch {
        // the thread ended between listing and reading
      }
    }
    return out.size ? out : null;
  } catch {
    return null;
  }
}

export interface MachineWindow {
  finish(): MachineState;
}

/** Starts a window; finish() returns what the machine did during it. */
export function startMachineWindow(): MachineWindow {
  const loadBefore = loadavg()[0]!;
  const cpu0 = readCpuTimes();
  const sched0 = readThreadSchedstats();
  return {
    finish(): MachineState {
      const cpu1 = readCpuTimes();
      const sched1 = readThreadSchedstats();
      let stealPct: number | null = null;
      if (cpu0 && cpu1 && cpu1.total > cpu0.total) stealPct = ((cpu1.steal - cpu0.steal) / (cpu1.total - cpu0.total)) * 100;
      let runQueueWaitPct: number | null = null;
      if (sched0 && sched1) {
        let run = 0;
        let wait = 0;
        // Threads born during the window count from zero; threads that ended are lost (their
        // counters go with them), which can only understate the wait.
        for (const [tid, [r1, w1]] of sched1) {
          const [r0, w0] = sched0.get(tid) ?? [0, 0];
          run += r1 - r0;
          wait += w1 - w0;
        }
        // All zeros: schedstats are compiled in but not collected (kernel.sched_schedstats=0).
        if (run + wait > 0 && !(run > 0 && wait === 0 && allWaitsZero(sched1))) runQueueWaitPct = (wait / (run + wait)) * 100;
      }
      return { cpus: availableParallelism(), loadAvg1Before: loadBefore, loadAvg1After: loadavg()[0]!, stealPct, runQueueWaitPct };
    },
  };
}

/** A kernel without schedstat collection reports wait 0 for every thread, ever. */
function allWaitsZero(stats: Map<string, [number, number]>): boolean {
  for (const [, [, w]] of stats) if (w > 0) return false;
  return true;
}
