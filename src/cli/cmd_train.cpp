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
#include <memory>

#include "cli/commands.h"
#include "core/error.h"
#include "model/synth.h"
#include "train/train_run.h"
#include "train/trainable_factory.h"

namespace frugal {

namespace {

using nlohmann::json;

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

// `--resume`: the flags the run was started with (its train_config.json) fill
// those not given now, so `frugal train --resume RUN` continues with the same
// data, shape and schedule.
void apply_recorded_args(CLI::App* sub, const std::string& resume) {
  namespace fs = std::filesystem;
  const fs::path run = fs::exists(fs::path(resume) / "checkpoints") ? fs::path(resume) : fs::path(resume).parent_path().parent_path();
  const fs::path path = run / "train_config.json";
  if (!fs::exists(path)) return;
  std::ifstream in(path);
  const json j = json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.contains("args") || !j["args"].is_object())
    fail("{}: not a train_config.json written by frugal train (no \"args\" object)", path.string());
  for (auto it = j["args"].begin(); it != j["args"].end(); ++it) {
    if (it.key() == "--config" || it.key() == "--resume" || it.key() == "--out") continue;
    CLI::Option* o = sub->get_option_no_throw(it.key());
    if (!o || o->count() > 0 || !it->is_array()) continue;
    try {
      if (o->get_expected_min() == 0) o->add_result(std::string("true"));
      else o->add_result(it->get<std::vector<std::string>>());
      o->run_callback();
    } catch (const std::exception& e) {
      fail("{}: recorded {}: {}", path.string(), it.key(), e.what());
    }
  }
}

}  // namespace

struct TrainArgs : TrainRunSettings {
  std::string config_file;
  bool no_progress = false;
};

int run_train(CLI::App* sub, TrainArgs& a) {
  if (!a.config_file.empty()) apply_json_config(sub, a.config_file);
  if (!a.resume.empty()) apply_recorded_args(sub, a.resume);
  a.progress = !a.no_progress;
  json given = json::object();  // the settings as given, for the run's record
  for (CLI::Option* o : sub->get_options())
    if (o->count() > 0 && o->get_name() != "--help") given[o->get_name()] = o->results();
  train_run(a, trainable_create, given);
  return 0;
}

Command train_command(CLI::App& app) {
  auto a = std::make_shared<TrainArgs>();
  CLI::App* s = app.add_subcommand("train", "Train a DeepSeek-V3-architecture model (MLA, MoE with bias balancing, MTP, FP8)");
  s->option_defaults()->always_capture_default();  // --help shows each default
  s->add_option("--config", a->config_file, "JSON file of settings (keys: these long flags without --); flags win");
  // Model
  s->add_option("--like", a->like, std::string("Model shape preset: ") + synth_preset_names());
  s->add_option("--set", a->set, "JSON object merged into the model's config.json, e.g. '{\"num_hidden_layers\": 4}'");
  s->add_option("--init", a->init, "Start from this model folder's config and weights instead of a random init");
  s->add_option("--tokenizer", a->tokenizer, "Folder with tokenizer.json (+ tokenizer_config.json); default: --init");
  s->add_option("--chat-format", a->chat_format, "Chat format for \"messages\" data (default: from the tokenizer's template)");
  s->add_option("--init-std", a->init_std, "Standard deviation of the random init");
  s->add_flag("--fp8", a->fp8,
              "Emulate DeepSeek-V3's FP8 training: E4M3 GEMMs with fine-grained scales in every Linear, and its "
              "low-precision activation storage (E5M6 o_proj input, FP8 MoE SwiGLU inputs)");
  s->add_flag("--fp8-gemm-only", a->fp8_gemm_only,
              "FP8 GEMMs only, every activation cached for the backward in fp32 (ablation of --fp8's storage part)");
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
