// Which implementation of each kernel runs: the fast one by default, the plain
// reference when FRUGAL_KERNELS=ref (to tell a kernel bug from a model bug).
// Chosen once, on first use; kernels_init() also pins BLAS to one thread, since
// frugal's own pool does the threading (CONVENTIONS.md "Threads live in kernels").
#pragma once

namespace frugal {

enum class KernelImpl { Ref, Fast };

KernelImpl kernel_impl();
void kernels_init();
// The OpenMP build of OpenBLAS sizes its parallel regions from the CALLING
// thread's OpenMP setting, which openblas_set_num_threads changes for the calling
// thread only. A pool worker that never called it makes OpenBLAS start (and spin)
// an OpenMP team of its own beside our pool (5x slower on 2 cores measured), so
// every thread calls this before its first BLAS call (cheap after the first).
void blas_single_thread_here();
bool cpu_has_avx2_fma();
bool cpu_has_avx512_vnni();  // AVX512-VNNI with 256-bit vectors (AVX512VL), on top of AVX2 / FMA / F16C
bool cpu_has_avx512_bf16();  // AVX512-BF16 (and AVX512VL / BW), on top of AVX2 / FMA / F16C
// The x W^T kernel for fp8 weights (and bf16 ones with x as one bf16, below):
// AVX512-BF16 (vdpbf16ps) where the CPU has it (unless FRUGAL_FP8=f16c), else the
// F16C / fp32 kernels; dpbf16_set changes it for the whole process (tests and
// benchmarks compare the two), false if this CPU lacks it.
bool dpbf16_enabled();
bool dpbf16_set(bool on);
// Whether that kernel rounds x to one bf16 (2^-9 relative: about twice the
// products per second once they are bound by arithmetic, batched decode and
// prefill) instead of two (2^-17, the default), and takes bf16 weights too (else
// on the exact fp32 kernels); FRUGAL_FP8=bf16 or --bf16-activations turn it on.
// Either way a token's result does not depend on the batch. (DeepSeek's own FP8
// inference rounds x to e4m3, 2^-4; llama.cpp multiplies bf16 weights with x in
// one bf16.)
bool dpbf16_x_single();
void dpbf16_x_single_set(bool on);
// Reads the kernel-choice environment variables now (a bad FRUGAL_FP8 value is an
// Error); otherwise they are read on first use.
void kernels_env_check();

// The instruction set of the int8 kernels (Q8_0 / Q4_0 products with few tokens):
// AVX512-VNNI where the CPU has it, else AVX2; FRUGAL_INT8=avx2 forces AVX2. Both
// give the same bits (integer sums are exact, the fp32 operations the same).
enum class Int8Isa { Avx2, Avx512Vnni };
Int8Isa int8_isa();
// Chooses one for the whole process (tests and benchmarks compare the two); false,
// changing nothing, if this CPU lacks it.
bool int8_isa_set(Int8Isa isa);

}  // namespace frugal
