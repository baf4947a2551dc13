// The process's BLAS (Debian's OpenBLAS through libblas.so.3): its kernel
// choice and thread count. The learner's LibTorch and the actors' policies
// (policies/blas_mlp.h) both run their matmuls on it.
//
// Thread-safe.
#ifndef RILL_COMMON_BLAS_H_
#define RILL_COMMON_BLAS_H_

#include <string>

namespace rill {

// Debian's OpenBLAS 0.3.21 does not recognise recent Xeons (Sapphire/Emerald
// Rapids) and falls back to its SSE3 "Prescott" kernels, which run a 256x256
// matmul 4x slower (measured on the 2-core build machine: 74 vs 292 GFLOP/s).
// When the process's BLAS is a dynamic-arch OpenBLAS that picked such a
// generic core, OPENBLAS_CORETYPE is unset and the CPU supports AVX-512 (or
// AVX2), this switches OpenBLAS to its SkylakeX (or Haswell) kernels, exactly
// as OPENBLAS_CORETYPE would at start-up. It runs once per process; later
// calls return the first answer. It must run before any other thread calls
// BLAS, so FlatMlp::Create and BlasMlp's constructor call it. Returns the
// OpenBLAS core in use ("" when the BLAS is not OpenBLAS).
std::string EnsureFastOpenBlasKernels();

// Caps the threads the BLAS uses for calls from the calling thread (an
// actor's forwards, the inference batcher's). With Debian's OpenMP build of
// OpenBLAS (the one tools/setup.sh selects) this is the calling thread's
// OpenMP setting and leaves other threads alone; with a BLAS without OpenMP
// it is OpenBLAS's process-wide count. False when the BLAS has neither.
bool SetBlasThreads(int threads);

}  // namespace rill

#endif  // RILL_COMMON_BLAS_H_
