#include "envs/frame_stack.h"

#include <cmath>
#include <cstring>
#include <deque>
#include <memory>
#include <random>
#include <vector>

#include "envs/registry.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rill::envs {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Channels, height and width of FakeImages' frames.
constexpr int kChannels = 2, kHeight = 1, kWidth = 3;
constexpr int kFrameBytes = kChannels * kHeight * kWidth;

// The frame of step `step` (0: the reset frame) of episode `episode` says
// where it comes from: channel 0 is all Code(episode, step), channel 1 all
// 255 - Code, so a stack shows which frames it holds and in which order.
int Code(int episode, int step) { return 1 + 16 * episode + step; }

// A uint8 [2, 1, 3] env whose episodes end after `length` steps,
// terminated or (with `truncates`) truncated. A NaN action fails the step
// after scribbling over next_obs.
class FakeImages final : public Env {
 public:
  FakeImages(int length, bool truncates) : Env(Spec()), length_(length), truncates_(truncates) {}

  static EnvSpec Spec() {
    EnvSpec spec;
    spec.name = "FakeImages-v0";
    spec.observation_shape = {kChannels, kHeight, kWidth};
    spec.observation_type = ObservationType::kUint8;
    spec.discrete = true;
    spec.num_actions = 2;
    spec.max_episode_steps = 100;
    return spec;
  }

  void ResetRaw(void* obs) override {
    ++episode_;
    step_ = 0;
    Draw(obs);
  }
  absl::StatusOr<StepResult> StepRaw(const float* action, void* next_obs) override {
    if (std::isnan(action[0])) {
      std::memset(next_obs, 0xEE, kFrameBytes);
      return absl::InvalidArgumentError("NaN action");
    }
    ++step_;
    Draw(next_obs);
    StepResult result;
    result.reward = 1;
    if (step_ == length_) (truncates_ ? result.truncated : result.terminated) = true;
    return result;
  }
  void Reset(float*) override { ADD_FAILURE() << "FrameStack resets its env through ResetRaw"; }
  absl::StatusOr<StepResult> Step(const float*, float*) override {
    return absl::InternalError("FrameStack steps its env through StepRaw");
  }

 private:
  void Draw(void* obs) const {
    uint8_t* bytes = static_cast<uint8_t*>(obs);
    const int code = Code(episode_, step_);
    std::memset(bytes, code, kFrameBytes / 2);
    std::memset(bytes + kFrameBytes / 2, 255 - code, kFrameBytes / 2);
  }

  const int length_;
  const bool truncates_;
  int episode_ = -1;
  int step_ = 0;
};

std::unique_ptr<FrameStack> Stacked(int frame_stack, int length, bool truncates = false) {
  absl::StatusOr<std::unique_ptr<FrameStack>> env =
      FrameStack::Create(std::make_unique<FakeImages>(length, truncates), frame_stack);
  EXPECT_TRUE(env.ok()) << env.status();
  return std::move(env).value();
}

// The codes of a stack's frames, oldest first; -1 for a frame that is not
// one of FakeImages' (a byte out of place).
std::vector<int> Codes(const std::vector<uint8_t>& stacked) {
  std::vector<int> codes;
  for (size_t at = 0; at < stacked.size(); at += kFrameBytes) {
    const int code = stacked[at];
    bool whole = true;
    for (int j = 0; j < kFrameBytes; ++j) {
      whole = whole && stacked[at + j] == (j < kFrameBytes / 2 ? code : 255 - code);
    }
    codes.push_back(whole ? code : -1);
  }
  return codes;
}

const float kAction = 0;

TEST(FrameStackTest, StackedSpecMultipliesTheChannelsOfAnImageEnv) {
  const EnvSpec breakout = LookupEnvSpec("MinAtar/Breakout-v1").value();
  absl::StatusOr<EnvSpec> stacked = FrameStackedSpec(breakout, 4);
  ASSERT_TRUE(stacked.ok()) << stacked.status();
  EXPECT_THAT(stacked->observation_shape, ElementsAre(16, 10, 10));
  EXPECT_TRUE(stacked->uint8_observations());
  EXPECT_EQ(stacked->name, breakout.name);
  EXPECT_EQ(stacked->num_actions, breakout.num_actions);
  EXPECT_EQ(stacked->max_episode_steps, breakout.max_episode_steps);
  for (int off : {0, 1}) EXPECT_EQ(FrameStackedSpec(breakout, off)->observation_shape, breakout.observation_shape);
}

TEST(FrameStackTest, RefusesByNameWhatItCannotStack) {
  absl::StatusOr<EnvSpec> cartpole = FrameStackedSpec(LookupEnvSpec("CartPole-v1").value(), 4);
  EXPECT_EQ(cartpole.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(cartpole.status().message(), HasSubstr("CartPole-v1 observes float32 [4]"));
  EnvSpec flat = FakeImages::Spec();
  flat.observation_shape = {6};
  EXPECT_THAT(FrameStackedSpec(flat, 2).status().message(), HasSubstr("FakeImages-v0 observes uint8 [6]"));
  for (int out_of_range : {-1, kMaxFrameStack + 1}) {
    absl::StatusOr<EnvSpec> refused = FrameStackedSpec(FakeImages::Spec(), out_of_range);
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument) << out_of_range;
    EXPECT_THAT(refused.status().message(), HasSubstr("out of range 0..16"));
  }
  EXPECT_TRUE(FrameStackedSpec(FakeImages::Spec(), kMaxFrameStack).ok());
  EXPECT_FALSE(FrameStack::Create(MakeEnv("CartPole-v1", 0, 1).value(), 4).ok());
}

TEST(FrameStackTest, FrameStackOfZeroOrOneLeavesTheEnvAsItIs) {
  for (int off : {0, 1}) {
    Env* inner = nullptr;
    auto fake = std::make_unique<FakeImages>(5, false);
    inner = fake.get();
    absl::StatusOr<std::unique_ptr<Env>> env = StackFrames(std::move(fake), off);
    ASSERT_TRUE(env.ok()) << env.status();
    EXPECT_EQ(env->get(), inner);
  }
}

TEST(FrameStackTest, AnEpisodeStartsWithItsResetFrameRepeated) {
  std::unique_ptr<FrameStack> env = Stacked(4, 10);
  EXPECT_THAT(env->spec().observation_shape, ElementsAre(4 * kChannels, kHeight, kWidth));
  std::vector<uint8_t> obs(env->spec().obs_bytes());
  env->ResetRaw(obs.data());
  EXPECT_THAT(Codes(obs), ElementsAre(Code(0, 0), Code(0, 0), Code(0, 0), Code(0, 0)));
  ASSERT_TRUE(env->StepRaw(&kAction, obs.data()).ok());
  EXPECT_THAT(Codes(obs), ElementsAre(Code(0, 0), Code(0, 0), Code(0, 0), Code(0, 1)));
}

TEST(FrameStackTest, StacksTheLastFramesOldestFirst) {
  std::unique_ptr<FrameStack> env = Stacked(3, 10);
  std::vector<uint8_t> obs(env->spec().obs_bytes());
  env->ResetRaw(obs.data());
  for (int step = 1; step <= 7; ++step) {
    ASSERT_TRUE(env->StepRaw(&kAction, obs.data()).ok());
    EXPECT_THAT(Codes(obs), ElementsAre(Code(0, std::max(step - 2, 0)), Code(0, std::max(step - 1, 0)), Code(0, step)))
        << "step " << step;
  }
}

TEST(FrameStackTest, ANewEpisodeHoldsNoFrameOfThePreviousOne) {
  // Episodes of 2 steps under a stack of 4: the previous episode's frames
  // would still be in the ring.
  std::unique_ptr<FrameStack> env = Stacked(4, 2);
  std::vector<uint8_t> obs(env->spec().obs_bytes());
  env->ResetRaw(obs.data());
  for (int episode = 0; episode < 3; ++episode) {
    ASSERT_TRUE(env->StepRaw(&kAction, obs.data()).ok());
    absl::StatusOr<StepResult> last = env->StepRaw(&kAction, obs.data());
    ASSERT_TRUE(last.ok());
    ASSERT_TRUE(last->terminated);
    EXPECT_THAT(Codes(obs), ElementsAre(Code(episode, 0), Code(episode, 0), Code(episode, 1), Code(episode, 2)));
    // The actor resets an env as soon as its episode ends (auto-reset).
    env->ResetRaw(obs.data());
    const int next = episode + 1;
    EXPECT_THAT(Codes(obs), ElementsAre(Code(next, 0), Code(next, 0), Code(next, 0), Code(next, 0)));
  }
}

TEST(FrameStackTest, ATruncatedEpisodeEndsOnItsOwnFrames) {
  std::unique_ptr<FrameStack> env = Stacked(2, 3, /*truncates=*/true);
  std::vector<uint8_t> obs(env->spec().obs_bytes());
  env->ResetRaw(obs.data());
  absl::StatusOr<StepResult> result;
  for (int step = 1; step <= 3; ++step) result = env->StepRaw(&kAction, obs.data());
  ASSERT_TRUE(result.ok());
  ASSERT_TRUE(result->truncated);
  // What the learner bootstraps from: this episode's last two frames.
  EXPECT_THAT(Codes(obs), ElementsAre(Code(0, 2), Code(0, 3)));
  env->ResetRaw(obs.data());
  EXPECT_THAT(Codes(obs), ElementsAre(Code(1, 0), Code(1, 0)));
}

TEST(FrameStackTest, AFailedStepLeavesTheStackAsItWas) {
  std::unique_ptr<FrameStack> env = Stacked(3, 10);
  std::vector<uint8_t> obs(env->spec().obs_bytes());
  env->ResetRaw(obs.data());
  ASSERT_TRUE(env->StepRaw(&kAction, obs.data()).ok());
  const float nan = std::nanf("");
  std::vector<uint8_t> failed(obs.size());
  EXPECT_EQ(env->StepRaw(&nan, failed.data()).status().code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(env->StepRaw(&kAction, obs.data()).ok());
  EXPECT_THAT(Codes(obs), ElementsAre(Code(0, 0), Code(0, 1), Code(0, 2)));
}

TEST(FrameStackTest, FloatObservationsAreTheStacksBytesAsFloats) {
  std::unique_ptr<FrameStack> bytes_env = Stacked(3, 10), float_env = Stacked(3, 10);
  std::vector<uint8_t> bytes(bytes_env->spec().obs_bytes());
  std::vector<float> floats(float_env->obs_dim());
  bytes_env->ResetRaw(bytes.data());
  float_env->Reset(floats.data());
  for (int step = 0; step < 4; ++step) {
    if (step > 0) {
      ASSERT_TRUE(bytes_env->StepRaw(&kAction, bytes.data()).ok());
      ASSERT_TRUE(float_env->Step(&kAction, floats.data()).ok());
    }
    for (size_t k = 0; k < bytes.size(); ++k) ASSERT_EQ(floats[k], static_cast<float>(bytes[k])) << k;
  }
}

// The stack of a real image env, byte for byte, against a deque of the
// unwrapped env's frames (the same seed, so the same episodes), across
// many episodes ended by the game.
TEST(FrameStackTest, MatchesAReferenceStackOfMinAtarByteForByte) {
  constexpr int kStack = 4;
  constexpr uint64_t kSeed = 5;
  std::unique_ptr<Env> plain = MakeEnv("MinAtar/Breakout-v1", 0, kSeed).value();
  std::unique_ptr<Env> stacked = StackFrames(MakeEnv("MinAtar/Breakout-v1", 0, kSeed).value(), kStack).value();
  const size_t frame_bytes = plain->spec().obs_bytes();
  ASSERT_EQ(stacked->spec().obs_bytes(), kStack * frame_bytes);
  std::vector<uint8_t> frame(frame_bytes), obs(stacked->spec().obs_bytes());
  std::deque<std::vector<uint8_t>> frames;
  auto start = [&] {
    plain->ResetRaw(frame.data());
    stacked->ResetRaw(obs.data());
    frames.assign(kStack, frame);
  };
  auto expected = [&] {
    std::vector<uint8_t> joined;
    for (const std::vector<uint8_t>& f : frames) joined.insert(joined.end(), f.begin(), f.end());
    return joined;
  };
  start();
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> pick(0, plain->act_dim() - 1);
  int episodes = 0;
  for (int step = 0; step < 3000; ++step) {
    ASSERT_EQ(obs, expected()) << "step " << step;
    const float action = static_cast<float>(pick(rng));
    absl::StatusOr<StepResult> want = plain->StepRaw(&action, frame.data());
    absl::StatusOr<StepResult> got = stacked->StepRaw(&action, obs.data());
    ASSERT_TRUE(want.ok() && got.ok());
    ASSERT_EQ(got->reward, want->reward);
    ASSERT_EQ(got->terminated, want->terminated);
    frames.pop_front();
    frames.push_back(frame);
    ASSERT_EQ(obs, expected()) << "step " << step;
    if (got->terminated || got->truncated) {
      ++episodes;
      start();
    }
  }
  EXPECT_GT(episodes, 10);
}

}  // namespace
}  // namespace rill::envs
