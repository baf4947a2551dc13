#include "actor/action_sources/in_process.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
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
  RETURN_IF_ERROR(policy_.Load(parameters, latest->version()));
  pool_versions_.assign(latest->pool_versions().begin(), latest->pool_versions().end());
  return absl::OkStatus();
}

}  // namespace rill::actor
