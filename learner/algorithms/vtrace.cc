#include "learner/algorithms/vtrace.h"

#include <cstdint>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "learner/algorithms/checks.h"

namespace rill::learner {
namespace {

absl::Status CheckOptions(const VTraceOptions& options) {
  // Written as !(in range) so that NaN is rejected too.
  if (!(options.gamma >= 0 && options.gamma <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat("gamma must be in [0, 1], got ", options.gamma));
  }
  if (!(options.lambda >= 0 && options.lambda <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat("lambda must be in [0, 1], got ", options.lambda));
  }
  if (!(options.rho_bar > 0)) {
    return absl::InvalidArgumentError(absl::StrCat("rho_bar must be positive, got ", options.rho_bar));
  }
  if (!(options.c_bar > 0)) {
    return absl::InvalidArgumentError(absl::StrCat("c_bar must be positive, got ", options.c_bar));
  }
  return absl::OkStatus();
}

// InvalidArgument naming `name` unless `t` is a defined [T, B] float32 tensor
// with the shape and device of `reference` (log_rhos).
absl::Status CheckInput(const char* name, const torch::Tensor& t, const torch::Tensor& reference) {
  if (!t.defined()) return absl::InvalidArgumentError(absl::StrCat(name, " is undefined"));
  if (t.dim() != 2) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " must have rank 2 ([T, B]), got shape ", ShapeString(t.sizes())));
  }
  if (t.scalar_type() != torch::kFloat32) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " must be float32, not ", c10::toString(t.scalar_type())));
  }
  if (t.sizes() != reference.sizes()) {
    return absl::InvalidArgumentError(absl::StrCat(name, " has shape ", ShapeString(t.sizes()),
                                                   ", log_rhos has ", ShapeString(reference.sizes())));
  }
  if (t.device() != reference.device()) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " is on ", t.device().str(), ", log_rhos on ", reference.device().str()));
  }
  return absl::OkStatus();
}

// The [t, b] of the first true entry of the [T, B] bool `mask`, if any.
// Synchronizes with the device.
std::optional<std::pair<int64_t, int64_t>> FirstTrue(const torch::Tensor& mask) {
  if (!mask.any().item<bool>()) return std::nullopt;
  torch::Tensor index = mask.nonzero()[0].cpu();
  return std::make_pair(index[0].item<int64_t>(), index[1].item<int64_t>());
}

absl::Status CheckValues(const torch::Tensor& log_rhos, const torch::Tensor& terminated,
                         const torch::Tensor& truncated) {
  if (auto at = FirstTrue(torch::isnan(log_rhos))) {
    return absl::InvalidArgumentError(absl::StrCat("log_rhos holds NaN at [", at->first, ", ", at->second, "]"));
  }
  for (const auto& [name, flag] : {std::make_pair("terminated", &terminated), std::make_pair("truncated", &truncated)}) {
    if (auto at = FirstTrue((*flag != 0) & (*flag != 1))) {
      return absl::InvalidArgumentError(absl::StrCat(name, " holds ", (*flag)[at->first][at->second].item<float>(),
                                                     " at [", at->first, ", ", at->second, "]; must be 0 or 1"));
    }
  }
  return absl::OkStatus();
}

VTraceReturns VTraceUnchecked(const VTraceOptions& options, const torch::Tensor& log_rhos,
                              const torch::Tensor& rewards, const torch::Tensor& values,
                              const torch::Tensor& bootstrap_values, const torch::Tensor& terminated,
                              const torch::Tensor& truncated) {
  const int64_t T = log_rhos.size(0);
  const torch::Tensor rhos = log_rhos.exp();
  VTraceReturns out;
  out.clipped_rhos = rhos.clamp_max(options.rho_bar);
  const torch::Tensor discounts = (1 - terminated) * options.gamma;
  const torch::Tensor not_boundary = 1 - torch::maximum(terminated, truncated);
  // discount_t * c_t * (1 - boundary_t): the weight of acc_{t+1} in acc_t.
  const torch::Tensor carry = (discounts * not_boundary * rhos.clamp_max(options.c_bar) * options.lambda).contiguous();
  const torch::Tensor deltas =
      (out.clipped_rhos * (rewards + discounts * bootstrap_values - values)).contiguous();

  // acc_t = delta_t + carry_t * acc_{t+1}, acc_T = 0, one op per step.
  torch::Tensor acc = torch::empty_like(deltas);
  acc[T - 1].copy_(deltas[T - 1]);
  for (int64_t t = T - 2; t >= 0; --t) {
    torch::Tensor row = acc[t];
    at::addcmul_out(row, deltas[t], carry[t], acc[t + 1]);
  }
  out.vs = values + acc;

  torch::Tensor vs_next = bootstrap_values.clone();
  if (T > 1) {
    const int64_t n = T - 1;
    vs_next.narrow(0, 0, n)
        .copy_(torch::where(not_boundary.narrow(0, 0, n) > 0, out.vs.narrow(0, 1, n), bootstrap_values.narrow(0, 0, n)));
  }
  out.advantages = rewards + discounts * vs_next - values;
  out.pg_advantages = out.clipped_rhos * out.advantages;
  return out;
}

}  // namespace

absl::StatusOr<VTraceReturns> VTrace(const VTraceOptions& options, const torch::Tensor& log_rhos,
                                     const torch::Tensor& rewards, const torch::Tensor& values,
                                     const torch::Tensor& bootstrap_values, const torch::Tensor& terminated,
                                     const torch::Tensor& truncated) {
  RETURN_IF_ERROR(CheckOptions(options));
  RETURN_IF_ERROR(CheckInput("log_rhos", log_rhos, log_rhos));
  RETURN_IF_ERROR(CheckInput("rewards", rewards, log_rhos));
  RETURN_IF_ERROR(CheckInput("values", values, log_rhos));
  RETURN_IF_ERROR(CheckInput("bootstrap_values", bootstrap_values, log_rhos));
  RETURN_IF_ERROR(CheckInput("terminated", terminated, log_rhos));
  RETURN_IF_ERROR(CheckInput("truncated", truncated, log_rhos));
  if (log_rhos.size(0) == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("log_rhos has shape ", ShapeString(log_rhos.sizes()), "; V-trace needs at least one time step"));
  }
  try {
    torch::NoGradGuard no_grad;
    RETURN_IF_ERROR(CheckValues(log_rhos, terminated, truncated));
    return VTraceUnchecked(options, log_rhos.detach(), rewards.detach(), values.detach(), bootstrap_values.detach(),
                           terminated.detach(), truncated.detach());
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("V-trace failed: ", e.what_without_backtrace()));
  }
}

}  // namespace rill::learner
