#include "kernels/dispatch.h"

#include <atomic>
#include <cblas.h>
#include <cstdlib>
#include <cstring>

#include "core/error.h"

namespace frugal {

static KernelImpl choose_impl() {
  const char* env = std::getenv("FRUGAL_KERNELS");
  if (env && std::strcmp(env, "ref") == 0) return KernelImpl::Ref;
  return KernelImpl::Fast;
}

KernelImpl kernel_impl() {
  static const KernelImpl impl = choose_impl();
  return impl;
}

void kernels_init() {
  static const bool done = [] {
    openblas_set_num_threads(1);
    return true;
  }();
  (void)done;
}

void blas_single_thread_here() {
  thread_local bool done = false;
  if (!done) {
    openblas_set_num_threads(1);
    done = true;
  }
}

bool cpu_has_avx2_fma() {
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                          __builtin_cpu_supports("f16c");
  return has;
}

bool cpu_has_avx512_vnni() {
  static const bool has = cpu_has_avx2_fma() && __builtin_cpu_supports("avx512vnni") &&
                          __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw");
  return has;
}

bool cpu_has_avx512_bf16() {
  static const bool has = cpu_has_avx2_fma() && __builtin_cpu_supports("avx512bf16") &&
                          __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw");
  return has;
}

// FRUGAL_FP8: unset or "bf16x2" (the default), "bf16" (x as one bf16), "f16c".
static const char* fp8_env() {
  static const char* env = [] {
    const char* v = std::getenv("FRUGAL_FP8");
    if (!v || !*v) return "bf16x2";
    for (const char* known : {"f16c", "bf16", "bf16x2"})
      if (std::strcmp(v, known) == 0) return known;
    fail("FRUGAL_FP8={}: expected f16c, bf16 or bf16x2", v);
  }();
  return env;
}

static std::atomic<bool>& dpbf16_choice() {
  static std::atomic<bool> on = cpu_has_avx512_bf16() && std::strcmp(fp8_env(), "f16c") != 0;
  return on;
}

static std::atomic<bool>& dpbf16_x_single_choice() {
  static std::atomic<bool> on = std::strcmp(fp8_env(), "bf16") == 0;
  return on;
}

void kernels_env_check() { (void)fp8_env(); }

bool dpbf16_x_single() { return dpbf16_x_single_choice().load(std::memory_order_relaxed); }

void dpbf16_x_single_set(bool on) { dpbf16_x_single_choice().store(on, std::memory_order_relaxed); }

bool dpbf16_enabled() { return dpbf16_choice().load(std::memory_order_relaxed); }

bool dpbf16_set(bool on) {
  if (on && !cpu_has_avx512_bf16()) return false;
  dpbf16_choice().store(on, std::memory_order_relaxed);
  return true;
}

static std::atomic<Int8Isa>& int8_isa_choice() {
  static std::atomic<Int8Isa> isa = [] {
    const char* env = std::getenv("FRUGAL_INT8");
    const bool force_avx2 = env && std::strcmp(env, "avx2") == 0;
    return cpu_has_avx512_vnni() && !force_avx2 ? Int8Isa::Avx512Vnni : Int8Isa::Avx2;
  }();
  return isa;
}

Int8Isa int8_isa() { return int8_isa_choice().load(std::memory_order_relaxed); }

bool int8_isa_set(Int8Isa isa) {
  if (isa == Int8Isa::Avx512Vnni && !cpu_has_avx512_vnni()) return false;
  int8_isa_choice().store(isa, std::memory_order_relaxed);
  return true;
}

}  // namespace frugal
