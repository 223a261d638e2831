/**
 * The first-use build of the suite's mtmd addon (addon.cc beside this file), cached per machine
 * and library version.
 *
 * Only llama.cpp's multimodal library (tools/mtmd) and our N-API glue are compiled; they link
 * against the prebuilt shared libllama / libggml / libggml-base of node-llama-cpp's installed
 * library package (library.ts), with that folder as RUNPATH, so the addon runs the same
 * llama.cpp build as the text cells, on ggml's best CPU variant for the machine. The sources come
 * from the llama.cpp tree node-llama-cpp ships as a git bundle (`llama/gitRelease.bundle`, the
 * release of its prebuilt libraries, `llama/llama.cpp.info.json`): cloned offline into a temp
 * folder, compiled with g++ (one job per core), linked, loaded once in a child process to check it,
 * then renamed atomically into `<cache>/<key>/`. The key covers everything that changes the
 * binary: node-llama-cpp's version, the llama.cpp tag and bundle commit, our sources, the
 * compiler's version, platform/arch and the library package. A lock file makes concurrent
 * processes (vitest workers, two runs) build once: the others wait and use the result.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import lockfile from 'proper-lockfile';
import { errorMessage, InputError } from '../../../core/errors.ts';
import type { LlamaLibrary } from './library.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = resolve(HERE, '..', '..', '..');
/** Our sources: any change to them is a new build (part of the key). */
const ADDON_SOURCES = ['addon.cc'];
/** Compiler flags (part of the key). N-API 8: Node >= 12.22 / 14.17 / 16. */
const CXX_FLAGS = ['-std=c++17', '-O2', '-DNDEBUG', '-fPIC', '-w', '-DLLAMA_SHARED', '-DNAPI_VERSION=8', '-DNAPI_DISABLE_CPP_EXCEPTIONS'];
/** The addon file inside a build folder. */
export const ADDON_FILE = 'vlm-bench-mtmd.node';
/** Facts of a finished build, written beside the addon. */
export const BUILD_INFO_FILE = 'build.json';

export interface MtmdBuildInfo {
  key: string;
  nodeLlamaCpp: string;
  llamaCppTag: string;
  llamaCppCommit: string;
  library: string;
  libraryDir: string;
  compiler: string;
  platform: string;
  arch: string;
  sourcesHash: string;
  /** Wall time of the build on this machine (clone, compile, link, check), ms. */
  buildMs: number;
  jobs: number;
  /** llama_print_system_info() of the checked load. */
  systemInfo: string;
  builtAt: string;
}

export interface MtmdAddonBuild {
  dir: string;
  addonPath: string;
  info: MtmdBuildInfo;
  /** This call built it (false: the cache had it, or another process built it meanwhile). */
  built: boolean;
}

/** Where builds are cached: BENCH_MTMD_CACHE_DIR, else `llama-mtmd` in BENCH_CACHE_DIR, else `.cache/llama-mtmd`. */
export function mtmdCacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env['BENCH_MTMD_CACHE_DIR']) return env['BENCH_MTMD_CACHE_DIR'];
  return env['BENCH_CACHE_DIR'] ? join(env['BENCH_CACHE_DIR'], 'llama-mtmd') : join(REPO_ROOT, '.cache', 'llama-mtmd');
}

function nodeLlamaCppDir(): string {
  return resolve(dirname(fileURLToPath(import.meta.resolve('node-llama-cpp'))), '..');
}

/** node-llama-cpp's version and the llama.cpp release its bundle and prebuilt libraries are. */
export function llamaCppSource(): { nodeLlamaCpp: string; tag: string; bundle: string } {
  const dir = nodeLlamaCppDir();
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string };
  const infoPath = join(dir, 'llama', 'llama.cpp.info.json');
  const bundle = join(dir, 'llama', 'gitRelease.bundle');
  if (!existsSync(infoPath) || !existsSync(bundle)) {
    throw new InputError(`node-llama-cpp ${pkg.version} has no llama.cpp source bundle (${bundle}): the mtmd addon cannot be built; reinstall node-llama-cpp (npm ci)`);
  }
  const info = JSON.parse(readFileSync(infoPath, 'utf8')) as { tag?: unknown };
  if (typeof info.tag !== 'string' || !/^[\w.-]+$/.test(info.tag)) throw new InputError(`${infoPath}: no llama.cpp tag`);
  return { nodeLlamaCpp: pkg.version, tag: info.tag, bundle };
}

/** Runs a tool; a missing one is an InputError saying what to install. */
async function tool(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; install: string }): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)(cmd, args, { cwd: opts.cwd, env: opts.env, maxBuffer: 16 << 20 });
    return stdout;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new InputError(`${cmd} not found — ${opts.install} (needed once, to build llama.cpp's mtmd addon for image cells on the llamacpp runner)`);
    }
    throw err;
  }
}

export function compilerFor(env: NodeJS.ProcessEnv): string {
  return env['CXX'] || 'g++';
}

async function compilerVersion(env: NodeJS.ProcessEnv): Promise<string> {
  const out = await tool(compilerFor(env), ['--version'], { env, install: 'apt-get install g++' });
  return out.split('\n')[0]!.trim();
}

function sourcesHash(): string {
  const h = createHash('sha256');
  for (const f of ADDON_SOURCES) h.update(f).update(readFileSync(join(HERE, f)));
  h.update(CXX_FLAGS.join(' '));
  return h.digest('hex').slice(0, 16);
}

/** The build key and its parts (no build). */
export async function mtmdBuildKey(library: LlamaLibrary, env: NodeJS.ProcessEnv = process.env): Promise<{ key: string; parts: Omit<MtmdBuildInfo, 'buildMs' | 'jobs' | 'systemInfo' | 'builtAt' | 'llamaCppCommit'> & { bundleHead: string } }> {
  const src = llamaCppSource();
  const compiler = await compilerVersion(env);
  // The bundle's commit pins the sources exactly (a re-tagged release would change it).
  const heads = await tool('git', ['bundle', 'list-heads', src.bundle], { env, install: 'apt-get install git' });
  const bundleHead = heads.split(/\s+/)[0] ?? '';
  const parts = {
    key: '',
    nodeLlamaCpp: src.nodeLlamaCpp,
    llamaCppTag: src.tag,
    library: library.source,
    libraryDir: library.dir,
    compiler,
    platform: process.platform,
    arch: process.arch,
    sourcesHash: sourcesHash(),
    bundleHead,
  };
  const hash = createHash('sha256').update(JSON.stringify({ ...parts, libraryDir: undefined })).digest('hex').slice(0, 12);
  const flavour = library.choice.flavour;
  parts.key = `${src.tag}-${process.platform}-${process.arch}-${flavour}-${hash}`;
  return { key: parts.key, parts };
}

/**
 * Runs `produce(tmpDir)` once per `key` across processes: under a lock on `<root>/<key>.lock`,
 * if `<root>/<key>` does not exist, into a temp folder renamed to it when produce succeeds.
 * Returns whether this call produced it.
 */
export async function buildOnce(root: string, key: string, produce: (tmpDir: string) => Promise<void>, log: (msg: string) => void = () => {}): Promise<boolean> {
  const final = join(root, key);
  if (existsSync(join(final, BUILD_INFO_FILE))) return false;
  mkdirSync(root, { recursive: true });
  const release = await lockfile.lock(root, {
    lockfilePath: join(root, `${key}.lock`),
    realpath: false,
    // A holder refreshes the lock every 5 s; one older than 60 s is a dead process's.
    stale: 60_000,
    update: 5_000,
    // Waits up to 30 min for another process's build.
    retries: { retries: 1800, factor: 1, minTimeout: 1000, maxTimeout: 1000 },
    onCompromised: (err) => log(`mtmd build lock lost: ${errorMessage(err)}`),
  });
  try {
    if (existsSync(join(final, BUILD_INFO_FILE))) return false;
    // A leftover folder without build.json is a crashed build's: replaced.
    rmSync(final, { recursive: true, force: true });
    const tmp = join(root, `.tmp-${key}-${process.pid}`);
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp);
    try {
      await produce(tmp);
      renameSync(tmp, final);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    return true;
  } finally {
    await release();
  }
}

/** Runs commands `jobs` at a time; the first failure stops the rest and is thrown with its output. */
async function runParallel(commands: Array<{ cmd: string; args: string[]; label: string }>, jobs: number, env: NodeJS.ProcessEnv, logLines: string[]): Promise<void> {
  let next = 0;
  let failed: Error | undefined;
  const worker = async () => {
    while (!failed && next < commands.length) {
      const c = commands[next++]!;
      const output = await new Promise<{ code: number | null; out: string }>((done, reject) => {
        const child = spawn(c.cmd, c.args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        child.on('error', reject);
        child.on('close', (code) => done({ code, out }));
      });
      logLines.push(`$ ${c.cmd} ${c.args.join(' ')}`, ...(output.out ? [output.out.trimEnd()] : []));
      if (output.code !== 0) failed ??= new Error(`compiling ${c.label} failed (exit ${output.code}):\n${output.out.slice(-4000)}`);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, jobs) }, worker));
  if (failed) throw failed;
}

/** The .cpp files of the mtmd library target in tools/mtmd/CMakeLists.txt (add_library(mtmd ...)). */
export function mtmdLibrarySources(cmakeLists: string): string[] {
  const block = /add_library\(\s*mtmd\b([\s\S]*?)\)/.exec(cmakeLists)?.[1];
  if (!block) throw new Error('tools/mtmd/CMakeLists.txt: no add_library(mtmd ...)');
  return block.split(/\s+/).filter((f) => f.endsWith('.cpp'));
}

/** Loads a built addon in a child process (a crash there is not ours) and returns its system info. */
async function checkLoad(addonPath: string, libraryDir: string, env: NodeJS.ProcessEnv): Promise<string> {
  const script = 'const a = require(process.argv[1]); a.init(process.argv[2]); process.stdout.write(a.systemInfo());';
  try {
    return (await promisify(execFile)(process.execPath, ['-e', script, addonPath, libraryDir], { env, maxBuffer: 1 << 20 })).stdout.trim();
  } catch (err) {
    throw new Error(`the built mtmd addon does not load: ${errorMessage(err)}`);
  }
}

async function compileInto(out: string, library: LlamaLibrary, parts: Awaited<ReturnType<typeof mtmdBuildKey>>['parts'], env: NodeJS.ProcessEnv, log: (msg: string) => void): Promise<void> {
  const started = Date.now();
  const src = llamaCppSource();
  const tree = join(out, 'llama.cpp');
  const logLines: string[] = [];
  // Offline: the bundle is a file in node_modules.
  await tool('git', ['clone', '--quiet', '--no-checkout', src.bundle, tree], { env, install: 'apt-get install git' });
  await tool('git', ['-c', 'advice.detachedHead=false', 'checkout', '--quiet', parts.bundleHead], { cwd: tree, env, install: 'apt-get install git' });
  const commit = (await tool('git', ['rev-parse', 'HEAD'], { cwd: tree, env, install: 'apt-get install git' })).trim();
  const mtmdDir = join(tree, 'tools', 'mtmd');
  const hashDir = join(tree, 'vendor', 'hash');
  const napiDir = (pkg: string) => dirname(createRequireResolve(pkg));
  const includes = [
    join(tree, 'include'),
    join(tree, 'ggml', 'include'),
    mtmdDir,
    join(tree, 'vendor'),
    hashDir,
    join(napiDir('node-api-headers'), 'include'),
    napiDir('node-addon-api'),
  ].map((d) => `-I${d}`);
  const objDir = join(out, 'obj');
  mkdirSync(objDir);
  const cxx = compilerFor(env);
  const cc = env['CC'] || 'gcc';
  const mtmdSources = mtmdLibrarySources(readFileSync(join(mtmdDir, 'CMakeLists.txt'), 'utf8')).map((f) => join(mtmdDir, f));
  const objects: string[] = [];
  const compile = (file: string, asC: boolean, extra: string[] = []) => {
    const obj = join(objDir, `${objects.length}-${file.split('/').pop()}.o`);
    objects.push(obj);
    return asC
      ? { cmd: cc, args: ['-O2', '-DNDEBUG', '-fPIC', '-w', `-I${hashDir}`, '-c', file, '-o', obj], label: file }
      : { cmd: cxx, args: [...CXX_FLAGS, ...extra, ...includes, '-c', file, '-o', obj], label: file };
  };
  const commands = [
    compile(join(HERE, 'addon.cc'), false),
    // mtmd is built as the shared library llama.cpp's CMake makes (LLAMA_BUILD: its API exported).
    ...mtmdSources.map((f) => compile(f, false, ['-DLLAMA_BUILD'])),
    // vendor/hash as vendor/hash/CMakeLists.txt builds it: sha1.c as C++ (a namespace), the rest C.
    compile(join(hashDir, 'hash.cpp'), false),
    compile(join(hashDir, 'sha1', 'sha1.c'), false, ['-x', 'c++']),
    compile(join(hashDir, 'xxhash', 'xxhash.c'), true),
    compile(join(hashDir, 'sha256', 'sha256.c'), true),
  ];
  // -x c++ must come before the file it applies to: it is in `extra`, ahead of -c FILE.
  const jobs = availableParallelism();
  log(`building llama.cpp's mtmd addon (${commands.length} files, ${jobs} jobs) against ${library.source}; once per machine and library version`);
  try {
    await tool(cc, ['--version'], { env, install: 'apt-get install gcc' });
    await runParallel(commands, jobs, env, logLines);
    const addonPath = join(out, ADDON_FILE);
    const link = [
      '-shared', '-o', addonPath, ...objects,
      `-L${library.dir}`, `-l:${library.llama}`, `-l:${library.ggml}`, `-l:${library.ggmlBase}`,
      `-Wl,-rpath,${library.dir}`, '-lpthread',
    ];
    await runParallel([{ cmd: cxx, args: link, label: 'the addon (link)' }], 1, env, logLines);
    const systemInfo = await checkLoad(addonPath, library.dir, env);
    const info: MtmdBuildInfo = {
      key: parts.key,
      nodeLlamaCpp: parts.nodeLlamaCpp,
      llamaCppTag: parts.llamaCppTag,
      llamaCppCommit: commit,
      library: parts.library,
      libraryDir: parts.libraryDir,
      compiler: parts.compiler,
      platform: parts.platform,
      arch: parts.arch,
      sourcesHash: parts.sourcesHash,
      buildMs: Date.now() - started,
      jobs,
      systemInfo,
      builtAt: new Date().toISOString(),
    };
    writeFileSync(join(out, 'build.log'), logLines.join('\n') + '\n');
    // The sources and objects are not needed once linked (about 60 MB).
    rmSync(tree, { recursive: true, force: true });
    rmSync(objDir, { recursive: true, force: true });
    writeFileSync(join(out, BUILD_INFO_FILE), JSON.stringify(info, null, 2) + '\n');
  } catch (err) {
    // Keep the compiler's output next to the cache for a look (the temp folder is removed).
    const root = dirname(out);
    writeFileSync(join(root, `${parts.key}.failed.log`), logLines.join('\n') + `\n${errorMessage(err)}\n`);
    throw err;
  }
}

function createRequireResolve(pkg: string): string {
  // node-api-headers and node-addon-api are plain CommonJS packages with an index.js at their root.
  return fileURLToPath(import.meta.resolve(`${pkg}/package.json`));
}

/** The build's facts, read back (undefined when missing or unreadable). */
export function readBuildInfo(dir: string): MtmdBuildInfo | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, BUILD_INFO_FILE), 'utf8')) as MtmdBuildInfo;
  } catch {
    return undefined;
  }
}

/** The cached addon for this machine and library, built now if there is none. */
export async function ensureMtmdAddon(library: LlamaLibrary, options: { env?: NodeJS.ProcessEnv; cacheRoot?: string; log?: (msg: string) => void } = {}): Promise<MtmdAddonBuild> {
  const env = options.env ?? process.env;
  const root = options.cacheRoot ?? mtmdCacheRoot(env);
  const log = options.log ?? (() => {});
  const { key, parts } = await mtmdBuildKey(library, env);
  const built = await buildOnce(root, key, (tmp) => compileInto(tmp, library, parts, env, log), log);
  const dir = join(root, key);
  const info = readBuildInfo(dir);
  if (!info) throw new Error(`the mtmd addon cache ${dir} has no readable ${BUILD_INFO_FILE}`);
  if (built) log(`mtmd addon built in ${(info.buildMs / 1000).toFixed(1)} s: ${dir}`);
  return { dir, addonPath: join(dir, ADDON_FILE), info, built };
}
