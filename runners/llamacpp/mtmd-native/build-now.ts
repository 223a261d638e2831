/**
 * `npm run build:mtmd`: builds (or finds in the cache) llama.cpp's mtmd addon for this machine's
 * library package now, and prints the build time and key. CI runs it before the tests so the
 * tests' first image cell does not pay for it.
 */
import { ensureMtmdAddon } from './build.ts';
import { resolveLlamaLibrary } from './library.ts';

const library = resolveLlamaLibrary('auto');
const started = Date.now();
const build = await ensureMtmdAddon(library, { log: (m) => console.log(m) });
const { info } = build;
console.log(build.built ? `built in ${(info.buildMs / 1000).toFixed(1)} s (${info.jobs} jobs, ${info.compiler})` : `cached (built ${info.builtAt} in ${(info.buildMs / 1000).toFixed(1)} s); checked in ${((Date.now() - started) / 1000).toFixed(1)} s`);
console.log(`key ${info.key}\naddon ${build.addonPath}\nlibrary ${info.library} (llama.cpp ${info.llamaCppTag}, ${info.llamaCppCommit.slice(0, 12)})\nsystem info ${info.systemInfo}`);
