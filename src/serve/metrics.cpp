#include "serve/metrics.h"

#include <fmt/format.h>

namespace frugal {

void Histogram::observe(double x) {
  std::lock_guard lock(mu_);
  size_t b = 0;
  while (b < bounds_.size() && x > bounds_[b]) ++b;
  ++counts_[b];
  sum_ += x;
  ++count_;
}

void Histogram::render(std::string& out, const std::string& name, const std::string& help) const {
  std::lock_guard lock(mu_);
  out += fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
  int64_t cumulative = 0;
  for (size_t b = 0; b < bounds_.size(); ++b) {
    cumulative += counts_[b];
    out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, bounds_[b], cumulative);
  }
  out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n{}_sum {}\n{}_count {}\n", name, count_, name, sum_, name, count_);
}

void ServeMetrics::count_request(const std::string& endpoint, int status) {
  std::lock_guard lock(mu_);
  ++requests_[{endpoint, status}];
}

void ServeMetrics::count_disconnect() {
  std::lock_guard lock(mu_);
  ++disconnects_;
}

std::string ServeMetrics::render(const EngineStats& e) const {
  std::string out;
  auto metric = [&](const char* name, const char* type, const char* help, auto value) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, value);
  };
  {
    std::lock_guard lock(mu_);
    out += "# HELP frugal_http_requests_total HTTP requests by endpoint and status code.\n"
           "# TYPE frugal_http_requests_total counter\n";
    for (const auto& [key, n] : requests_)
      out += fmt::format("frugal_http_requests_total{{endpoint=\"{}\",status=\"{}\"}} {}\n", key.first, key.second, n);
    metric("frugal_client_disconnects_total", "counter", "Answers (streaming or not) whose client went away before the end.",
           disconnects_);
  }
  metric("frugal_requests_finished_total", "counter", "Generation requests that ran to their end.",
         e.requests_finished);
  metric("frugal_requests_cancelled_total", "counter", "Generation requests cancelled (disconnect, stop sequence).",
         e.requests_cancelled);
  metric("frugal_requests_rejected_total", "counter", "Requests refused because the queue was full.",
         e.requests_rejected);
  metric("frugal_prompt_tokens_total", "counter", "Prompt tokens of admitted requests.", e.prompt_tokens);
  metric("frugal_prompt_cache_hit_tokens_total", "counter", "Prompt tokens whose latents came from the prefix cache.",
         e.cached_prompt_tokens);
  metric("frugal_generation_tokens_total", "counter", "Tokens generated.", e.generated_tokens);
  metric("frugal_engine_steps_total", "counter", "Forward passes of the scheduler.", e.steps);
  metric("frugal_engine_step_sequences_total", "counter", "Sum over steps of the sequences in the batch.",
         e.step_sequences);
  metric("frugal_engine_step_rows_total", "counter", "Sum over steps of the token rows in the batch.", e.step_rows);
  metric("frugal_engine_step_seconds_total", "counter", "Time spent in forward passes.", e.step_seconds);
  metric("frugal_speculative_drafted_tokens_total", "counter", "Tokens drafted by the MTP module (serve --speculative).",
         e.spec.mtp_passes);
  int64_t accepted = 0;
  for (int64_t a : e.spec.accepted) accepted += a;
  metric("frugal_speculative_accepted_tokens_total", "counter", "Drafted tokens the main model accepted.", accepted);
  metric("frugal_speculative_verify_steps_total", "counter", "Verify passes a request took part in.", e.spec.steps);
  out += "# HELP frugal_speculative_position_checked_total Drafts at each position checked (all earlier ones kept).\n"
         "# TYPE frugal_speculative_position_checked_total counter\n";
  for (size_t k = 0; k < e.spec.reached.size(); ++k)
    out += fmt::format("frugal_speculative_position_checked_total{{position=\"{}\"}} {}\n", k + 1, e.spec.reached[k]);
  out += "# HELP frugal_speculative_position_accepted_total Drafts at each position accepted.\n"
         "# TYPE frugal_speculative_position_accepted_total counter\n";
  for (size_t k = 0; k < e.spec.accepted.size(); ++k)
    out += fmt::format("frugal_speculative_position_accepted_total{{position=\"{}\"}} {}\n", k + 1, e.spec.accepted[k]);
  metric("frugal_queue_depth", "gauge", "Requests waiting for a batch slot.", e.queued);
  metric("frugal_running_requests", "gauge", "Requests in the running batch.", e.running);
  metric("frugal_batch_size", "gauge", "Sequences in the last forward pass.", e.last_batch);
  metric("frugal_kv_caches_busy", "gauge", "Requests holding KV blocks (page tables in use).", e.caches_busy);
  metric("frugal_kv_blocks_total", "gauge", "Blocks of the paged latent KV pool.", e.kv_blocks_total);
  metric("frugal_kv_blocks_used", "gauge", "KV blocks referenced by running requests.", e.kv_blocks_used);
  metric("frugal_kv_blocks_cached", "gauge", "KV blocks kept only as prefix cache (evictable).", e.kv_blocks_cached);
  ttft_.render(out, "frugal_time_to_first_token_seconds", "Time from request arrival to the first generated token.");
  latency_.render(out, "frugal_request_duration_seconds", "Time from request arrival to the last byte.");
  return out;
}

}  // namespace frugal
