/**
 * Child process of the mtmd build-lock test: runs buildOnce(ROOT, KEY) with a "build" that
 * records its pid in ROOT/produced.log and takes 1.5 s, then prints whether this process built.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BUILD_INFO_FILE, buildOnce } from '../../../runners/llamacpp/mtmd-native/build.ts';

const [root, key] = process.argv.slice(2) as [string, string];
const built = await buildOnce(root, key, async (tmp) => {
  appendFileSync(join(root, 'produced.log'), `${process.pid}\n`);
  await sleep(1500);
  writeFileSync(join(tmp, BUILD_INFO_FILE), JSON.stringify({ pid: process.pid }));
});
process.stdout.write(JSON.stringify({ pid: process.pid, built }));
