// frugal logits -m DIR --tokens "1 2 3" --out F.npy [--attn naive|absorb] [--mtp-out F.npy]
// Writes float32 [n_tokens, vocab] logits of every position.
#include <memory>

#include "cli/commands.h"
#include "core/error.h"
#include "core/npy.h"
#include "model/transformer.h"

namespace frugal {

namespace {
struct LogitsArgs {
  std::string model, tokens, out, mtp_out, attn = "auto";
  int threads = 0;
  bool mmap = false;
};
}  // namespace

Command logits_command(CLI::App& app) {
  auto a = std::make_shared<LogitsArgs>();
  CLI::App* sub = app.add_subcommand("logits", "Write the logits of every position of a token sequence as .npy");
  sub->add_option("-m,--model", a->model, "Model directory (Hugging Face layout)")->required();
  sub->add_option("--tokens", a->tokens, "Token ids, space-separated")->required();
  sub->add_option("--out", a->out, "Output .npy: float32 [n_tokens, vocab]")->required();
  sub->add_option("--attn", a->attn, "Attention path: naive, absorb(ed), or auto (naive for prefill, absorbed for decode)")->check(CLI::IsMember({"auto", "naive", "absorb"}));
  sub->add_option("--mtp-out", a->mtp_out,
                  "Also write MTP module 0's logits [n_tokens - 1, vocab]: row i predicts token i + 2");
  sub->add_option("-t,--threads", a->threads, "Threads (default: all cores)");
  mmap_flag_add(sub, a->mmap);
  bf16_activations_flag_add(sub);
  return {sub, [a] {
            std::vector<int32_t> ids = parse_token_ids(a->tokens, "--tokens");
            auto m = model_load(a->model, weight_load(a->mmap));
            ThreadPool pool(a->threads > 0 ? a->threads : default_threads());
            const AttnMode attn = attn_mode_parse(a->attn);
            const int64_t T = int64_t(ids.size()), V = m->config.vocab_size;
            LatentKvCache cache = m->new_cache(T);
            ForwardScratch scratch;
            ForwardResult out;
            transformer_fwd(*m, ids.data(), T, cache, {.attn = attn, .all_logits = true}, out, scratch, pool);
            npy_write(a->out, DType::F32, {T, V}, out.logits.data());
            if (!a->mtp_out.empty()) {
              if (!m->has_mtp()) fail("{}: this checkpoint has no MTP layers (--mtp-out)", a->model);
              if (T < 2) fail("--mtp-out needs at least 2 tokens");
              LatentKvCache mcache = m->new_mtp_cache(T - 1);
              std::vector<float> mtp_logits;
              mtp_fwd(*m, 0, out.hidden.data(), ids.data() + 1, T - 1, mcache, attn, mtp_logits, scratch, pool);
              npy_write(a->mtp_out, DType::F32, {T - 1, V}, mtp_logits.data());
            }
            return 0;
          }};
}

}  // namespace frugal
