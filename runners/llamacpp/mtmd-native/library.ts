/**
 * Which llama.cpp build the llamacpp runner's cells run: the text cells through node-llama-cpp's
 * own addon, the image cells through the suite's mtmd addon, which links against the same shared
 * libraries. Both must run ONE build, and this module is where it is chosen, the way
 * node-llama-cpp's `getLlama({ gpu, build: 'never' })` chooses it (verified after loading, in
 * binding.ts):
 *
 * 1. node-llama-cpp's LOCAL build of that GPU flavour, when a complete one exists:
 *    `node_modules/node-llama-cpp/llama/localBuilds/<platform>-<arch>[-<gpu>]/Release/`, made by
 *    `npx --no node-llama-cpp source download --gpu <cpu:false|cuda|vulkan>` from the llama.cpp
 *    sources node-llama-cpp ships (its git bundle, offline). getLlama loads it BEFORE any
 *    prebuilt. This is the only CUDA build on a Jetson (linux arm64): node-llama-cpp ships no
 *    prebuilt CUDA for arm64. Files there (checked on this machine, CPU): `libllama.v<tag>.so`,
 *    `libggml.v<tag>.so`, `libggml-base.so`, `libggml-cpu.so` (linked, not a loadable module: a
 *    local build is GGML_NATIVE=ON, GGML_BACKEND_DL=OFF), `libllama-common.so`, `llama-addon.node`;
 *    with CUDA `libllama.cuda.v<tag>.so`, `libggml.cuda.v<tag>.so` and `libggml-cuda.so`.
 * 2. Else the PREBUILT package `@node-llama-cpp/<platform>-<arch>[-cuda|-vulkan]` (npm optional
 *    dependencies): the same kind of libraries in `bins/<name>/`, with ggml's CPU backend as one
 *    loadable module per micro-architecture (ggml picks this CPU's at load time).
 *
 * `options.llamaLibrary: auto | cpu | cuda | vulkan` names the flavour (auto = cpu: a cell is a CPU
 * cell unless the suite says otherwise); `options.llamaLibraryDir` names a folder instead. A folder
 * that is one of node-llama-cpp's builds is run by both kinds of cells; any other folder serves
 * the image cells only (node-llama-cpp cannot load it: the text cells refuse it).
 *
 * One build per process: every flavour's libraries carry the same sonames (`libllama.v<tag>.so`,
 * `libggml-base.so`), and the dynamic loader satisfies a second build's needs with the first
 * build's already loaded files, silently. `pinLlamaLibrary` refuses a second build in a process.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { InputError } from '../../../core/errors.ts';

export const LLAMA_LIBRARY_FLAVOURS = ['cpu', 'cuda', 'vulkan'] as const;
export type LlamaLibraryFlavour = (typeof LLAMA_LIBRARY_FLAVOURS)[number];
export const LLAMA_LIBRARY_OPTIONS = ['auto', ...LLAMA_LIBRARY_FLAVOURS] as const;

/** Where a build's libraries come from: node-llama-cpp's npm package, its local source build, or another folder. */
export type LlamaBuildKind = 'prebuilt' | 'local' | 'folder';

/** The files of one llama.cpp library build the addon links and loads. */
export interface LlamaLibrary {
  flavour: LlamaLibraryFlavour;
  build: LlamaBuildKind;
  /** Why this one, in words recorded in the cell's settings. */
  reason: string;
  /** `name@version` of the package, `node-llama-cpp local build <folder>`, or `folder <dir>`. */
  source: string;
  /** Folder of the shared libraries and ggml's backend modules (the addon's RUNPATH). */
  dir: string;
  llama: string;
  ggml: string;
  ggmlBase: string;
  /** ggml libraries beside them (libggml-cpu-haswell.so, libggml-cpu.so, libggml-cuda.so, ...). */
  backendModules: string[];
  /** A local build's custom CMake options (its build metadata), as node-llama-cpp's `llama.cmakeOptions` reports them. */
  cmakeOptions?: Record<string, string>;
}

/** What the choice reads of node-llama-cpp's installation (a parameter, so tests give a folder layout on disk). */
export interface NodeLlamaCppInstall {
  /** node-llama-cpp's `llama/localBuilds` folder. */
  localBuildsDir: string;
  /** The llama.cpp release node-llama-cpp ships (its libraries' file names carry it). */
  tag: string;
  /** Root folder and version of an installed package (`@node-llama-cpp/...`), undefined when it is not installed. */
  packageRoot(name: string): { root: string; version: string } | undefined;
}

/** node-llama-cpp's platform word (its getPlatform): linux, mac, win. */
function nlcPlatform(platform: string): string {
  return platform === 'darwin' ? 'mac' : platform === 'win32' || platform === 'cygwin' ? 'win' : platform === 'android' ? 'linux' : platform;
}

/** node-llama-cpp's package name of a platform build. */
export function libraryPackageName(platform: string, arch: string, flavour: LlamaLibraryFlavour): string {
  return `@node-llama-cpp/${platform}-${arch}${flavour === 'cpu' ? '' : `-${flavour}`}`;
}

/** The folder name node-llama-cpp gives its local build of a flavour (its bundled release, no custom CMake options). */
export function localBuildFolderName(platform: string, arch: string, flavour: LlamaLibraryFlavour): string {
  return `${nlcPlatform(platform)}-${arch}${flavour === 'cpu' ? '' : `-${flavour}`}`;
}

/** The command that makes node-llama-cpp's local build of a flavour (offline: from its bundled sources). */
export function localBuildCommand(flavour: LlamaLibraryFlavour): string {
  return `npx --no node-llama-cpp source download --gpu ${flavour === 'cpu' ? 'false' : flavour}`;
}

/** The suite option's value, checked (undefined = auto). */
export function parseLibraryOption(value: unknown, where: string): LlamaLibraryFlavour | 'auto' {
  if (value === undefined) return 'auto';
  if (typeof value === 'string' && (LLAMA_LIBRARY_OPTIONS as readonly string[]).includes(value)) return value as LlamaLibraryFlavour | 'auto';
  throw new InputError(`${where}: options.llamaLibrary must be one of ${LLAMA_LIBRARY_OPTIONS.join(', ')}, got ${JSON.stringify(value)}`);
}

/** `libllama[.<flavour>].<tag>[.<custom-options hash>].so`, as node-llama-cpp's CMake names it (its addVariantSuffix). */
const LLAMA_LIB = /^libllama(?:\.([a-z]+))?\.(v\d+(?:\.\d+)*)(?:\.[0-9a-z]{4,})?\.so$/;
const GGML_LIB = /^libggml(?:\.([a-z]+))?\.(v\d+(?:\.\d+)*)(?:\.[0-9a-z]{4,})?\.so$/;
const BACKEND_MODULE = /^libggml-(?!base\.so$)[a-z0-9_.-]+\.so$/;

/**
 * The library files in one folder, or a clear error naming what is missing or does not fit: the
 * mtmd addon is compiled from node-llama-cpp's bundled release, so libraries of another release
 * (their file names say it) are refused.
 */
export function libraryInDir(dir: string, tag: string, where: string): Omit<LlamaLibrary, 'build' | 'reason' | 'source' | 'flavour' | 'cmakeOptions'> & { flavour: LlamaLibraryFlavour } {
  // Its libraries are loaded into this process: a path that is not a folder is refused before the run.
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new InputError(`${where}: not a folder (expected the folder of libllama.v*.so, libggml.v*.so and libggml-base.so)`);
  const files = readdirSync(dir);
  const one = (re: RegExp, what: string): RegExpExecArray => {
    const found = files.map((f) => re.exec(f)).filter((m): m is RegExpExecArray => m !== null);
    if (found.length !== 1) {
      throw new InputError(`${where}: expected one ${what} in ${dir}, found ${found.length ? found.map((m) => m[0]).join(', ') : 'none'}${files.length ? '' : ' (the folder is empty)'}`);
    }
    return found[0]!;
  };
  const llama = one(LLAMA_LIB, 'libllama[.<gpu>].v<release>.so');
  const ggml = one(GGML_LIB, 'libggml[.<gpu>].v<release>.so');
  if (!files.includes('libggml-base.so')) throw new InputError(`${where}: expected libggml-base.so in ${dir}, found none`);
  if (llama[2] !== tag) {
    throw new InputError(`${where}: ${llama[0]} is llama.cpp ${llama[2]}, but the mtmd addon is built from node-llama-cpp's bundled ${tag}: use a build of that release`);
  }
  const named = llama[1] ?? 'cpu';
  if (!(LLAMA_LIBRARY_FLAVOURS as readonly string[]).includes(named)) throw new InputError(`${where}: ${llama[0]} is a ${named} build; supported: ${LLAMA_LIBRARY_FLAVOURS.join(', ')}`);
  return {
    flavour: named as LlamaLibraryFlavour,
    dir,
    llama: llama[0],
    ggml: ggml[0],
    ggmlBase: 'libggml-base.so',
    backendModules: files.filter((f) => BACKEND_MODULE.test(f)).sort(),
  };
}

/** node-llama-cpp's build metadata file in a build folder. */
const BUILD_METADATA = '_nlcBuildMetadata.json';

interface LocalBuild {
  name: string;
  releaseDir: string;
  cmakeOptions: Record<string, string>;
}

/**
 * A local build node-llama-cpp's getLlama would load: the folder's `buildDone.status`,
 * `Release/llama-addon.node` and `Release/_nlcBuildMetadata.json` all present (an unfinished or
 * failed build is skipped, as getLlama skips it).
 */
function completeLocalBuild(localBuildsDir: string, name: string): LocalBuild | undefined {
  const folder = join(localBuildsDir, name);
  const releaseDir = join(folder, 'Release');
  if (!existsSync(join(folder, 'buildDone.status')) || !existsSync(join(releaseDir, 'llama-addon.node'))) return undefined;
  let options: unknown;
  try {
    options = (JSON.parse(readFileSync(join(releaseDir, BUILD_METADATA), 'utf8')) as { buildOptions?: { customCmakeOptions?: unknown } }).buildOptions?.customCmakeOptions;
  } catch {
    return undefined;
  }
  const cmakeOptions: Record<string, string> = {};
  if (options && typeof options === 'object') for (const [k, v] of Object.entries(options)) cmakeOptions[k] = String(v);
  return { name, releaseDir, cmakeOptions };
}

/** The prebuilt package's one build folder (`bins/<name>/`), with `name@version`. */
function prebuiltDir(install: NodeLlamaCppInstall, name: string): { dir: string; source: string } | undefined {
  const pkg = install.packageRoot(name);
  if (!pkg) return undefined;
  const bins = join(pkg.root, 'bins');
  const builds = existsSync(bins) ? readdirSync(bins) : [];
  const source = `${name}@${pkg.version}`;
  if (builds.length !== 1) throw new InputError(`${source}: expected one build folder in ${bins}, found ${builds.length ? builds.join(', ') : 'none'}`);
  return { dir: join(bins, builds[0]!), source };
}

function sameFolder(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return resolve(a) === resolve(b);
  }
}

/** node-llama-cpp's package folder (its entry is dist/index.js). */
export function nodeLlamaCppDir(): string {
  return resolve(dirname(createRequire(import.meta.url).resolve('node-llama-cpp')), '..');
}

/** The llama.cpp release node-llama-cpp ships (`llama/llama.cpp.info.json`): its bundle's sources, its libraries' names. */
export function bundledLlamaCppTag(dir: string = nodeLlamaCppDir()): string {
  const infoPath = join(dir, 'llama', 'llama.cpp.info.json');
  let tag: unknown;
  try {
    tag = (JSON.parse(readFileSync(infoPath, 'utf8')) as { tag?: unknown }).tag;
  } catch {
    tag = undefined;
  }
  if (typeof tag !== 'string' || !/^[\w.-]+$/.test(tag)) throw new InputError(`${infoPath}: no llama.cpp tag; reinstall node-llama-cpp (npm ci)`);
  return tag;
}

/** node-llama-cpp as installed beside this module (its local builds folder, bundled release, library packages). */
export function nodeLlamaCppInstall(): NodeLlamaCppInstall {
  const root = nodeLlamaCppDir();
  const entry = createRequire(import.meta.url).resolve('node-llama-cpp');
  return {
    localBuildsDir: join(root, 'llama', 'localBuilds'),
    tag: bundledLlamaCppTag(root),
    packageRoot(name) {
      // Resolved from node-llama-cpp's own location, as it loads it; the package exports only its
      // entry point, so its root is the folder above that entry whose package.json names it.
      try {
        let dir = dirname(createRequire(entry).resolve(name));
        while (dir !== dirname(dir)) {
          const pj = join(dir, 'package.json');
          if (existsSync(pj)) {
            const pkg = JSON.parse(readFileSync(pj, 'utf8')) as { name?: string; version?: string };
            if (pkg.name === name) return { root: dir, version: String(pkg.version) };
          }
          dir = dirname(dir);
        }
      } catch {
        // not installed
      }
      return undefined;
    },
  };
}

export interface ResolveOptions {
  /** options.llamaLibraryDir. */
  dir?: string;
  platform?: string;
  arch?: string;
  install?: NodeLlamaCppInstall;
}

/** The build a suite's cells run (see the module comment), or an InputError saying what is missing and how to make it. */
export function resolveLlamaLibrary(requested: LlamaLibraryFlavour | 'auto', options: ResolveOptions = {}): LlamaLibrary {
  const platform = options.platform ?? process.platform;
  const arch = options.arch ?? process.arch;
  const install = options.install ?? nodeLlamaCppInstall();
  // Absolute: the folder becomes the addon's RUNPATH, which a relative path would tie to the cwd.
  if (options.dir !== undefined) return libraryFromFolder(requested, resolve(options.dir), platform, arch, install);
  const flavour: LlamaLibraryFlavour = requested === 'auto' ? 'cpu' : requested;
  const asked = requested === 'auto' ? `auto: the CPU build (${platform} ${arch})` : `options.llamaLibrary: ${requested}`;
  const name = localBuildFolderName(platform, arch, flavour);
  const local = completeLocalBuild(install.localBuildsDir, name);
  if (local) {
    const files = libraryInDir(local.releaseDir, install.tag, `node-llama-cpp local build ${name}`);
    return {
      ...files,
      flavour,
      build: 'local',
      reason: `${asked}; node-llama-cpp's local build ${name} (its getLlama loads a local build before any prebuilt)`,
      source: `node-llama-cpp local build ${name}`,
      cmakeOptions: local.cmakeOptions,
    };
  }
  const packageName = libraryPackageName(platform, arch, flavour);
  const prebuilt = prebuiltDir(install, packageName);
  if (!prebuilt) {
    const others = existsSync(install.localBuildsDir) ? readdirSync(install.localBuildsDir).filter((f) => f.startsWith(`${name}-`)) : [];
    throw new InputError(
      `llamacpp: no ${flavour === 'cpu' ? 'CPU' : flavour.toUpperCase()} build of llama.cpp for ${platform} ${arch} (${asked}): node-llama-cpp's package ${packageName} is not installed` +
        (existsSync(join(install.localBuildsDir, name))
          ? ` and its local build ${join(install.localBuildsDir, name)} is unfinished or failed (no buildDone.status, Release/llama-addon.node or Release/${BUILD_METADATA})`
          : ` and it has no local build ${join(install.localBuildsDir, name)}`) +
        (flavour === 'cuda' && arch === 'arm64' ? ' (node-llama-cpp ships no prebuilt CUDA for linux arm64: on a Jetson, build it once)' : '') +
        `; make one with \`${localBuildCommand(flavour)}\` (offline, from node-llama-cpp's bundled sources; docs/boards.md)` +
        (others.length ? `; local builds with other options or releases (${others.join(', ')}) are used only through options.llamaLibraryDir: <that folder>/Release` : ''),
    );
  }
  const files = libraryInDir(prebuilt.dir, install.tag, prebuilt.source);
  return {
    ...files,
    flavour,
    build: 'prebuilt',
    reason: requested === 'auto' ? `${asked}; ggml loads the CPU variant of this machine's micro-architecture` : `${asked}; node-llama-cpp's prebuilt package`,
    source: prebuilt.source,
  };
}

/** options.llamaLibraryDir: the folder's libraries, and whether node-llama-cpp itself loads that build (then text cells run it too). */
function libraryFromFolder(requested: LlamaLibraryFlavour | 'auto', dir: string, platform: string, arch: string, install: NodeLlamaCppInstall): LlamaLibrary {
  const where = `options.llamaLibraryDir ${dir}`;
  const files = libraryInDir(dir, install.tag, where);
  if (requested !== 'auto' && requested !== files.flavour) {
    throw new InputError(`${where}: ${files.llama} is a ${files.flavour} build, but options.llamaLibrary asks for ${requested}`);
  }
  const flavour = files.flavour;
  // node-llama-cpp's local build folders are `<localBuilds>/<name>/Release`.
  const parent = dirname(dir);
  const local = basename(dir) === 'Release' && sameFolder(dirname(parent), install.localBuildsDir) ? completeLocalBuild(install.localBuildsDir, basename(parent)) : undefined;
  if (local) {
    return { ...files, build: 'local', reason: `${where}: node-llama-cpp's local build ${local.name}`, source: `node-llama-cpp local build ${local.name}`, cmakeOptions: local.cmakeOptions };
  }
  const packageName = libraryPackageName(platform, arch, flavour);
  const prebuilt = install.packageRoot(packageName) ? prebuiltDir(install, packageName) : undefined;
  if (prebuilt && sameFolder(prebuilt.dir, dir)) return { ...files, build: 'prebuilt', reason: `${where}: node-llama-cpp's prebuilt package`, source: prebuilt.source };
  return { ...files, build: 'folder', reason: `${where} (not a build node-llama-cpp loads: image cells only)`, source: `folder ${dir}` };
}

/**
 * How a cell's configuration identity names the build (`settings.executionProvider`, which the
 * identity prefers to `gpu`): undefined for node-llama-cpp's prebuilt package, so such cells keep
 * the key they always had (`gpu`: false / cuda / vulkan); a local build or another folder is a
 * different build (GGML_NATIVE code, another compiler), never the same series as the prebuilt.
 */
export function llamaExecutionProvider(library: LlamaLibrary): string | undefined {
  if (library.build === 'prebuilt') return undefined;
  return `${library.flavour} (${library.source})`;
}

/** The build's facts every llamacpp cell records (text and image cells alike). */
export function llamaLibrarySettings(library: LlamaLibrary): Record<string, string> {
  const provider = llamaExecutionProvider(library);
  return {
    llamaLibrary: library.flavour,
    llamaBuild: library.build,
    llamaLibrarySource: library.source,
    llamaLibraryDir: library.dir,
    llamaLibraryChoice: library.reason,
    ...(library.cmakeOptions && Object.keys(library.cmakeOptions).length ? { llamaCmakeOptions: JSON.stringify(library.cmakeOptions) } : {}),
    ...(provider ? { executionProvider: provider } : {}),
  };
}

/** A content hash of the three libraries the addon links (part of its build key: a rebuilt local build is a new addon). */
export function libraryFilesHash(library: LlamaLibrary): string {
  const h = createHash('sha256');
  for (const f of [library.llama, library.ggml, library.ggmlBase]) h.update(f).update(readFileSync(join(library.dir, f)));
  return h.digest('hex').slice(0, 16);
}

let pinned: LlamaLibrary | undefined;

/**
 * Claims the process for one build's libraries (before node-llama-cpp or the mtmd addon loads
 * them). A second, different build is refused: its libraries share the first's sonames, so the
 * dynamic loader would hand it the first build's files and the cell would run another build than
 * it records.
 */
export function pinLlamaLibrary(library: LlamaLibrary): void {
  if (!pinned) {
    pinned = library;
    return;
  }
  if (!sameFolder(pinned.dir, library.dir)) {
    throw new InputError(
      `llamacpp: this process already loaded llama.cpp from ${pinned.source} (${pinned.dir}); ${library.source} (${library.dir}) has libraries of the same names (${library.llama}, ${library.ggmlBase}), which the dynamic loader would not load again: run suites of different llama.cpp builds in separate bench runs`,
    );
  }
}
