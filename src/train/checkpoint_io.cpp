#include "train/checkpoint_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/atomic_file.h"
#include "core/dtype.h"
#include "core/error.h"
#include "model/checkpoint.h"
#include "model/safetensors.h"

namespace frugal {

namespace fs = std::filesystem;

namespace {

constexpr int64_t kShardBytes = 4ll << 30;
constexpr const char* kStepPrefix = "step-";

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) fail("{}: cannot read", p.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Makes a rename or new file in `dir` durable.
void fsync_dir(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) fail("{}: cannot open to sync: {}", dir.string(), std::strerror(errno));
  ::fsync(fd);
  ::close(fd);
}

std::string shape_str(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

}  // namespace

void model_dir_save(const std::vector<ParamTensor>& params, const ModelConfig& cfg, const std::string& dir,
                    const ModelSaveOptions& opt) {
  fs::create_directories(dir);
  const DType dt = opt.dtype == SavedDType::BF16 ? DType::BF16 : DType::F32;
  std::vector<TensorSpec> specs;
  for (const ParamTensor& p : params) specs.push_back({p.name, dt, p.shape});
  safetensors_write_sharded(dir, specs, [&](size_t i, uint8_t* out) {
    const ParamTensor& p = params[i];
    const int64_t n = p.numel();
    if (dt == DType::F32) {
      std::memcpy(out, p.value, size_t(n) * 4);
    } else {
      for (int64_t k = 0; k < n; ++k) {
        const uint16_t h = f32_to_bf16(p.value[k]);
        std::memcpy(out + 2 * k, &h, 2);
      }
    }
  }, kShardBytes);
  ModelConfig plain = cfg;  // the weights written here are float: no quantization_config
  plain.fp8_blocks = false;
  plain.packed_format = DType::F32;
  nlohmann::json cj = config_to_json(plain);
  cj["torch_dtype"] = dt == DType::F32 ? "float32" : "bfloat16";
  write_file_atomic((fs::path(dir) / "config.json").string(), cj.dump(2) + "\n");
  if (!opt.tokenizer_dir.empty()) tokenizer_files_copy(opt.tokenizer_dir, dir);
}

void tokenizer_files_copy(const std::string& from_dir, const std::string& to_dir) {
  if (!fs::exists(fs::path(from_dir) / "tokenizer.json"))
    fail("{}: no tokenizer.json to copy into {}", from_dir, to_dir);
  fs::create_directories(to_dir);
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"}) {
    const fs::path src = fs::path(from_dir) / f;
    if (fs::exists(src)) write_file_atomic((fs::path(to_dir) / f).string(), read_file(src));
  }
}

void model_dir_load_params(std::vector<ParamTensor>& params, const std::string& dir) {
  const Checkpoint ck(dir);
  for (ParamTensor& p : params) {
    const TensorInfo* t = ck.find(p.name);
    if (!t) fail("{}: tensor '{}' is missing (the model needs it; is this checkpoint of the same shape?)", dir, p.name);
    if (t->shape != p.shape)
      fail("{}: tensor '{}' is {} in the checkpoint, the model expects {}", dir, p.name, t->shape_str(), shape_str(p.shape));
    const int64_t n = p.numel();
    if (t->dtype == DType::F8_E4M3 && ck.find(p.name + "_scale_inv")) {  // block-scaled: decode row by row
      const int64_t rows = p.shape.size() == 2 ? p.shape[0] : 1, cols = n / std::max<int64_t>(rows, 1);
      const MatrixView w = ck.matrix(p.name, rows, cols);
      for (int64_t r = 0; r < rows; ++r) w.row_to_f32(r, p.value + r * cols);
    } else if (t->dtype == DType::F32 || t->dtype == DType::BF16 || t->dtype == DType::F16 ||
               t->dtype == DType::F8_E4M3 || t->dtype == DType::F8_E5M2 || t->dtype == DType::F64) {
      for (int64_t i = 0; i < n; ++i) p.value[i] = load_as_f32(t->dtype, t->data, size_t(i));
    } else {
      fail("{}: tensor '{}' is stored as {}, which training cannot load (use an F32 / BF16 / F16 / fp8 checkpoint)",
           dir, p.name, dtype_name(t->dtype));
    }
  }
}

std::string checkpoint_dir_name(int64_t step) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s%08lld", kStepPrefix, static_cast<long long>(step));
  return buf;
}

std::vector<std::string> checkpoint_list(const std::string& run_dir) {
  const fs::path root = fs::path(run_dir) / "checkpoints";
  std::vector<std::pair<int64_t, std::string>> found;
  if (!fs::is_directory(root)) return {};
  for (const auto& e : fs::directory_iterator(root)) {
    const std::string name = e.path().filename().string();
    if (!e.is_directory() || name.rfind(kStepPrefix, 0) != 0) continue;
    const std::string digits = name.substr(std::strlen(kStepPrefix));
    if (digits.empty() || !std::all_of(digits.begin(), digits.end(), ::isdigit)) continue;
    found.push_back({std::stoll(digits), e.path().string()});
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (auto& [s, p] : found) out.push_back(p);
  return out;
}

std::string checkpoint_latest(const std::string& run_dir) {
  const std::vector<std::string> all = checkpoint_list(run_dir);
  return all.empty() ? "" : all.back();
}

std::string checkpoint_commit(const std::string& run_dir, int64_t step,
                              const std::function<void(const std::string& dir)>& write_files, int keep_last) {
  const fs::path root = fs::path(run_dir) / "checkpoints";
  fs::create_directories(root);
  // Leftovers of saves that were interrupted.
  for (const auto& e : fs::directory_iterator(root))
    if (e.path().filename().string().ends_with(".partial")) fs::remove_all(e.path());
  const std::string name = checkpoint_dir_name(step);
  const fs::path partial = root / ("." + name + ".partial");
  const fs::path final_dir = root / name;
  fs::create_directories(partial);
  write_files(partial.string());
  fsync_dir(partial);
  if (fs::exists(final_dir)) {  // the same step saved again (a resumed run): replace it
    const fs::path old = root / ("." + name + ".old.partial");
    fs::rename(final_dir, old);
    fs::rename(partial, final_dir);
    fs::remove_all(old);
  } else {
    fs::rename(partial, final_dir);
  }
  fsync_dir(root);
  if (keep_last > 0) {
    const std::vector<std::string> all = checkpoint_list(run_dir);
    for (size_t i = 0; i + size_t(keep_last) < all.size(); ++i)
      if (fs::path(all[i]) != final_dir) fs::remove_all(all[i]);
  }
  return final_dir.string();
}

ResumePoint resume_point(const std::string& given) {
  const bool run_folder = std::filesystem::exists(std::filesystem::path(given) / "checkpoints");
  ResumePoint p;
  p.checkpoint = run_folder ? checkpoint_latest(given) : given;
  if (p.checkpoint.empty() || !std::filesystem::exists(std::filesystem::path(p.checkpoint) / "train_state.safetensors"))
    fail("--resume {}: no checkpoint there (expected a run folder with checkpoints/step-N or a step-N folder)", given);
  p.run_dir = run_folder ? given : std::filesystem::path(p.checkpoint).parent_path().parent_path().string();
  return p;
}

}  // namespace frugal
