// The trainable tensors of a DeepSeek-V2/V3 model in one flat buffer of values
// and one of gradients, laid out in checkpoint order by model/weights.cpp's
// weights_visit (the one list of tensors: names, shapes and roles are those
// `frugal run` loads). The MTP modules' embed_tokens and shared_head.head are
// not stored: they ARE the main embedding and lm_head (V3 report Sec. 2.2,
// "shared embedding and output head"), and weights_load falls back to the main
// copies when a checkpoint omits them.
//
// Weight decay rule (AdamW): 2-D projection and expert matrices decay
// (TensorRole::Linear and the router mlp.gate.weight); norms, the router bias,
// embed_tokens and lm_head do not.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/config.h"
#include "model/weights.h"

namespace frugal::train {

// A [out, in] matrix and its gradient, or a [n] vector (out == 1).
template <typename S>
struct Tensor {
  S* w = nullptr;
  S* g = nullptr;  // null for tensors without a gradient (router bias)
  int64_t out = 0, in = 0;
  explicit operator bool() const { return w != nullptr; }
};

template <typename S>
struct TMlp {
  Tensor<S> gate_proj, up_proj, down_proj;
};

template <typename S>
struct TLayer {
  bool is_moe = false;
  Tensor<S> input_layernorm, post_attention_layernorm;
  Tensor<S> q_a_proj, q_a_layernorm, q_b_proj, q_proj;  // q_proj when q_lora_rank == 0
  Tensor<S> kv_a_proj_with_mqa, kv_a_layernorm, kv_b_proj, o_proj;
  TMlp<S> mlp;                          // dense layers
  Tensor<S> gate;                       // router [n_routed, d]
  Tensor<S> e_score_correction_bias;    // noaux_tc only; no gradient
  std::vector<TMlp<S>> experts;
  TMlp<S> shared_experts;               // null when n_shared_experts == 0
};

template <typename S>
struct TMtp {
  Tensor<S> enorm, hnorm, eh_proj;
  TLayer<S> layer;
  Tensor<S> shared_head_norm;
};

template <typename S>
struct TWeights {
  Tensor<S> embed_tokens, norm, lm_head;  // lm_head aliases embed_tokens when tied
  std::vector<TLayer<S>> layers;
  std::vector<TMtp<S>> mtp;
};

// One stored tensor of the flat layout.
struct ParamSlot {
  std::string name;
  std::vector<int64_t> shape;
  int64_t offset = 0, numel = 0;
  TensorRole role = TensorRole::Linear;
  int layer = -1;           // decoder layer (MTP modules after the main ones), -1 otherwise
  bool decay = false;       // see the rule above
  bool router_bias = false;
};

struct ParamLayout {
  std::vector<ParamSlot> slots;  // checkpoint order
  int64_t total = 0;             // elements of the flat buffer
};

ParamLayout param_layout(const ModelConfig& c);

// Binds every tensor of `c` to values + offset and grads + offset (grads null for
// the router bias).
template <typename S>
TWeights<S> tweights_bind(const ModelConfig& c, S* values, S* grads);

// Deterministic init: normal(0, init_std) for matrices (Box-Muller over a
// splitmix64 stream from `seed`, in layout order), ones for norms, zeros for
// the router bias.
void param_init(const ParamLayout& layout, float* values, uint64_t seed, float init_std);

}  // namespace frugal::train
