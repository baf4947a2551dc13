/* Plugins whose multi-agent tables are malformed, one case per build
 * (BAD_CASE, envs/plugin/BUILD.bazel), for plugin_envs_test: Rill must
 * refuse each library naming the env and, where one is at fault, the
 * agent.
 *   1: agent "twin" declared twice.
 *   2: a global state (state_rank 1) but no multi_agent_state function.
 *   3: agent "upside"'s action bounds have low > high.
 *   4: a multi-agent env with the id of the library's single-agent env. */
#include <stddef.h>

#include "envs/plugin/rill_env_plugin.h"

#if BAD_CASE == 1
static const RillAgentInfo kAgents[] = {{"twin", 1, {2}, 3, 0, NULL, NULL}, {"twin", 1, {2}, 3, 0, NULL, NULL}};
#elif BAD_CASE == 3
static const float kLow[] = {1.f};
static const float kHigh[] = {-1.f};
static const RillAgentInfo kAgents[] = {{"fine", 1, {2}, 3, 0, NULL, NULL}, {"upside", 1, {2}, 0, 1, kLow, kHigh}};
#else
static const RillAgentInfo kAgents[] = {{"one", 1, {2}, 3, 0, NULL, NULL}, {"two", 1, {2}, 3, 0, NULL, NULL}};
#endif
static const RillMultiAgentEnvInfo kEnvs[] = {{"Pair-v0", 2, kAgents, BAD_CASE == 2 ? 1 : 0, {4}, 10}};
static const RillEnvInfo kSingle[] = {{"Pair-v0", 1, {2}, RILL_DTYPE_FLOAT32, 2, 0, NULL, NULL, 10}};

static void* Create(int32_t i, uint64_t s, char* e, size_t n) { (void)i; (void)s; (void)e; (void)n; return NULL; }
static void Destroy(void* env) { (void)env; }
static int32_t Reset(void* env, void* o, char* e, size_t n) { (void)env; (void)o; (void)e; (void)n; return 1; }
static int32_t Step(void* env, const float* a, void* o, RillEnvStepResult* r, char* e, size_t n) {
  (void)env; (void)a; (void)o; (void)r; (void)e; (void)n;
  return 1;
}
static int32_t ResetMulti(void* env, float* const* o, char* e, size_t n) { (void)env; (void)o; (void)e; (void)n; return 1; }
static int32_t StepMulti(void* env, const float* const* a, float* const* o, RillEnvStepResult* r, char* e, size_t n) {
  (void)env; (void)a; (void)o; (void)r; (void)e; (void)n;
  return 1;
}

static const RillEnvPlugin kPlugin = {
    RILL_ENV_PLUGIN_ABI_VERSION, sizeof(RillEnvPlugin), BAD_CASE == 4 ? 1 : 0, kSingle, Create, Destroy, Reset, Step,
    1, kEnvs, Create, Destroy, ResetMulti, StepMulti, NULL,
};

RILL_ENV_PLUGIN_EXPORT const RillEnvPlugin* rill_env_plugin(void) { return &kPlugin; }
