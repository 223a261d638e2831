/**
 * The first-use build of llama.cpp's mtmd addon (runners/llamacpp/mtmd-native/build.ts): its
 * cache key, the lock that makes concurrent processes build once, the error when the compiler is
 * missing, and the choice of node-llama-cpp's library package. The real build itself runs once
 * per machine in the test setup (test/setup/mtmd-addon.ts); its result is checked here too.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.ts';
import { InputError } from '../../core/errors.ts';
import { NODE_LLAMA_CPP_VERSION } from '../../runners/llamacpp/binding.ts';
import { ADDON_FILE, ensureMtmdAddon, mtmdBuildKey, mtmdCacheRoot, mtmdLibrarySources } from '../../runners/llamacpp/mtmd-native/build.ts';
import { resolveLlamaLibrary } from '../../runners/llamacpp/mtmd-native/library.ts';

const tmp = tempDir('mtmd-build-test-');
const cpu = () => resolveLlamaLibrary('auto');

describe('mtmd addon build', () => {
  it('keys a build by llama.cpp release, platform, library build and a hash of compiler, sources, bundle and the libraries', async () => {
    const lib = cpu();
    const a = await mtmdBuildKey(lib);
    // node-llama-cpp's prebuilt package, or its local build where one was made (then `-local` in the key).
    expect(a.key).toMatch(new RegExp(`^v[\\w.]+-${process.platform}-${process.arch}-cpu${lib.build === 'local' ? '-local' : ''}-[0-9a-f]{12}$`));
    expect(a.parts.nodeLlamaCpp).toBe(NODE_LLAMA_CPP_VERSION);
    expect(a.parts.library).toBe(lib.build === 'local' ? `node-llama-cpp local build ${process.platform}-${process.arch}` : `@node-llama-cpp/${process.platform}-${process.arch}@${NODE_LLAMA_CPP_VERSION}`);
    expect([a.parts.libraryDir, a.parts.libraryBuild]).toEqual([lib.dir, lib.build]);
    expect(a.parts.libraryFiles).toMatch(/^[0-9a-f]{16}$/);
    // Another copy of the same libraries in another folder: another key (the RUNPATH differs), the same files hash.
    const copy = join(tmp, 'copy');
    mkdirSync(copy);
    for (const f of [lib.llama, lib.ggml, lib.ggmlBase]) copyFileSync(join(lib.dir, f), join(copy, f));
    const copied = await mtmdBuildKey(resolveLlamaLibrary('auto', { dir: copy }));
    expect(copied.key).not.toBe(a.key);
    expect(copied.parts.libraryFiles).toBe(a.parts.libraryFiles);
    expect(a.parts.compiler).toMatch(/\d+\.\d+/);
    expect(a.parts.bundleHead).toMatch(/^[0-9a-f]{40}$/);
    // Same inputs, same key; another library package (installed here: node-llama-cpp's CUDA one), another key.
    expect((await mtmdBuildKey(cpu())).key).toBe(a.key);
    const cudaDir = (() => {
      try {
        return resolveLlamaLibrary('cuda');
      } catch {
        return undefined;
      }
    })();
    if (cudaDir) expect((await mtmdBuildKey(cudaDir)).key).not.toBe(a.key);
  });

  it('the cache folder: BENCH_MTMD_CACHE_DIR, else llama-mtmd in BENCH_CACHE_DIR, else the repository\'s .cache', () => {
    expect(mtmdCacheRoot({ BENCH_MTMD_CACHE_DIR: '/x/m', BENCH_CACHE_DIR: '/x/c' })).toBe('/x/m');
    expect(mtmdCacheRoot({ BENCH_CACHE_DIR: '/x/c' })).toBe(join('/x/c', 'llama-mtmd'));
    expect(mtmdCacheRoot({})).toMatch(/[\\/]\.cache[\\/]llama-mtmd$/);
  });

  it('two processes asking for the same build at once: one builds, the other waits and uses it', async () => {
    const root = join(tmp, 'lock');
    const child = () =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'helpers', 'build-once-child.ts'), root, 'k1'], { cwd: join(import.meta.dirname, '..', '..') });
    const results = (await Promise.all([child(), child()])).map((r) => JSON.parse(r.stdout) as { pid: number; built: boolean });
    expect(results.map((r) => r.built).sort()).toEqual([false, true]);
    const producers = readFileSync(join(root, 'produced.log'), 'utf8').trim().split('\n');
    expect(producers).toEqual([String(results.find((r) => r.built)!.pid)]);
    expect(existsSync(join(root, 'k1', 'build.json'))).toBe(true);
    // No temp folder or lock is left behind.
    expect(existsSync(join(root, 'k1.lock'))).toBe(false);
  });

  it('without a C++ compiler on PATH: a clear error naming it and how to install it, nothing built', async () => {
    const root = join(tmp, 'nocompiler');
    const err = await ensureMtmdAddon(cpu(), { cacheRoot: root, env: { PATH: join(tmp, 'empty-bin') } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(String((err as Error).message)).toMatch(/^g\+\+ not found — apt-get install g\+\+ \(needed once, to build llama\.cpp's mtmd addon/);
    expect(existsSync(root)).toBe(false);
  });

  it('the mtmd library\'s sources are read from its CMakeLists (add_library(mtmd ...))', () => {
    const cmake = 'find_package(Threads)\nadd_library(mtmd\n  mtmd.cpp\n  mtmd.h\n  clip.cpp\n  models/siglip.cpp\n  )\nadd_executable(x mtmd-cli.cpp)\n';
    expect(mtmdLibrarySources(cmake)).toEqual(['mtmd.cpp', 'clip.cpp', 'models/siglip.cpp']);
    expect(() => mtmdLibrarySources('add_library(other a.cpp)')).toThrow(/no add_library\(mtmd/);
  });

  it('the CPU library of this machine: its three linked libraries and ggml\'s CPU backend beside them', () => {
    const lib = cpu();
    expect(lib.llama).toMatch(/^libllama\.v[\d.]+\.so$/);
    expect(lib.backendModules.some((m) => m.startsWith('libggml-cpu'))).toBe(true);
  });

  it('the cached build (made by the test setup) loads and records what it was built from', async () => {
    const build = await ensureMtmdAddon(cpu());
    expect(build.built).toBe(false);
    expect(existsSync(join(build.dir, ADDON_FILE))).toBe(true);
    expect(build.info.key).toBe((await mtmdBuildKey(cpu())).key);
    expect(build.info.llamaCppCommit).toMatch(/^[0-9a-f]{40}$/);
    expect(build.info.buildMs).toBeGreaterThan(0);
    expect(build.info.systemInfo).toMatch(/CPU : /);
  });
});
