// FailingBatch: an EnvBatch with row control for the batch wrappers' tests,
// whose failures are scripted. Each row's observation is one float, its
// state: the steps since its episode began (0 after a reset); each step
// pays 1 and no episode ends by itself. It draws every pixel's red as its
// state. fail_row scripts the next StepRows's failure of one row (reset, as
// an env's error); break_in_calls the StepRows, counted from the next (0),
// in which every row fails and is reset, stepped or not (a remote batch's
// broken stream).
#ifndef RILL_ENVS_BATCH_TEST_FAILING_BATCH_H_
#define RILL_ENVS_BATCH_TEST_FAILING_BATCH_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "envs/batch/interface.h"

namespace rill::envs {

class FailingBatch final : public EnvBatch {
 public:
  explicit FailingBatch(int rows) : EnvBatch(Spec(), rows), states_(static_cast<size_t>(rows), 0) {}
  static EnvSpec Spec() {
    EnvSpec spec;
    spec.name = "Failing-v0";
    spec.observation_shape = {1};
    spec.discrete = true;
    spec.num_actions = 2;
    spec.max_episode_steps = 1000;
    return spec;
  }

  int fail_row = -1;
  int break_in_calls = -1;

  absl::Status Reset(uint8_t* observations) override {
    for (int i = 0; i < size(); ++i) Set(i, 0, observations);
    return absl::OkStatus();
  }
  absl::StatusOr<int> Step(int active, const float* actions, const EnvBatchOutput& out) override {
    return StepFirstRows(active, actions, out);
  }
  bool row_control() const override { return true; }
  absl::Status StepRows(const uint8_t* step, bool, const float*, const EnvBatchOutput& out) override {
    out.failures->clear();
    const bool break_all = break_in_calls == 0;
    if (break_in_calls >= 0) --break_in_calls;
    for (int i = 0; i < size(); ++i) {
      if (break_all || i == fail_row) {
        out.failures->push_back(EnvFailure{i, "scripted"});
        Set(i, 0, out.observations);
        out.rewards[i] = 0;
        out.terminated[i] = out.truncated[i] = 0;
        continue;
      }
      if (step[i] == 0) continue;
      Set(i, states_[i] + 1, out.observations);
      out.rewards[i] = 1;
      out.terminated[i] = out.truncated[i] = out.masked[i] = 0;
    }
    fail_row = -1;
    return absl::OkStatus();
  }
  absl::Status ResetRows(const uint8_t* reset, uint8_t* observations, std::vector<EnvFailure>* failures) override {
    failures->clear();
    for (int i = 0; i < size(); ++i) {
      if (reset[i] != 0) Set(i, 0, observations);
    }
    return absl::OkStatus();
  }
  std::vector<std::string> cameras() const override { return {"default"}; }
  absl::Status Render(int index, int width, int height, const std::string&, RgbImage* image) override {
    image->width = width;
    image->height = height;
    image->rgb.assign(static_cast<size_t>(width) * height * 3, 0);
    for (size_t p = 0; p < image->rgb.size(); p += 3) image->rgb[p] = static_cast<uint8_t>(states_[index]);
    return absl::OkStatus();
  }
  double render_fps() const override { return 30; }

 private:
  void Set(int i, int state, uint8_t* observations) {
    states_[i] = state;
    const float value = static_cast<float>(state);
    std::memcpy(observations + static_cast<size_t>(i) * sizeof(float), &value, sizeof(float));
  }

  std::vector<int> states_;
};

}  // namespace rill::envs

#endif  // RILL_ENVS_BATCH_TEST_FAILING_BATCH_H_
