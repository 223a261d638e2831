/**
 * The mmproj GGUF the zoo writes for llama.cpp's mtmd, read back with node-llama-cpp's GGUF
 * reader (independent of the writer): clip keys, tensor names and shapes mtmd's InternVL loader
 * asks for (tools/mtmd/clip.cpp load_hparams / load_tensors), and the refusal for families
 * without a writer. That mtmd loads it and computes the ONNX graph's function is checked in
 * test/runners/llamacpp-images.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readGgufFileInfo } from 'node-llama-cpp';
import { afterAll, describe, expect, it } from 'vitest';
import { GGUF_MMPROJ_SESSION } from '../../models/gguf/llm.ts';
import { mmprojContent } from '../../models/gguf/mmproj.ts';
import { ensureModel, getDescriptor } from '../../models/zoo.ts';

const cacheDir = mkdtempSync(join(tmpdir(), 'mmproj-test-'));
afterAll(() => rmSync(cacheDir, { recursive: true, force: true }));

describe('mmproj GGUF (vision tower + projector for llama.cpp mtmd)', () => {
  it('writes InternVL\'s tower under mtmd\'s keys and tensor names, F32 at fp32 and F16 otherwise', async () => {
    for (const [precision, type] of [['fp32', 'F32'], ['int4', 'F16']] as const) {
      const built = await ensureModel({ model: 'internvl2_5-1b', scale: 'tiny', precision, layout: 'gguf', seed: 5, cacheDir });
      const path = built.files[GGUF_MMPROJ_SESSION]!;
      expect(path.endsWith(`internvl2_5-1b-mmproj-${type}.gguf`)).toBe(true);
      const info = await readGgufFileInfo(path);
      const md = info.metadata as unknown as Record<string, Record<string, unknown>>;
      expect(md['general']!['architecture']).toBe('clip');
      expect(String(md['general']!['name'])).toMatch(/^SYNTHETIC random weights/);
      const clip = md['clip'] as Record<string, unknown> & { vision: Record<string, unknown> };
      expect(clip['projector_type']).toBe('internvl');
      expect(clip['use_gelu']).toBe(true);
      const d = built.descriptor;
      expect(clip.vision['image_size']).toBe(d.vision.imageSize);
      expect(clip.vision['patch_size']).toBe(d.vision.patchSize);
      expect(clip.vision['embedding_length']).toBe(d.vision.hidden);
      expect(clip.vision['block_count']).toBe(d.vision.layers);
      expect(clip.vision['projection_dim']).toBe(d.llm.hidden);
      expect((clip.vision['projector'] as Record<string, unknown>)['scale_factor']).toBe(2);
      expect(Array.from(clip.vision['image_mean'] as number[]).map((v) => Number(v.toFixed(3)))).toEqual([0.485, 0.456, 0.406]);
      const tensors = new Map(info.tensorInfo!.map((t) => [t.name, { ne: t.dimensions.map(Number), type: t.ggmlType }]));
      const side = d.vision.imageSize / d.vision.patchSize;
      expect(tensors.get('v.patch_embd.weight')!.ne).toEqual([d.vision.patchSize, d.vision.patchSize, 3, d.vision.hidden]);
      expect(tensors.get('v.position_embd.weight')).toEqual({ ne: [d.vision.hidden, side * side + 1], type: 0 });
      expect(tensors.get('v.class_embd')!.ne).toEqual([d.vision.hidden]);
      expect(tensors.get('v.blk.1.attn_qkv.weight')!.ne).toEqual([d.vision.hidden, 3 * d.vision.hidden]);
      expect(tensors.get('v.blk.1.attn_qkv.weight')!.type).toBe(type === 'F32' ? 0 : 1);
      for (const n of ['ln1.weight', 'ln1.bias', 'attn_qkv.bias', 'attn_out.weight', 'attn_out.bias', 'ls1.weight', 'ln2.weight', 'ln2.bias', 'ffn_up.weight', 'ffn_up.bias', 'ffn_down.weight', 'ffn_down.bias', 'ls2.weight']) {
        expect(tensors.has(`v.blk.0.${n}`), n).toBe(true);
      }
      expect(tensors.get('mm.model.mlp.0.weight')!.ne).toEqual([4 * d.vision.hidden]);
      expect(tensors.get('mm.model.mlp.1.weight')!.ne).toEqual([4 * d.vision.hidden, d.projector.layers[0]!.out]);
      expect(tensors.get('mm.model.mlp.3.weight')!.ne).toEqual([d.projector.layers[0]!.out, d.llm.hidden]);
      expect(tensors.size).toBe(4 + 14 * d.vision.layers + 6);
    }
  });

  it('refuses the families whose tower is not written yet, with the reason, and the gguf build then holds the LLM only', async () => {
    expect(() => mmprojContent(getDescriptor('qwen2-vl-2b', 'tiny'), 1, 'fp32')).toThrow(/Qwen2-VL's tower \(2-D RoPE, qwen2vl_merger\) is not written as an mmproj yet/);
    expect(() => mmprojContent(getDescriptor('smolvlm-256m', 'tiny'), 1, 'fp32')).toThrow(/SmolVLM's SigLIP \+ Idefics3 projector/);
    const built = await ensureModel({ model: 'smolvlm-256m', scale: 'tiny', precision: 'int8', layout: 'gguf', seed: 5, cacheDir });
    expect(Object.keys(built.files)).toEqual(['llm']);
  });
});
