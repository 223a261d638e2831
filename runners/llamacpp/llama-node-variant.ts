/**
 * Which of @fugood/llama.node's platform builds an image cell loads. The package ships one npm
 * package per platform and variant (`@fugood/node-llama-<platform>-<arch>[-<variant>]`, optional
 * dependencies) and loads the one named by `loadModel({ lib_variant })`. Its `loadModule`
 * silently falls back to the default (CPU) build when the variant's package is missing or its
 * native library fails to load (checked: on this x64 machine without a GPU the installed
 * `linux-x64-cuda` package fails to dlopen and the CPU build runs, with only a console warning),
 * so the runner loads the chosen package itself first and records what ran.
 *
 * By the machine: on a Jetson (linux arm64 with NVIDIA's L4T and the CUDA 12 runtime at
 * /usr/local/cuda/lib64, the RUNPATH of 1.7.15's `linux-arm64-cuda` binary, which is built for
 * sm_87, Orin only) the `cuda` build; everywhere else the default build. The suite option
 * `llamaNodeVariant` (`auto`, `default`, `cuda`, `vulkan`) overrides the choice.
 */
import { existsSync } from 'node:fs';
import { InputError } from '../../core/errors.ts';

export const LLAMA_NODE_VARIANTS = ['default', 'cuda', 'vulkan'] as const;
export type LlamaNodeVariant = (typeof LLAMA_NODE_VARIANTS)[number];
/** What the suite option accepts: a variant, or `auto` (the machine decides). */
export const LLAMA_NODE_VARIANT_OPTIONS = ['auto', ...LLAMA_NODE_VARIANTS] as const;

/** Files whose presence says what the machine is (read by machineFacts, passed to the pure choice). */
export const L4T_RELEASE_FILE = '/etc/nv_tegra_release';
/** The CUDA runtime `linux-arm64-cuda` 1.7.15 links (libcudart.so.12, RUNPATH /usr/local/cuda/lib64). */
export const CUDA12_RUNTIME_FILE = '/usr/local/cuda/lib64/libcudart.so.12';

export interface MachineFacts {
  platform: NodeJS.Platform;
  arch: string;
  /** NVIDIA Linux for Tegra (a Jetson): L4T_RELEASE_FILE exists. */
  jetson: boolean;
  /** CUDA 12 runtime where the CUDA build looks for it (CUDA12_RUNTIME_FILE exists). */
  cuda12: boolean;
}

export interface VariantChoice {
  variant: LlamaNodeVariant;
  /** The npm package holding that build. */
  packageName: string;
  /** Why this one, in words recorded in the cell's settings. */
  reason: string;
  /** The suite named it (a load failure is then an error, not a fallback). */
  explicit: boolean;
}

export function machineFacts(): MachineFacts {
  return { platform: process.platform, arch: process.arch, jetson: existsSync(L4T_RELEASE_FILE), cuda12: existsSync(CUDA12_RUNTIME_FILE) };
}

/** @fugood/llama.node's package name of a platform build (lib/binding.ts getPlatformPackageName). */
export function llamaNodePackageName(platform: string, arch: string, variant: LlamaNodeVariant): string {
  return `@fugood/node-llama-${platform}-${arch}${variant === 'default' ? '' : `-${variant}`}`;
}

/** The suite option's value, checked (undefined = auto). */
export function parseVariantOption(value: unknown, where: string): LlamaNodeVariant | 'auto' {
  if (value === undefined) return 'auto';
  if (typeof value === 'string' && (LLAMA_NODE_VARIANT_OPTIONS as readonly string[]).includes(value)) return value as LlamaNodeVariant | 'auto';
  throw new InputError(`${where}: options.llamaNodeVariant must be one of ${LLAMA_NODE_VARIANT_OPTIONS.join(', ')}, got ${JSON.stringify(value)}`);
}

/** The build to load on a machine, given the suite's option (pure: the facts are passed in). */
export function chooseLlamaNodeVariant(facts: MachineFacts, requested: LlamaNodeVariant | 'auto'): VariantChoice {
  const pkg = (v: LlamaNodeVariant) => llamaNodePackageName(facts.platform, facts.arch, v);
  if (requested !== 'auto') {
    return { variant: requested, packageName: pkg(requested), reason: `options.llamaNodeVariant: ${requested}`, explicit: true };
  }
  const jetson = facts.platform === 'linux' && facts.arch === 'arm64' && facts.jetson;
  if (jetson && facts.cuda12) {
    return { variant: 'cuda', packageName: pkg('cuda'), reason: `auto: a Jetson (${L4T_RELEASE_FILE}) with the CUDA 12 runtime (${CUDA12_RUNTIME_FILE})`, explicit: false };
  }
  const reason = jetson
    ? `auto: a Jetson without the CUDA 12 runtime at ${CUDA12_RUNTIME_FILE} (the cuda build links it; JetPack 5 ships CUDA 11)`
    : `auto: not a Jetson (${facts.platform} ${facts.arch}${facts.platform === 'linux' && facts.arch === 'arm64' ? `, no ${L4T_RELEASE_FILE}` : ''})`;
  return { variant: 'default', packageName: pkg('default'), reason, explicit: false };
}
