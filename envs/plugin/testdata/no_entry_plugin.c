/* A shared library that exports no rill_env_plugin, for plugin_envs_test. */
int rill_env_plugin_typo(void) { return 1; }
