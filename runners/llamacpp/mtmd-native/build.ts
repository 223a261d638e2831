/**
 * The first-use build of the suite's mtmd addon (addon.cc beside this file), cached per machine
 * and library version.
 *
 * Only llama.cpp's multimodal library (tools/mtmd) and our N-API glue are compiled; they link
 * against the shared libllama / libggml / libggml-base of node-llama-cpp's build the suite runs
 * (library.ts: its prebuilt package, or its local source build), with that folder as RUNPATH, so
 * the addon runs the same llama.cpp build as the text cells. The sources come
 * from the llama.cpp tree node-llama-cpp ships as a git bundle (`llama/gitRelease.bundle`, the
 * release of its prebuilt libraries, `llama/llama.cpp.info.json`), cloned offline into a temp
 * folder. Two cached stages, each built in a temp folder and renamed atomically into the cache:
 * 1. `mtmd-<tag>-...`: mtmd compiled with g++ (one job per core) into a static libmtmd.a, with the
 *    headers the addon needs (minutes; once per llama.cpp release and compiler);
 * 2. `<key>`: addon.cc compiled and linked with libmtmd.a against the chosen library package,
 *    then loaded once in a child process to check it (seconds). The key covers everything that
 *    changes the binary: node-llama-cpp's version, the llama.cpp tag and bundle commit, our
 *    sources and flags, the compiler's version, platform/arch, the library folder and a hash of
 *    the libraries it links.
 * A lock file per stage makes concurrent processes (vitest workers, two runs) build once: the
 * others wait and use the result.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { makeFolder } from '../../../core/output-path.ts';
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import lockfile from 'proper-lockfile';
import { errorMessage, InputError } from '../../../core/errors.ts';
import { bundledLlamaCppTag, libraryFilesHash, nodeLlamaCppDir, type LlamaLibrary } from './library.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const REPO_ROOT = resolve(HERE, '..', '..', '..');
/** Our sources and the recipe: any change to them is a new addon build (part of the key; seconds, the mtmd library is reused). */
const ADDON_SOURCES = ['addon.cc', 'build.ts'];
/** Compiler flags (part of the keys). */
const MTMD_LIBRARY_FLAGS = ['-std=c++17', '-O2', '-DNDEBUG', '-fPIC', '-w', '-DLLAMA_SHARED'];
const C_FLAGS = ['-O2', '-DNDEBUG', '-fPIC', '-w'];
/** N-API 8: Node >= 12.22 / 14.17 / 16. */
const ADDON_FLAGS = ['-std=c++17', '-O2', '-DNDEBUG', '-fPIC', '-Wall', '-DLLAMA_SHARED', '-DNAPI_VERSION=8', '-DNAPI_DISABLE_CPP_EXCEPTIONS'];
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
  /** prebuilt, local (node-llama-cpp's source build) or folder. */
  libraryBuild: string;
  /** Content hash of the libllama / libggml / libggml-base the addon links. */
  libraryFiles: string;
  compiler: string;
  platform: string;
  arch: string;
  sourcesHash: string;
  /** Wall time of the addon's build on this machine (with the mtmd library's when built in the same call), ms. */
  buildMs: number;
  /** Wall time of the mtmd library's build (clone, compile, archive), ms: once per llama.cpp release. */
  mtmdLibraryBuildMs: number;
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

/** node-llama-cpp's version and the llama.cpp release its bundle and prebuilt libraries are. */
export function llamaCppSource(): { nodeLlamaCpp: string; tag: string; bundle: string } {
  const dir = nodeLlamaCppDir();
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string };
  const bundle = join(dir, 'llama', 'gitRelease.bundle');
  if (!existsSync(bundle)) {
    throw new InputError(`node-llama-cpp ${pkg.version} has no llama.cpp source bundle (${bundle}): the mtmd addon cannot be built; reinstall node-llama-cpp (npm ci)`);
  }
  return { nodeLlamaCpp: pkg.version, tag: bundledLlamaCppTag(dir), bundle };
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
  h.update(ADDON_FLAGS.join(' '));
  return h.digest('hex').slice(0, 16);
}

/** The build key and its parts (no build). */
export async function mtmdBuildKey(library: LlamaLibrary, env: NodeJS.ProcessEnv = process.env): Promise<{ key: string; parts: Omit<MtmdBuildInfo, 'buildMs' | 'mtmdLibraryBuildMs' | 'jobs' | 'systemInfo' | 'builtAt' | 'llamaCppCommit'> & { bundleHead: string } }> {
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
    libraryBuild: library.build,
    // A rebuilt local build in the same folder is a new addon build.
    libraryFiles: libraryFilesHash(library),
    compiler,
    platform: process.platform,
    arch: process.arch,
    sourcesHash: sourcesHash(),
    bundleHead,
  };
  // The library folder is part of it: the addon's RUNPATH points there (another checkout sharing
  // the cache gets its own build).
  const hash = createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 12);
  parts.key = `${src.tag}-${process.platform}-${process.arch}-${library.flavour}${library.build === 'prebuilt' ? '' : `-${library.build}`}-${hash}`;
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
  // The root comes from the environment (BENCH_MTMD_CACHE_DIR): a file or a read-only folder there
  // is named in one line, not mkdir's EEXIST.
  makeFolder(root, 'the mtmd build cache (BENCH_MTMD_CACHE_DIR, else BENCH_CACHE_DIR/llama-mtmd, else .cache/llama-mtmd)');
  // proper-lockfile tracks its locks by the locked path: one path per key (it need not exist),
  // so the addon's lock and the mtmd library's, held at once, stay apart.
  const release = await lockfile.lock(final, {
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

/** A failed stage's commands and output, kept beside the cache as `<key>.failed.log` (its temp folder is removed). */
function keepFailureLog(root: string, key: string, logLines: readonly string[], err: unknown): void {
  writeFileSync(join(root, `${key}.failed.log`), logLines.join('\n') + `\n${errorMessage(err)}\n`);
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

type KeyParts = Awaited<ReturnType<typeof mtmdBuildKey>>['parts'];

/** Facts of a cached mtmd static library (stage 1), written beside it. */
interface MtmdLibraryInfo {
  llamaCppCommit: string;
  compiler: string;
  buildMs: number;
  jobs: number;
}

/** Header folders the addon compiles against, copied from the llama.cpp tree into the library's cache folder. */
const HEADER_DIRS = [['include'], ['ggml', 'include'], ['tools', 'mtmd']] as const;

/**
 * Stage 1: llama.cpp's mtmd as a static library (libmtmd.a) plus the headers the addon needs,
 * cached under `mtmd-<tag>-<hash>`: it depends on the llama.cpp sources and the compiler only, so
 * a change to our addon or another library flavour (CPU, CUDA, Vulkan) reuses it.
 */
async function ensureMtmdLibrary(root: string, parts: KeyParts, env: NodeJS.ProcessEnv, log: (msg: string) => void): Promise<{ dir: string; info: MtmdLibraryInfo }> {
  const hash = createHash('sha256').update(JSON.stringify([parts.bundleHead, parts.compiler, parts.platform, parts.arch, MTMD_LIBRARY_FLAGS])).digest('hex').slice(0, 12);
  const key = `mtmd-${parts.llamaCppTag}-${parts.platform}-${parts.arch}-${hash}`;
  await buildOnce(root, key, async (out) => {
    const started = Date.now();
    const src = llamaCppSource();
    const tree = join(out, 'llama.cpp');
    const logLines: string[] = [];
    const git = (args: string[], cwd?: string) => tool('git', args, { cwd, env, install: 'apt-get install git' });
    // Offline: the bundle is a file in node_modules.
    await git(['clone', '--quiet', '--no-checkout', src.bundle, tree]);
    await git(['-c', 'advice.detachedHead=false', 'checkout', '--quiet', parts.bundleHead], tree);
    const commit = (await git(['rev-parse', 'HEAD'], tree)).trim();
    const mtmdDir = join(tree, 'tools', 'mtmd');
    const hashDir = join(tree, 'vendor', 'hash');
    const includes = [join(tree, 'include'), join(tree, 'ggml', 'include'), mtmdDir, join(tree, 'vendor'), hashDir].map((d) => `-I${d}`);
    const objDir = join(out, 'obj');
    mkdirSync(objDir);
    const cxx = compilerFor(env);
    const cc = env['CC'] || 'gcc';
    await tool(cc, ['--version'], { env, install: 'apt-get install gcc' });
    const objects: string[] = [];
    const compile = (file: string, lang: 'c' | 'c++', flags: readonly string[]) => {
      const obj = join(objDir, `${objects.length}-${file.split('/').pop()}.o`);
      objects.push(obj);
      return { cmd: lang === 'c' ? cc : cxx, args: [...flags, ...includes, '-x', lang, '-c', file, '-o', obj], label: file };
    };
    const mtmdSources = mtmdLibrarySources(readFileSync(join(mtmdDir, 'CMakeLists.txt'), 'utf8')).map((f) => join(mtmdDir, f));
    const commands = [
      // mtmd as llama.cpp's CMake builds its shared library (LLAMA_BUILD: its API exported).
      ...mtmdSources.map((f) => compile(f, 'c++', [...MTMD_LIBRARY_FLAGS, '-DLLAMA_BUILD'])),
      // vendor/hash as vendor/hash/CMakeLists.txt builds it: sha1.c as C++ (a namespace), the rest C.
      compile(join(hashDir, 'hash.cpp'), 'c++', MTMD_LIBRARY_FLAGS),
      compile(join(hashDir, 'sha1', 'sha1.c'), 'c++', MTMD_LIBRARY_FLAGS),
      compile(join(hashDir, 'xxhash', 'xxhash.c'), 'c', C_FLAGS),
      compile(join(hashDir, 'sha256', 'sha256.c'), 'c', C_FLAGS),
    ];
    const jobs = availableParallelism();
    log(`building llama.cpp's mtmd library (${commands.length} files, ${jobs} jobs, llama.cpp ${parts.llamaCppTag}); once per machine and llama.cpp release`);
    try {
      await runParallel(commands, jobs, env, logLines);
      await runParallel([{ cmd: env['AR'] || 'ar', args: ['rcs', join(out, 'libmtmd.a'), ...objects], label: 'libmtmd.a' }], 1, env, logLines);
      for (const d of HEADER_DIRS) {
        cpSync(join(tree, ...d), join(out, 'include', ...d), { recursive: true, filter: (f) => !/\.(c|cpp|txt|md|py|sh|jpeg|mp3|mp4)$/.test(f) });
      }
    } catch (err) {
      keepFailureLog(root, key, logLines, err);
      throw err;
    }
    writeFileSync(join(out, 'build.log'), logLines.join('\n') + '\n');
    // The sources and objects are not needed once archived (about 60 MB).
    rmSync(tree, { recursive: true, force: true });
    rmSync(objDir, { recursive: true, force: true });
    const info: MtmdLibraryInfo = { llamaCppCommit: commit, compiler: parts.compiler, buildMs: Date.now() - started, jobs };
    writeFileSync(join(out, BUILD_INFO_FILE), JSON.stringify(info, null, 2) + '\n');
  }, log);
  const dir = join(root, key);
  return { dir, info: JSON.parse(readFileSync(join(dir, BUILD_INFO_FILE), 'utf8')) as MtmdLibraryInfo };
}

/** Stage 2: our addon compiled and linked against the mtmd library and the chosen llama.cpp libraries, then load-checked. */
async function compileAddon(out: string, root: string, library: LlamaLibrary, parts: KeyParts, env: NodeJS.ProcessEnv, log: (msg: string) => void): Promise<void> {
  const started = Date.now();
  const mtmd = await ensureMtmdLibrary(root, parts, env, log);
  const logLines: string[] = [];
  const inc = (...d: string[]) => `-I${join(mtmd.dir, 'include', ...d)}`;
  const napiDir = (pkg: string) => dirname(require.resolve(`${pkg}/package.json`));
  const cxx = compilerFor(env);
  const addonPath = join(out, ADDON_FILE);
  const obj = join(out, 'addon.o');
  try {
    await runParallel(
      [
        {
          cmd: cxx,
          args: [...ADDON_FLAGS, inc('include'), inc('ggml', 'include'), inc('tools', 'mtmd'), `-I${join(napiDir('node-api-headers'), 'include')}`, `-I${napiDir('node-addon-api')}`, '-c', join(HERE, 'addon.cc'), '-o', obj],
          label: 'addon.cc',
        },
      ],
      1,
      env,
      logLines,
    );
    const link = ['-shared', '-o', addonPath, obj, join(mtmd.dir, 'libmtmd.a'), `-L${library.dir}`, `-l:${library.llama}`, `-l:${library.ggml}`, `-l:${library.ggmlBase}`, `-Wl,-rpath,${library.dir}`, '-lpthread'];
    await runParallel([{ cmd: cxx, args: link, label: 'the addon (link)' }], 1, env, logLines);
  } catch (err) {
    keepFailureLog(root, parts.key, logLines, err);
    throw err;
  }
  rmSync(obj, { force: true });
  const systemInfo = await checkLoad(addonPath, library.dir, env);
  const info: MtmdBuildInfo = {
    key: parts.key,
    nodeLlamaCpp: parts.nodeLlamaCpp,
    llamaCppTag: parts.llamaCppTag,
    llamaCppCommit: mtmd.info.llamaCppCommit,
    library: parts.library,
    libraryDir: parts.libraryDir,
    libraryBuild: parts.libraryBuild,
    libraryFiles: parts.libraryFiles,
    compiler: parts.compiler,
    platform: parts.platform,
    arch: parts.arch,
    sourcesHash: parts.sourcesHash,
    // This addon's own time, plus the mtmd library's when this call built that too.
    buildMs: Date.now() - started,
    mtmdLibraryBuildMs: mtmd.info.buildMs,
    jobs: mtmd.info.jobs,
    systemInfo,
    builtAt: new Date().toISOString(),
  };
  writeFileSync(join(out, 'build.log'), logLines.join('\n') + '\n');
  writeFileSync(join(out, BUILD_INFO_FILE), JSON.stringify(info, null, 2) + '\n');
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
  const built = await buildOnce(root, key, (tmp) => compileAddon(tmp, root, library, parts, env, log), log);
  const dir = join(root, key);
  const info = readBuildInfo(dir);
  if (!info) throw new Error(`the mtmd addon cache ${dir} has no readable ${BUILD_INFO_FILE}`);
  if (built) log(`mtmd addon built in ${(info.buildMs / 1000).toFixed(1)} s: ${dir}`);
  return { dir, addonPath: join(dir, ADDON_FILE), info, built };
}
