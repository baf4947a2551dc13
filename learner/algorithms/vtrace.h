// V-trace (Espeholt et al. 2018, "IMPALA", section 4.1): off-policy value
// targets and policy-gradient advantages for an unroll of T steps from B
// actors, computed from the log importance ratios log(pi(a_t|x_t) /
// mu(a_t|x_t)) of the learner's policy pi against the actors' behaviour
// policy mu. Called by the IMPALA learner once per sampled batch of unrolls.
//
// With rho_t = min(rho_bar, pi/mu), c_t = lambda * min(c_bar, pi/mu) and
// discount_t = gamma * (1 - terminated_t), the targets are
//   delta_t = rho_t * (r_t + discount_t * bootstrap_values_t - V(x_t))
//   v_s     = V(x_s) + sum_{t>=s} (prod_{i=s}^{t-1} discount_i c_i) delta_t,
// computed backward in one pass as
//   acc_T = 0,  acc_t = delta_t + discount_t * c_t * (1 - boundary_t) * acc_{t+1},
//   v_t   = V(x_t) + acc_t,
// where boundary_t = terminated_t or truncated_t. The sum never crosses an
// episode boundary, and where the unroll ends it stops at the last step:
//   - Inside an episode bootstrap_values_t == V(x_{t+1}) (values[t + 1]), so
//     this is exactly the paper's definition.
//   - Termination at t: discount_t = 0, so v_t = V(x_t) + rho_t (r_t - V(x_t));
//     nothing is bootstrapped and nothing after t flows back into t.
//   - Truncation at t (time limit, not a terminal state): delta_t bootstraps
//     from bootstrap_values_t, the value of the episode's real final
//     observation (not the next episode's first one, which values[t + 1]
//     holds), and the correction v_{t+1} - V(x_{t+1}) of the next episode is
//     not carried back: the final observation has no V-trace target of its
//     own, so V(final obs) itself stands in for it.
//   - Unroll end (t = T - 1, no boundary): delta_{T-1} bootstraps from
//     bootstrap_values_{T-1}, as the paper's bootstrap value V(x_T).
// The policy-gradient advantage uses the target of the next state:
//   pg_advantages_t = rho_t * (r_t + discount_t * vs_next_t - V(x_t)),
//   vs_next_t = v_{t+1} when t + 1 < T and there is no boundary at t, else
//               bootstrap_values_t (zero-weighted after a termination),
// with the same clipping rho_bar for both (the paper's pg_rho_bar = rho_bar).
// On-policy (log_rhos = 0, rho_bar >= 1, c_bar >= 1) with lambda = 1, v_s is
// the n-step bootstrapped discounted return to the episode's or unroll's end;
// lambda < 1 gives TD(lambda)-style returns.
//
// Thread safety: a pure function of its inputs; safe to call from any thread.
#ifndef RILL_LEARNER_ALGORITHMS_VTRACE_H_
#define RILL_LEARNER_ALGORITHMS_VTRACE_H_

#include "absl/status/statusor.h"
#include "torch/torch.h"

namespace rill::learner {

struct VTraceOptions {
  // Discount per step, in [0, 1].
  double gamma = 0.99;
  // Clipping of the importance ratio in delta_t and the pg advantage (the
  // fixed point's policy lies between mu and pi); > 0.
  double rho_bar = 1.0;
  // Clipping of the trace coefficients c_t (the speed of convergence); > 0.
  double c_bar = 1.0;
  // Multiplies every c_t (the paper's remark 2: lambda in [0, 1] mixes in
  // shorter returns); in [0, 1].
  double lambda = 1.0;
};

// All [T, B] float32 on the inputs' device, detached (no autograd history).
struct VTraceReturns {
  // The targets v_s for V(x_s).
  torch::Tensor vs;
  // rho_s (r_s + discount_s vs_next_s - V(x_s)); see the header comment.
  torch::Tensor pg_advantages;
  // r_s + discount_s vs_next_s - V(x_s): pg_advantages before the clipped
  // ratio weights them (APPO's advantages, which PPO's clipped ratio weights
  // instead).
  torch::Tensor advantages;
  // min(rho_bar, exp(log_rhos)).
  torch::Tensor clipped_rhos;
};

// The V-trace targets and advantages of an unroll; the header comment gives
// the exact rules. All inputs are [T, B] float32 on one device, T >= 1:
//   log_rhos          log pi(a_t|x_t) - log mu(a_t|x_t)
//   rewards           r_t
//   values            V(x_t)
//   bootstrap_values  V of the observation after step t (values[t + 1]
//                     inside an episode; the real final observation's value
//                     after a truncation; anything finite after a termination)
//   terminated        1 where the episode ended in a terminal state at t, else 0
//   truncated         1 where the episode was cut off after step t, else 0
// The inputs may require grad; the results are computed without autograd.
// Returns InvalidArgument naming the argument for an undefined tensor, a rank
// other than 2, a shape other than log_rhos's, a dtype other than float32, a
// device other than log_rhos's, an empty time axis, a NaN in log_rhos ("log_rhos
// holds NaN at [t, b]"), a terminated / truncated entry other than 0 or 1, or an
// option out of range (rho_bar or c_bar <= 0, gamma or lambda outside [0, 1]);
// Internal when LibTorch fails. NaN in the other inputs propagates into the
// results. Synchronizes with the device (the NaN and 0/1 checks).
absl::StatusOr<VTraceReturns> VTrace(const VTraceOptions& options, const torch::Tensor& log_rhos,
                                     const torch::Tensor& rewards, const torch::Tensor& values,
                                     const torch::Tensor& bootstrap_values, const torch::Tensor& terminated,
                                     const torch::Tensor& truncated);

}  // namespace rill::learner

#endif  // RILL_LEARNER_ALGORITHMS_VTRACE_H_
