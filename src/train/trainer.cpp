#include "train/trainer.h"

#include <chrono>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/seconds_since.h"
#include "train/train_plots.h"
#include "train/train_state.h"

namespace frugal {

namespace fs = std::filesystem;

Trainer::Trainer(Trainable& model, PackedDataset& data, const TrainerOptions& opt, ThreadPool& pool)
    : model_(model),
      data_(data),
      opt_(opt),
      pool_(pool),
      adamw_(model.params(), opt.adamw),
      balancer_(model.params(), model.config(), opt.balance) {
  if (opt_.batch_size < 1) fail("train: batch size must be >= 1 (got {})", opt_.batch_size);
  if (opt_.accumulation < 1) fail("train: gradient accumulation must be >= 1 (got {})", opt_.accumulation);
  if (opt_.steps < 0) fail("train: steps must be >= 0 (got {})", opt_.steps);
  if (opt_.run_dir.empty()) fail("train: no run directory given");
  opt_.loss.grad_scale = 1.0f / float(opt_.accumulation);
  fs::create_directories(opt_.run_dir);
}

void Trainer::resume_from(const std::string& dir) {
  model_dir_load_params(model_.params(), dir);
  const nlohmann::json meta = train_state_load((fs::path(dir) / kTrainStateFile).string(), model_.params(), adamw_, balancer_);
  if (!meta.contains("step") || !meta.contains("data_position"))
    fail("{}: train state lacks 'step' or 'data_position'", dir);
  // The position means the same stream only for the same documents, seed and
  // row length (no other randomness is drawn during training).
  if (meta.contains("data") && meta["data"] != data_identity())
    fail("{}: the run was trained on other data ({}) than given now ({}); resume with the same --data, --seed, "
         "--seq-len and validation split", dir, meta["data"].dump(), data_identity().dump());
  step_ = meta["step"].get<int64_t>();
  data_.seek({meta["data_position"].at("epoch").get<int64_t>(), meta["data_position"].at("row").get<int64_t>()});
  elapsed_s_ = meta.value("elapsed_s", 0.0);
  resumed_ = true;
}

nlohmann::json Trainer::data_identity() const {
  return {{"seed", data_.options().seed},
          {"seq_len", data_.options().seq_len},
          {"train_documents", data_.train_documents()},
          {"train_tokens", data_.train_tokens()},
          {"validation_documents", data_.validation_documents()}};
}

std::string Trainer::save_checkpoint() {
  const nlohmann::json meta = {{"step", step_},
                               {"data_position", {{"epoch", data_.position().epoch}, {"row", data_.position().row}}},
                               {"data", data_identity()},
                               {"elapsed_s", elapsed_s_}};
  return checkpoint_commit(opt_.run_dir, step_, [&](const std::string& dir) {
    model_dir_save(model_.params(), model_.config(), dir, opt_.save);
    train_state_save((fs::path(dir) / kTrainStateFile).string(), model_.params(), adamw_, balancer_, meta,
                     {.master_weights = opt_.save.dtype != SavedDType::F32});
  }, opt_.keep_checkpoints);
}

EvalMetrics Trainer::evaluate() {
  EvalMetrics ev;
  const std::vector<TrainBatch> batches = data_.validation_batches(opt_.batch_size);
  double loss = 0, main = 0, mtp = 0;
  size_t n = 0;
  for (const TrainBatch& b : batches) {
    if (opt_.eval_batches > 0 && int64_t(n) >= opt_.eval_batches) break;
    const LossStats st = model_.forward_loss(b, opt_.loss, pool_);
    // Each batch's losses are means over its targets: weight them by its tokens.
    loss += st.loss * double(st.tokens);
    main += st.main * double(st.tokens);
    mtp += st.mtp * double(st.tokens);
    ev.tokens += st.tokens;
    ++n;
  }
  if (ev.tokens > 0) {
    ev.loss = loss / double(ev.tokens);
    ev.main = main / double(ev.tokens);
    ev.mtp = mtp / double(ev.tokens);
  }
  return ev;
}

StepMetrics Trainer::train_step() {
  StepMetrics m;
  last_step_inputs_ = 0;
  adamw_.zero_grad(pool_);
  std::vector<std::vector<int64_t>> load;
  for (int64_t a = 0; a < opt_.accumulation; ++a) {
    const TrainBatch b = data_.next_batch(opt_.batch_size);
    last_step_inputs_ += b.B * b.T;
    const LossStats st = model_.forward_backward(b, opt_.loss, pool_);
    // The objective differentiated is the mean of the micro-batches' losses
    // (grad_scale = 1 / accumulation), so the parts are averaged the same way.
    const double w = 1.0 / double(opt_.accumulation);
    m.loss += w * st.loss;
    m.main += w * st.main;
    m.mtp += w * st.mtp;
    m.balance += w * st.balance;
    m.z += w * st.z;
    m.tokens += st.tokens;
    if (load.empty()) load = st.expert_load;
    else
      for (size_t l = 0; l < load.size(); ++l)
        for (size_t e = 0; e < load[l].size(); ++e) load[l][e] += st.expert_load[l][e];
  }
  m.lr = opt_.lr.at(step_);
  const AdamWStepStats as = adamw_.step(m.lr, opt_.clip, pool_);
  if (!std::isfinite(as.grad_norm) || !std::isfinite(m.loss)) {
    const std::string last = checkpoint_latest(opt_.run_dir);
    fail("step {}: training diverged (loss {}, gradient norm {}); the weights were not updated. {}; "
         "try a lower --lr, a longer --warmup or --clip 1",
         step_ + 1, m.loss, as.grad_norm, last.empty() ? "No checkpoint was written yet" : "The last checkpoint is " + last);
  }
  m.grad_norm = as.grad_norm;
  m.clip_scale = as.clip_scale;
  if (balancer_.layers() > 0) {  // V3 Sec. 2.1.2: the bias moves after each step
    balancer_.add_load(load);
    balancer_.update(step_);
  }
  for (const auto& l : load) m.max_vio.push_back(max_violation(l));
  m.expert_load = std::move(load);
  ++step_;
  m.step = step_;
  return m;
}

void Trainer::run() {
  write_file_atomic((fs::path(opt_.run_dir) / "train_config.json").string(), opt_.run_config.dump(2) + "\n");
  MetricsLog log((fs::path(opt_.run_dir) / "metrics.jsonl").string(), resumed_ ? step_ : -1);
  ProgressLine progress(opt_.steps, opt_.progress);
  const int64_t first_step = step_;
  const auto session_start = std::chrono::steady_clock::now();
  const double elapsed_before = elapsed_s_;
  while (step_ < opt_.steps) {
    const auto t0 = std::chrono::steady_clock::now();
    StepMetrics m = train_step();
    const double dt = seconds_since(t0);
    elapsed_s_ = elapsed_before + seconds_since(session_start);
    m.tokens_per_s = dt > 0 ? double(last_step_inputs_) / dt : 0;
    m.elapsed_s = elapsed_s_;
    const bool last = step_ == opt_.steps;
    const bool eval = data_.validation_documents() > 0 && (last || (opt_.eval_every > 0 && step_ % opt_.eval_every == 0));
    if (eval) {
      m.val = evaluate();
      progress.message(fmt::format("step {}: validation loss {:.4f} (main {:.4f}, mtp {:.4f}) over {} tokens", step_,
                                   m.val->loss, m.val->main, m.val->mtp, m.val->tokens));
    }
    log.append(m);
    const double per_step = elapsed_s_ > 0 ? seconds_since(session_start) / double(step_ - first_step) : 0;
    progress.update(step_, m.loss, m.tokens_per_s, per_step * double(opt_.steps - step_));
    const bool ckpt = last || (opt_.checkpoint_every > 0 && step_ % opt_.checkpoint_every == 0);
    if (ckpt) {
      const std::string dir = save_checkpoint();
      progress.message(fmt::format("step {}: checkpoint {}", step_, dir));
    }
    if (eval || ckpt) train_plots_write(opt_.run_dir, log.history());
  }
  progress.finish();
}

}  // namespace frugal
