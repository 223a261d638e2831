/**
 * What a result records of its roofline: per cell and phase the work, the bounds, the kernel
 * ceiling, the measured median and the percentages, with the calibration they come from. The
 * harness computes it once when a run ends; reports read it from the result.
 */
import { basename } from 'node:path';
import type { Calibration } from '../core/calibration-types.ts';
import type { CellResult, RooflineRecord, RunResult } from '../core/result-types.ts';
import { descriptorEntry, knownModelIds } from '../models/descriptors.ts';
import { getDescriptor, type Scale, type VlmDescriptor } from '../models/zoo.ts';
import { rooflineRows, type DescriptorLookup } from './rows.ts';

const normalise = (name: string): string => name.toLowerCase().replace(/[._\s]+/g, '-');

/**
 * The zoo architecture a model name denotes: the zoo id itself, or a name that starts with it
 * up to a separator once case, dots and underscores are ignored ("InternVL2_5-1B-MPO" and
 * "InternVL2.5-1B" are internvl2_5-1b; "Qwen2-VL-2B-Instruct" is qwen2-vl-2b). A Hugging Face
 * repository id or a path names the model by its last part: "ggml-org/InternVL2_5-1B-GGUF"
 * (what the board suites pass to llama.cpp's -hf) is internvl2_5-1b.
 */
export function zooIdForName(name: string): string | null {
  if (descriptorEntry(name)) return name;
  const n = normalise(name.slice(name.lastIndexOf('/') + 1));
  const hits = knownModelIds().filter((id) => {
    const z = normalise(id);
    return n === z || n.startsWith(`${z}-`);
  });
  return hits.sort((a, b) => b.length - a.length)[0] ?? null;
}

/**
 * Descriptors for cells whose model is a zoo architecture: the synthetic models the ORT runner
 * builds (cell.model.architecture + scale), a suite that names `model.zoo`, or a real export /
 * board model whose name or folder starts with a zoo id (see zooIdForName). Anything else gets
 * null: its bounds are reported as unavailable, never guessed.
 */
export function zooDescriptorFor(result: RunResult): DescriptorLookup {
  const suiteModel = result.suite.definition.model;
  const suiteName = 'zoo' in suiteModel ? suiteModel.zoo : 'name' in suiteModel ? suiteModel.name : basename(suiteModel.path);
  return (cell: CellResult): VlmDescriptor | null => {
    const id = (cell.model ? zooIdForName(cell.model.architecture) : null) ?? zooIdForName(suiteName);
    if (!id) return null;
    const named = cell.model?.scale ?? ('zoo' in suiteModel ? suiteModel.scale : undefined);
    const scale: Scale = named === 'tiny' ? 'tiny' : 'full';
    return getDescriptor(id, scale);
  };
}

/**
 * What a result records of its roofline: the calibration, whole, and per cell and phase the
 * work, the bounds, the measured median and the percentages.
 */
export function rooflineRecord(result: RunResult, calibration: Calibration, descriptorFor: DescriptorLookup = zooDescriptorFor(result)): RooflineRecord {
  const rows = rooflineRows(result, calibration, descriptorFor).map((r) => {
    const b = r.bound;
    return {
      cellId: r.cellId,
      phase: r.phase,
      per: b?.per ?? (r.phase === 'decode' ? ('output token' as const) : ('request' as const)),
      work: b ? { ...b.work } : null,
      memoryMs: b?.memoryMs ?? null,
      computeMs: b?.computeMs ?? null,
      boundMs: b?.boundMs ?? null,
      limitedBy: b?.limitedBy ?? null,
      computeRates: (b?.computeRates ?? []).map((c) => ({ ...c })),
      kernelMs: b?.kernelMs ?? null,
      achievedMs: r.achievedMs,
      percentOfBound: r.percentOfBound,
      percentOfKernelCeiling: r.percentOfKernelCeiling,
      boundWrong: r.boundWrong,
      kernelCeilingWrong: r.kernelCeilingWrong,
      notes: [...(b?.notes ?? []), ...(r.reason ? [r.reason] : [])],
    };
  });
  return { calibration, rows };
}
