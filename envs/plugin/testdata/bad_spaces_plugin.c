/* A plugin whose env states action bounds with low > high, for
 * plugin_envs_test: Rill must refuse the library naming the env and the
 * dimension. */
#include <stddef.h>

#include "envs/plugin/rill_env_plugin.h"

static const float kLow[] = {0.f, 1.f};
static const float kHigh[] = {1.f, -1.f};
static const RillEnvInfo kEnvs[] = {{"Upside-v0", 1, {4}, RILL_DTYPE_FLOAT32, 0, 2, kLow, kHigh, 100}};

static void* Create(int32_t i, uint64_t s, char* e, size_t n) { (void)i; (void)s; (void)e; (void)n; return NULL; }
static void Destroy(void* env) { (void)env; }
static int32_t Reset(void* env, void* o, char* e, size_t n) { (void)env; (void)o; (void)e; (void)n; return 1; }
static int32_t Step(void* env, const float* a, void* o, RillEnvStepResult* r, char* e, size_t n) {
  (void)env; (void)a; (void)o; (void)r; (void)e; (void)n;
  return 1;
}

static const RillEnvPlugin kPlugin = {
    RILL_ENV_PLUGIN_ABI_VERSION, sizeof(RillEnvPlugin), 1, kEnvs, Create, Destroy, Reset, Step,
};

RILL_ENV_PLUGIN_EXPORT const RillEnvPlugin* rill_env_plugin(void) { return &kPlugin; }
