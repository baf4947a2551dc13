// CartPoleNoVelocity: CartPole-v1 with the velocities hidden, the memory
// task. The cart, pole, reward, termination, 500-step time limit and seeding
// are CartPole's (it steps a CartPole created with the same arguments), but
// the observation is [x, theta] only: a policy has to recover x_dot and
// theta_dot from successive observations, so balancing well needs a
// recurrent core, and a feed-forward policy shows what memory adds.
//
// Not thread-safe (see Env).
#ifndef RILL_ENVS_CLASSIC_CARTPOLE_NO_VELOCITY_H_
#define RILL_ENVS_CLASSIC_CARTPOLE_NO_VELOCITY_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "envs/classic/cartpole.h"
#include "envs/interface.h"

namespace rill::envs {

class CartPoleNoVelocity final : public Env {
 public:
  // As CartPole::Create: `max_episode_steps` 0 = 500; InvalidArgument if
  // negative. Equal seeds give CartPole's episodes under that seed.
  static absl::StatusOr<std::unique_ptr<CartPoleNoVelocity>> Create(
      int max_episode_steps, uint64_t seed);

  // CartPole's spec with observation [x, theta]; the registry's only source.
  static EnvSpec Spec();

  // CartPole's Reset, observed as [x, theta].
  void Reset(float* obs) override;
  // CartPole's Step, observed as [x, theta]. Errors are CartPole's, their
  // message prefixed with this env's name; `next_obs` is then unchanged.
  absl::StatusOr<StepResult> Step(const float* action,
                                  float* next_obs) override;

  // CartPole's camera and picture: the velocities are hidden from the
  // observation, not from the image.
  std::vector<std::string> cameras() const override;
  // Gymnasium's metadata["render_fps"].
  double render_fps() const override { return 50; }
  absl::Status Render(int width, int height, const std::string& camera, uint8_t* rgb) override;

 private:
  explicit CartPoleNoVelocity(std::unique_ptr<CartPole> cartpole);

  std::unique_ptr<CartPole> cartpole_;
};

}  // namespace rill::envs

#endif  // RILL_ENVS_CLASSIC_CARTPOLE_NO_VELOCITY_H_
