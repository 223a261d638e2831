/**
 * Import speed of the JSON tool outputs at the sizes real runs produce: an ONNX Runtime profile
 * of 300k trace events (a VLM decode run) and a trtexec --exportTimes file of 10k records.
 * Before issue 18 each element's line was found by rescanning the text (quadratic: 10k events
 * took 73 s); budget now: seconds.
 *
 *   npm run bench:parsers [-- --events N --records N]
 */
import { loadavg } from 'node:os';
import { parseOrtProfile } from '../parsers/ort-profile.ts';
import { parseTrtexecTimes } from '../parsers/trtexec.ts';
import { syntheticOrtProfile, syntheticTrtexecTimes } from './synthetic-logs.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} expects a positive integer`);
  return v;
}

function timed<T>(what: string, bytes: number, fn: () => T): T {
  const t0 = process.hrtime.bigint();
  const out = fn();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  process.stdout.write(`${what.padEnd(40)} ${(bytes / 2 ** 20).toFixed(1).padStart(6)} MiB  ${s.toFixed(2).padStart(7)} s\n`);
  return out;
}

const events = arg('--events', 300_000);
const records = arg('--records', 10_000);
process.stdout.write(`load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);

const profile = syntheticOrtProfile(events);
const parsed = timed(`ort-profile, ${events} events`, Buffer.byteLength(profile), () => parseOrtProfile(profile, 'synthetic-profile.json'));
if (parsed.eventCount !== events) throw new Error(`expected ${events} events, parsed ${parsed.eventCount}`);

const times = syntheticTrtexecTimes(records);
const parsedTimes = timed(`trtexec --exportTimes, ${records} records`, Buffer.byteLength(times), () => parseTrtexecTimes(times, 'times.json'));
if (parsedTimes.inferences.length !== records) throw new Error(`expected ${records} records, parsed ${parsedTimes.inferences.length}`);
