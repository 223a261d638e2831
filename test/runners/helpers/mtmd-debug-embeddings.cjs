// Child process for the mtmd embedding-agreement tests (test/runners/llamacpp-images*.test.ts):
// encodes one image with llama.cpp's mtmd (@fugood/llama.node) with MTMD_DEBUG_EMBEDDINGS set,
// so clip.cpp prints each encoded tile's projector output (token 0's first and last 16 values
// and whole-tensor statistics) on this process's log; the binding gives no other access to
// image embeddings. Args: LLM, MMPROJ, IMAGE [, IMAGE_MIN_TOKENS] (mtmd's --image-min-tokens,
// for dynamic-resolution projectors).
process.env.MTMD_DEBUG_EMBEDDINGS = '1';
const { loadModel } = require('@fugood/llama.node');
const [llm, mmproj, image, minTokens] = process.argv.slice(2);
(async () => {
  const ctx = await loadModel({ model: llm, n_ctx: 2048, n_batch: 2048, n_ubatch: 2048, n_threads: 1, n_gpu_layers: 0 });
  const options = { path: mmproj, use_gpu: false, ...(minTokens ? { image_min_tokens: Number(minTokens) } : {}) };
  if (!(await ctx.initMultimodal(options))) throw new Error('initMultimodal failed');
  await ctx.completion({ prompt: '<__media__>x', media_paths: [image], n_predict: 1, temperature: 0 });
  await ctx.release();
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
