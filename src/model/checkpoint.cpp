#include "model/checkpoint.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "core/proc_info.h"

namespace frugal {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::vector<std::string> shard_files(const std::string& dir) {
  fs::path index = fs::path(dir) / "model.safetensors.index.json";
  if (fs::exists(index)) {
    std::ifstream in(index);
    json j = json::parse(in, nullptr, false);
    if (j.is_discarded() || !j.is_object()) fail("{}: not valid JSON", index.string());
    auto wm = j.find("weight_map");
    if (wm == j.end() || !wm->is_object()) fail("{}: missing object 'weight_map'", index.string());
    std::set<std::string> files;
    for (auto it = wm->begin(); it != wm->end(); ++it) {
      if (!it->is_string()) fail("{}: weight_map['{}'] must be a file name", index.string(), it.key());
      std::string f = it->get<std::string>();
      if (f.find('/') != std::string::npos || f == "..")
        fail("{}: weight_map['{}'] = '{}' is not a plain file name", index.string(), it.key(), f);
      files.insert(f);
    }
    std::vector<std::string> out;
    for (const auto& f : files) out.push_back((fs::path(dir) / f).string());
    return out;
  }
  fs::path single = fs::path(dir) / "model.safetensors";
  if (fs::exists(single)) return {single.string()};
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".safetensors") out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  if (out.empty()) fail("{}: no model.safetensors, index or *.safetensors files", dir);
  return out;
}

bool is_weight_dtype(DType t) {
  return t == DType::F32 || t == DType::BF16 || t == DType::F16 || t == DType::F8_E4M3 || t == DType::F8_E5M2;
}

// Auto: copy when the shards take at most half of the memory available now.
FileLoad resolve(WeightLoad load, const std::vector<std::string>& paths) {
  if (load == WeightLoad::Auto) {
    const char* env = std::getenv("FRUGAL_WEIGHTS");
    const std::string v = env ? env : "";
    if (v == "map") return FileLoad::Map;
    if (v == "copy") return FileLoad::Copy;
    if (!v.empty() && v != "auto") fail("FRUGAL_WEIGHTS={}: expected map, copy or auto", v);
    int64_t bytes = 0;
    for (const std::string& p : paths) bytes += int64_t(fs::file_size(p));
    const int64_t available = proc_kb_field("/proc/meminfo", "MemAvailable");
    return available > 0 && bytes <= available / 2 ? FileLoad::Copy : FileLoad::Map;
  }
  return load == WeightLoad::Copy ? FileLoad::Copy : FileLoad::Map;
}

}  // namespace

Checkpoint::Checkpoint(const std::string& dir, WeightLoad load) : dir_(dir) {
  if (!fs::is_directory(dir)) fail("{}: not a directory (expected a Hugging Face model folder)", dir);
  const std::vector<std::string> paths = shard_files(dir);
  load_ = resolve(load, paths);
  const auto t0 = std::chrono::steady_clock::now();
  int64_t copied = 0;
  for (const std::string& path : paths) {
    files_.push_back(std::make_unique<SafetensorsFile>(path, load_));
    if (files_.back()->how() == FileLoad::Map) load_ = FileLoad::Map;  // a copy that did not fit
    else copied += int64_t(fs::file_size(path));
    for (const auto& [name, t] : files_.back()->tensors()) {
      auto [it, inserted] = tensors_.emplace(name, &t);
      if (!inserted) fail("{}: tensor '{}' also appears in {}", path, name, it->second->file);
    }
  }
  if (copied >= (int64_t(1) << 30))
    std::fprintf(stderr, "frugal: weights copied into memory (huge pages): %.2f GiB in %.1f s (--mmap maps them)\n",
                 double(copied) / double(int64_t(1) << 30),
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
}

const TensorInfo* Checkpoint::find(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : it->second;
}

const TensorInfo& Checkpoint::get(const std::string& name) const {
  const TensorInfo* t = find(name);
  if (!t) fail("{}: tensor '{}' is missing from the checkpoint", dir_, name);
  return *t;
}

MatrixView Checkpoint::matrix(const std::string& name, int64_t rows, int64_t cols, int64_t block) const {
  const TensorInfo& t = get(name);
  if (t.shape != std::vector<int64_t>{rows, cols})
    fail("{}: tensor '{}' has shape {}, expected [{}, {}] from config.json", t.file, name, t.shape_str(), rows,
         cols);
  if (!is_weight_dtype(t.dtype))
    fail("{}: tensor '{}' has dtype {}, expected F32, BF16, F16 or F8_E4M3", t.file, name, dtype_name(t.dtype));
  MatrixView m{.data = t.data, .dtype = t.dtype, .rows = rows, .cols = cols, .block = block};
  if (t.dtype == DType::F8_E4M3 || t.dtype == DType::F8_E5M2) {
    const std::string sname = name + "_scale_inv";
    const TensorInfo* s = find(sname);
    if (!s) fail("{}: fp8 tensor '{}' has no block scales '{}'", t.file, name, sname);
    const std::vector<int64_t> want{(rows + block - 1) / block, (cols + block - 1) / block};
    if (s->dtype != DType::F32 || s->shape != want)
      fail("{}: tensor '{}' is {} {}, expected F32 [{}, {}] (128x128 blocks of a [{}, {}] weight)", s->file,
           sname, dtype_name(s->dtype), s->shape_str(), want[0], want[1], rows, cols);
    m.scale_inv = reinterpret_cast<const float*>(s->data);
  }
  return m;
}

MatrixView Checkpoint::packed_matrix(const std::string& name, int64_t rows, int64_t cols, DType format) const {
  const TensorInfo& t = get(name);
  if (t.dtype != DType::U8) return matrix(name, rows, cols);
  if (cols % dtype_block_elems(format))
    fail("{}: tensor '{}' has {} columns, not a multiple of the {}-value blocks of {}", t.file, name, cols,
         dtype_block_elems(format), dtype_name(format));
  const int64_t row_bytes = dtype_row_bytes(format, cols);
  if (t.shape != std::vector<int64_t>{rows, row_bytes})
    fail("{}: tensor '{}' is U8 {}, expected [{}, {}] ({} rows of {} values in {})", t.file, name, t.shape_str(),
         rows, row_bytes, rows, cols, dtype_name(format));
  return MatrixView{.data = t.data, .dtype = format, .rows = rows, .cols = cols};
}

MatrixView Checkpoint::vector(const std::string& name, int64_t n) const {
  const TensorInfo& t = get(name);
  if (t.shape != std::vector<int64_t>{n})
    fail("{}: tensor '{}' has shape {}, expected [{}] from config.json", t.file, name, t.shape_str(), n);
  if (!is_weight_dtype(t.dtype) || t.dtype == DType::F8_E4M3 || t.dtype == DType::F8_E5M2)
    fail("{}: tensor '{}' has dtype {}, expected F32, BF16 or F16", t.file, name, dtype_name(t.dtype));
  return MatrixView{.data = t.data, .dtype = t.dtype, .rows = 1, .cols = n};
}

}  // namespace frugal
