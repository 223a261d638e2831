/**
 * What the ORT runner refuses before a run starts (issue 18.6, 18.9): an unknown zoo model or
 * precision, a model folder that is not there, and cells whose prompt does not fit the model's
 * context (images x tokens per image + text tokens + output tokens). Nothing is built or loaded:
 * the limits come from the zoo descriptor or the export's config.json.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError, ValidationError } from '../../core/errors.ts';
import type { Cell, Suite } from '../../core/suite-types.ts';
import { getDescriptor, PRECISIONS } from '../../models/zoo.ts';
import { cellPartPrecisions, numberParam } from '../cell-input.ts';

interface ContextLimit {
  maxPositions: number;
  tokensPerImage: number | null;
  /** Where the figures come from, for the error. */
  source: string;
}

/** max_position_embeddings of an exported model's config.json (top level or its LLM part). */
function exportContext(dir: string): number | null {
  const file = join(dir, 'config.json');
  if (!existsSync(file)) return null;
  try {
    const cfg = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    for (const part of [cfg, cfg['text_config'], cfg['llm_config']]) {
      const v = (part as Record<string, unknown> | undefined)?.['max_position_embeddings'];
      if (typeof v === 'number' && v > 0) return v;
    }
  } catch {
    // An unreadable config only means the limit is unknown here; the runner reports the file later.
  }
  return null;
}

/**
 * @param localFiles the model folder is on this machine (not on a board), so its presence is checked.
 */
export function checkOrtPlan(suite: Suite, cells: readonly Cell[], localFiles: boolean): void {
  const where = `suite "${suite.name}"`;
  const ref = suite.model;
  let limit: ContextLimit | null = null;
  if ('zoo' in ref) {
    let d;
    try {
      d = getDescriptor(ref.zoo, ref.scale);
    } catch (err) {
      throw new ValidationError(where, 'model.zoo', (err as Error).message);
    }
    for (const cell of cells) {
      const parts = cellPartPrecisions(cell);
      for (const [axis, precision] of [['llm_precision', parts.llm], ['vision_precision', parts.vision]] as const) {
        if (precision === null || (PRECISIONS as readonly string[]).includes(precision)) continue;
        const named = cell.params[axis] !== undefined ? axis : 'precision';
        throw new ValidationError(where, `matrix.${named}`, `"${precision}" cannot be synthesised; the model zoo builds ${PRECISIONS.join(', ')}`);
      }
    }
    limit = { maxPositions: d.llm.maxPositions, tokensPerImage: d.imageTokensPerTile, source: `model ${d.id} (${ref.scale})` };
  } else if ('path' in ref) {
    if (localFiles && !existsSync(ref.path)) throw new ValidationError(where, 'model.path', `model folder not found: ${ref.path}`);
    const max = localFiles ? exportContext(ref.path) : null;
    const perImage = suite.options?.['tokensPerImage'];
    if (max !== null) limit = { maxPositions: max, tokensPerImage: typeof perImage === 'number' ? perImage : null, source: `${ref.path}/config.json` };
  } else {
    throw new ValidationError(where, 'model', 'the ort runner needs model.zoo or model.path, not a model named on a target');
  }
  for (const cell of cells) {
    const images = numberParam(cell, 'images', 0);
    const text = numberParam(cell, 'prefill', 128);
    const output = numberParam(cell, 'output_tokens', suite.defaults.outputTokens);
    if (!limit) continue;
    const imageTokens = limit.tokensPerImage === null ? 0 : images * limit.tokensPerImage;
    const total = imageTokens + text + output;
    if (total > limit.maxPositions) {
      const parts = `${limit.tokensPerImage === null ? '' : `${images} image(s) x ${limit.tokensPerImage} tokens + `}${text} text tokens + ${output} output tokens = ${total}`;
      const maxImages = limit.tokensPerImage ? Math.floor((limit.maxPositions - text - output) / limit.tokensPerImage) : null;
      throw new InputError(
        `${where}, cell ${cell.id}: ${parts} tokens, beyond the ${limit.maxPositions}-token context of ${limit.source}` +
          (maxImages !== null && maxImages >= 0 && images > maxImages ? ` (at most ${maxImages} image(s) with this prompt)` : ''),
      );
    }
  }
}
