/**
 * Which of node-llama-cpp's prebuilt llama.cpp libraries the image cells' own mtmd addon links
 * against. node-llama-cpp ships one npm package per platform and GPU flavour
 * (`@node-llama-cpp/<platform>-<arch>[-cuda|-vulkan]`, optional dependencies), each holding SHARED
 * libraries of one llama.cpp release in `bins/<name>/`: `libllama[.<flavour>].v<tag>.so`,
 * `libggml[.<flavour>].v<tag>.so`, `libggml-base.so` and ggml's backends as loadable modules (a
 * CPU module per micro-architecture on x64 and arm64, which ggml chooses for the CPU at load time;
 * `libggml-cuda.so` / `libggml-vulkan.so` in the GPU flavours). The text cells run on the same
 * libraries through node-llama-cpp's own addon.
 *
 * The choice is a pure function of the machine's facts: the CPU package everywhere unless the
 * suite asks for `cuda` or `vulkan` (`options.llamaLibrary`), so an image cell is a CPU cell unless
 * said otherwise. On a Jetson (linux arm64 + L4T) node-llama-cpp ships no CUDA prebuilt: its
 * own source build with CUDA (`npx --no node-llama-cpp source download --gpu cuda`) makes a local
 * build folder whose `Release/` holds the same kind of libraries; `options.llamaLibraryDir`
 * points the addon at such a folder (docs/runtimes.md; no board here to test it on).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { InputError } from '../../../core/errors.ts';

export const LLAMA_LIBRARY_FLAVOURS = ['cpu', 'cuda', 'vulkan'] as const;
export type LlamaLibraryFlavour = (typeof LLAMA_LIBRARY_FLAVOURS)[number];
export const LLAMA_LIBRARY_OPTIONS = ['auto', ...LLAMA_LIBRARY_FLAVOURS] as const;

export interface LibraryChoice {
  flavour: LlamaLibraryFlavour;
  /** The npm package holding the libraries (undefined when the suite gave a directory). */
  packageName: string | undefined;
  /** Why this one, in words recorded in the cell's settings. */
  reason: string;
}

/** node-llama-cpp's package name of a platform build. */
export function libraryPackageName(platform: string, arch: string, flavour: LlamaLibraryFlavour): string {
  return `@node-llama-cpp/${platform}-${arch}${flavour === 'cpu' ? '' : `-${flavour}`}`;
}

/** The suite option's value, checked (undefined = auto). */
export function parseLibraryOption(value: unknown, where: string): LlamaLibraryFlavour | 'auto' {
  if (value === undefined) return 'auto';
  if (typeof value === 'string' && (LLAMA_LIBRARY_OPTIONS as readonly string[]).includes(value)) return value as LlamaLibraryFlavour | 'auto';
  throw new InputError(`${where}: options.llamaLibrary must be one of ${LLAMA_LIBRARY_OPTIONS.join(', ')}, got ${JSON.stringify(value)}`);
}

/** The library package for a machine, given the suite's option (pure). */
export function chooseLibrary(platform: string, arch: string, requested: LlamaLibraryFlavour | 'auto'): LibraryChoice {
  if (requested !== 'auto') {
    return { flavour: requested, packageName: libraryPackageName(platform, arch, requested), reason: `options.llamaLibrary: ${requested}` };
  }
  return {
    flavour: 'cpu',
    packageName: libraryPackageName(platform, arch, 'cpu'),
    reason: `auto: the CPU build (${platform} ${arch}); ggml loads the CPU variant of this machine's micro-architecture`,
  };
}

/** The files of one llama.cpp library build the addon links and loads. */
export interface LlamaLibrary {
  choice: LibraryChoice;
  /** `name@version` of the package, or the directory given. */
  source: string;
  /** Folder of the shared libraries and ggml's backend modules (the addon's RUNPATH). */
  dir: string;
  llama: string;
  ggml: string;
  ggmlBase: string;
  /** ggml backend modules in the folder (libggml-cpu-haswell.so, libggml-cuda.so, ...). */
  backendModules: string[];
}

const LLAMA_LIB = /^libllama(?:\.[a-z0-9]+)?\.v[0-9.]+\.so$/;
const GGML_LIB = /^libggml(?:\.[a-z0-9]+)?\.v[0-9.]+\.so$/;
const BACKEND_MODULE = /^libggml-(?!base\.so$)[a-z0-9_.-]+\.so$/;

/** The library files in one folder, or a clear error naming what is missing. */
export function libraryInDir(dir: string, choice: LibraryChoice, source: string): LlamaLibrary {
  const files = existsSync(dir) ? readdirSync(dir) : [];
  const one = (re: RegExp, what: string) => {
    const found = files.filter((f) => re.test(f));
    if (found.length !== 1) throw new InputError(`${source}: expected one ${what} in ${dir}, found ${found.length ? found.join(', ') : 'none'}`);
    return found[0]!;
  };
  return {
    choice,
    source,
    dir,
    llama: one(LLAMA_LIB, 'libllama.v*.so'),
    ggml: one(GGML_LIB, 'libggml.v*.so'),
    ggmlBase: one(/^libggml-base\.so$/, 'libggml-base.so'),
    backendModules: files.filter((f) => BACKEND_MODULE.test(f)).sort(),
  };
}

/** The installed package of a choice (resolved from node-llama-cpp's own location, as it loads it). */
export function locateLibrary(choice: LibraryChoice, dirOverride?: string): LlamaLibrary {
  if (dirOverride) return libraryInDir(dirOverride, choice, `options.llamaLibraryDir ${dirOverride}`);
  const name = choice.packageName!;
  // Resolved from node-llama-cpp's own location, as it loads it; the package exports only its
  // entry point, so its root is the folder above that entry whose package.json names it.
  let root: string | undefined;
  try {
    const nodeLlamaCpp = createRequire(import.meta.url).resolve('node-llama-cpp');
    let dir = dirname(createRequire(nodeLlamaCpp).resolve(name));
    while (dir !== dirname(dir) && !root) {
      const pj = join(dir, 'package.json');
      if (existsSync(pj) && (JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name === name) root = dir;
      dir = dirname(dir);
    }
  } catch {
    root = undefined;
  }
  if (!root) throw new InputError(`llamacpp: node-llama-cpp's library package ${name} is not installed (${choice.reason}); npm installs it with node-llama-cpp on a machine it fits`);
  const pkgJson = join(root, 'package.json');
  const version = (JSON.parse(readFileSync(pkgJson, 'utf8')) as { version: string }).version;
  const bins = join(dirname(pkgJson), 'bins');
  const builds = existsSync(bins) ? readdirSync(bins) : [];
  if (builds.length !== 1) throw new InputError(`${name}@${version}: expected one build folder in ${bins}, found ${builds.length ? builds.join(', ') : 'none'}`);
  return libraryInDir(join(bins, builds[0]!), choice, `${name}@${version}`);
}
