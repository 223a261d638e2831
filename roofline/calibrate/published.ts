/**
 * Published peaks of boards whose accelerator cannot be measured from here (a Jetson GPU, an
 * Axera NPU): vendor figures, each with its citation, labelled `published` wherever they are
 * shown. They come from the target definition's `peaks` (targets.yaml); a few boards are
 * built in so a report can be bounded without a targets file. A figure the vendor does not
 * publish is left out (null), never estimated: a bound that needs it is reported as
 * unavailable instead.
 */
import { InputError } from '../../core/errors.ts';
import type { PublishedPeaks } from '../../targets/types.ts';
import { CALIBRATION_SCHEMA_VERSION, type Calibration, type ComputeKey, type Figure } from '../../core/calibration-types.ts';

export interface PublishedTarget {
  name: string;
  board: string;
  memoryBytes: number | null;
  readGBps: { value: number; citation: string } | null;
  /** Peak per arithmetic in G op/s, with what exactly the vendor's figure counts. */
  matmul: Partial<Record<ComputeKey, { value: number; citation: string; caveat?: string }>>;
  /** How the target's runtime executes the suite's precisions (e.g. Axera w8a16 = int8 weights). */
  notes: string[];
}

const ORIN_NX_DS = 'NVIDIA Jetson Orin NX Series Modules Data Sheet, DS-10712-001 (v1.1, Dec 2023)';
const AGX_ORIN_DS = 'NVIDIA Jetson AGX Orin Series Modules Data Sheet, DS-10662-001';
const SPARSE_CAVEAT =
  'the module\'s "AI performance": sparse INT8 summed over the GPU and both DLAs; the dense GPU-only peak is lower, so a compute bound from it is loose (still a bound)';

export const PUBLISHED_TARGETS: readonly PublishedTarget[] = [
  {
    name: 'orin-nx-16gb',
    board: 'NVIDIA Jetson Orin NX 16GB',
    memoryBytes: 16 * 2 ** 30,
    readGBps: { value: 102.4, citation: `${ORIN_NX_DS}: 128-bit LPDDR5, 102.4 GB/s` },
    matmul: { int8: { value: 100_000, citation: `${ORIN_NX_DS}: 100 TOPS`, caveat: SPARSE_CAVEAT } },
    notes: ['CPU, GPU and DLAs share the one LPDDR5 memory: the bandwidth is for all of them together.'],
  },
  {
    name: 'agx-orin-64gb',
    board: 'NVIDIA Jetson AGX Orin 64GB',
    memoryBytes: 64 * 2 ** 30,
    readGBps: { value: 204.8, citation: `${AGX_ORIN_DS}: 256-bit LPDDR5, 204.8 GB/s` },
    matmul: { int8: { value: 275_000, citation: `${AGX_ORIN_DS}: 275 TOPS`, caveat: SPARSE_CAVEAT } },
    notes: ['CPU, GPU and DLAs share the one LPDDR5 memory: the bandwidth is for all of them together.'],
  },
  {
    name: 'ax650',
    board: 'AXERA AX650N',
    memoryBytes: null,
    readGBps: null,
    matmul: {
      int8: { value: 18_000, citation: 'AXERA AX650N product figures, 18.0 TOPS@INT8 (as quoted by jas-hacks.blogspot.com, Sept 2024, "AX650N Sipeed Maix-IV")' },
      int4: { value: 72_000, citation: 'AXERA AX650N product figures, 72.0 TOPS@INT4 (same source)' },
    },
    notes: [
      'No DDR bandwidth figure is published for the AX650N in the sources this suite cites: decode bounds are unavailable until one is measured (e.g. /proc/ax_proc/bw/bw during a run) or cited.',
      'w8a16 cells are bounded with the INT8 peak: int8 weights, 16-bit activations; the NPU cannot exceed its INT8 figure on them.',
    ],
  },
];

export function publishedTargetNames(): string[] {
  return PUBLISHED_TARGETS.map((t) => t.name);
}

export function findPublishedTarget(name: string): PublishedTarget | undefined {
  return PUBLISHED_TARGETS.find((t) => t.name === name);
}

function publishedFigure(value: number, citation: string, caveat?: string): Figure {
  return {
    value,
    source: 'published',
    method: caveat ? `published figure; ${caveat}` : 'published figure',
    threads: null,
    citation,
  };
}

/**
 * A calibration made of published figures only. `label` is the target name it is stored
 * under (a suite's `target`, e.g. "jetson"), defaulting to the board entry's name.
 */
export function publishedCalibration(name: string, label = name, now = new Date()): Calibration {
  const t = findPublishedTarget(name);
  if (!t) {
    throw new InputError(`no published peaks for target "${name}"; known boards: ${publishedTargetNames().join(', ')} (or "local" to measure this machine)`);
  }
  const matmul: Calibration['matmul'] = {};
  for (const [key, f] of Object.entries(t.matmul) as Array<[ComputeKey, { value: number; citation: string; caveat?: string }]>) {
    matmul[key] = publishedFigure(f.value, f.citation, f.caveat);
  }
  return {
    schemaVersion: CALIBRATION_SCHEMA_VERSION,
    host: t.name,
    target: label,
    createdAt: now.toISOString(),
    durationMs: 0,
    machine: { cpu: t.board, cores: 0, memoryBytes: t.memoryBytes, llcBytes: null, runtime: 'vendor runtime (not measured)' },
    threads: 0,
    bandwidth: {
      read: t.readGBps ? publishedFigure(t.readGBps.value, t.readGBps.citation) : null,
      copy: null,
      extra: {},
    },
    matmul,
    matmulExtra: {},
    runtimeFormats: {},
    notes: [`Published figures for ${t.board}; nothing was measured.`, ...t.notes],
  };
}

/**
 * A calibration from the `peaks` of a target definition (targets.yaml): TOPS / TFLOPS become
 * G op/s, the `source` string is every figure's citation and `notes` its caveat. bf16 stands
 * in for fp16 when only bf16 is given (the same tensor-core rate on the boards concerned).
 */
export function calibrationFromPeaks(target: { name: string; description?: string; peaks: PublishedPeaks }, label = target.name, now = new Date()): Calibration {
  const p = target.peaks;
  const fig = (value: number): Figure => publishedFigure(value, p.source, p.notes);
  const matmul: Calibration['matmul'] = {};
  if (p.int8Tops !== undefined) matmul.int8 = fig(p.int8Tops * 1000);
  if (p.int4Tops !== undefined) matmul.int4 = fig(p.int4Tops * 1000);
  if (p.fp16Tflops !== undefined) matmul.fp16 = fig(p.fp16Tflops * 1000);
  else if (p.bf16Tflops !== undefined) matmul.fp16 = fig(p.bf16Tflops * 1000);
  const notes = [`Published figures from target "${target.name}"'s peaks; nothing was measured.`];
  if (p.memoryBandwidthGBps === undefined) notes.push('The target gives no memoryBandwidthGBps: decode bounds are unavailable.');
  if (p.fp16Tflops === undefined && p.bf16Tflops !== undefined) notes.push('fp16 peak taken from bf16Tflops.');
  return {
    schemaVersion: CALIBRATION_SCHEMA_VERSION,
    host: target.name,
    target: label,
    createdAt: now.toISOString(),
    durationMs: 0,
    machine: { cpu: target.description ?? target.name, cores: 0, memoryBytes: null, llcBytes: null, runtime: 'vendor runtime (not measured)' },
    threads: 0,
    bandwidth: { read: p.memoryBandwidthGBps !== undefined ? fig(p.memoryBandwidthGBps) : null, copy: null, extra: {} },
    matmul,
    matmulExtra: {},
    runtimeFormats: {},
    notes,
  };
}
