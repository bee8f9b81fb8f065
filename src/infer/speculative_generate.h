// generate() (infer/generate.h) for one sequence with MTP speculative decoding:
// prefill, then draft-verify-accept steps (infer/speculative.h) instead of one
// forward pass per token. Emits the same tokens as plain decoding when greedy
// and the same distribution when sampling.
#pragma once

#include <functional>
#include <vector>

#include "infer/generate.h"

namespace frugal {

// capacity: the cache size generate() chose (prompt.size() < capacity); the
// model and opt.speculative have been checked (spec_check_model).
GenerateStats generate_speculative(const Model& m, const std::vector<int32_t>& prompt, const GenerateOptions& opt,
                                   int64_t capacity, const std::function<bool(int32_t)>& on_token, ThreadPool& pool);

}  // namespace frugal
