/**
 * `bench doctor --target T`: preflight of a target before a suite runs on it. Reachable (and if
 * not, why: unreachable / key refused / host key), what one command costs, the vendor tools its
 * probes need, free memory and Axera CMM, Jetson power mode and clocks, the clock offset to the
 * run clock, and whether each probe can read anything. A table of ok / warn / fail; exit 1 when
 * something fails. `preflight(target)` is the same check for the run loop.
 */
import { createClock, type Clock } from '../core/clock.ts';
import { parseCmmInfo } from '../hw-probes/axera/parse.ts';
import { CMM_INFO } from '../hw-probes/axera/probe.ts';
import { createProbes } from '../hw-probes/detect.ts';
import { isProbeName, probeDescriptor, probeTools, type BoardCheck } from '../hw-probes/registry.ts';
import { parseNvpmodelQuery } from '../hw-probes/tegrastats/facts.ts';
import type { ClockAlignment } from '../targets/command-transport.ts';
import { parseJetsonClocks, unlockedDomains } from '../targets/jetson-clocks.ts';
import { checkProgram } from '../targets/runner-target.ts';
import { SshTransport } from '../targets/ssh-transport.ts';
import { resolveTarget, transportFor } from '../targets/targets.ts';
import type { TargetDefinition, TargetTransport } from '../targets/types.ts';
import { errorMessage } from '../core/errors.ts';


export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface PreflightCheck {
  name: string;
  status: CheckStatus;
  detail: string;
}

export interface PreflightReport {
  target: string;
  transport: string;
  checks: PreflightCheck[];
  /** False when any check failed. */
  ok: boolean;
  /** Facts worth recording with a run (power mode, tool paths, CMM). */
  facts: Record<string, string>;
  clock?: ClockAlignment;
}

export interface PreflightOptions {
  /** Use this transport (a run's shared one) instead of opening a new one. */
  transport?: TargetTransport;
  clock?: Clock;
  /** Programs the suite will run, checked as required ("llama-mtmd-cli"). */
  tools?: string[];
}

/** Whether a probe the target lists asks for this board check (its descriptor says which board it is for). */
const wantsBoardCheck = (target: TargetDefinition, check: BoardCheck): boolean =>
  (target.probes ?? []).some((p) => probeDescriptor(p)?.boardChecks?.includes(check));

const ROUND_TRIP_WARN_MS = 500;
const CLOCK_ERROR_WARN_MS = 50;
const CMM_BUSY_WARN = 0.1;
const MEM_AVAILABLE_WARN = 0.1;

/** A figure with at most `digits` decimals and no trailing zeros. */
const fmt = (v: number, digits = 1) => String(Number(v.toFixed(digits)));

async function text(transport: TargetTransport, argv: string[], timeoutMs = 15_000): Promise<{ ok: boolean; out: string; why: string }> {
  const r = await transport.run(argv, { timeoutMs });
  const out = `${r.stdout}${r.stderr ? `\n${r.stderr}` : ''}`;
  if (r.failure) return { ok: false, out, why: r.error ?? 'failed' };
  if (r.code !== 0) return { ok: false, out, why: `exit ${r.code}${r.stderr.trim() ? `: ${r.stderr.trim().split('\n').pop()}` : ''}` };
  return { ok: true, out: r.stdout, why: '' };
}

export async function preflight(target: TargetDefinition, opts: PreflightOptions = {}): Promise<PreflightReport> {
  const transport = opts.transport ?? transportFor(target);
  const clock = opts.clock ?? createClock();
  const checks: PreflightCheck[] = [];
  const facts: Record<string, string> = {};
  const add = (name: string, status: CheckStatus, detail: string) => checks.push({ name, status, detail });
  const report = (): PreflightReport => ({ target: target.name, transport: transport.name, checks, ok: !checks.some((c) => c.status === 'fail'), facts });

  try {
    // Reachable: for SSH this opens the master connection and says precisely why it cannot.
    if (transport instanceof SshTransport) {
      const c = await transport.connect();
      if (c.failure) {
        add('reachable', 'fail', c.error ?? 'cannot connect');
        return report();
      }
      add('reachable', 'ok', `${transport.where}: connected in ${fmt(c.wallMs, 0)} ms`);
    } else {
      add('reachable', 'ok', 'this machine');
    }

    const trips: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await transport.run(['true']);
      if (r.failure || r.code !== 0) {
        add('command round trip', 'fail', r.error ?? `true exited with ${r.code}`);
        return report();
      }
      trips.push(r.wallMs);
    }
    const trip = [...trips].sort((a, b) => a - b)[1]!;
    add('command round trip', trip > ROUND_TRIP_WARN_MS ? 'warn' : 'ok', `${fmt(trip, 0)} ms per command${trip > ROUND_TRIP_WARN_MS ? ' (slow: login shell rc files or the network add to every tool call)' : ''}`);

    const uname = await text(transport, ['uname', '-srm']);
    if (uname.ok) {
      facts['os'] = uname.out.trim();
      add('system', 'ok', uname.out.trim());
    } else add('system', 'warn', `uname: ${uname.why}`);

    // Tools the probes (and the suite) need.
    const wanted: Array<{ tool: string; required: boolean; why: string }> = [];
    wanted.push(...probeTools(target.probes ?? []));
    for (const t of opts.tools ?? []) wanted.push({ tool: t, required: true, why: 'run by the suite' });
    if (wanted.length === 0) add('tools', 'ok', 'no probes or tools listed for this target: nothing to look for');
    for (const w of wanted) {
      const found = await checkProgram(transport, w.tool);
      if (found.ok) {
        facts[`tool.${w.tool}`] = found.path!;
        add(`tool ${w.tool}`, 'ok', found.path!);
      } else add(`tool ${w.tool}`, w.required ? 'fail' : 'warn', `${found.error} — needed for ${w.why}`);
    }

    const meminfo = await text(transport, ['cat', '/proc/meminfo']);
    const total = /^MemTotal:\s+(\d+) kB/m.exec(meminfo.out);
    const avail = /^MemAvailable:\s+(\d+) kB/m.exec(meminfo.out);
    if (meminfo.ok && total && avail) {
      const t = Number(total[1]) / 1024;
      const a = Number(avail[1]) / 1024;
      facts['memory.available_mib'] = fmt(a, 0);
      facts['memory.total_mib'] = fmt(t, 0);
      add('memory', a / t < MEM_AVAILABLE_WARN ? 'warn' : 'ok', `${fmt(a, 0)} MiB available of ${fmt(t, 0)} MiB${a / t < MEM_AVAILABLE_WARN ? ' (little room for a model)' : ''}`);
    } else add('memory', 'warn', `/proc/meminfo not readable (${meminfo.why || 'no MemTotal/MemAvailable'})`);

    // Axera CMM: NPU models live there; memory held by a crashed process makes the next load fail.
    const cmmText = await text(transport, ['cat', CMM_INFO]);
    if (cmmText.ok) {
      try {
        const cmm = parseCmmInfo(cmmText.out, `${CMM_INFO} on ${transport.name}`);
        const usedShare = cmm.usedKb / cmm.totalKb;
        facts['cmm.total_mib'] = fmt(cmm.totalKb / 1024, 0);
        facts['cmm.used_kib'] = fmt(cmm.usedKb, 0);
        add(
          'CMM',
          usedShare > CMM_BUSY_WARN ? 'warn' : 'ok',
          `${fmt(cmm.usedKb, 0)} KiB used of ${fmt(cmm.totalKb / 1024, 0)} MiB (${fmt(usedShare * 100)}%)${usedShare > CMM_BUSY_WARN ? ': already in use before the run (another process, or NPU memory a crashed one left behind)' : ''}`,
        );
      } catch (err) {
        add('CMM', 'warn', errorMessage(err));
      }
    } else if (wantsBoardCheck(target, 'axera-cmm')) {
      add('CMM', 'warn', `${CMM_INFO} not readable on ${transport.name} (${cmmText.why}): not an AX650N board, or the Axera driver is not loaded`);
    }

    if (facts['tool.nvpmodel'] || wantsBoardCheck(target, 'jetson-power-mode')) {
      const nvp = await text(transport, ['nvpmodel', '-q']);
      const mode = parseNvpmodelQuery(nvp.out);
      if (mode) {
        facts['power.nvpmodel'] = mode.mode;
        if (mode.id !== undefined) facts['power.nvpmodel_id'] = String(mode.id);
        add('power mode', 'ok', `nvpmodel: ${mode.mode}${mode.id !== undefined ? ` (id ${mode.id})` : ''}`);
      } else add('power mode', 'warn', `nvpmodel -q: ${nvp.why || 'printed no "NV Power Mode" line'}`);

      const jc = await text(transport, ['jetson_clocks', '--show']);
      if (jc.ok) {
        try {
          const clocks = parseJetsonClocks(jc.out, `jetson_clocks --show on ${transport.name}`);
          const slow = unlockedDomains(clocks);
          for (const d of clocks.domains) if (!/^cpu/.test(d.name)) facts[`clock.${d.name.toLowerCase()}_mhz`] = `${fmt(d.currentMhz, 2)}/${fmt(d.maxMhz, 2)}`;
          add(
            'clocks',
            slow.length ? 'warn' : 'ok',
            slow.length
              ? `not locked: ${slow.map((d) => `${d.name} ${fmt(d.currentMhz, 2)} of ${fmt(d.maxMhz, 2)} MHz`).join(', ')} (sudo jetson_clocks locks them at maximum)`
              : `locked at maximum (${clocks.domains.length} domains)`,
          );
        } catch (err) {
          add('clocks', 'warn', errorMessage(err));
        }
      } else add('clocks', 'warn', `jetson_clocks --show: ${jc.why} (it needs root)`);
    }

    const alignment = await transport.alignClock(clock);
    const aligned = Number.isFinite(alignment.errorMs);
    add(
      'clock offset',
      !aligned || alignment.errorMs > CLOCK_ERROR_WARN_MS ? 'warn' : 'ok',
      aligned ? `${fmt(alignment.offsetMs, 1)} ms ± ${fmt(alignment.errorMs, 1)} ms (${alignment.method})` : alignment.method,
    );
    const rep = report();
    rep.clock = alignment;

    const names = (target.probes ?? []).filter(isProbeName);
    for (const { name, probe } of createProbes(transport, { only: names })) {
      try {
        const a = await probe.detect();
        add(`probe ${name}`, a.available ? 'ok' : 'warn', a.reason);
      } catch (err) {
        add(`probe ${name}`, 'warn', `detection failed: ${errorMessage(err)}`);
      }
    }
    rep.ok = !checks.some((c) => c.status === 'fail');
    // Doctor's warnings go with the run (environment.board), so its report shows the state it ran in.
    for (const c of checks) if (c.status === 'warn') facts[`doctor.warn.${c.name}`] = c.detail;
    return rep;
  } finally {
    if (!opts.transport) await transport.close();
  }
}
