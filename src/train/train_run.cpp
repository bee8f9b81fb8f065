#include "train/train_run.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/thread_pool.h"
#include "model/config.h"
#include "model/synth.h"
#include "tokenizer/chat_format.h"
#include "tokenizer/tokenizer.h"
#include "train/checkpoint_io.h"
#include "train/text_data.h"
#include "train/trainer.h"

namespace frugal {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

ModelConfig resolve_model_config(const TrainRunSettings& a, const Tokenizer& tok, json& record) {
  json cj;
  if (!a.init.empty()) {
    const std::string p = (fs::path(a.init) / "config.json").string();
    std::ifstream in(p);
    if (!in) fail("--init {}: no config.json there (expected a Hugging Face model folder)", a.init);
    cj = json::parse(in, nullptr, false);
    if (cj.is_discarded()) fail("{}: not valid JSON", p);
  } else {
    cj = synth_preset(a.like);
    cj["vocab_size"] = tok.vocab_size();  // the tokenizer decides, unless --set says otherwise
  }
  if (!a.set.empty()) {
    const json over = json::parse(a.set, nullptr, false);
    if (over.is_discarded() || !over.is_object()) fail("--set: expected a JSON object, got '{}'", a.set);
    cj.merge_patch(over);
  }
  ModelConfig cfg = config_from_json(cj, a.init.empty() ? "--like " + a.like : a.init + "/config.json");
  // Training keeps fp32 master weights (a quantized --init folder is widened on load).
  cfg.fp8_blocks = false;
  cfg.packed_format = DType::F32;
  if (cfg.vocab_size < tok.vocab_size())
    fail("the model's vocab_size {} is smaller than the tokenizer's {} tokens: raise vocab_size (--set '{{\"vocab_size\": {}}}')",
         cfg.vocab_size, tok.vocab_size(), tok.vocab_size());
  if (cfg.bos_token_id >= 0 && tok.bos_id() >= 0 && cfg.bos_token_id != tok.bos_id())
    fail("config bos_token_id {} differs from the tokenizer's BOS id {}", cfg.bos_token_id, tok.bos_id());
  record["model_config"] = config_to_json(cfg);
  return cfg;
}

}  // namespace

void train_run(TrainRunSettings a, const TrainableFactory& factory, const json& args) {
  // Resuming: the run folder (or one of its checkpoints) supplies the model and tokenizer.
  std::string resume_ckpt;
  if (!a.resume.empty()) {
    const ResumePoint r = resume_point(a.resume);
    resume_ckpt = r.checkpoint;
    if (a.out.empty()) a.out = r.run_dir;
    if (a.init.empty()) a.init = resume_ckpt;
  }
  if (a.out.empty()) fail("no run folder: pass -o DIR (metrics, charts and checkpoints are written there)");
  if (a.data.empty()) fail("no training data: pass --data FILE (text, or .jsonl with \"text\" or \"messages\"), as often as needed");
  const std::string tok_dir = !a.tokenizer.empty() ? a.tokenizer : a.init;
  if (tok_dir.empty())
    fail("no tokenizer: pass --tokenizer DIR (a folder with tokenizer.json, e.g. from `frugal tokenizer-train`) or --init DIR");
  const Tokenizer tok = tokenizer_load_dir(tok_dir);

  json record = {{"args", args},
                 {"settings", {{"data", a.data}, {"seq_len", a.seq_len}, {"batch", a.batch}, {"accum", a.accum},
                               {"steps", a.steps}, {"lr", a.lr}, {"warmup", a.warmup}, {"constant", a.constant},
                               {"decay", a.decay}, {"min_lr", a.min_lr}, {"weight_decay", a.weight_decay},
                               {"beta1", a.beta1}, {"beta2", a.beta2}, {"clip", a.clip}, {"mtp_lambda", a.mtp_lambda},
                               {"balance_alpha", a.balance_alpha}, {"z_loss", a.z_loss}, {"bias_gamma", a.bias_gamma},
                               {"bias_gamma_zero_from", a.bias_gamma_zero_from}, {"bias_zero_mean", a.bias_zero_mean},
                               {"bias_accumulate", a.bias_accumulate}, {"fp8", a.fp8}, {"fp8_gemm_only", a.fp8_gemm_only},
                               {"init_std", a.init_std},
                               {"seed", a.seed}, {"tokenizer", a.tokenizer}, {"init", a.init}, {"resume", a.resume}}}};
  const ModelConfig cfg = resolve_model_config(a, tok, record);

  const ChatFormat chat = !a.chat_format.empty() ? chat_format_parse(a.chat_format)
                        : tok.chat_template().empty() ? ChatFormat::Frugal
                                                      : chat_format_detect(tok.chat_template());
  ThreadPool pool(a.threads);  // <= 0: one thread per core
  std::vector<Document> docs = documents_load(a.data, tok, {.chat_format = chat, .pool = &pool});
  PackedDataset data(std::move(docs), {.seq_len = a.seq_len, .seed = a.seed, .val_fraction = a.val_fraction,
                                       .val_docs = a.val_docs, .pad_token = tok.eos_id() >= 0 ? tok.eos_id() : 0});
  std::fprintf(stderr, "train: %lld training documents (%lld tokens, %lld rows of %lld), %lld validation documents\n",
               (long long)data.train_documents(), (long long)data.train_tokens(), (long long)data.rows_per_epoch(),
               (long long)a.seq_len, (long long)data.validation_documents());

  const std::unique_ptr<Trainable> model = factory(
      cfg, {.seed = a.seed, .init_std = float(a.init_std), .fp8 = a.fp8 || a.fp8_gemm_only,
                 .fp8_gemm_only = a.fp8_gemm_only, .seq_len = a.seq_len, .batch_rows = a.batch});
  if (!a.init.empty() && resume_ckpt.empty()) model_dir_load_params(model->params(), a.init);

  const int64_t warmup = a.warmup, constant = a.constant;
  const int64_t decay = a.decay >= 0 ? a.decay : std::max<int64_t>(0, a.steps - warmup - constant);
  TrainerOptions opt{
      .steps = a.steps,
      .batch_size = a.batch,
      .accumulation = a.accum,
      .lr = {.lr = a.lr, .warmup_steps = warmup, .constant_steps = constant, .decay_steps = decay,
             .min_lr = a.min_lr >= 0 ? a.min_lr : 0.1 * a.lr},
      .adamw = {.beta1 = float(a.beta1), .beta2 = float(a.beta2), .weight_decay = float(a.weight_decay)},
      .clip = a.clip,
      .loss = {.mtp_lambda = float(a.mtp_lambda), .balance_alpha = float(a.balance_alpha), .z_loss = float(a.z_loss)},
      .balance = {.gamma = a.bias_gamma, .gamma_zero_from = a.bias_gamma_zero_from, .zero_mean = a.bias_zero_mean,
                  .accumulate_steps = a.bias_accumulate},
      .eval_every = a.eval_every,
      .eval_batches = a.eval_batches,
      .checkpoint_every = a.checkpoint_every,
      .keep_checkpoints = int(a.keep_checkpoints),
      .save = {.dtype = a.save_dtype == "bf16" ? SavedDType::BF16 : SavedDType::F32, .tokenizer_dir = tok_dir},
      .run_dir = a.out,
      .progress = {.enabled = a.progress},
      .run_config = record};
  Trainer trainer(*model, data, opt, pool);
  if (!resume_ckpt.empty()) {
    trainer.resume_from(resume_ckpt);
    std::fprintf(stderr, "train: resumed from %s at step %lld\n", resume_ckpt.c_str(), (long long)trainer.step());
  }
  trainer.run();
  std::fprintf(stderr, "train: done; model in %s\n", checkpoint_latest(a.out).c_str());
}

}  // namespace frugal
