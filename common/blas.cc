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
  // library was loaded; the variable also reaches child processes.
  setenv("OPENBLAS_CORETYPE", wanted, /*overwrite=*/0);
  dynamic_quit();
  dynamic_init();
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
  using SetThreadsFn = void (*)(int);
  auto set_threads = reinterpret_cast<SetThreadsFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (set_threads == nullptr) return false;
  set_threads(threads);
  return true;
}

}  // namespace rill
