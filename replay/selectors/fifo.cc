#include "replay/selectors/fifo.h"

namespace rill::replay {

absl::Status FifoSelector::Update(int64_t /*slot*/, double /*priority*/) {
  return absl::UnimplementedError("the fifo selector has no priorities to update");
}

Selection FifoSelector::Sample(absl::BitGenRef /*gen*/) { return Selection{order_.front(), 1.0}; }

}  // namespace rill::replay
