import { markdownTable } from 'markdown-table';
import { CompositionError, InputError } from '../core/errors.ts';
import type { Suite } from '../core/suite-types.ts';
import { checkFigure, composeRow, type ComposedRow, type ComposeParams, type FigureCheck, type SubgraphLatencies } from '../core/axera-compose.ts';
import type { SubgraphLog } from '../harness/subgraph-logs.ts';
import { fmt } from './format.ts';

function numberOption(suite: Suite, name: string, fallback?: number): number {
  const v = suite.options?.[name] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new InputError(`suite "${suite.name}": options.${name} must be a positive integer (got ${JSON.stringify(v)})`);
  }
  return v;
}

export function composeParams(suite: Suite): ComposeParams {
  const text = suite.matrix['prefill']?.[0];
  return {
    layers: numberOption(suite, 'layers'),
    chunkSize: numberOption(suite, 'chunkSize', suite.defaults.chunkSize),
    tokensPerImage: numberOption(suite, 'tokensPerImage'),
    textTokens: typeof text === 'number' ? text : 128,
  };
}

export interface Composition {
  params: ComposeParams;
  rows: ComposedRow[];
  checks: Array<{ images: number; figures: FigureCheck[] }>;
  logs: SubgraphLog[];
  /** Rows of the matrix that could not be composed: their prompt needs graphs not measured. */
  skipped: Array<{ images: number; reason: string; missingGraphs: string[] }>;
}

const FIGURES: Array<[string, (r: ComposedRow) => number]> = [
  ['image_encoder_ms', (r) => r.imageEncoderMs],
  ['prefill_ttft_ms', (r) => r.prefillTtftMs],
  ['prompt_tokens', (r) => r.promptTokens],
  ['decoder_ms', (r) => r.decoderMs],
  ['tokens_per_s', (r) => r.tokensPerS],
];

export function composeSuite(suite: Suite, latencies: SubgraphLatencies, logs: SubgraphLog[]): Composition {
  const params = composeParams(suite);
  const images = (suite.matrix['images'] ?? [0]).map(Number);
  const rows: ComposedRow[] = [];
  const skipped: Composition['skipped'] = [];
  for (const n of images) {
    try {
      rows.push(composeRow(n, latencies, params));
    } catch (err) {
      if (!(err instanceof CompositionError)) throw err;
      // The rows the logs do give are still composed; the others say which graphs they need.
      skipped.push({ images: n, reason: err.message, missingGraphs: err.missingGraphs });
    }
  }
  const checks = (suite.reference?.rows ?? []).flatMap((ref) => {
    const row = rows.find((r) => r.images === Number(ref.params['images']));
    if (!row) return [];
    const figures = FIGURES.filter(([name]) => ref.figures[name] !== undefined).map(([name, get]) => checkFigure(name, ref.figures[name]!, get(row)));
    return [{ images: row.images, figures }];
  });
  return { params, rows, checks, logs, skipped };
}

export function renderComposition(suite: Suite, c: Composition): string {
  const p = c.params;
  const lines = [
    `# ${suite.name}: COMPOSED from per-subgraph latencies`,
    '',
    `Every figure below is composed from ax_run_model averages of single subgraphs (${p.layers} layers, prefill chunks of ${p.chunkSize} tokens, ${p.textTokens} text tokens + ${p.tokensPerImage} per image), not measured end to end: Prefill TTFT = (g1 + ... + g_chunks) x layers + post; Decoder = g0 x layers + post.`,
    '',
    '## Composed table',
    '',
    markdownTable(
      [
        ['Image num', 'ImageEncoder', 'Prefill TTFT', 'Decoder', 'tokens/s'],
        ...c.rows.map((r) => [String(r.images), `${fmt(r.imageEncoderMs, 3)} ms`, `${fmt(r.prefillTtftMs, 3)} ms (${r.promptTokens} tokens)`, `${fmt(r.decoderMs, 3)} ms`, `${fmt(r.tokensPerS, 2)} tokens/sec`]),
      ],
      { align: ['r', 'r', 'r', 'r', 'r'] },
    ),
    '',
    '## Subgraph latencies (ax_run_model)',
    '',
    markdownTable(
      [['Graph', 'avg (ms)', 'min (ms)', 'max (ms)', 'repeat', 'file'], ...c.logs.map((l) => [l.graph, fmt(l.avgMs, 3), fmt(l.minMs, 3), fmt(l.maxMs, 3), String(l.repeat ?? '–'), l.file])],
      { align: ['l', 'r', 'r', 'r', 'r', 'l'] },
    ),
    '',
    '## Formulas',
    '',
    ...c.rows.map((r) => `- ${r.images} image(s): ${r.formula}`),
  ];
  if (c.skipped.length) {
    lines.push('', '## Rows not composed', '', ...c.skipped.map((s) => `- ${s.images} image(s): ${s.reason}; missing logs: ${s.missingGraphs.map((g) => `${g}.txt`).join(', ')}`));
  }
  if (c.checks.length) {
    const flagged = c.checks.flatMap((ch) => ch.figures.filter((f) => f.flagged));
    lines.push(
      '',
      `## Published vs composed (${suite.reference?.source ?? 'reference'})`,
      '',
      flagged.length
        ? `**${flagged.length} published figure(s) differ from the composition by more than rounding** (marked DIFFERS).`
        : 'Every published figure matches the composition up to rounding.',
      '',
      markdownTable(
        [
          ['Image num', 'Figure', 'Published', 'Composed', 'Difference', 'Check'],
          ...c.checks.flatMap((ch) =>
            ch.figures.map((f) => [String(ch.images), f.name, String(f.published), fmt(f.composed, 3), fmt(f.difference, 3), f.flagged ? 'DIFFERS' : 'ok (rounding)']),
          ),
        ],
        { align: ['r', 'l', 'r', 'r', 'r', 'l'] },
      ),
    );
  }
  return `${lines.join('\n')}\n`;
}
