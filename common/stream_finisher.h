// StreamFinisher: ends a callback-API server stream once, and never while a
// write is on the wire. A reactor may decide to end its stream at any time
// (an error, a cancel, the peer closing its side) but may call Finish only
// once and not before the outstanding StartWrite's OnWriteDone; this class
// keeps that bookkeeping so each reactor does not. Used by the env server's
// and the inference service's bidi reactors.
//
// Not thread-safe: the owning reactor guards it with its own mutex
// (ABSL_GUARDED_BY on the member) and holds it around every call. Finish and
// WriteDone call the reactor's Finish under that mutex.
#ifndef RILL_COMMON_STREAM_FINISHER_H_
#define RILL_COMMON_STREAM_FINISHER_H_

#include <utility>

#include "grpcpp/support/status.h"

namespace rill {

class StreamFinisher {
 public:
  // Whether the stream has been ended (Finish called, or waiting for the
  // write on the wire): the reactor starts no more reads or writes.
  bool finished() const { return finished_; }

  // Call just before the reactor's StartWrite.
  void WriteStarted() { writing_ = true; }

  // Call first in OnWriteDone. Returns true when the stream is finished:
  // the reactor starts nothing more. If a Finish waited for this write, it
  // is made now on `reactor`.
  template <typename Reactor>
  bool WriteDone(Reactor& reactor) {
    writing_ = false;
    if (!finished_) return false;
    if (finish_after_write_) reactor.Finish(final_status_);
    return true;
  }

  // Ends the stream with `status`: `reactor`'s Finish at once, or from
  // WriteDone when a write is on the wire. Calls after the first are
  // ignored, so the first reason to end the stream is the one reported.
  template <typename Reactor>
  void Finish(Reactor& reactor, grpc::Status status) {
    if (finished_) return;
    finished_ = true;
    if (writing_) {
      finish_after_write_ = true;
      final_status_ = std::move(status);
      return;
    }
    reactor.Finish(std::move(status));
  }

 private:
  bool writing_ = false;
  bool finished_ = false;
  bool finish_after_write_ = false;
  grpc::Status final_status_;
};

}  // namespace rill

#endif  // RILL_COMMON_STREAM_FINISHER_H_
