// GameEnv: what the five MinAtar games (Young & Tian 2019; rules as of
// MinAtar 1.0.15) share behind the Env interface. Each game (breakout.h,
// space_invaders.h, freeway.h, asterix.h, seaquest.h) keeps its own state
// and rules; this base owns the parts that are the same for all of them, as
// MinAtar's Environment wrapper and its Gymnasium "-v1" ids do them:
//
//   - the minimal action set: Rill's discrete index i picks action i of
//     the game's minimal set, in MinAtar's order (Action below lists
//     MinAtar's full set of six);
//   - sticky actions: before each step, with probability 0.1, the action
//     the agent asked for is replaced by the one applied on the previous
//     step. That previous action outlives Reset (MinAtar keeps it across
//     episodes) and starts as kNoop. The draw comes from the env's own
//     SeededRng, which also drives the game's randomness, so one seed fixes
//     both;
//   - the observation: uint8 [channels, 10, 10], channel-major, 255 where
//     an object of the channel's kind is and 0 elsewhere, so x / 255 is
//     MinAtar's boolean state exactly. Reset and Step give the same values
//     (0 or 255) as floats;
//   - the picture (Render): the observation as a coloured grid, each cell
//     in the colour of the highest-numbered channel on there (ChannelColour)
//     over a dark background, scaled to any size by nearest neighbour;
//   - the time limit: MinAtar registers its Gymnasium ids with none (an
//     episode runs until the game ends; Freeway ends itself after 2500
//     frames), so the 10000-step default is Rill's own cap, not MinAtar's.
//     An episode cut there is truncated, not terminated.
//
// Difficulty ramping is always on, as in MinAtar's default.
//
// Not thread-safe (see Env).
#ifndef RILL_ENVS_MINATAR_GAME_ENV_H_
#define RILL_ENVS_MINATAR_GAME_ENV_H_

#include <cassert>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "envs/interface.h"
#include "envs/render/canvas.h"
#include "envs/seeded_rng.h"
#include "envs/spec.h"
#include "envs/time_limit.h"

namespace rill::envs::minatar {

// MinAtar's full action set, in MinAtar's order (its action indices 0..5).
enum class Action : uint8_t { kNoop, kLeft, kUp, kRight, kDown, kFire };

// Every game is played on a kGridSize x kGridSize board.
inline constexpr int kGridSize = 10;

// The value of a cell that holds an object of its channel's kind.
inline constexpr uint8_t kOn = 255;

// A game's view of one observation buffer, [channels, 10, 10], all zero
// when handed to GameEnv::Draw.
class Frame {
 public:
  Frame(uint8_t* data, int channels) : data_(data), channels_(channels) {}

  // Marks the cell (row, col) of `channel`: all three must lie on the board.
  void Set(int channel, int row, int col) {
    assert(channel >= 0 && channel < channels_);
    assert(row >= 0 && row < kGridSize && col >= 0 && col < kGridSize);
    data_[(channel * kGridSize + row) * kGridSize + col] = kOn;
  }

 private:
  uint8_t* data_;
  [[maybe_unused]] int channels_;  // read by the assert only
};

class GameEnv : public Env {
 public:
  // MinAtar's default sticky-action probability.
  static constexpr double kStickyActionProbability = 0.1;
  // Rill's cap on an episode (see above): MinAtar sets none.
  static constexpr int kDefaultMaxEpisodeSteps = 10000;

  // The spec of a MinAtar game: uint8 [channels, 10, 10] observations,
  // `num_actions` discrete actions, the default time limit.
  static EnvSpec MakeSpec(const std::string& name, int channels, int num_actions);

  // Starts a new game. Writes obs_bytes() uint8 values.
  void ResetRaw(void* obs) final;
  // action[0] is the index into the game's minimal action set, as a float.
  // Errors: InvalidArgument for an index that is out of range or not a
  // whole number; FailedPrecondition before Reset or after the episode
  // ended (see Env::Step).
  absl::StatusOr<StepResult> StepRaw(const float* action, void* next_obs) final;
  // The same, with the observation's values (0 or 255) written as floats.
  void Reset(float* obs) final;
  absl::StatusOr<StepResult> Step(const float* action, float* next_obs) final;

  // Writes the current state's observation (obs_bytes() values): what the
  // last Reset or Step wrote, or the state SetStateForTesting put in.
  void WriteObservation(uint8_t* obs) const;

  // One camera, "default": the board seen from above.
  std::vector<std::string> cameras() const final;
  // MinAtar sets no rate; ten moves a second is easy to follow.
  double render_fps() const final { return 10; }
  // Draws the current observation (as WriteObservation gives it): the cell
  // in row r, column c covers pixel rows floor(r * height / 10) up to
  // floor((r + 1) * height / 10), and the same across, so every size works
  // and a cell may cover no pixel when the image is under 10 wide or high.
  // Each cell takes ChannelColour of its highest-numbered channel that is
  // on, or kBackground. Never fails.
  absl::Status Render(int width, int height, const std::string& camera, uint8_t* rgb) final;

  // The picture's colours: a fixed palette, one colour per channel index,
  // the same in every game (it repeats after 10, more channels than any
  // game has), and the dark background of empty cells.
  static render::Rgb ChannelColour(int channel);
  static constexpr render::Rgb kBackground = {16, 16, 24};

  // The game's action for each Rill index.
  const std::vector<Action>& action_set() const { return action_set_; }
  // The action the last Step applied, stickiness included (kNoop before the
  // first Step).
  Action last_action() const { return last_action_; }

  // For tests: replaces the sticky-action probability (0 turns stickiness
  // off; a uniform draw is still taken each step, as MinAtar does).
  void SetStickyActionProbabilityForTesting(double probability) { sticky_action_probability_ = probability; }

 protected:
  // What one move of the game gives.
  struct Outcome {
    int reward = 0;
    bool terminal = false;
  };

  // `spec` as MakeSpec gives it with the instance's time limit;
  // `action_set`: the game's minimal action set, one per Rill index.
  GameEnv(EnvSpec spec, std::vector<Action> action_set, uint64_t seed);

  // Puts the game in its start state, drawing from the RNG as MinAtar does.
  virtual void NewGame() = 0;
  // Plays `action` (MinAtar's env.act after stickiness).
  virtual Outcome Act(Action action) = 0;
  // Marks the current state's objects in `frame`, which is all zero.
  virtual void Draw(Frame* frame) const = 0;

  // numpy's rand(): uniform in [0, 1).
  double RandomUnit() { return rng_.Uniform(0.0, 1.0); }
  // numpy's randint(n): uniform over 0..n-1.
  int RandomBelow(int n);

 private:
  SeededRng rng_;
  TimeLimit time_limit_;
  std::vector<Action> action_set_;
  double sticky_action_probability_ = kStickyActionProbability;
  Action last_action_ = Action::kNoop;
  int channels_;
  // Reset, Step and Render: the observation as uint8, before it is copied
  // out or drawn.
  std::vector<uint8_t> scratch_;
};

}  // namespace rill::envs::minatar

#endif  // RILL_ENVS_MINATAR_GAME_ENV_H_
