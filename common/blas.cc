#include "common/blas.h"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>
#include <set>

namespace rill {
namespace {

// OpenBLAS cores that dynamic-arch builds fall back to for CPUs they do not
// know; none of them uses AVX2 or AVX-512.
bool IsGenericOpenBlasCore(const std::string& core) {
  static const std::set<std::string>* const kGeneric = new std::set<std::string>{
      "Prescott", "Katmai", "Coppermine", "Northwood", "Banias", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom"};
  return kGeneric->count(core) > 0;
}

std::string SelectOpenBlasKernels() {
  using CoreNameFn = char* (*)();
  using VoidFn = void (*)();
  auto core_name = reinterpret_cast<CoreNameFn>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  if (core_name == nullptr) return "";
  std::string core = core_name();
  auto dynamic_quit = reinterpret_cast<VoidFn>(dlsym(RTLD_DEFAULT, "gotoblas_dynamic_quit"));
  auto dynamic_init = reinterpret_cast<VoidFn>(dlsym(RTLD_DEFAULT, "gotoblas_dynamic_init"));
  // Not a dynamic-arch build, or the user chose a core: leave it.
  if (dynamic_quit == nullptr || dynamic_init == nullptr || std::getenv("OPENBLAS_CORETYPE") != nullptr) return core;
  if (!IsGenericOpenBlasCore(core)) return core;
  __builtin_cpu_init();
  const char* wanted = nullptr;
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")) {
    wanted = "SkylakeX";
  } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    wanted = "Haswell";
  }
  if (wanted == nullptr) return core;
  // gotoblas_dynamic_init reads OPENBLAS_CORETYPE exactly as it did when the
  // library was loaded; the variable also reaches child processes. The
  // thread count is not the kernels': keep whatever was set.
  using GetThreadsFn = int (*)();
  using SetThreadsFn = void (*)(int);
  auto get_threads = reinterpret_cast<GetThreadsFn>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  auto set_threads = reinterpret_cast<SetThreadsFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  const int threads = get_threads != nullptr ? get_threads() : 0;
  setenv("OPENBLAS_CORETYPE", wanted, /*overwrite=*/0);
  dynamic_quit();
  dynamic_init();
  if (threads > 0 && set_threads != nullptr) set_threads(threads);
  return core_name();
}

}  // namespace

std::string EnsureFastOpenBlasKernels() {
  static std::once_flag once;
  static std::string* core = nullptr;
  std::call_once(once, [] { core = new std::string(SelectOpenBlasKernels()); });
  return *core;
}

bool SetBlasThreads(int threads) {
  EnsureFastOpenBlasKernels();  // first: it reinitialises OpenBLAS
  using SetThreadsFn = void (*)(int);
  // OpenBLAS's OpenMP build sizes each call's team from the calling thread's
  // OpenMP setting (openblas_set_num_threads alone is undone by the next
  // call from a thread that has the default).
  auto omp_set_threads = reinterpret_cast<SetThreadsFn>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
  if (omp_set_threads != nullptr) {
    omp_set_threads(threads);
    return true;
  }
  auto set_threads = reinterpret_cast<SetThreadsFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (set_threads == nullptr) return false;
  set_threads(threads);
  return true;
}

}  // namespace rill
