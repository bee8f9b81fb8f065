#include "kernels/dispatch.h"

#include <cblas.h>
#include <cstdlib>
#include <cstring>

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

}  // namespace frugal
