import type { LanguageModel } from '../descriptors.ts';
import { MS_DOMAIN, int, type GraphBuilder } from '../onnx/graph-builder.ts';
import { produceFlat, quantizeInt4Blockwise, quantizeInt8PerRow } from '../weights/encode.ts';
import type { RandomTensor } from '../weights/random.ts';
import { linearWeight, type LinearOptions } from './linear.ts';

/**
 * The token embedding table `[vocab, hidden]`. It is the same tensor a tied lm_head reads, so
 * it uses the lm_head's std (1/sqrt(hidden)); RMSNorm after it makes the scale immaterial.
 */
export function embeddingTable(seed: number, llm: LanguageModel): RandomTensor {
  return linearWeight(seed, { name: 'llm.embed_tokens', inFeatures: llm.hidden, outFeatures: llm.vocab, bias: false });
}

/**
 * Row lookup `input_ids [b, s]` -> `[b, s, hidden]` float32, with the table stored per precision:
 * fp32; fp16 (+ Cast of the gathered rows); int8 per-row symmetric (+ rescale of the rows);
 * int4 blockwise via com.microsoft.GatherBlockQuantized (block size as MatMulNBits).
 */
export function embedTokens(g: GraphBuilder, ids: string, llm: LanguageModel, lin: LinearOptions): string {
  const t = embeddingTable(lin.seed, llm);
  const V = llm.vocab;
  const H = llm.hidden;
  switch (lin.precision) {
    case 'fp32':
      return g.op('Gather', [g.weight(t.name, 'float32', [V, H], produceFlat(t, 'float32')), ids]);
    case 'fp16': {
      const rows = g.op('Gather', [g.weight(`${t.name}_fp16`, 'float16', [V, H], produceFlat(t, 'float16')), ids]);
      return g.op('Cast', [rows], { to: int(1) });
    }
    case 'int8': {
      const q = quantizeInt8PerRow(t);
      const codes = g.weight(`${t.name}_int8`, 'int8', [V, H], q.produceCodes);
      const scales = g.weight(`${t.name}_scale`, 'float32', [V, 1], (emit) => emit(q.scales));
      const rows = g.op('Cast', [g.op('Gather', [codes, ids])], { to: int(1) });
      return g.op('Mul', [rows, g.op('Gather', [scales, ids])]);
    }
    case 'int4': {
      const bs = lin.int4BlockSize;
      const q = quantizeInt4Blockwise(t, bs);
      if (H % bs !== 0) throw new Error(`int4 embedding needs hidden ${H} to be a multiple of block size ${bs}`);
      const codes = g.weight(`${t.name}_q4`, 'uint8', [V, H / 2], q.produceCodes);
      const scales = g.weight(`${t.name}_q4_scale`, 'float32', [V, q.blocks], (emit) => emit(q.scales));
      return g.op(
        'GatherBlockQuantized',
        [codes, ids, scales],
        { gather_axis: int(0), quantize_axis: int(1), block_size: int(bs), bits: int(4) },
        MS_DOMAIN,
      );
    }
  }
}
