#include "train/train_weights.h"

#include <cmath>
#include <map>

#include "core/error.h"

namespace frugal::train {

namespace {

// MTP modules share the main embedding and head: not separate parameters.
bool is_shared_mtp_copy(const TensorSlot& s) {
  return s.name.starts_with("model.layers.") &&
         (s.name.ends_with(".embed_tokens.weight") || s.name.ends_with(".shared_head.head.weight"));
}

int layer_of(const std::string& name) {
  if (!name.starts_with("model.layers.")) return -1;
  return std::stoi(name.substr(13));
}

// Visits the layout; fn(slot, view) for every stored tensor.
template <typename Fn>
void visit_layout(const ModelConfig& c, ModelWeights& mw, Fn fn) {
  int64_t offset = 0;
  weights_visit(mw, c, true, [&](const TensorSlot& s) {
    if (is_shared_mtp_copy(s)) return;
    ParamSlot p;
    p.name = s.name;
    p.shape = s.is_vector ? std::vector<int64_t>{s.cols} : std::vector<int64_t>{s.rows, s.cols};
    p.offset = offset;
    p.numel = s.rows * s.cols;
    p.role = s.role;
    p.layer = layer_of(s.name);
    p.router_bias = s.role == TensorRole::Bias;
    p.decay = s.role == TensorRole::Linear || s.role == TensorRole::Router;
    offset += p.numel;
    fn(p, s);
  });
}

template <typename S>
struct Binder {
  std::map<const MatrixView*, ParamSlot> at;  // view inside `mw` -> its slot
  S* values;
  S* grads;

  Tensor<S> operator()(const MatrixView& v) const {
    auto it = at.find(&v);
    if (it == at.end()) return {};
    const ParamSlot& p = it->second;
    const int64_t out = p.shape.size() == 2 ? p.shape[0] : 1, in = p.shape.back();
    return Tensor<S>{values + p.offset, p.router_bias ? nullptr : grads + p.offset, out, in};
  }
  TMlp<S> mlp(const MlpWeights& m) const { return {(*this)(m.gate_proj), (*this)(m.up_proj), (*this)(m.down_proj)}; }
  TLayer<S> layer(const LayerWeights& l) const {
    TLayer<S> t;
    t.is_moe = l.is_moe;
    t.input_layernorm = (*this)(l.input_layernorm);
    t.post_attention_layernorm = (*this)(l.post_attention_layernorm);
    const MlaWeights& a = l.self_attn;
    t.q_a_proj = (*this)(a.q_a_proj);
    t.q_a_layernorm = (*this)(a.q_a_layernorm);
    t.q_b_proj = (*this)(a.q_b_proj);
    t.q_proj = (*this)(a.q_proj);
    t.kv_a_proj_with_mqa = (*this)(a.kv_a_proj_with_mqa);
    t.kv_a_layernorm = (*this)(a.kv_a_layernorm);
    t.kv_b_proj = (*this)(a.kv_b_proj);
    t.o_proj = (*this)(a.o_proj);
    if (!l.is_moe) {
      t.mlp = mlp(l.mlp);
      return t;
    }
    t.gate = (*this)(l.moe.gate);
    t.e_score_correction_bias = (*this)(l.moe.e_score_correction_bias);
    for (const MlpWeights& e : l.moe.experts) t.experts.push_back(mlp(e));
    t.shared_experts = mlp(l.moe.shared_experts);
    return t;
  }
};

}  // namespace

ParamLayout param_layout(const ModelConfig& c) {
  ParamLayout layout;
  ModelWeights mw;
  visit_layout(c, mw, [&](const ParamSlot& p, const TensorSlot&) {
    layout.slots.push_back(p);
    layout.total = p.offset + p.numel;
  });
  return layout;
}

template <typename S>
TWeights<S> tweights_bind(const ModelConfig& c, S* values, S* grads) {
  ModelWeights mw;
  Binder<S> bind{{}, values, grads};
  visit_layout(c, mw, [&](const ParamSlot& p, const TensorSlot& s) { bind.at[s.view] = p; });
  TWeights<S> w;
  w.embed_tokens = bind(mw.embed_tokens);
  w.norm = bind(mw.norm);
  w.lm_head = c.tie_word_embeddings ? w.embed_tokens : bind(mw.lm_head);
  for (const LayerWeights& l : mw.layers) w.layers.push_back(bind.layer(l));
  for (const MtpWeights& m : mw.mtp)
    w.mtp.push_back({bind(m.enorm), bind(m.hnorm), bind(m.eh_proj), bind.layer(m.layer), bind(m.shared_head_norm)});
  FRUGAL_CHECK(w.embed_tokens && w.lm_head && w.norm, "unbound main tensors");
  return w;
}

void param_init(const ParamLayout& layout, float* values, uint64_t seed, float init_std) {
  uint64_t state = seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull;
  auto next = [&] {  // splitmix64
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  auto uniform = [&] { return (double(next() >> 11) + 0.5) * 0x1.0p-53; };  // (0, 1)
  for (const ParamSlot& p : layout.slots) {
    float* v = values + p.offset;
    if (p.role == TensorRole::Norm) {
      std::fill_n(v, p.numel, 1.0f);
    } else if (p.role == TensorRole::Bias) {
      std::fill_n(v, p.numel, 0.0f);
    } else {
      for (int64_t i = 0; i < p.numel; i += 2) {  // Box-Muller: two normals per pair of uniforms
        const double r = std::sqrt(-2.0 * std::log(uniform())), a = 2.0 * M_PI * uniform();
        v[i] = float(init_std * r * std::cos(a));
        if (i + 1 < p.numel) v[i + 1] = float(init_std * r * std::sin(a));
      }
    }
  }
}

template TWeights<float> tweights_bind<float>(const ModelConfig&, float*, float*);
template TWeights<double> tweights_bind<double>(const ModelConfig&, double*, double*);

}  // namespace frugal::train
