// arm64 check under qemu-aarch64: the cross-built addon loads (RTLD_NOW: every symbol resolves),
// ggml's CPU backend loads from node-llama-cpp's arm64 package, and one image + prompt runs
// through mtmd and llama.cpp (encode, prefill, greedy token) on the tiny zoo model.
#include <dlfcn.h>
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include "llama.h"
#include "ggml-backend.h"
#include "mtmd.h"
#include "mtmd-helper.h"

int main(int argc, char ** argv) {
  if (argc < 3) { fprintf(stderr, "usage: check ADDON LIBDIR [MODEL MMPROJ IMAGE]\n"); return 2; }
  void * h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!h) { fprintf(stderr, "dlopen failed: %s\n", dlerror()); return 1; }
  printf("addon loaded (RTLD_NOW); napi_register_module_v1: %s\n", dlsym(h, "napi_register_module_v1") ? "present" : "MISSING");
  ggml_backend_load_all_from_path(argv[2]);
  llama_backend_init();
  printf("system info: %s\n", llama_print_system_info());
  for (size_t i = 0; i < ggml_backend_dev_count(); i++) {
    ggml_backend_dev_t d = ggml_backend_dev_get(i);
    printf("device %zu: %s (%s)\n", i, ggml_backend_dev_name(d), ggml_backend_dev_description(d));
  }
  if (argc < 6) return 0;
  llama_model * model = llama_model_load_from_file(argv[3], llama_model_default_params());
  if (!model) { fprintf(stderr, "model did not load\n"); return 1; }
  llama_context_params cp = llama_context_default_params();
  cp.n_ctx = 512; cp.n_batch = 512; cp.n_ubatch = 512; cp.n_threads = 1; cp.n_threads_batch = 1;
  cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
  llama_context * lctx = llama_init_from_model(model, cp);
  mtmd_context_params mp = mtmd_context_params_default();
  mp.use_gpu = false; mp.n_threads = 1; mp.print_timings = false; mp.warmup = false;
  mp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
  mtmd_context * mctx = mtmd_init_from_file(argv[4], model, mp);
  if (!lctx || !mctx) { fprintf(stderr, "context or mmproj did not load\n"); return 1; }
  mtmd_bitmap * bmp = mtmd_helper_bitmap_init_from_file(mctx, argv[5], false, mtmd_helper_init_opt_default()).bitmap;
  if (!bmp) { fprintf(stderr, "image did not load\n"); return 1; }
  std::string prompt = std::string(mtmd_default_marker()) + " describe";
  mtmd_input_text text{prompt.c_str(), prompt.size(), true, true};
  mtmd_input_chunks * chunks = mtmd_input_chunks_init();
  const mtmd_bitmap * bmps[1] = {bmp};
  if (mtmd_tokenize(mctx, chunks, &text, bmps, 1) != 0) { fprintf(stderr, "tokenize failed\n"); return 1; }
  size_t image_tokens = 0;
  for (size_t i = 0; i < mtmd_input_chunks_size(chunks); i++) {
    const mtmd_input_chunk * c = mtmd_input_chunks_get(chunks, i);
    if (mtmd_input_chunk_get_type(c) == MTMD_INPUT_CHUNK_TYPE_IMAGE) image_tokens += mtmd_input_chunk_get_n_tokens(c);
  }
  llama_pos n_past = 0;
  if (mtmd_helper_eval_chunks(mctx, lctx, chunks, 0, 0, 512, true, &n_past) != 0) { fprintf(stderr, "eval failed\n"); return 1; }
  const float * logits = llama_get_logits_ith(lctx, -1);
  const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
  const int token = (int) (std::max_element(logits, logits + n_vocab) - logits);
  printf("chunks %zu, image tokens %zu, positions %d, greedy token %d, logit %.6f\n", mtmd_input_chunks_size(chunks), image_tokens, (int) n_past, token, logits[token]);
  return 0;
}
