#include "train/train_rows.h"

#include "kernels/dispatch.h"

namespace frugal::train::rows {

bool rows_fast() {
  static const bool fast = kernel_impl() == KernelImpl::Fast && cpu_has_avx2_fma();
  return fast;
}

}  // namespace frugal::train::rows
