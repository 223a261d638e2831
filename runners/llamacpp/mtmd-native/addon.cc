// The suite's own N-API binding of llama.cpp's multimodal library (mtmd), linked against the
// prebuilt libllama / libggml of node-llama-cpp's installed platform package (the same llama.cpp
// build that serves the text cells), so image cells run on ggml's best CPU variant for the machine.
//
// One Session = one llama model + context + mtmd context. Every call that computes runs on a
// worker thread (Napi::AsyncWorker) and returns a Promise; the JS side times each call on the
// suite's clock. A session refuses a call while another of its calls is running.
//
// API facts (function names, parameter structs) come from llama.cpp's own headers of the release
// node-llama-cpp ships (include/llama.h, tools/mtmd/mtmd.h, mtmd-helper.h).
#include <napi.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "ggml-backend.h"
#include "llama.h"
#include "mtmd-helper.h"
#include "mtmd.h"

namespace {

// llama.cpp and mtmd log a lot at INFO level; the suite keeps only warnings and errors, and the
// last few of them are appended to an error message so a failure says why.
std::mutex g_log_mutex;
std::deque<std::string> g_log_tail;
constexpr size_t LOG_TAIL_LINES = 24;

void quiet_log(enum ggml_log_level level, const char * text, void * /*user_data*/) {
  if (level != GGML_LOG_LEVEL_WARN && level != GGML_LOG_LEVEL_ERROR) return;
  std::lock_guard<std::mutex> lock(g_log_mutex);
  g_log_tail.emplace_back(text ? text : "");
  while (g_log_tail.size() > LOG_TAIL_LINES) g_log_tail.pop_front();
}

std::string take_log_tail() {
  std::lock_guard<std::mutex> lock(g_log_mutex);
  std::string out;
  for (const auto & line : g_log_tail) out += line;
  g_log_tail.clear();
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

std::string with_log(const std::string & message) {
  const std::string tail = take_log_tail();
  return tail.empty() ? message : message + " (llama.cpp log: " + tail + ")";
}

std::once_flag g_backend_once;

struct Session {
  llama_model * model = nullptr;
  llama_context * lctx = nullptr;
  mtmd_context * mctx = nullptr;
  int32_t n_batch = 512;
  // The last prepared prompt, its encoded image embeddings per chunk (empty for text chunks).
  mtmd_input_chunks * chunks = nullptr;
  std::vector<std::vector<float>> embeddings;
  llama_pos n_past = 0;
  bool has_logits = false;
  // The greedy choice from the last logits: the next token, not yet in the KV memory.
  llama_token next_token = -1;

  llama_token argmax_last_logits() const {
    const float * logits = llama_get_logits_ith(lctx, -1);
    const int32_t n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
    return static_cast<llama_token>(std::max_element(logits, logits + n_vocab) - logits);
  }
  std::atomic<bool> busy{false};

  ~Session() { release(); }

  void free_chunks() {
    if (chunks) mtmd_input_chunks_free(chunks);
    chunks = nullptr;
    embeddings.clear();
  }

  void release() {
    free_chunks();
    if (mctx) mtmd_free(mctx);
    if (lctx) llama_free(lctx);
    if (model) llama_model_free(model);
    mctx = nullptr;
    lctx = nullptr;
    model = nullptr;
  }
};

struct OpenOptions {
  std::string model_path;
  std::string mmproj_path;
  uint32_t n_ctx = 2048;
  uint32_t n_batch = 512;
  int32_t n_threads = 1;
  int32_t n_gpu_layers = 0;
  bool mmproj_use_gpu = false;
  int32_t image_min_tokens = -1;
  int32_t image_max_tokens = -1;
};

class SessionWrap;

// Runs `work` on the worker thread and resolves with `result` (built on the main thread).
class Job : public Napi::AsyncWorker {
 public:
  using Work = std::function<void(Job &)>;
  using Result = std::function<Napi::Value(Napi::Env)>;

  Job(Napi::Env env, Session * session, Work work)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), session_(session), work_(std::move(work)) {}

  Napi::Promise promise() { return deferred_.Promise(); }
  // Keeps the session's JS object alive until the job ends (its destructor frees the session).
  void hold(const Napi::Object & owner) { owner_ = Napi::Persistent(owner); }
  void set_result(Result r) { result_ = std::move(r); }
  void set_on_error(std::function<void()> f) { on_error_ = std::move(f); }
  void fail(const std::string & message) { SetError(with_log(message)); }

  void Execute() override {
    // Warnings of earlier calls are not this call's reason.
    take_log_tail();
    work_(*this);
  }
  void OnOK() override {
    if (session_) session_->busy = false;
    deferred_.Resolve(result_ ? result_(Env()) : Env().Undefined());
  }
  void OnError(const Napi::Error & e) override {
    if (session_) session_->busy = false;
    if (on_error_) on_error_();
    deferred_.Reject(e.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  Session * session_;
  Work work_;
  Result result_;
  std::function<void()> on_error_;
  Napi::ObjectReference owner_;
};

class SessionWrap : public Napi::ObjectWrap<SessionWrap> {
 public:
  static Napi::FunctionReference * constructor;

  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "MtmdSession",
                       {
                           InstanceMethod("prepare", &SessionWrap::Prepare),
                           InstanceMethod("encodeImage", &SessionWrap::EncodeImage),
                           InstanceMethod("imageEmbedding", &SessionWrap::ImageEmbedding),
                           InstanceMethod("prefill", &SessionWrap::Prefill),
                           InstanceMethod("step", &SessionWrap::Step),
                           InstanceMethod("reset", &SessionWrap::Reset),
                           InstanceMethod("perf", &SessionWrap::Perf),
                           InstanceMethod("info", &SessionWrap::Info),
                           InstanceMethod("close", &SessionWrap::Close),
                       });
  }

  explicit SessionWrap(const Napi::CallbackInfo & info) : Napi::ObjectWrap<SessionWrap>(info) {
    if (info.Length() != 1 || !info[0].IsExternal()) {
      Napi::TypeError::New(info.Env(), "MtmdSession is created by open()").ThrowAsJavaScriptException();
      return;
    }
    session_ = info[0].As<Napi::External<Session>>().Data();
  }

  ~SessionWrap() override { delete session_; }

 private:
  Session * session_ = nullptr;

  // A session runs one call at a time; false (and a thrown error) when it is busy or closed.
  bool claim(Napi::Env env) {
    if (!session_ || !session_->lctx) {
      Napi::Error::New(env, "mtmd session is closed").ThrowAsJavaScriptException();
      return false;
    }
    bool expected = false;
    if (!session_->busy.compare_exchange_strong(expected, true)) {
      Napi::Error::New(env, "mtmd session: another call is still running").ThrowAsJavaScriptException();
      return false;
    }
    return true;
  }

  // Starts a job, keeping this session's JS object alive until it settles; its promise.
  Napi::Value queue(Job * job) {
    job->hold(Value());
    job->Queue();
    return job->promise();
  }

  // A claimed call refused before it starts: the claim is released (nothing changed) and the error thrown.
  Napi::Value refuse(Napi::Env env, const std::string & message) {
    session_->busy = false;
    Napi::Error::New(env, message).ThrowAsJavaScriptException();
    return env.Undefined();
  }

  const mtmd_input_chunk * image_chunk(Napi::Env env, const Napi::Value & v) {
    if (!session_->chunks) {
      Napi::Error::New(env, "mtmd session: nothing prepared").ThrowAsJavaScriptException();
      return nullptr;
    }
    const size_t n = mtmd_input_chunks_size(session_->chunks);
    const int64_t idx = v.IsNumber() ? v.As<Napi::Number>().Int64Value() : -1;
    if (idx < 0 || static_cast<size_t>(idx) >= n) {
      Napi::RangeError::New(env, "mtmd session: chunk index out of range").ThrowAsJavaScriptException();
      return nullptr;
    }
    const mtmd_input_chunk * chunk = mtmd_input_chunks_get(session_->chunks, idx);
    if (mtmd_input_chunk_get_type(chunk) != MTMD_INPUT_CHUNK_TYPE_IMAGE) {
      Napi::Error::New(env, "mtmd session: chunk " + std::to_string(idx) + " is not an image").ThrowAsJavaScriptException();
      return nullptr;
    }
    return chunk;
  }

  // prepare(text, imagePaths): images decoded and preprocessed, prompt tokenised into chunks.
  Napi::Value Prepare(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsString() || !info[1].IsArray()) {
      Napi::TypeError::New(env, "prepare(text: string, imagePaths: string[])").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    std::string text = info[0].As<Napi::String>();
    std::vector<std::string> paths;
    Napi::Array arr = info[1].As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); i++) {
      Napi::Value p = arr.Get(i);
      if (!p.IsString()) {
        Napi::TypeError::New(env, "prepare: image paths must be strings").ThrowAsJavaScriptException();
        return env.Undefined();
      }
      paths.push_back(p.As<Napi::String>());
    }
    if (!claim(env)) return env.Undefined();
    Session * s = session_;
    auto * job = new Job(env, s, [s, text, paths](Job & job) {
      s->free_chunks();
      std::vector<mtmd_bitmap *> bitmaps;
      auto free_bitmaps = [&bitmaps]() {
        for (auto * b : bitmaps) mtmd_bitmap_free(b);
      };
      for (const auto & path : paths) {
        mtmd_helper_bitmap_wrapper w = mtmd_helper_bitmap_init_from_file(s->mctx, path.c_str(), false, mtmd_helper_init_opt_default());
        if (!w.bitmap) {
          free_bitmaps();
          job.fail("mtmd could not load the image " + path);
          return;
        }
        bitmaps.push_back(w.bitmap);
      }
      mtmd_input_text input{text.c_str(), text.size(), /*add_special*/ true, /*parse_special*/ true};
      s->chunks = mtmd_input_chunks_init();
      const int32_t rc = mtmd_tokenize(s->mctx, s->chunks, &input, const_cast<const mtmd_bitmap **>(bitmaps.data()), bitmaps.size());
      free_bitmaps();
      if (rc != 0) {
        s->free_chunks();
        job.fail("mtmd_tokenize failed (" + std::to_string(rc) + ")");
        return;
      }
      s->embeddings.assign(mtmd_input_chunks_size(s->chunks), {});
      job.set_result([s](Napi::Env env) {
        Napi::Array out = Napi::Array::New(env);
        const size_t n = mtmd_input_chunks_size(s->chunks);
        for (size_t i = 0; i < n; i++) {
          const mtmd_input_chunk * c = mtmd_input_chunks_get(s->chunks, i);
          Napi::Object o = Napi::Object::New(env);
          const bool image = mtmd_input_chunk_get_type(c) == MTMD_INPUT_CHUNK_TYPE_IMAGE;
          o.Set("type", image ? "image" : mtmd_input_chunk_get_type(c) == MTMD_INPUT_CHUNK_TYPE_TEXT ? "text" : "audio");
          o.Set("nTokens", static_cast<double>(mtmd_input_chunk_get_n_tokens(c)));
          o.Set("nPos", static_cast<double>(mtmd_input_chunk_get_n_pos(c)));
          if (image && mtmd_decode_use_mrope(s->mctx)) {
            // Only M-RoPE models place image tokens on a 2-D grid of decoder positions.
            const mtmd_image_tokens * t = mtmd_input_chunk_get_tokens_image(c);
            // The token grid's extent, from the decoder positions of its tokens (nx / ny are deprecated).
            uint32_t max_x = 0, max_y = 0;
            const size_t nt = mtmd_image_tokens_get_n_tokens(t);
            for (size_t k = 0; k < nt; k++) {
              mtmd_decoder_pos p = mtmd_image_tokens_get_decoder_pos(t, 0, k);
              max_x = std::max(max_x, p.x);
              max_y = std::max(max_y, p.y);
            }
            o.Set("nx", max_x + 1);
            o.Set("ny", max_y + 1);
          }
          out.Set(i, o);
        }
        return out;
      });
    });
    return queue(job);
  }

  // encodeImage(chunkIndex): the vision encoder on one image chunk; its embeddings are kept.
  Napi::Value EncodeImage(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (!claim(env)) return env.Undefined();
    const mtmd_input_chunk * chunk = image_chunk(env, info.Length() ? info[0] : env.Undefined());
    if (!chunk) {
      session_->busy = false;
      return env.Undefined();
    }
    const size_t idx = info[0].As<Napi::Number>().Uint32Value();
    Session * s = session_;
    auto * job = new Job(env, s, [s, chunk, idx](Job & job) {
      if (mtmd_encode_chunk(s->mctx, chunk) != 0) {
        job.fail("mtmd_encode_chunk failed");
        return;
      }
      const size_t n = static_cast<size_t>(llama_model_n_embd_inp(s->model)) * mtmd_input_chunk_get_n_tokens(chunk);
      const float * embd = mtmd_get_output_embd(s->mctx);
      s->embeddings[idx].assign(embd, embd + n);
    });
    return queue(job);
  }

  // imageEmbedding(chunkIndex): a copy of an encoded chunk's embeddings (tokens x n_embd, row-major).
  Napi::Value ImageEmbedding(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (!session_ || !session_->lctx) {
      Napi::Error::New(env, "mtmd session is closed").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (!image_chunk(env, info.Length() ? info[0] : env.Undefined())) return env.Undefined();
    const auto & e = session_->embeddings[info[0].As<Napi::Number>().Uint32Value()];
    if (e.empty()) {
      Napi::Error::New(env, "mtmd session: that image chunk is not encoded").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Float32Array out = Napi::Float32Array::New(env, e.size());
    std::memcpy(out.Data(), e.data(), e.size() * sizeof(float));
    return out;
  }

  // prefill(): every prepared chunk into the KV memory in order (text in n_batch pieces, images
  // from their encoded embeddings with mtmd's positions); resolves with the positions evaluated
  // and the first token (greedy: argmax of the last prompt row's logits).
  Napi::Value Prefill(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (!claim(env)) return env.Undefined();
    Session * s = session_;
    if (!s->chunks) return refuse(env, "mtmd session: nothing prepared");
    auto * job = new Job(env, s, [s](Job & job) {
      const size_t n = mtmd_input_chunks_size(s->chunks);
      if (s->n_past != 0) {
        job.fail("prefill: the KV memory already holds " + std::to_string(s->n_past) + " positions (call reset() first)");
        return;
      }
      // Every image encoded before anything is decoded, so a refused prefill changes nothing.
      for (size_t i = 0; i < n; i++) {
        if (mtmd_input_chunk_get_type(mtmd_input_chunks_get(s->chunks, i)) != MTMD_INPUT_CHUNK_TYPE_TEXT && s->embeddings[i].empty()) {
          job.fail("prefill: image chunk " + std::to_string(i) + " was not encoded (call encodeImage first)");
          return;
        }
      }
      s->has_logits = false;
      for (size_t i = 0; i < n; i++) {
        const mtmd_input_chunk * c = mtmd_input_chunks_get(s->chunks, i);
        const bool last = i + 1 == n;
        llama_pos next = s->n_past;
        int32_t rc;
        if (mtmd_input_chunk_get_type(c) == MTMD_INPUT_CHUNK_TYPE_TEXT) {
          rc = mtmd_helper_eval_chunk_single(s->mctx, s->lctx, c, s->n_past, 0, s->n_batch, last, &next);
        } else {
          rc = mtmd_helper_decode_image_chunk(s->mctx, s->lctx, c, s->embeddings[i].data(), s->n_past, 0, s->n_batch, &next, nullptr, nullptr);
        }
        if (rc != 0) {
          // A half-evaluated prompt is dropped: the session is as after reset().
          llama_memory_clear(llama_get_memory(s->lctx), true);
          s->n_past = 0;
          job.fail("prefill: chunk " + std::to_string(i) + " failed to decode (" + std::to_string(rc) + ")");
          return;
        }
        s->n_past = next;
        if (last) s->has_logits = mtmd_input_chunk_get_type(c) == MTMD_INPUT_CHUNK_TYPE_TEXT;
      }
      if (!s->has_logits) {
        job.fail("prefill: the prompt must end with text (its last row's logits give the first token)");
        return;
      }
      s->next_token = s->argmax_last_logits();
      const double positions = s->n_past;
      const double token = s->next_token;
      job.set_result([positions, token](Napi::Env env) {
        Napi::Object o = Napi::Object::New(env);
        o.Set("positions", positions);
        o.Set("token", token);
        return o;
      });
    });
    return queue(job);
  }

  // step(): the token chosen last (by prefill or the previous step) evaluated at the next
  // position, then the greedy choice from its logits (EOS not special); resolves with that choice.
  Napi::Value Step(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (!claim(env)) return env.Undefined();
    Session * s = session_;
    if (!s->has_logits || s->next_token < 0) return refuse(env, "mtmd session: nothing to continue (prefill() first)");
    auto * job = new Job(env, s, [s](Job & job) {
      llama_batch batch = llama_batch_init(1, 0, 1);
      batch.n_tokens = 1;
      batch.token[0] = s->next_token;
      batch.pos[0] = s->n_past;
      batch.n_seq_id[0] = 1;
      batch.seq_id[0][0] = 0;
      batch.logits[0] = true;
      const int32_t rc = llama_decode(s->lctx, batch);
      llama_batch_free(batch);
      if (rc != 0) {
        s->has_logits = false;
        job.fail("step: llama_decode failed (" + std::to_string(rc) + ")");
        return;
      }
      s->n_past += 1;
      s->next_token = s->argmax_last_logits();
      const double token = s->next_token;
      job.set_result([token](Napi::Env env) { return Napi::Number::New(env, token); });
    });
    return queue(job);
  }

  // reset(): KV memory cleared, prepared prompt dropped, llama.cpp's perf counters zeroed.
  Napi::Value Reset(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (!claim(env)) return env.Undefined();
    llama_memory_clear(llama_get_memory(session_->lctx), true);
    llama_perf_context_reset(session_->lctx);
    session_->free_chunks();
    session_->n_past = 0;
    session_->has_logits = false;
    session_->next_token = -1;
    session_->busy = false;
    return env.Undefined();
  }

  Napi::Value Perf(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (!session_ || !session_->lctx) return env.Undefined();
    llama_perf_context_data p = llama_perf_context(session_->lctx);
    Napi::Object o = Napi::Object::New(env);
    o.Set("loadMs", p.t_load_ms);
    o.Set("promptEvalMs", p.t_p_eval_ms);
    o.Set("promptEvalTokens", p.n_p_eval);
    o.Set("evalMs", p.t_eval_ms);
    o.Set("evalTokens", p.n_eval);
    o.Set("graphReuses", p.n_reused);
    return o;
  }

  Napi::Value Info(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (!session_ || !session_->lctx) return env.Undefined();
    Napi::Object o = Napi::Object::New(env);
    o.Set("nCtx", llama_n_ctx(session_->lctx));
    o.Set("nBatch", session_->n_batch);
    o.Set("nEmbdInp", llama_model_n_embd_inp(session_->model));
    o.Set("mrope", mtmd_decode_use_mrope(session_->mctx));
    o.Set("vision", mtmd_support_vision(session_->mctx));
    o.Set("marker", mtmd_default_marker());
    o.Set("nPast", session_->n_past);
    return o;
  }

  Napi::Value Close(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (session_ && session_->busy) {
      Napi::Error::New(env, "mtmd session: close() while a call is running").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (session_) session_->release();
    return env.Undefined();
  }
};

Napi::FunctionReference * SessionWrap::constructor = nullptr;

void ensure_backends(const std::string & dir) {
  std::call_once(g_backend_once, [&dir]() {
    llama_log_set(quiet_log, nullptr);
    mtmd_log_set(quiet_log, nullptr);
    mtmd_helper_log_set(quiet_log, nullptr);
    // libggml of a dynamic-backend build loads its CPU variants from a directory; the node
    // executable's directory is not theirs. Another binding in this process (node-llama-cpp) may
    // have loaded them already into the same libggml: then they are not loaded twice.
    if (ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU) == nullptr) ggml_backend_load_all_from_path(dir.c_str());
    llama_backend_init();
  });
}

// init(backendDir): logging quietened, ggml's backends loaded from the library directory.
Napi::Value InitBackends(const Napi::CallbackInfo & info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsString()) {
    Napi::TypeError::New(env, "init(backendDir: string)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  ensure_backends(info[0].As<Napi::String>());
  return env.Undefined();
}

Napi::Value SystemInfo(const Napi::CallbackInfo & info) {
  return Napi::String::New(info.Env(), llama_print_system_info());
}

Napi::Value Devices(const Napi::CallbackInfo & info) {
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env);
  for (size_t i = 0; i < ggml_backend_dev_count(); i++) {
    ggml_backend_dev_t d = ggml_backend_dev_get(i);
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", ggml_backend_dev_name(d));
    o.Set("description", ggml_backend_dev_description(d));
    o.Set("backend", ggml_backend_reg_name(ggml_backend_dev_backend_reg(d)));
    const auto t = ggml_backend_dev_type(d);
    o.Set("type", t == GGML_BACKEND_DEVICE_TYPE_CPU ? "cpu" : t == GGML_BACKEND_DEVICE_TYPE_GPU ? "gpu" : t == GGML_BACKEND_DEVICE_TYPE_IGPU ? "igpu" : "accel");
    out.Set(i, o);
  }
  return out;
}

template <typename T>
T opt_number(const Napi::Object & o, const char * key, T fallback) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? static_cast<T>(v.As<Napi::Number>().DoubleValue()) : fallback;
}

// open({ model, mmproj, nCtx, nBatch, nThreads, nGpuLayers, mmprojUseGpu, imageMinTokens, imageMaxTokens })
Napi::Value Open(const Napi::CallbackInfo & info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsObject()) {
    Napi::TypeError::New(env, "open(options)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object o = info[0].As<Napi::Object>();
  if (!o.Get("model").IsString() || !o.Get("mmproj").IsString()) {
    Napi::TypeError::New(env, "open: model and mmproj paths are required").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  OpenOptions opts;
  opts.model_path = o.Get("model").As<Napi::String>();
  opts.mmproj_path = o.Get("mmproj").As<Napi::String>();
  opts.n_ctx = opt_number<uint32_t>(o, "nCtx", opts.n_ctx);
  opts.n_batch = opt_number<uint32_t>(o, "nBatch", opts.n_batch);
  opts.n_threads = opt_number<int32_t>(o, "nThreads", opts.n_threads);
  opts.n_gpu_layers = opt_number<int32_t>(o, "nGpuLayers", opts.n_gpu_layers);
  opts.mmproj_use_gpu = o.Get("mmprojUseGpu").ToBoolean();
  opts.image_min_tokens = opt_number<int32_t>(o, "imageMinTokens", -1);
  opts.image_max_tokens = opt_number<int32_t>(o, "imageMaxTokens", -1);

  auto * s = new Session();
  s->n_batch = static_cast<int32_t>(opts.n_batch);
  auto * job = new Job(env, nullptr, [s, opts](Job & job) {
    llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = opts.n_gpu_layers;
    s->model = llama_model_load_from_file(opts.model_path.c_str(), mp);
    if (!s->model) {
      job.fail("llama.cpp could not load the model " + opts.model_path);
      return;
    }
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = opts.n_ctx;
    cp.n_batch = opts.n_batch;
    cp.n_ubatch = opts.n_batch;
    cp.n_seq_max = 1;
    cp.n_threads = opts.n_threads;
    cp.n_threads_batch = opts.n_threads;
    cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    cp.no_perf = false;
    s->lctx = llama_init_from_model(s->model, cp);
    if (!s->lctx) {
      job.fail("llama.cpp could not create a context for " + opts.model_path);
      return;
    }
    mtmd_context_params mparams = mtmd_context_params_default();
    mparams.use_gpu = opts.mmproj_use_gpu;
    mparams.n_threads = opts.n_threads;
    mparams.print_timings = false;
    mparams.warmup = false;
    mparams.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    if (opts.image_min_tokens > 0) mparams.image_min_tokens = opts.image_min_tokens;
    if (opts.image_max_tokens > 0) mparams.image_max_tokens = opts.image_max_tokens;
    s->mctx = mtmd_init_from_file(opts.mmproj_path.c_str(), s->model, mparams);
    if (!s->mctx) {
      job.fail("mtmd refused the mmproj " + opts.mmproj_path);
      return;
    }
    if (!mtmd_support_vision(s->mctx)) {
      job.fail("the mmproj " + opts.mmproj_path + " has no vision encoder");
      return;
    }
  });
  // The session object is made on the main thread once loading succeeded; a failure frees it.
  job->set_result([s](Napi::Env env) -> Napi::Value {
    return SessionWrap::constructor->New({Napi::External<Session>::New(env, s)});
  });
  // A failed open frees what was loaded (no JS object owns it yet).
  job->set_on_error([s]() { delete s; });
  auto promise = job->promise();
  job->Queue();
  return promise;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = SessionWrap::Init(env);
  SessionWrap::constructor = new Napi::FunctionReference(Napi::Persistent(ctor));
  exports.Set("init", Napi::Function::New(env, InitBackends));
  exports.Set("systemInfo", Napi::Function::New(env, SystemInfo));
  exports.Set("devices", Napi::Function::New(env, Devices));
  exports.Set("open", Napi::Function::New(env, Open));
  return exports;
}

}  // namespace

NODE_API_MODULE(vlm_bench_mtmd, Init)
