#include "model/safetensors.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"

namespace frugal {

using nlohmann::json;

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string TensorInfo::shape_str() const {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

namespace {

TensorInfo parse_entry(const std::string& path, const std::string& name, const json& e, const uint8_t* data,
                       uint64_t data_size) {
  auto bad = [&](const std::string& what) { fail("{}: tensor '{}': {}", path, name, what); };
  if (!e.is_object()) bad("header entry is not an object");
  TensorInfo t;
  t.name = name;
  t.file = path;
  auto dt = e.find("dtype");
  if (dt == e.end() || !dt->is_string()) bad("missing string 'dtype'");
  auto parsed = dtype_from_name(dt->get<std::string>());
  if (!parsed) bad("unsupported dtype '" + dt->get<std::string>() + "'");
  t.dtype = *parsed;
  auto sh = e.find("shape");
  if (sh == e.end() || !sh->is_array()) bad("missing array 'shape'");
  uint64_t numel = 1;
  for (const json& d : *sh) {
    if (!d.is_number_unsigned()) bad("shape " + sh->dump() + " has a non-integer or negative dimension");
    uint64_t v = d.get<uint64_t>();
    if (v > (1ull << 40) || (v && numel > (1ull << 48) / v)) bad("shape " + sh->dump() + " is absurdly large");
    numel *= v;
    t.shape.push_back(int64_t(v));
  }
  auto off = e.find("data_offsets");
  if (off == e.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
      !(*off)[1].is_number_unsigned())
    bad("'data_offsets' must be [begin, end] with non-negative integers");
  uint64_t begin = (*off)[0].get<uint64_t>(), end = (*off)[1].get<uint64_t>();
  if (begin > end) bad(fmt::format("data_offsets [{}, {}] run backwards", begin, end));
  if (end > data_size)
    bad(fmt::format("data_offsets [{}, {}] run past the end of the data section ({} bytes): the file is "
                    "truncated or corrupt",
                    begin, end, data_size));
  uint64_t expected = numel * dtype_size(t.dtype);
  if (end - begin != expected)
    bad(fmt::format("{} x {} needs {} bytes but data_offsets [{}, {}] hold {}", dt->get<std::string>(),
                    t.shape_str(), expected, begin, end, end - begin));
  t.data = data + begin;
  t.nbytes = end - begin;
  return t;
}

}  // namespace

SafetensorsFile::SafetensorsFile(const std::string& path, FileLoad how)
    : file_(std::make_unique<MappedFile>(path, how)) {
  const uint8_t* p = file_->data();
  const uint64_t size = file_->size();
  if (size < 8) fail("{}: truncated: {} bytes, shorter than the 8-byte header length", path, size);
  uint64_t n = 0;
  std::memcpy(&n, p, 8);  // little-endian on every platform frugal runs on
  if (n > kSafetensorsMaxHeader)
    fail("{}: JSON header of {} bytes exceeds the {} MiB limit: not a safetensors file, or corrupt", path, n,
         kSafetensorsMaxHeader >> 20);
  if (8 + n > size) fail("{}: truncated: header says {} bytes of JSON but the file has {}", path, n, size - 8);
  json header = json::parse(p + 8, p + 8 + n, nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded() || !header.is_object()) fail("{}: the header is not a JSON object", path);
  const uint8_t* data = p + 8 + n;
  const uint64_t data_size = size - 8 - n;

  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it->is_object()) fail("{}: __metadata__ is not an object", path);
      for (auto m = it->begin(); m != it->end(); ++m)
        if (m->is_string()) metadata_[m.key()] = m->get<std::string>();
      continue;
    }
    tensors_.emplace(it.key(), parse_entry(path, it.key(), *it, data, data_size));
  }

  // No two tensors may share bytes.
  std::vector<const TensorInfo*> by_offset;
  for (const auto& [name, t] : tensors_)
    if (t.nbytes) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(), [](auto* a, auto* b) { return a->data < b->data; });
  for (size_t i = 1; i < by_offset.size(); ++i)
    if (by_offset[i - 1]->data + by_offset[i - 1]->nbytes > by_offset[i]->data)
      fail("{}: tensors '{}' and '{}' overlap in the data section", path, by_offset[i - 1]->name,
           by_offset[i]->name);
}

size_t TensorSpec::nbytes() const {
  size_t n = dtype_size(dtype);
  for (int64_t d : shape) n *= size_t(d);
  return n;
}

void safetensors_write(const std::string& path, const std::vector<TensorSpec>& tensors,
                       const std::function<void(size_t, uint8_t*)>& fill,
                       const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const TensorSpec& t : tensors) {
    header[t.name] = {{"dtype", std::string(dtype_name(t.dtype))},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + t.nbytes()}}};
    offset += t.nbytes();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // data section starts 8-byte aligned
  AtomicFile out(path);
  uint64_t n = text.size();
  out.write(&n, 8);
  out.write(text.data(), text.size());
  std::vector<uint8_t> buf;
  for (size_t i = 0; i < tensors.size(); ++i) {
    buf.resize(tensors[i].nbytes());
    fill(i, buf.data());
    out.write(buf.data(), buf.size());
  }
  out.commit();
}

void safetensors_write_sharded(const std::string& dir, const std::vector<TensorSpec>& tensors,
                               const std::function<void(size_t, uint8_t*)>& fill, int64_t shard_bytes,
                               const std::function<bool(size_t)>& joins_previous) {
  std::vector<std::vector<size_t>> shards(1);
  size_t shard_size = 0, total = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const size_t n = tensors[i].nbytes();
    const bool joins = joins_previous && joins_previous(i);
    if (!joins && shard_size > 0 && shard_size + n > size_t(shard_bytes)) shards.emplace_back(), shard_size = 0;
    shards.back().push_back(i);
    shard_size += n;
    total += n;
  }
  std::filesystem::create_directories(dir);
  json index = {{"metadata", {{"total_size", total}}}, {"weight_map", json::object()}};
  for (size_t k = 0; k < shards.size(); ++k) {
    const std::string file = shards.size() == 1 ? "model.safetensors"
                                                : fmt::format("model-{:05d}-of-{:05d}.safetensors", k + 1, shards.size());
    std::vector<TensorSpec> specs;
    for (size_t i : shards[k]) {
      specs.push_back(tensors[i]);
      index["weight_map"][tensors[i].name] = file;
    }
    safetensors_write(dir + "/" + file, specs, [&](size_t j, uint8_t* out) { fill(shards[k][j], out); });
  }
  if (shards.size() > 1) write_file_atomic(dir + "/model.safetensors.index.json", index.dump(2) + "\n");
}

void safetensors_write(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<TensorSpec> specs;
  for (const auto& t : tensors) specs.push_back(t.spec);
  safetensors_write(
      path, specs,
      [&](size_t i, uint8_t* out) {
        const uint8_t* src = static_cast<const uint8_t*>(tensors[i].data);
        std::copy(src, src + specs[i].nbytes(), out);
      },
      metadata);
}

}  // namespace frugal
