// For tests of the plugin loader: where Bazel puts the example and test
// libraries in a test's runfiles, and a config naming one of their envs.
#ifndef RILL_ENVS_PLUGIN_TEST_LIBRARIES_H_
#define RILL_ENVS_PLUGIN_TEST_LIBRARIES_H_

#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "proto/config.pb.h"

namespace rill::envs {

// A path in the test's runfiles: "examples/plugin/libhover.so".
inline std::string Runfile(const std::string& path) {
  return absl::StrCat(std::getenv("TEST_SRCDIR"), "/rill/", path);
}

// testdata/lib<name>.so.
inline std::string TestPlugin(const std::string& name) {
  return Runfile(absl::StrCat("envs/plugin/testdata/lib", name, ".so"));
}

inline v1::PluginEnvConfig PluginConfig(const std::string& library, const std::string& id) {
  v1::PluginEnvConfig config;
  config.set_library(library);
  config.set_id(id);
  return config;
}

}  // namespace rill::envs

#endif  // RILL_ENVS_PLUGIN_TEST_LIBRARIES_H_
