// frugal train: train a DeepSeek-V3-architecture model from scratch (or from an
// existing model folder) on text / JSONL data.
//
//   frugal train --like tiny --tokenizer DIR --data corpus.jsonl --seq-len 256
//                --batch 8 --steps 2000 --lr 1e-3 --warmup 100 -o runs/tiny  (one line)
//   frugal train --config run.json                 # the same settings as JSON
//   frugal train --resume runs/tiny --steps 4000   # continue a run exactly
//
// A JSON config holds the long flag names without "--" as keys ({"like": "tiny",
// "data": ["a.jsonl"], "seq-len": 256, "fp8": true, ...}); flags given on the
// command line win over it. The run directory receives metrics.jsonl, the SVG
// charts, train_config.json (every resolved setting) and checkpoints/step-N/,
// each a Hugging Face model folder that `frugal run -m` loads.
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>

#include "cli/commands.h"
#include "core/error.h"
#include "model/config.h"
#include "model/synth.h"
#include "tokenizer/chat_format.h"
#include "tokenizer/tokenizer.h"
#include "train/checkpoint_io.h"
#include "train/text_data.h"
#include "train/trainable_factory.h"
#include "train/trainer.h"

namespace frugal {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct TrainArgs {
  std::string config_file, like = "tiny", set, init, tokenizer, chat_format, out, resume, save_dtype = "f32";
  std::vector<std::string> data;
  int64_t seq_len = 256, batch = 8, accum = 1, steps = 1000;
  double lr = 1e-3, min_lr = -1, warmup = 0, constant = -1, decay = -1;
  double weight_decay = 0.1, beta1 = 0.9, beta2 = 0.95, clip = 1.0;
  double mtp_lambda = 0.3, balance_alpha = 1e-4, z_loss = 0;
  double bias_gamma = 0.001;
  int64_t bias_gamma_zero_from = -1, bias_accumulate = 1;
  bool bias_zero_mean = false, fp8 = false, no_progress = false;
  double init_std = 0.02, val_fraction = 0.0;
  int64_t val_docs = 0, eval_every = 0, eval_batches = 0, checkpoint_every = 0, keep_checkpoints = 3;
  uint64_t seed = 0;
  int threads = 0;
};

// Fills every option that the command line left unset from the JSON config.
void apply_json_config(CLI::App* sub, const std::string& path) {
  std::ifstream in(path);
  if (!in) fail("--config {}: cannot read", path);
  const json j = json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object()) fail("--config {}: expected a JSON object of flag names and values", path);
  for (auto it = j.begin(); it != j.end(); ++it) {
    CLI::Option* o = nullptr;
    try {
      o = sub->get_option("--" + it.key());
    } catch (const CLI::OptionNotFound&) {
      fail("--config {}: unknown setting \"{}\" (keys are the long flags of `frugal train --help`, without --)", path, it.key());
    }
    if (it.key() == "config") fail("--config {}: a config cannot name another config", path);
    if (o->count() > 0) continue;  // the command line wins
    std::vector<std::string> values;
    auto text = [&](const json& v) -> std::string {
      if (v.is_string()) return v.get<std::string>();
      if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
      if (v.is_number()) return v.dump();
      if (v.is_object()) return v.dump();  // e.g. "set": {...}
      fail("--config {}: \"{}\" must be a string, number, boolean or (for set) an object", path, it.key());
    };
    if (it->is_array())
      for (const json& v : *it) values.push_back(text(v));
    else
      values.push_back(text(*it));
    try {
      if (o->get_expected_min() == 0) {  // a flag: apply when true
        if (values.size() == 1 && (values[0] == "true" || values[0] == "false")) {
          if (values[0] == "true") o->add_result(std::string("true"));
        } else {
          fail("--config {}: \"{}\" is a switch: give true or false", path, it.key());
        }
      } else {
        o->add_result(values);
      }
      o->run_callback();
    } catch (const CLI::ParseError& e) {
      fail("--config {}: \"{}\": {}", path, it.key(), e.what());
    }
  }
}

ModelConfig resolve_model_config(const TrainArgs& a, const Tokenizer& tok, json& record) {
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
  const ModelConfig cfg = config_from_json(cj, a.init.empty() ? "--like " + a.like : a.init + "/config.json");
  if (cfg.vocab_size < tok.vocab_size())
    fail("the model's vocab_size {} is smaller than the tokenizer's {} tokens: raise vocab_size (--set '{{\"vocab_size\": {}}}')",
         cfg.vocab_size, tok.vocab_size(), tok.vocab_size());
  if (cfg.bos_token_id >= 0 && tok.bos_id() >= 0 && cfg.bos_token_id != tok.bos_id())
    fail("config bos_token_id {} differs from the tokenizer's BOS id {}", cfg.bos_token_id, tok.bos_id());
  record["model_config"] = config_to_json(cfg);
  return cfg;
}

int run_train(CLI::App* sub, TrainArgs& a) {
  if (!a.config_file.empty()) apply_json_config(sub, a.config_file);
  // Resuming: the run folder (or one of its checkpoints) supplies the model and tokenizer.
  std::string resume_ckpt;
  if (!a.resume.empty()) {
    resume_ckpt = fs::exists(fs::path(a.resume) / "checkpoints") ? checkpoint_latest(a.resume) : a.resume;
    if (resume_ckpt.empty() || !fs::exists(fs::path(resume_ckpt) / "train_state.safetensors"))
      fail("--resume {}: no checkpoint there (expected a run folder with checkpoints/step-N or a step-N folder)", a.resume);
    if (a.out.empty()) a.out = fs::exists(fs::path(a.resume) / "checkpoints") ? a.resume : fs::path(resume_ckpt).parent_path().parent_path().string();
    if (a.init.empty()) a.init = resume_ckpt;
  }
  if (a.out.empty()) fail("no run folder: pass -o DIR (metrics, charts and checkpoints are written there)");
  if (a.data.empty()) fail("no training data: pass --data FILE (text, or .jsonl with \"text\" or \"messages\"), as often as needed");
  const std::string tok_dir = !a.tokenizer.empty() ? a.tokenizer : a.init;
  if (tok_dir.empty())
    fail("no tokenizer: pass --tokenizer DIR (a folder with tokenizer.json, e.g. from `frugal tokenizer-train`) or --init DIR");
  const Tokenizer tok = tokenizer_load_dir(tok_dir);

  json record = {{"args", json::object()}};
  for (CLI::Option* o : sub->get_options())
    if (o->count() > 0 && o->get_name() != "--help") record["args"][o->get_name()] = o->results();
  const ModelConfig cfg = resolve_model_config(a, tok, record);

  const ChatFormat chat = !a.chat_format.empty() ? chat_format_parse(a.chat_format)
                        : tok.chat_template().empty() ? ChatFormat::Frugal
                                                      : chat_format_detect(tok.chat_template());
  std::vector<Document> docs = documents_load(a.data, tok, {.chat_format = chat});
  PackedDataset data(std::move(docs), {.seq_len = a.seq_len, .seed = a.seed, .val_fraction = a.val_fraction,
                                       .val_docs = a.val_docs, .pad_token = tok.eos_id() >= 0 ? tok.eos_id() : 0});
  std::fprintf(stderr, "train: %lld training documents (%lld tokens, %lld rows of %lld), %lld validation documents\n",
               (long long)data.train_documents(), (long long)data.train_tokens(), (long long)data.rows_per_epoch(),
               (long long)a.seq_len, (long long)data.validation_documents());

  const std::unique_ptr<Trainable> model = trainable_create(
      cfg, {.seed = a.seed, .init_std = float(a.init_std), .fp8 = a.fp8, .seq_len = a.seq_len, .batch_rows = a.batch});
  if (!a.init.empty() && resume_ckpt.empty()) model_dir_load_params(model->params(), a.init);

  const int64_t warmup = int64_t(a.warmup), constant = a.constant >= 0 ? int64_t(a.constant) : 0;
  const int64_t decay = a.decay >= 0 ? int64_t(a.decay) : std::max<int64_t>(0, a.steps - warmup - constant);
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
      .progress = {.enabled = !a.no_progress},
      .run_config = record};
  ThreadPool pool(a.threads > 0 ? a.threads : default_threads());
  Trainer trainer(*model, data, opt, pool);
  if (!resume_ckpt.empty()) {
    trainer.resume_from(resume_ckpt);
    std::fprintf(stderr, "train: resumed from %s at step %lld\n", resume_ckpt.c_str(), (long long)trainer.step());
  }
  trainer.run();
  std::fprintf(stderr, "train: done; model in %s\n", checkpoint_latest(a.out).c_str());
  return 0;
}

}  // namespace

Command train_command(CLI::App& app) {
  auto a = std::make_shared<TrainArgs>();
  CLI::App* s = app.add_subcommand("train", "Train a DeepSeek-V3-architecture model (MLA, MoE with bias balancing, MTP, FP8)");
  s->add_option("--config", a->config_file, "JSON file of settings (keys: these long flags without --); flags win");
  // Model
  s->add_option("--like", a->like, std::string("Model shape preset: ") + synth_preset_names());
  s->add_option("--set", a->set, "JSON object merged into the model's config.json, e.g. '{\"num_hidden_layers\": 4}'");
  s->add_option("--init", a->init, "Start from this model folder's config and weights instead of a random init");
  s->add_option("--tokenizer", a->tokenizer, "Folder with tokenizer.json (+ tokenizer_config.json); default: --init");
  s->add_option("--chat-format", a->chat_format, "Chat format for \"messages\" data (default: from the tokenizer's template)");
  s->add_option("--init-std", a->init_std, "Standard deviation of the random init");
  s->add_flag("--fp8", a->fp8, "Emulate DeepSeek-V3's FP8 (E4M3, fine-grained scales) in every Linear's GEMMs");
  // Data
  s->add_option("--data", a->data, "Training data: text files, or .jsonl with \"text\" or chat \"messages\" (repeatable)");
  s->add_option("--seq-len", a->seq_len, "Tokens per packed row")->check(CLI::PositiveNumber);
  s->add_option("--val-fraction", a->val_fraction, "Share of documents held out for validation")->check(CLI::Range(0.0, 0.99));
  s->add_option("--val-docs", a->val_docs, "Number of documents held out for validation (overrides --val-fraction)");
  // Schedule
  s->add_option("--batch", a->batch, "Rows per micro-batch")->check(CLI::PositiveNumber);
  s->add_option("--accum", a->accum, "Micro-batches per optimizer step (gradient accumulation)")->check(CLI::PositiveNumber);
  s->add_option("--steps", a->steps, "Optimizer steps of the whole run")->check(CLI::NonNegativeNumber);
  s->add_option("--lr", a->lr, "Peak learning rate");
  s->add_option("--min-lr", a->min_lr, "Learning rate floor after the cosine decay (default: lr / 10)");
  s->add_option("--warmup", a->warmup, "Linear warm-up steps");
  s->add_option("--constant", a->constant, "Steps at the peak after warm-up (default 0)");
  s->add_option("--decay", a->decay, "Cosine decay steps after that (default: the rest of the run)");
  s->add_option("--weight-decay", a->weight_decay, "AdamW decoupled weight decay (projection and expert matrices only)");
  s->add_option("--beta1", a->beta1, "AdamW beta1");
  s->add_option("--beta2", a->beta2, "AdamW beta2");
  s->add_option("--clip", a->clip, "Gradient clipping by global norm (0: off)");
  // Losses and balancing
  s->add_option("--mtp-lambda", a->mtp_lambda, "Weight of the MTP loss (V3: 0.3, then 0.1)");
  s->add_option("--balance-alpha", a->balance_alpha, "Weight of the sequence-wise balance loss (V3: 1e-4)");
  s->add_option("--z-loss", a->z_loss, "z-loss coefficient on the main head");
  s->add_option("--bias-gamma", a->bias_gamma, "Router bias update speed (V3: 0.001)");
  s->add_option("--bias-gamma-zero-from", a->bias_gamma_zero_from, "Step from which the bias update speed is 0");
  s->add_flag("--bias-zero-mean", a->bias_zero_mean, "Subtract the mean of each bias update");
  s->add_option("--bias-accumulate", a->bias_accumulate, "Steps of expert loads summed per bias update")->check(CLI::PositiveNumber);
  // Evaluation, checkpoints, run
  s->add_option("--eval-every", a->eval_every, "Validation every N steps (0: at the end only)");
  s->add_option("--eval-batches", a->eval_batches, "Validation batches per evaluation (0: all)");
  s->add_option("--checkpoint-every", a->checkpoint_every, "Checkpoint every N steps (0: at the end only)");
  s->add_option("--keep-checkpoints", a->keep_checkpoints, "Keep the newest N checkpoints (0: all)");
  s->add_option("--save-dtype", a->save_dtype, "Weights dtype of checkpoints' model.safetensors")->check(CLI::IsMember({"f32", "bf16"}));
  s->add_option("--seed", a->seed, "Seed of the init and the data order");
  s->add_option("-t,--threads", a->threads, "Threads (default: all cores)");
  s->add_option("--resume", a->resume, "Continue a run (its folder, or one step-N checkpoint) exactly where it stopped");
  s->add_option("-o,--out", a->out, "Run folder (default with --resume: the resumed run's)");
  s->add_flag("--no-progress", a->no_progress, "No progress line on stderr");
  return {s, [a, s] { return run_train(s, *a); }};
}

}  // namespace frugal
