#include "envs/classic/cartpole_no_velocity.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace rill::envs {
namespace {

// CartPole's [x, x_dot, theta, theta_dot] as [x, theta].
void HideVelocities(const float* full, float* obs) {
  obs[0] = full[0];
  obs[1] = full[2];
}

}  // namespace

EnvSpec CartPoleNoVelocity::Spec() {
  EnvSpec spec = CartPole::Spec();
  spec.name = "CartPoleNoVelocity-v1";
  spec.observation_shape = {2};
  return spec;
}

absl::StatusOr<std::unique_ptr<CartPoleNoVelocity>> CartPoleNoVelocity::Create(
    int max_episode_steps, uint64_t seed) {
  ASSIGN_OR_RETURN(std::unique_ptr<CartPole> cartpole,
                   CartPole::Create(max_episode_steps, seed));
  // The constructor is private, so make_unique cannot reach it.
  return std::unique_ptr<CartPoleNoVelocity>(
      new CartPoleNoVelocity(std::move(cartpole)));
}

CartPoleNoVelocity::CartPoleNoVelocity(std::unique_ptr<CartPole> cartpole)
    : Env(WithTimeLimit(Spec(), cartpole->max_episode_steps())),
      cartpole_(std::move(cartpole)) {}

void CartPoleNoVelocity::Reset(float* obs) {
  float full[4];
  cartpole_->Reset(full);
  HideVelocities(full, obs);
}

absl::StatusOr<StepResult> CartPoleNoVelocity::Step(const float* action,
                                                    float* next_obs) {
  float full[4];
  absl::StatusOr<StepResult> result = cartpole_->Step(action, full);
  if (!result.ok()) {
    return absl::Status(result.status().code(),
                        absl::StrCat(name(), ": ", result.status().message()));
  }
  HideVelocities(full, next_obs);
  return result;
}

std::vector<std::string> CartPoleNoVelocity::cameras() const { return cartpole_->cameras(); }

absl::Status CartPoleNoVelocity::Render(int width, int height, const std::string& camera, uint8_t* rgb) {
  return cartpole_->Render(width, height, camera, rgb);
}

}  // namespace rill::envs
