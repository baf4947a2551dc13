#include "bench/frame_data.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <memory>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "envs/registry.h"

namespace rill::bench {
namespace {

v1::ColumnSpec Column(const std::string& name, v1::DType dtype, const std::vector<int64_t>& shape) {
  v1::ColumnSpec spec;
  spec.set_name(name);
  spec.set_dtype(dtype);
  for (int64_t d : shape) spec.add_shape(d);
  return spec;
}

template <typename T>
void Append(std::string* out, T value) {
  out->append(reinterpret_cast<const char*>(&value), sizeof(value));
}

// A MinAtar game played with uniformly random actions, one step at a time.
class RandomPlay {
 public:
  static absl::StatusOr<RandomPlay> Start(const std::string& game, uint64_t seed) {
    ASSIGN_OR_RETURN(std::unique_ptr<envs::Env> env, envs::MakeEnv(game, 0, seed));
    if (!env->spec().uint8_observations() || env->spec().observation_shape.size() != 3 || !env->discrete()) {
      return absl::InvalidArgumentError(
          absl::StrCat(game, " has no uint8 [C, H, W] observations and discrete actions"));
    }
    RandomPlay play(std::move(env), seed);
    play.env_->ResetRaw(play.obs_.data());
    return play;
  }

  const envs::EnvSpec& spec() const { return env_->spec(); }
  const std::string& obs() const { return obs_; }

  // Steps once: `next` receives the next observation. Starts a new episode
  // after the last step of one (then `reset` is set and obs() is its first).
  absl::Status Step(float* action, envs::StepResult* result, std::string* next, bool* reset) {
    *action = static_cast<float>(rng_() % static_cast<uint64_t>(env_->act_dim()));
    next->resize(obs_.size());
    ASSIGN_OR_RETURN(*result, env_->StepRaw(action, next->data()));
    *reset = result->terminated || result->truncated;
    if (*reset) {
      env_->ResetRaw(obs_.data());
    } else {
      obs_ = *next;
    }
    return absl::OkStatus();
  }

 private:
  RandomPlay(std::unique_ptr<envs::Env> env, uint64_t seed)
      : env_(std::move(env)), obs_(static_cast<size_t>(env_->spec().obs_bytes()), '\0'), rng_(seed) {}

  std::unique_ptr<envs::Env> env_;
  std::string obs_;
  std::mt19937_64 rng_;
};

// Draws an observation (binary planes [C, h, w]) at `size` x `size` pixels:
// each cell the gray level of its last set plane (0 for none), each pixel
// the area average of the cells it covers.
class Renderer {
 public:
  Renderer(int64_t channels, int64_t height, int64_t width, int size)
      : channels_(channels), height_(height), width_(width), size_(size), rows_(Weights(height, size)),
        cols_(Weights(width, size)) {}

  void Draw(const std::string& planes, std::string* out) const {
    std::vector<double> cells(static_cast<size_t>(height_ * width_), 0);
    for (int64_t c = 0; c < channels_; ++c) {
      const double gray = 60 + 195.0 * static_cast<double>(c + 1) / static_cast<double>(channels_);
      for (int64_t i = 0; i < height_ * width_; ++i) {
        if (planes[static_cast<size_t>(c * height_ * width_ + i)] != 0) cells[static_cast<size_t>(i)] = gray;
      }
    }
    for (int y = 0; y < size_; ++y) {
      for (int x = 0; x < size_; ++x) {
        double value = 0;
        for (const auto& [row, wy] : rows_[static_cast<size_t>(y)]) {
          for (const auto& [col, wx] : cols_[static_cast<size_t>(x)]) {
            value += wy * wx * cells[static_cast<size_t>(row * width_ + col)];
          }
        }
        out->push_back(static_cast<char>(static_cast<uint8_t>(std::lround(std::min(255.0, value)))));
      }
    }
  }

 private:
  // For each of `size` pixels along an axis of `cells` cells: the cells it
  // covers and the share of the pixel each covers.
  static std::vector<std::vector<std::pair<int64_t, double>>> Weights(int64_t cells, int size) {
    std::vector<std::vector<std::pair<int64_t, double>>> weights(static_cast<size_t>(size));
    const double span = static_cast<double>(cells) / size;
    for (int p = 0; p < size; ++p) {
      const double begin = p * span, end = (p + 1) * span;
      for (int64_t cell = static_cast<int64_t>(begin); cell < cells && static_cast<double>(cell) < end; ++cell) {
        const double overlap =
            std::min(end, static_cast<double>(cell + 1)) - std::max(begin, static_cast<double>(cell));
        if (overlap > 1e-12) weights[static_cast<size_t>(p)].emplace_back(cell, overlap / span);
      }
    }
    return weights;
  }

  const int64_t channels_, height_, width_;
  const int size_;
  const std::vector<std::vector<std::pair<int64_t, double>>> rows_, cols_;
};

}  // namespace

absl::StatusOr<FrameItems> MinAtarTransitions(const std::string& game, int64_t count, uint64_t seed) {
  ASSIGN_OR_RETURN(RandomPlay play, RandomPlay::Start(game, seed));
  const std::vector<int64_t>& shape = play.spec().observation_shape;
  FrameItems items;
  items.name = "minatar";
  items.description = absl::StrCat(game, " transitions of random play: obs and next_obs uint8 [", shape[0], ", ",
                                   shape[1], ", ", shape[2], "] (binary object planes), action, reward, terminated");
  *items.signature.add_columns() = Column("obs", v1::DTYPE_UINT8, shape);
  *items.signature.add_columns() = Column("action", v1::DTYPE_FLOAT32, {1});
  *items.signature.add_columns() = Column("reward", v1::DTYPE_FLOAT32, {});
  *items.signature.add_columns() = Column("terminated", v1::DTYPE_FLOAT32, {});
  *items.signature.add_columns() = Column("next_obs", v1::DTYPE_UINT8, shape);
  items.frame_columns = {"obs", "next_obs"};
  items.item_bytes = 2 * play.spec().obs_bytes() + 12;
  items.count = count;
  items.columns.assign(5, std::string());
  std::string next;
  for (int64_t i = 0; i < count; ++i) {
    items.columns[0].append(play.obs());
    float action;
    envs::StepResult result;
    bool reset;
    RETURN_IF_ERROR(play.Step(&action, &result, &next, &reset));
    Append(&items.columns[1], action);
    Append(&items.columns[2], result.reward);
    Append(&items.columns[3], result.terminated ? 1.0f : 0.0f);
    items.columns[4].append(next);
  }
  return items;
}

absl::StatusOr<FrameItems> RenderedFrameStacks(const std::string& game, int64_t count, int stack, int size,
                                               uint64_t seed) {
  ASSIGN_OR_RETURN(RandomPlay play, RandomPlay::Start(game, seed));
  const std::vector<int64_t>& shape = play.spec().observation_shape;
  const Renderer renderer(shape[0], shape[1], shape[2], size);
  FrameItems items;
  items.name = absl::StrCat("frames", size);
  items.description = absl::StrCat(game, " states of random play drawn at ", size, "x", size,
                                   " (a gray level per object kind on black, cell edges area-averaged), the last ",
                                   stack, " of an episode stacked: uint8 [", stack, ", ", size, ", ", size, "]");
  *items.signature.add_columns() = Column("frames", v1::DTYPE_UINT8, {stack, size, size});
  items.frame_columns = {"frames"};
  items.item_bytes = int64_t{stack} * size * size;
  items.count = count;
  items.columns.assign(1, std::string());
  std::deque<std::string> frames;
  auto draw = [&](const std::string& obs) {
    std::string frame;
    renderer.Draw(obs, &frame);
    return frame;
  };
  // An episode's first stack repeats its first frame (envs/frame_stack.h).
  frames.assign(static_cast<size_t>(stack), draw(play.obs()));
  std::string next;
  for (int64_t i = 0; i < count; ++i) {
    for (const std::string& frame : frames) items.columns[0].append(frame);
    float action;
    envs::StepResult result;
    bool reset;
    RETURN_IF_ERROR(play.Step(&action, &result, &next, &reset));
    if (reset) {
      frames.assign(static_cast<size_t>(stack), draw(play.obs()));
    } else {
      frames.pop_front();
      frames.push_back(draw(next));
    }
  }
  return items;
}

}  // namespace rill::bench
