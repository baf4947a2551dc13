#include "replay/client/client_metrics.h"

namespace rill::replay {

prometheus::Family<prometheus::Histogram>& ClientRpcSeconds(prometheus::Registry& registry) {
  return prometheus::BuildHistogram()
      .Name("rill_replay_client_rpc_seconds")
      .Help("Client side of replay RPCs: per batch, from its write to the stream to its acknowledgement (Insert) "
            "or from the credit that asked for it to its arrival (Sample); per call for UpdatePriorities")
      .Register(registry);
}

}  // namespace rill::replay
