// BlasLstm: one step of the recurrent core of a recurrent policy (an LSTM
// cell, torch.nn.LSTM's equations) over plain float buffers, two
// cblas_sgemm per step, so an actor needs no LibTorch. MlpPolicy runs it
// between the last hidden layer and the head when its spec has lstm_size
// > 0. Its parameters carry the names and shapes proto/parameters.proto
// gives PolicySpec.lstm_size: "<prefix>.lstm.weight_ih" [4N, in],
// "<prefix>.lstm.weight_hh" [4N, N] and "<prefix>.lstm.bias" [4N] (torch's
// b_ih + b_hh), gates in torch's order input, forget, cell, output.
//
// Thread safety: none; each policy owns its own BlasLstm.
#ifndef RILL_POLICIES_BLAS_LSTM_H_
#define RILL_POLICIES_BLAS_LSTM_H_

#include <cstdint>
#include <string>
#include <vector>

#include "policies/blas_mlp.h"  // NamedParameter

namespace rill::policies {

class BlasLstm {
 public:
  // An LSTM of `size` units over `in_dim` inputs, initialised as
  // torch.nn.LSTM is (every weight uniform in +-1/sqrt(size); the one bias
  // is the sum of two such draws, as torch's b_ih + b_hh), drawn from
  // `seed`. Sizes must be positive (the caller has checked its spec).
  BlasLstm(int in_dim, int size, const std::string& prefix, uint64_t seed);

  int in_dim() const { return in_dim_; }
  int size() const { return size_; }
  // Floats of one row's state: h, then c.
  int state_size() const { return 2 * size_; }

  // One step for `batch` rows: input [batch, in_dim]; state [batch,
  // 2 * size] row-major, each row h then c, read and replaced by the new
  // (h', c'): gates = input W_ih^T + h W_hh^T + bias; c' = f * c + i * g,
  // h' = o * tanh(c'), with sigmoid i, f, o and tanh g.
  void Step(const float* input, int64_t batch, float* state);

  // The h' of the last Step, [batch, size] row-major (the head's input),
  // valid until the next call.
  const float* h() const { return h_.data(); }

  // weight_ih, weight_hh, bias, in that order.
  std::vector<NamedParameter>& parameters() { return parameters_; }
  const std::vector<NamedParameter>& parameters() const { return parameters_; }

 private:
  int in_dim_;
  int size_;
  std::vector<NamedParameter> parameters_;
  std::vector<float> gates_;  // [batch, 4 * size]
  std::vector<float> h_;      // [batch, size]
};

}  // namespace rill::policies

#endif  // RILL_POLICIES_BLAS_LSTM_H_
