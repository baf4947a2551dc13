// The metric family every replay client reports its RPCs in,
// rill_replay_client_rpc_seconds{role, method}: an actor's writer (Insert),
// the learner's sampler (Sample) and priority updater (UpdatePriorities).
// Defined once here, so its help text and buckets cannot drift between the
// processes that export it.
#ifndef RILL_REPLAY_CLIENT_CLIENT_METRICS_H_
#define RILL_REPLAY_CLIENT_CLIENT_METRICS_H_

#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace rill::replay {

// Registers (or finds) the family in `registry`; add one histogram per
// (role, method) with LatencyBuckets() (common/metrics.h).
prometheus::Family<prometheus::Histogram>& ClientRpcSeconds(prometheus::Registry& registry);

}  // namespace rill::replay

#endif  // RILL_REPLAY_CLIENT_CLIENT_METRICS_H_
