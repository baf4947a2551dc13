/* A plugin built for an ABI version this Rill does not know (999), for
 * plugin_envs_test: Rill must refuse it without calling anything in it. */
#include <stdlib.h>

#include "envs/plugin/rill_env_plugin.h"

static const RillEnvPlugin kPlugin = {999, sizeof(RillEnvPlugin), 0, NULL, NULL, NULL, NULL, NULL};

RILL_ENV_PLUGIN_EXPORT const RillEnvPlugin* rill_env_plugin(void) { return &kPlugin; }
