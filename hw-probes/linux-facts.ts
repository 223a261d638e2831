import { tryList, tryReadText, type FileSource } from './files.ts';

/** A file's number, or NaN when it is missing or blank (Number('') would be 0). */
async function readNumber(files: FileSource, path: string): Promise<number> {
  const text = (await tryReadText(files, path))?.trim();
  return text ? Number(text) : Number.NaN;
}

/**
 * Clock settings that decide whether two runs are comparable: CPU frequency policies (governor,
 * min/max) and devfreq devices (the Jetson GPU, EMC, an NPU). Keys are flat so they drop into
 * Environment.board: "cpufreq.policy0.governor", "devfreq.17000000.ga10b.max_mhz".
 */
export async function readClockFacts(files: FileSource): Promise<Record<string, string>> {
  const facts: Record<string, string> = {};
  const policies = (await tryList(files, '/sys/devices/system/cpu/cpufreq'))?.filter((n) => /^policy\d+$/.test(n)) ?? [];
  for (const policy of policies) {
    const dir = `/sys/devices/system/cpu/cpufreq/${policy}`;
    const governor = (await tryReadText(files, `${dir}/scaling_governor`))?.trim();
    if (governor) facts[`cpufreq.${policy}.governor`] = governor;
    for (const [file, key] of [
      ['scaling_min_freq', 'min_mhz'],
      ['scaling_max_freq', 'max_mhz'],
      ['cpuinfo_max_freq', 'hw_max_mhz'],
    ] as const) {
      const khz = await readNumber(files, `${dir}/${file}`);
      if (Number.isFinite(khz) && khz > 0) facts[`cpufreq.${policy}.${key}`] = String(Math.round(khz / 1000));
    }
    const cpus = (await tryReadText(files, `${dir}/related_cpus`))?.trim();
    if (cpus) facts[`cpufreq.${policy}.cpus`] = cpus;
  }
  const devices = (await tryList(files, '/sys/class/devfreq')) ?? [];
  for (const dev of devices) {
    const dir = `/sys/class/devfreq/${dev}`;
    const governor = (await tryReadText(files, `${dir}/governor`))?.trim();
    if (governor) facts[`devfreq.${dev}.governor`] = governor;
    for (const [file, key] of [
      ['cur_freq', 'cur_mhz'],
      ['min_freq', 'min_mhz'],
      ['max_freq', 'max_mhz'],
    ] as const) {
      const hz = await readNumber(files, `${dir}/${file}`);
      if (Number.isFinite(hz) && hz > 0) facts[`devfreq.${dev}.${key}`] = String(Math.round(hz / 1e6));
    }
  }
  return facts;
}

/** Thermal zones as name -> °C (`type` and millidegree `temp` files). */
export async function readThermalZones(files: FileSource): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const zones = (await tryList(files, '/sys/class/thermal'))?.filter((n) => /^thermal_zone\d+$/.test(n)) ?? [];
  for (const zone of zones) {
    const milli = await readNumber(files, `/sys/class/thermal/${zone}/temp`);
    if (!Number.isFinite(milli)) continue;
    const type = (await tryReadText(files, `/sys/class/thermal/${zone}/type`))?.trim() || zone;
    out[out[type] === undefined ? type : `${type}.${zone}`] = milli / 1000;
  }
  return out;
}
