// Child process for test/runners/llamacpp-images.test.ts: encodes one image with llama.cpp's
// mtmd (@fugood/llama.node) with MTMD_DEBUG_EMBEDDINGS set, so clip.cpp prints the projector
// output (token 0's first and last 16 values and whole-tensor statistics) on this process's
// log; the binding gives no other access to image embeddings. Args: LLM, MMPROJ, IMAGE.
process.env.MTMD_DEBUG_EMBEDDINGS = '1';
const { loadModel } = require('@fugood/llama.node');
const [llm, mmproj, image] = process.argv.slice(2);
(async () => {
  const ctx = await loadModel({ model: llm, n_ctx: 256, n_threads: 1, n_gpu_layers: 0 });
  if (!(await ctx.initMultimodal({ path: mmproj, use_gpu: false }))) throw new Error('initMultimodal failed');
  await ctx.completion({ prompt: '<__media__>x', media_paths: [image], n_predict: 1, temperature: 0 });
  await ctx.release();
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
