// A Trainable's parameters as a Hugging Face model directory, so that `frugal
// run`, `chat`, `logits` and `serve` load a trained model as they load a
// downloaded one: config.json (config_to_json), model.safetensors (fp32, or bf16
// to halve it), tokenizer.json + tokenizer_config.json copied from the model or
// tokenizer the run started from. And the run's checkpoint folders:
//   RUN/checkpoints/step-00000100/   a model directory + train_state.safetensors
// A checkpoint is written whole into "RUN/checkpoints/.step-00000100.partial"
// (every file fsync'ed) and then renamed to its final name, so a process killed
// while saving leaves only a partial folder that is never read (and is removed
// by the next save): the previous checkpoint is intact.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/config.h"
#include "train/trainable.h"

namespace frugal {

enum class SavedDType { F32, BF16 };

struct ModelSaveOptions {
  SavedDType dtype = SavedDType::F32;
  std::string tokenizer_dir;  // tokenizer.json / tokenizer_config.json copied from here ("": none)
};

// Writes config.json, model.safetensors and the tokenizer files into dir
// (created if needed), each file atomically.
void model_dir_save(const std::vector<ParamTensor>& params, const ModelConfig& cfg, const std::string& dir,
                    const ModelSaveOptions& opt);

// Copies tokenizer.json (required: throws frugal::Error when missing) and
// tokenizer_config.json (when present) from one directory into another.
void tokenizer_files_copy(const std::string& from_dir, const std::string& to_dir);

// Sets every parameter from the tensor of the same name in a model directory
// (F32, BF16, F16, or fp8 with its _scale_inv block scales, all converted to
// fp32). Throws frugal::Error naming the tensor when one is missing or its shape
// differs.
void model_dir_load_params(std::vector<ParamTensor>& params, const std::string& dir);

// ---- run checkpoints ----

std::string checkpoint_dir_name(int64_t step);  // "step-00000100"

// Writes checkpoint `step` under run_dir/checkpoints: write_files(dir) fills a
// fresh partial folder, which is then fsync'ed and renamed into place; then all
// but the newest keep_last checkpoints are removed (keep_last <= 0: keep all).
// Returns the checkpoint's folder.
std::string checkpoint_commit(const std::string& run_dir, int64_t step,
                              const std::function<void(const std::string& dir)>& write_files, int keep_last);

// The newest complete checkpoint folder of a run ("" when there is none).
std::string checkpoint_latest(const std::string& run_dir);
// What `--resume X` names: X is a run folder (its newest checkpoint is taken) or
// one of its step-N folders. Throws frugal::Error when there is no checkpoint.
struct ResumePoint {
  std::string checkpoint;  // the step-N folder
  std::string run_dir;     // the run folder it belongs to
};
ResumePoint resume_point(const std::string& given);

// Every complete checkpoint folder, oldest first.
std::vector<std::string> checkpoint_list(const std::string& run_dir);

}  // namespace frugal
