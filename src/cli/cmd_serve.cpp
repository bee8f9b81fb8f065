// frugal serve [-m DIR] [--host 127.0.0.1] [--port 8080] [--api-key K]: the
// OpenAI / DeepSeek HTTP API and a chat page over one model, with continuous
// batching (infer/engine.h). SIGTERM / SIGINT stop it gracefully: new requests
// get 503 while the running answers finish (up to --drain seconds).
#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <thread>

#include "cli/commands.h"
#include "core/error.h"
#include "infer/engine.h"
#include "infer/memory_plan.h"
#include "kernels/dispatch.h"
#include "serve/server.h"

namespace frugal {

namespace {

std::string read_key_file(const std::string& path) {
  std::ifstream f(path);
  if (!f) fail("cannot read the API key file {}", path);
  std::string key;
  std::getline(f, key);
  while (!key.empty() && (key.back() == '\r' || key.back() == ' ' || key.back() == '\t')) key.pop_back();
  if (key.empty()) fail("the API key file {} has an empty first line", path);
  return key;
}

}  // namespace

Command serve_command(CLI::App& app) {
  struct ServeArgs {
    std::string model, format, attn = "auto", host = "127.0.0.1", api_key, api_key_file, name, prefix_cache_dir;
    int port = 8080, threads = 0, read_timeout = 30, write_timeout = 60;
    int64_t ctx = 4096, max_tokens = 1024, max_batch = 8, max_queue = 32, kv_blocks = 0, kv_block_tokens = 16;
    int64_t prefill_chunk = 256;
    int64_t max_body = 1 << 20, max_step_rows = 512, speculative = 0;
    double drain = 30;
    bool mmap = false;
    float temperature = 1.0f, top_p = 1.0f;
  };
  auto a = std::make_shared<ServeArgs>();
  CLI::App* sub = app.add_subcommand("serve", "Serve a model over the OpenAI / DeepSeek HTTP API, with a chat page at /");
  sub->add_option("-m,--model", a->model, "Model directory (default: $FRUGAL_MODEL or models/default)");
  sub->add_option("--host", a->host, "Address to listen on (default 127.0.0.1: this machine only)");
  sub->add_option("--port", a->port, "Port (0: any free one; the address is printed)")->check(CLI::Range(0, 65535));
  sub->add_option("--api-key", a->api_key, "Require \"Authorization: Bearer KEY\" on every route but /health");
  sub->add_option("--api-key-file", a->api_key_file, "Read the key from the first line of this file");
  sub->add_option("--name", a->name, "Model id clients pass as \"model\" (default: the directory name)");
  sub->add_option("--ctx", a->ctx, "Context per request in tokens (prompt + answer)")->check(CLI::Range(2, 1 << 24));
  sub->add_option("-n,--max-tokens", a->max_tokens, "Answer length when a request gives no max_tokens")
      ->check(CLI::PositiveNumber);
  sub->add_option("--temperature", a->temperature, "Temperature when a request gives none (0: greedy)")
      ->check(CLI::Range(0.0f, 2.0f));
  sub->add_option("--top-p", a->top_p, "top_p when a request gives none")->check(CLI::Range(0.001f, 1.0f));
  sub->add_option("--max-batch", a->max_batch, "Requests decoded together")->check(CLI::Range(1, 1024));
  sub->add_option("--max-queue", a->max_queue, "Requests waiting beyond those; more get 429")->check(CLI::Range(0, 4096));
  sub->add_option("--kv-blocks", a->kv_blocks, "Blocks of the paged latent KV cache shared by running requests and "
                                                "the prefix cache (default: --ctx x --max-batch positions)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--kv-block-tokens", a->kv_block_tokens, "Positions per KV cache block (prefixes are shared in "
                                                            "whole blocks)")->check(CLI::Range(1, 4096));
  sub->add_option("--prefix-cache-dir", a->prefix_cache_dir,
                  "Keep the prefix cache on disk here: loaded at start, saved at a graceful stop");
  sub->add_option("--prefill-chunk", a->prefill_chunk, "Prompt tokens per request per step")->check(CLI::PositiveNumber);
  sub->add_option("--max-step-rows", a->max_step_rows, "Token rows per forward pass (decode rows first, then prompt "
                                                        "chunks)")->check(CLI::PositiveNumber);
  sub->add_option("--max-body", a->max_body, "Largest request body in bytes")->check(CLI::PositiveNumber);
  sub->add_option("--read-timeout", a->read_timeout, "Seconds to wait for a request")->check(CLI::PositiveNumber);
  sub->add_option("--write-timeout", a->write_timeout, "Seconds a response write may block")->check(CLI::PositiveNumber);
  sub->add_option("--drain", a->drain, "Seconds a graceful stop waits for running answers")->check(CLI::NonNegativeNumber);
  sub->add_option("--speculative", a->speculative,
                  "Draft this many tokens per step with the model's MTP layer and verify them in one pass "
                  "(speculative decoding; 0: off)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--format", a->format, "Chat format (default: from the tokenizer's chat_template)");
  sub->add_option("--attn", a->attn, "Attention path: naive, absorb, or auto")
      ->check(CLI::IsMember({"auto", "naive", "absorb"}));
  sub->add_option("-t,--threads", a->threads, "Compute threads (default: all cores)");
  mmap_flag_add(sub, a->mmap);
  bf16_activations_flag_add(sub);
  return {sub, [a] {
            if (!a->api_key.empty() && !a->api_key_file.empty()) fail("give --api-key or --api-key-file, not both");
            const std::string key = a->api_key_file.empty() ? a->api_key : read_key_file(a->api_key_file);
            const std::string dir = resolve_model_dir(a->model);
            auto m = model_load(dir, weight_load(a->mmap));
            spec_check_model(*m, a->speculative);
            Tokenizer tok = tokenizer_load_dir(dir);
            const ChatFormat format =
                a->format.empty()
                    ? chat_format_detect(tok.chat_template(),
                                         m->config.model_type == ModelType::DeepseekV3 ? "deepseek_v3" : "deepseek_v2")
                    : chat_format_parse(a->format);
            const int64_t ctx = std::min(a->ctx, m->config.max_position_embeddings);
            const bool mtp = a->speculative > 0;
            const int64_t kv_blocks = a->kv_blocks > 0 ? a->kv_blocks
                                                       : engine_default_kv_blocks(ctx, a->kv_block_tokens, mtp,
                                                                                  a->max_batch);
            MemoryPlan plan = memory_plan(*m, ctx, a->max_batch, a->max_step_rows + a->max_batch);
            // The paged pool instead of max_batch contiguous caches; with
            // speculation every block has the MTP layer's rows too, and the
            // hidden states of prompts are owed to the MTP module until their
            // first decoding step.
            plan.kv_bytes = kv_blocks * a->kv_block_tokens *
                            (m->new_cache(1).bytes_per_token() + (mtp ? m->new_mtp_cache(1).bytes_per_token() : 0));
            if (mtp) plan.activation_bytes += a->max_batch * ctx * m->config.hidden_size * int64_t(sizeof(float));
            memory_check(plan);

            // Signals are taken by one thread (sigwait): block them before any thread starts.
            sigset_t stop_signals;
            sigemptyset(&stop_signals);
            sigaddset(&stop_signals, SIGTERM);
            sigaddset(&stop_signals, SIGINT);
            pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
            std::signal(SIGPIPE, SIG_IGN);

            ThreadPool pool(a->threads > 0 ? a->threads : default_threads());
            Engine engine(*m, {.context = ctx, .max_batch = a->max_batch, .max_queue = a->max_queue,
                               .prefill_chunk = a->prefill_chunk, .max_step_rows = a->max_step_rows,
                               .kv_blocks = kv_blocks, .kv_block_tokens = a->kv_block_tokens,
                               .attn = attn_mode_parse(a->attn),
                               .speculative = a->speculative, .prefix_cache_dir = a->prefix_cache_dir},
                          pool);
            std::vector<int32_t> stop_tokens;
            for (int32_t id : {tok.eos_id(), int32_t(m->config.eos_token_id)})
              if (id >= 0 && std::find(stop_tokens.begin(), stop_tokens.end(), id) == stop_tokens.end())
                stop_tokens.push_back(id);
            const std::string name =
                a->name.empty() ? std::filesystem::path(dir).lexically_normal().filename().string() : a->name;
            ApiServer server(tok, engine, format,
                             {.host = a->host, .port = a->port, .api_key = key,
                              .model_name = name.empty() ? "frugal" : name, .max_body_bytes = a->max_body,
                              .read_timeout_s = a->read_timeout, .write_timeout_s = a->write_timeout,
                              .default_max_tokens = a->max_tokens, .default_temperature = a->temperature,
                              .default_top_p = a->top_p, .stop_tokens = stop_tokens});
            const int port = server.bind();
            std::string extras = a->speculative > 0 ? fmt::format(", speculative {}", a->speculative) : "";
            if (dpbf16_enabled() && dpbf16_x_single()) extras += ", activations in bf16";
            std::printf("frugal serve: listening on http://%s:%d (model %s, format %s, context %lld, batch %lld%s)%s\n",
                        a->host.c_str(), port, name.c_str(), std::string(chat_format_name(format)).c_str(),
                        (long long)ctx, (long long)a->max_batch, extras.c_str(), key.empty() ? "" : ", API key required");
            std::fflush(stdout);

            std::atomic<bool> done{false};
            std::thread signals([&] {
              const timespec tick{0, 200'000'000};
              while (!done) {
                if (sigtimedwait(&stop_signals, nullptr, &tick) > 0) {
                  std::fprintf(stderr, "frugal serve: stopping (finishing running answers, up to %.0f s)\n", a->drain);
                  server.stop(a->drain);
                  return;
                }
              }
            });
            server.listen();
            done = true;
            signals.join();
            std::fprintf(stderr, "frugal serve: stopped\n");
            return 0;
          }};
}

}  // namespace frugal
