#include "actor/action_sources/in_process.h"

#include "absl/strings/str_cat.h"
#include "proto/parameters.pb.h"

namespace rill::actor {

absl::Status InProcessPolicySource::Refresh() {
  const parameters::ParameterUpdatePtr latest = store_->Latest();
  if (latest == nullptr || (policy_.ready() && latest->version() <= policy_.version())) return absl::OkStatus();
  v1::ParameterSet parameters;
  if (!parameters.ParseFromString(latest->blob())) {
    return absl::InvalidArgumentError(
        absl::StrCat("parameter version ", latest->version(), " in the store is not a serialized ParameterSet"));
  }
  return policy_.Load(parameters, latest->version());
}

}  // namespace rill::actor
