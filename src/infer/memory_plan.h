// What a run will need in memory, checked before anything large is allocated:
// the weights (mapped and paged in by the OS, or copied at load), the latent KV caches and the
// activations. A clear error when it cannot fit beats the OOM killer.
#pragma once

#include <cstdint>
#include <string>

#include "model/transformer.h"

namespace frugal {

struct MemoryPlan {
  int64_t weight_bytes = 0;      // checkpoint tensors (mapped, or copied into huge pages at load)
  bool weights_copied = false;
  int64_t kv_bytes = 0;          // batch x context x bytes per token
  int64_t activation_bytes = 0;  // scratch of the largest forward pass
  int64_t available_bytes = 0;   // MemAvailable now
  int64_t total_bytes = 0;       // MemTotal
  std::string summary() const;
};

MemoryPlan memory_plan(const Model& m, int64_t context, int64_t batch, int64_t max_rows_per_pass);

// Throws frugal::Error when the KV caches and activations exceed the available
// memory; warns on stderr when the weights will not stay resident as well.
void memory_check(const MemoryPlan& plan);

// Resident set size of this process now and at its peak (bytes), from /proc.
int64_t resident_bytes();
int64_t peak_resident_bytes();

}  // namespace frugal
