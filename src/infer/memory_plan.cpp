#include "infer/memory_plan.h"

#include <cstdio>

#include "core/error.h"
#include "core/proc_info.h"

namespace frugal {

namespace {

std::string gib(int64_t b) { return fmt::format("{:.2f} GiB", double(b) / double(1ll << 30)); }

}  // namespace

int64_t resident_bytes() { return proc_kb_field("/proc/self/status", "VmRSS"); }
int64_t peak_resident_bytes() { return proc_kb_field("/proc/self/status", "VmHWM"); }

MemoryPlan memory_plan(const Model& m, int64_t context, int64_t batch, int64_t max_rows) {
  const ModelConfig& c = m.config;
  MemoryPlan p;
  if (m.checkpoint) {  // a model over a trainer's tensors: those are already resident
    for (const auto& [name, t] : m.checkpoint->tensors()) p.weight_bytes += int64_t(t->nbytes);
    p.weights_copied = m.checkpoint->load() == FileLoad::Copy;
  }
  const int64_t per_token = c.num_hidden_layers * (c.kv_lora_rank + c.qk_rope_head_dim) * int64_t(sizeof(float));
  p.kv_bytes = batch * context * per_token;
  // Per row: residual, norms, q, latents, attention outputs, expert widths; the
  // logits of each sequence's last row; the naive path's decompressed k/v over
  // the context.
  const int64_t H = c.num_attention_heads;
  const int64_t per_row = 6 * c.hidden_size + H * (c.qk_head_dim() + c.v_head_dim + 2 * c.kv_lora_rank) +
                          3 * std::max(c.intermediate_size, c.moe_intermediate_size * std::max<int64_t>(1, c.n_shared_experts));
  p.activation_bytes = (max_rows * per_row + batch * c.vocab_size + context * H * (c.qk_nope_head_dim + c.v_head_dim)) *
                       int64_t(sizeof(float));
  p.available_bytes = proc_kb_field("/proc/meminfo", "MemAvailable");
  p.total_bytes = proc_kb_field("/proc/meminfo", "MemTotal");
  return p;
}

std::string MemoryPlan::summary() const {
  return fmt::format("weights {} ({}), KV cache {}, activations ~{}; {} available of {}", gib(weight_bytes),
                     weights_copied ? "in memory" : "mapped", gib(kv_bytes), gib(activation_bytes),
                     gib(available_bytes), gib(total_bytes));
}

void memory_check(const MemoryPlan& p) {
  if (p.available_bytes < 0) return;  // no /proc: nothing to compare with
  const int64_t needed = p.kv_bytes + p.activation_bytes;
  if (needed > p.available_bytes)
    fail("not enough memory: the KV cache ({}) and activations (~{}) need {} but only {} is available; lower "
         "--ctx or the batch size",
         gib(p.kv_bytes), gib(p.activation_bytes), gib(needed), gib(p.available_bytes));
  if (needed + p.weight_bytes > p.total_bytes)
    std::fprintf(stderr, "frugal: warning: weights (%s) + caches exceed this machine's memory (%s): weights will be "
                 "re-read from disk and decoding will be slow\n", gib(p.weight_bytes).c_str(), gib(p.total_bytes).c_str());
}

}  // namespace frugal
