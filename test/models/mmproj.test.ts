/**
 * The mmproj GGUF the zoo writes for llama.cpp's mtmd, read back with node-llama-cpp's GGUF
 * reader (independent of the writer): clip keys, tensor names and shapes mtmd's loader asks
 * for per projector (tools/mtmd/clip.cpp load_hparams / load_tensors). That mtmd loads it and
 * computes the ONNX graph's function is checked in test/runners/llamacpp-images.test.ts,
 * test/runners/llamacpp-images-families.test.ts and test/runners/llamacpp-qwen3vl.test.ts.
 */
import { readGgufFileInfo } from 'node-llama-cpp';
import { describe, expect, it } from 'vitest';
import { GGUF_MMPROJ_SESSION } from '../../models/gguf/llm.ts';
import { mmprojContent } from '../../models/gguf/mmproj.ts';
import { ensureModel, getDescriptor } from '../../models/zoo.ts';
import { tempDir } from '../helpers/tmp.ts';

const cacheDir = tempDir('mmproj-test-');

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

  it('writes Qwen2-VL, Qwen2.5-VL and SmolVLM under the keys and tensor names of their mtmd projectors', async () => {
    const read = async (model: string) => {
      const built = await ensureModel({ model, scale: 'tiny', precision: 'int8', layout: 'gguf', seed: 5, cacheDir });
      const info = await readGgufFileInfo(built.files[GGUF_MMPROJ_SESSION]!);
      const md = info.metadata as unknown as { general: Record<string, unknown>; clip: Record<string, unknown> & { vision: Record<string, unknown> } };
      const tensors = new Map(info.tensorInfo!.map((t) => [t.name, t.dimensions.map(Number)]));
      return { d: built.descriptor, md, tensors };
    };
    for (const model of ['qwen2-vl-2b', 'qwen2_5-vl-3b']) {
      const { d, md, tensors } = await read(model);
      const v = d.vision;
      const qwen25 = model === 'qwen2_5-vl-3b';
      expect(md.clip['projector_type']).toBe(qwen25 ? 'qwen2.5vl_merger' : 'qwen2vl_merger');
      // QuickGELU (Qwen2-VL) is mtmd's default when neither flag is set; Qwen2.5-VL's MLP is SiLU-gated.
      expect([md.clip['use_gelu'], md.clip['use_silu']]).toEqual([false, qwen25]);
      expect(md.clip.vision['spatial_merge_size']).toBe(2);
      expect(Array.from(md.clip.vision['image_mean'] as number[]).map((x) => Number(x.toFixed(4)))).toEqual([0.4815, 0.4578, 0.4082]);
      // The Conv3d patch embedding as one Conv2d kernel per temporal frame.
      expect(tensors.get('v.patch_embd.weight')).toEqual([v.patchSize, v.patchSize, 3, v.hidden]);
      expect(tensors.get('v.patch_embd.weight.1')).toEqual([v.patchSize, v.patchSize, 3, v.hidden]);
      expect(tensors.has('v.patch_embd.bias')).toBe(false);
      for (const part of ['q', 'k', 'v']) expect(tensors.get(`v.blk.0.attn_${part}.weight`)).toEqual([v.hidden, v.hidden]);
      expect(tensors.has('v.blk.0.ln1.bias')).toBe(!qwen25);
      expect(tensors.has('v.blk.0.ffn_gate.weight')).toBe(qwen25);
      expect(tensors.get('v.blk.0.ffn_up.weight')).toEqual([v.hidden, v.intermediate]);
      expect(tensors.get('v.blk.0.ffn_down.weight')).toEqual([v.intermediate, v.hidden]);
      expect(tensors.get('v.post_ln.weight')).toEqual([v.hidden]);
      expect(tensors.get('mm.0.weight')).toEqual([4 * v.hidden, d.projector.layers[0]!.out]);
      expect(tensors.get('mm.2.weight')).toEqual([d.projector.layers[0]!.out, d.llm.hidden]);
      if (qwen25) {
        // Full attention in block 1 of 2: every 2nd block. The 56 px windows are said to differ from what mtmd runs.
        expect(md.clip.vision['n_wa_pattern']).toBe(2);
        expect(String(md.general['description'])).toMatch(/NOT the ONNX encoder's function in llama\.cpp: mtmd's qwen2\.5vl_merger graph attends within 112 px windows/);
      }
    }
    const { d, md, tensors } = await read('smolvlm-256m');
    expect(md.clip['projector_type']).toBe('idefics3');
    expect(md.clip['use_gelu']).toBe(true);
    expect((md.clip.vision['projector'] as Record<string, unknown>)['scale_factor']).toBe(4);
    expect(md.clip.vision['preproc_image_size']).toBe(4 * d.vision.imageSize);
    const side = d.vision.imageSize / d.vision.patchSize;
    expect(tensors.get('v.position_embd.weight')).toEqual([d.vision.hidden, side * side]);
    expect(tensors.get('v.post_ln.bias')).toEqual([d.vision.hidden]);
    expect(tensors.get('mm.model.fc.weight')).toEqual([16 * d.vision.hidden, d.llm.hidden]);
    expect(tensors.has('mm.model.fc.bias')).toBe(false);
  });

  it('writes Qwen3-VL under qwen3vl_merger\'s keys and names: patch bias, learned position table, fused qkv, DeepStack mergers at their blocks', async () => {
    const built = await ensureModel({ model: 'qwen3-vl-2b', scale: 'tiny', precision: 'int8', layout: 'gguf', seed: 5, cacheDir });
    const info = await readGgufFileInfo(built.files[GGUF_MMPROJ_SESSION]!);
    const md = info.metadata as unknown as { general: Record<string, unknown>; clip: Record<string, unknown> & { vision: Record<string, unknown> } };
    const tensors = new Map(info.tensorInfo!.map((t) => [t.name, { ne: t.dimensions.map(Number), type: t.ggmlType }]));
    const d = built.descriptor;
    const v = d.vision;
    expect(md.clip['projector_type']).toBe('qwen3vl_merger');
    expect([md.clip['use_gelu'], md.clip['use_silu']]).toEqual([true, false]);
    expect(md.clip.vision['spatial_merge_size']).toBe(2);
    expect(md.clip.vision['patch_size']).toBe(16);
    // Qwen3-VL's processor normalises with mean/std 0.5 (preprocessor_config.json).
    expect(Array.from(md.clip.vision['image_mean'] as number[])).toEqual([0.5, 0.5, 0.5]);
    expect(Array.from(md.clip.vision['image_std'] as number[])).toEqual([0.5, 0.5, 0.5]);
    expect(String(md.general['name'])).toMatch(/^SYNTHETIC random weights/);
    expect(tensors.get('v.patch_embd.weight')!.ne).toEqual([16, 16, 3, v.hidden]);
    expect(tensors.get('v.patch_embd.weight.1')!.ne).toEqual([16, 16, 3, v.hidden]);
    expect(tensors.get('v.patch_embd.bias')!.ne).toEqual([v.hidden]);
    // The 4x4 table as it is (mtmd interpolates it to the patch grid), F32.
    expect(tensors.get('v.position_embd.weight')).toEqual({ ne: [v.hidden, 16], type: 0 });
    expect(tensors.get('v.blk.2.attn_qkv.weight')).toEqual({ ne: [v.hidden, 3 * v.hidden], type: 1 });
    expect(tensors.get('v.blk.2.attn_qkv.bias')!.ne).toEqual([3 * v.hidden]);
    expect(tensors.has('v.blk.0.attn_q.weight')).toBe(false);
    expect(tensors.get('v.post_ln.bias')!.ne).toEqual([v.hidden]);
    expect(tensors.get('mm.0.weight')!.ne).toEqual([4 * v.hidden, d.projector.layers[0]!.out]);
    expect(tensors.get('mm.2.weight')!.ne).toEqual([d.projector.layers[0]!.out, d.llm.hidden]);
    // DeepStack taps at blocks 0 and 2: named by the block (as the converter maps deepstack_visual_indexes), LayerNorm over the merged 4 patches.
    for (const block of [0, 2]) {
      expect(tensors.get(`v.deepstack.${block}.norm.weight`)!.ne).toEqual([4 * v.hidden]);
      expect(tensors.get(`v.deepstack.${block}.norm.bias`)!.ne).toEqual([4 * v.hidden]);
      expect(tensors.get(`v.deepstack.${block}.fc1.weight`)!.ne).toEqual([4 * v.hidden, d.projector.layers[0]!.out]);
      expect(tensors.get(`v.deepstack.${block}.fc2.weight`)!.ne).toEqual([d.projector.layers[0]!.out, d.llm.hidden]);
    }
    expect(tensors.has('v.deepstack.1.norm.weight')).toBe(false);
    // 2 kernels + bias + table; 12 per block; post_ln 2; mm 4; 6 per DeepStack level (norm, fc1, fc2 with biases).
    expect(tensors.size).toBe(4 + 12 * v.layers + 2 + 4 + 6 * 2);
  });

  it('describes full-scale towers too (tensor list only, nothing written)', async () => {
    const full = mmprojContent(getDescriptor('qwen2_5-vl-3b', 'full'), 1, 'int8');
    expect(full.differs).toBeUndefined();
    expect(full.metadata.find(([k]) => k === 'clip.vision.n_wa_pattern')?.[1]).toEqual({ type: 'uint32', value: 8 });
    // 2 patch kernels; per block RMS ln1, q/k/v, attn_out, RMS ln2, gate/up/down (weights and biases); RMS post_ln; mm.0 and mm.2.
    expect(full.tensors.length).toBe(2 + 32 * 16 + 1 + 4);
    expect(full.tensors.find((t) => t.name === 'mm.0.weight')?.ne).toEqual([5120, 5120]);
    const smol = mmprojContent(getDescriptor('smolvlm-256m', 'full'), 1, 'fp16');
    expect(smol.tensors.find((t) => t.name === 'mm.model.fc.weight')?.ne).toEqual([768 * 16, 576]);
    expect(smol.metadata.find(([k]) => k === 'clip.vision.preproc_image_size')?.[1]).toEqual({ type: 'uint32', value: 2048 });
    const q3 = mmprojContent(getDescriptor('qwen3-vl-2b', 'full'), 1, 'int4');
    // 24 blocks, DeepStack at blocks 5, 11 and 17, position table 48x48, merger 4096 -> 2048.
    expect(q3.tensors.length).toBe(4 + 12 * 24 + 2 + 4 + 6 * 3);
    expect(q3.tensors.find((t) => t.name === 'v.position_embd.weight')?.ne).toEqual([1024, 2304]);
    expect(q3.tensors.filter((t) => t.name.endsWith('.fc2.weight')).map((t) => t.name)).toEqual(['v.deepstack.5.fc2.weight', 'v.deepstack.11.fc2.weight', 'v.deepstack.17.fc2.weight']);
    expect(q3.tensors.find((t) => t.name === 'mm.2.weight')?.ne).toEqual([4096, 2048]);
  });
});
