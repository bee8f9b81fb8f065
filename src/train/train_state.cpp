#include "train/train_state.h"

#include <cstring>

#include "core/error.h"
#include "model/safetensors.h"

namespace frugal {

namespace {
constexpr const char* kMetaKey = "frugal_train_state";
}

void train_state_save(const std::string& path, const std::vector<ParamTensor>& params, AdamW& adamw,
                      BiasBalancer& balancer, const nlohmann::json& trainer, const TrainStateOptions& opt) {
  std::vector<TensorToWrite> tensors;
  if (opt.master_weights)
    for (const ParamTensor& p : params) tensors.push_back({{"master." + p.name, DType::F32, {p.numel()}}, p.value});
  for (size_t k = 0; k < params.size(); ++k) {
    if (adamw.exp_avg()[k].empty()) continue;
    const std::vector<int64_t> shape{int64_t(adamw.exp_avg()[k].size())};
    tensors.push_back({{"exp_avg." + params[k].name, DType::F32, shape}, adamw.exp_avg()[k].data()});
    tensors.push_back({{"exp_avg_sq." + params[k].name, DType::F32, shape}, adamw.exp_avg_sq()[k].data()});
  }
  for (size_t l = 0; l < balancer.pending_load().size(); ++l) {
    const auto& c = balancer.pending_load()[l];
    tensors.push_back({{"balance_load." + std::to_string(l), DType::I64, {int64_t(c.size())}}, c.data()});
  }
  nlohmann::json meta = trainer;
  meta["adamw_steps"] = adamw.steps_taken();
  meta["balance_pending_steps"] = balancer.pending_steps();
  safetensors_write(path, tensors, {{"format", "pt"}, {kMetaKey, meta.dump()}});
}

nlohmann::json train_state_load(const std::string& path, const std::vector<ParamTensor>& params, AdamW& adamw,
                                BiasBalancer& balancer) {
  const SafetensorsFile f(path);
  auto it = f.metadata().find(kMetaKey);
  if (it == f.metadata().end()) fail("{}: not a frugal train state (no '{}' metadata)", path, kMetaKey);
  nlohmann::json meta = nlohmann::json::parse(it->second, nullptr, false);
  if (meta.is_discarded() || !meta.is_object()) fail("{}: '{}' metadata is not a JSON object", path, kMetaKey);
  auto copy = [&](const std::string& name, void* out, size_t n, DType dt) {
    auto t = f.tensors().find(name);
    if (t == f.tensors().end()) fail("{}: tensor '{}' is missing (a train state of another model?)", path, name);
    if (t->second.dtype != dt || t->second.nbytes != n * dtype_size(dt))
      fail("{}: tensor '{}' has {} bytes of {}, expected {} of {}", path, name, t->second.nbytes,
           dtype_name(t->second.dtype), n * dtype_size(dt), dtype_name(dt));
    std::memcpy(out, t->second.data, t->second.nbytes);
  };
  for (const ParamTensor& p : params)
    if (f.tensors().count("master." + p.name)) copy("master." + p.name, p.value, size_t(p.numel()), DType::F32);
  for (size_t k = 0; k < params.size(); ++k) {
    if (adamw.exp_avg()[k].empty()) continue;
    copy("exp_avg." + params[k].name, adamw.exp_avg()[k].data(), adamw.exp_avg()[k].size(), DType::F32);
    copy("exp_avg_sq." + params[k].name, adamw.exp_avg_sq()[k].data(), adamw.exp_avg_sq()[k].size(), DType::F32);
  }
  for (size_t l = 0; l < balancer.pending_load().size(); ++l) {
    auto& c = balancer.pending_load()[l];
    copy("balance_load." + std::to_string(l), c.data(), c.size(), DType::I64);
  }
  adamw.set_steps_taken(meta.value("adamw_steps", int64_t(0)));
  balancer.pending_steps() = meta.value("balance_pending_steps", int64_t(0));
  return meta;
}

}  // namespace frugal
