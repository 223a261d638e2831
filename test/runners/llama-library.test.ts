/**
 * Which llama.cpp build the llamacpp runner's cells run (runners/llamacpp/mtmd-native/library.ts)
 * on folder layouts made on disk with the file names node-llama-cpp's builds really have:
 * its prebuilt packages as installed here (`@node-llama-cpp/linux-x64/bins/linux-x64/`), and its
 * local source build as `npx --no node-llama-cpp source download --gpu false` made it on this
 * machine (`llama/localBuilds/linux-x64/Release/`: one native `libggml-cpu.so`, no per-CPU
 * modules). A CUDA local build's names follow node-llama-cpp's CMake (`libllama.cuda.v<tag>.so`,
 * `libggml-cuda.so`); no CUDA toolkit here to make one.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.ts';
import { InputError } from '../../core/errors.ts';
import { loadedBuildMismatch, llamaFor } from '../../runners/llamacpp/binding.ts';
import {
  libraryPackageName,
  llamaLibrarySettings,
  localBuildFolderName,
  parseLibraryOption,
  pinLlamaLibrary,
  resolveLlamaLibrary,
  type NodeLlamaCppInstall,
} from '../../runners/llamacpp/mtmd-native/library.ts';

const TAG = 'v0.4.0';
const tmp = tempDir('llama-library-test-');

/** The files of a CPU local build (as recorded here) or a CUDA one. */
function localBuildFiles(flavour: 'cpu' | 'cuda'): string[] {
  const v = flavour === 'cpu' ? TAG : `cuda.${TAG}`;
  return [`libllama.${v}.so`, `libggml.${v}.so`, 'libggml-base.so', 'libggml-cpu.so', 'libllama-common.so', 'llama-addon.node', ...(flavour === 'cuda' ? ['libggml-cuda.so'] : [])];
}
const PREBUILT_X64 = [`libllama.${TAG}.so`, `libggml.${TAG}.so`, 'libggml-base.so', 'libggml-cpu-haswell.so', 'libggml-cpu-zen4.so', 'libllama-common.so', 'llama-addon.node'];
const PREBUILT_ARM64 = [`libllama.${TAG}.so`, `libggml.${TAG}.so`, 'libggml-base.so', 'libggml-cpu-armv8.2_1.so', 'libllama-common.so', 'llama-addon.node'];

function touch(dir: string, files: readonly string[]): void {
  mkdirSync(dir, { recursive: true });
  for (const f of files) writeFileSync(join(dir, f), f);
}

/** A node-llama-cpp installation on disk: its localBuilds folder and the @node-llama-cpp packages given. */
function install(name: string, packages: Record<string, readonly string[]>): NodeLlamaCppInstall {
  const root = join(tmp, name);
  const localBuildsDir = join(root, 'node-llama-cpp', 'llama', 'localBuilds');
  mkdirSync(localBuildsDir, { recursive: true });
  const roots = new Map<string, string>();
  for (const [pkg, files] of Object.entries(packages)) {
    const pkgRoot = join(root, 'node_modules', pkg);
    touch(join(pkgRoot, 'bins', pkg.split('/')[1]!), files);
    writeFileSync(join(pkgRoot, 'package.json'), JSON.stringify({ name: pkg, version: '3.21.1' }));
    roots.set(pkg, pkgRoot);
  }
  return { localBuildsDir, tag: TAG, packageRoot: (n) => (roots.has(n) ? { root: roots.get(n)!, version: '3.21.1' } : undefined) };
}

/** A local build as node-llama-cpp leaves it (complete unless said). */
function localBuild(inst: NodeLlamaCppInstall, name: string, flavour: 'cpu' | 'cuda', opts: { done?: boolean; cmakeOptions?: Record<string, string> } = {}): string {
  const release = join(inst.localBuildsDir, name, 'Release');
  touch(release, localBuildFiles(flavour));
  writeFileSync(join(release, '_nlcBuildMetadata.json'), JSON.stringify({ buildOptions: { customCmakeOptions: opts.cmakeOptions ?? {}, platform: 'linux', arch: 'arm64', gpu: flavour === 'cpu' ? false : flavour, llamaCpp: { repo: 'ggml-org/llama.cpp', release: TAG } } }));
  if (opts.done !== false) writeFileSync(join(inst.localBuildsDir, name, 'buildDone.status'), '');
  return release;
}

const inputError = (fn: () => unknown): InputError => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return err as InputError;
  }
  throw new Error('expected an InputError');
};

describe('llama.cpp library choice', () => {
  it('names: node-llama-cpp\'s packages and local build folders; the option is checked', () => {
    expect(libraryPackageName('linux', 'arm64', 'cuda')).toBe('@node-llama-cpp/linux-arm64-cuda');
    expect(localBuildFolderName('linux', 'arm64', 'cuda')).toBe('linux-arm64-cuda');
    expect(localBuildFolderName('linux', 'x64', 'cpu')).toBe('linux-x64');
    expect(localBuildFolderName('darwin', 'arm64', 'cpu')).toBe('mac-arm64');
    expect(parseLibraryOption(undefined, 'w')).toBe('auto');
    expect(() => parseLibraryOption('gpu', 'suite "s"')).toThrow(/suite "s": options.llamaLibrary must be one of auto, cpu, cuda, vulkan, got "gpu"/);
  });

  it('a Jetson: cuda is node-llama-cpp\'s local CUDA build (there is no prebuilt), recorded as a build of its own', () => {
    const inst = install('jetson', { '@node-llama-cpp/linux-arm64': PREBUILT_ARM64 });
    const release = localBuild(inst, 'linux-arm64-cuda', 'cuda');
    const lib = resolveLlamaLibrary('cuda', { platform: 'linux', arch: 'arm64', install: inst });
    expect(lib).toMatchObject({ flavour: 'cuda', build: 'local', dir: release, llama: `libllama.cuda.${TAG}.so`, ggml: `libggml.cuda.${TAG}.so`, ggmlBase: 'libggml-base.so', source: 'node-llama-cpp local build linux-arm64-cuda', cmakeOptions: {} });
    expect(lib.backendModules).toEqual(['libggml-cpu.so', 'libggml-cuda.so']);
    expect(lib.reason).toMatch(/^options.llamaLibrary: cuda; node-llama-cpp's local build linux-arm64-cuda/);
    const settings = llamaLibrarySettings(lib);
    expect(settings).toMatchObject({ llamaLibrary: 'cuda', llamaBuild: 'local', llamaLibraryDir: release, executionProvider: 'cuda (node-llama-cpp local build linux-arm64-cuda)' });
    // auto stays the CPU build: the prebuilt arm64 package, whose cells keep the key they always had (no executionProvider).
    const cpu = resolveLlamaLibrary('auto', { platform: 'linux', arch: 'arm64', install: inst });
    expect(cpu).toMatchObject({ flavour: 'cpu', build: 'prebuilt', source: '@node-llama-cpp/linux-arm64@3.21.1', llama: `libllama.${TAG}.so` });
    expect(llamaLibrarySettings(cpu)['executionProvider']).toBeUndefined();
  });

  it('a Jetson before the CUDA build: exit 2 naming the missing package, the folder and the command that makes it', () => {
    const inst = install('jetson-nobuild', { '@node-llama-cpp/linux-arm64': PREBUILT_ARM64 });
    // An unfinished build (no buildDone.status) is not one: node-llama-cpp skips it too.
    localBuild(inst, 'linux-arm64-cuda', 'cuda', { done: false });
    const err = inputError(() => resolveLlamaLibrary('cuda', { platform: 'linux', arch: 'arm64', install: inst }));
    expect(err.message).toContain("node-llama-cpp's package @node-llama-cpp/linux-arm64-cuda is not installed");
    expect(err.message).toContain(`its local build ${join(inst.localBuildsDir, 'linux-arm64-cuda')} is unfinished or failed (no buildDone.status`);
    expect(err.message).toContain('node-llama-cpp ships no prebuilt CUDA for linux arm64');
    expect(err.message).toContain('`npx --no node-llama-cpp source download --gpu cuda`');
    // A build with custom CMake options has another folder name: not chosen by itself, but named.
    localBuild(inst, 'linux-arm64-cuda-1a2b3c', 'cuda', { cmakeOptions: { CMAKE_CUDA_ARCHITECTURES: '87' } });
    const named = inputError(() => resolveLlamaLibrary('cuda', { platform: 'linux', arch: 'arm64', install: inst })).message;
    expect(named).toContain('local builds with other options or releases (linux-arm64-cuda-1a2b3c) are used only through options.llamaLibraryDir: <that folder>/Release');
    const none = inputError(() => resolveLlamaLibrary('cuda', { platform: 'linux', arch: 'arm64', install: install('jetson-empty', {}) })).message;
    expect(none).toContain(`it has no local build ${join(tmp, 'jetson-empty', 'node-llama-cpp', 'llama', 'localBuilds', 'linux-arm64-cuda')} (node-llama-cpp ships no prebuilt CUDA`);
  });

  it('x64 CPU: the prebuilt package until node-llama-cpp has a complete local build, then the local build (as its getLlama)', () => {
    const inst = install('x64', { '@node-llama-cpp/linux-x64': PREBUILT_X64 });
    const pre = resolveLlamaLibrary('auto', { platform: 'linux', arch: 'x64', install: inst });
    expect(pre).toMatchObject({ build: 'prebuilt', dir: join(tmp, 'x64', 'node_modules', '@node-llama-cpp/linux-x64', 'bins', 'linux-x64') });
    expect(pre.backendModules).toEqual(['libggml-cpu-haswell.so', 'libggml-cpu-zen4.so']);
    const release = localBuild(inst, 'linux-x64', 'cpu');
    const local = resolveLlamaLibrary('cpu', { platform: 'linux', arch: 'x64', install: inst });
    expect(local).toMatchObject({ build: 'local', dir: release, backendModules: ['libggml-cpu.so'] });
    expect(llamaLibrarySettings(local)['executionProvider']).toBe('cpu (node-llama-cpp local build linux-x64)');
  });

  it('options.llamaLibraryDir: a local build or the package folder as such, another folder for image cells only', () => {
    const inst = install('dirs', { '@node-llama-cpp/linux-arm64': PREBUILT_ARM64 });
    const release = localBuild(inst, 'linux-arm64-cuda-1a2b3c', 'cuda', { cmakeOptions: { CMAKE_CUDA_ARCHITECTURES: '87' } });
    const at = (dir: string, requested: 'auto' | 'cpu' | 'cuda' = 'auto') => resolveLlamaLibrary(requested, { dir, platform: 'linux', arch: 'arm64', install: inst });
    // The flavour is read from the file names; a local build's custom CMake options come with it.
    expect(at(release)).toMatchObject({ flavour: 'cuda', build: 'local', source: 'node-llama-cpp local build linux-arm64-cuda-1a2b3c', cmakeOptions: { CMAKE_CUDA_ARCHITECTURES: '87' } });
    expect(at(release, 'cuda').build).toBe('local');
    expect(inputError(() => at(release, 'cpu')).message).toBe(`options.llamaLibraryDir ${release}: libllama.cuda.${TAG}.so is a cuda build, but options.llamaLibrary asks for cpu`);
    const bins = join(tmp, 'dirs', 'node_modules', '@node-llama-cpp/linux-arm64', 'bins', 'linux-arm64');
    expect(at(bins)).toMatchObject({ flavour: 'cpu', build: 'prebuilt', source: '@node-llama-cpp/linux-arm64@3.21.1' });
    // A relative folder is made absolute (it becomes the addon's RUNPATH).
    expect(at(relative(process.cwd(), release)).dir).toBe(release);
    const own = join(tmp, 'dirs', 'own-build');
    touch(own, localBuildFiles('cpu'));
    const folder = at(own);
    expect(folder).toMatchObject({ build: 'folder', source: `folder ${own}` });
    expect(folder.reason).toMatch(/not a build node-llama-cpp loads: image cells only/);
    expect(llamaLibrarySettings(folder)['executionProvider']).toBe(`cpu (folder ${own})`);
  });

  it('a folder with libraries missing, doubled or of another llama.cpp release: exit 2 naming them', () => {
    const inst = install('bad', {});
    const at = (files: string[]) => {
      const dir = join(tmp, 'bad', `f${files.length}-${files.join('').length}`);
      touch(dir, files);
      return inputError(() => resolveLlamaLibrary('auto', { dir, install: inst })).message;
    };
    expect(inputError(() => resolveLlamaLibrary('auto', { dir: join(tmp, 'nowhere'), install: inst })).message).toMatch(/^options.llamaLibraryDir .*nowhere: not a folder \(expected the folder of libllama/);
    expect(at([`libllama.${TAG}.so`, 'libggml-base.so'])).toMatch(/expected one libggml\[\.<gpu>\]\.v<release>\.so in .*, found none$/);
    expect(at([`libllama.${TAG}.so`, `libggml.${TAG}.so`])).toMatch(/expected libggml-base\.so in .*, found none$/);
    expect(at([`libllama.${TAG}.so`, `libllama.cuda.${TAG}.so`, `libggml.${TAG}.so`, 'libggml-base.so'])).toMatch(/expected one libllama\[\.<gpu>\]\.v<release>\.so in .*, found libllama\.cuda\.v0\.4\.0\.so, libllama\.v0\.4\.0\.so$|found libllama\.v0\.4\.0\.so, libllama\.cuda\.v0\.4\.0\.so$/);
    expect(at(['libllama.v0.3.9.so', 'libggml.v0.3.9.so', 'libggml-base.so'])).toMatch(/libllama\.v0\.3\.9\.so is llama\.cpp v0\.3\.9, but the mtmd addon is built from node-llama-cpp's bundled v0\.4\.0/);
    expect(at([`libllama.metal.${TAG}.so`, `libggml.metal.${TAG}.so`, 'libggml-base.so'])).toMatch(/is a metal build; supported: cpu, cuda, vulkan/);
  });

  it('the text cells refuse a folder node-llama-cpp cannot load, and a loaded build that is not the chosen one', async () => {
    const inst = install('text', {});
    const own = join(tmp, 'text', 'own');
    touch(own, localBuildFiles('cpu'));
    const folder = resolveLlamaLibrary('auto', { dir: own, install: inst });
    await expect(llamaFor(folder)).rejects.toThrow(/^llamacpp text cells: options.llamaLibraryDir .*own \(not a build node-llama-cpp loads: image cells only\); node-llama-cpp loads only its prebuilt packages and its local builds/);
    const release = localBuild(inst, 'linux-x64-cuda', 'cuda', { cmakeOptions: { GGML_CUDA_F16: '1' } });
    const local = resolveLlamaLibrary('auto', { dir: release, install: inst });
    expect(loadedBuildMismatch(local, { gpu: 'cuda', buildType: 'localBuild', cmakeOptions: { GGML_CUDA_F16: '1' } })).toBeUndefined();
    expect(loadedBuildMismatch(local, { gpu: false, buildType: 'prebuilt', cmakeOptions: {} })).toBe('node-llama-cpp loaded a gpu=false build, the cells\' library is gpu=cuda');
    expect(loadedBuildMismatch(local, { gpu: 'cuda', buildType: 'prebuilt', cmakeOptions: {} })).toBe('node-llama-cpp loaded its prebuilt build, the cells\' library is node-llama-cpp local build linux-x64-cuda');
    expect(loadedBuildMismatch(local, { gpu: 'cuda', buildType: 'localBuild', cmakeOptions: {} })).toMatch(/^node-llama-cpp loaded a local build with CMake options \[\], node-llama-cpp local build linux-x64-cuda has \[\["GGML_CUDA_F16","1"\]\]$/);
  });

  it('one build per process: a second build\'s libraries (same sonames) are refused before they load', () => {
    const inst = install('pin', {});
    const a = join(tmp, 'pin', 'a');
    const b = join(tmp, 'pin', 'b');
    touch(a, localBuildFiles('cpu'));
    touch(b, localBuildFiles('cpu'));
    pinLlamaLibrary(resolveLlamaLibrary('auto', { dir: a, install: inst }));
    pinLlamaLibrary(resolveLlamaLibrary('auto', { dir: a, install: inst }));
    expect(() => pinLlamaLibrary(resolveLlamaLibrary('auto', { dir: b, install: inst }))).toThrow(
      new RegExp(`this process already loaded llama.cpp from folder ${a} .*; folder ${b} .* has libraries of the same names \\(libllama\\.v0\\.4\\.0\\.so, libggml-base\\.so\\)`),
    );
  });

  it('bench run with a llamaLibraryDir missing a library: exit 2 before any cell, the file named, no stack trace, no run folder', () => {
    const dir = join(tmp, 'cli-lib');
    touch(dir, [`libllama.${TAG}.so`, `libggml.${TAG}.so`]);
    const suiteFile = join(tmp, 'cli-suite.json');
    writeFileSync(
      suiteFile,
      JSON.stringify({ name: 'lib-refused', model: { zoo: 'internvl2_5-1b', scale: 'tiny' }, target: 'local', runner: 'llamacpp', options: { llamaLibraryDir: dir }, defaults: { warmup: 0, iterations: 1, outputTokens: 2 }, matrix: { images: [0, 1], prefill: [8] } }),
    );
    const out = join(tmp, 'cli-results');
    const r = spawnSync(process.execPath, [resolve('bin/bench.mjs'), 'run', '-s', suiteFile, '-o', out, '--no-calibrate'], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toContain(`options.llamaLibraryDir ${dir}: expected libggml-base.so in ${dir}, found none`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(out, 'lib-refused'))).toBe(false);
  });
});
