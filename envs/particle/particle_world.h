// ParticleWorld: the 2-D physics of the multi-agent particle environments
// of the MADDPG paper (Lowe et al. 2017, "Multi-Agent Actor-Critic for
// Mixed Cooperative-Competitive Environments"), written from the published
// rules. Each task (cooperative_navigation.h, ...) owns one world, places
// its entities on Reset, steps it with its agents' controls and reads the
// state back for observations, rewards and pictures.
//
// Entities are discs: agents first (the ones a control moves), then
// landmarks. A step integrates every movable entity once:
//
//   F = u * sensitivity (agents) + the soft contact forces of every pair of
//       colliding entities: for a != b, both with `collide`,
//         d = p_a - p_b, dist = |d|, dist_min = size_a + size_b,
//         penetration = k * softplus(-(dist - dist_min) / k), k = 0.001,
//         f = 100 * d / dist * penetration, +f on a, -f on b (if movable);
//       skipped when dist == 0 (no direction to push along);
//   v <- v * (1 - 0.25); v <- v + F / mass * 0.1; |v| clipped to max_speed;
//   p <- p + v * 0.1.
//
// Everything is double; callers round to float at their outputs.
//
// Thread safety: none. A world belongs to one env, stepped by one thread.
#ifndef RILL_ENVS_PARTICLE_PARTICLE_WORLD_H_
#define RILL_ENVS_PARTICLE_PARTICLE_WORLD_H_

#include <array>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "envs/render/canvas.h"

namespace rill::envs::particle {

// A 2-D vector in world units.
using Vec2 = std::array<double, 2>;

// One disc of the world: its fixed properties and its state.
struct Entity {
  // State.
  Vec2 position = {0, 0};
  Vec2 velocity = {0, 0};
  // Properties.
  double size = 0.05;  // radius
  double mass = 1.0;   // must be positive for a movable entity
  bool collide = true;
  bool movable = false;
  // The force a unit control exerts (agents only).
  double sensitivity = 5.0;
  // The speed after which velocity is scaled back; none when unset.
  std::optional<double> max_speed;
  // The disc's colour in Draw.
  render::Rgb colour = {64, 64, 64};
};

// Whether the discs of `a` and `b` overlap: their centres are nearer than
// the sum of their radii (whatever their `collide`).
bool Colliding(const Entity& a, const Entity& b);

// The distance between the centres of `a` and `b`.
double Distance(const Entity& a, const Entity& b);

class ParticleWorld {
 public:
  static constexpr double kDt = 0.1;
  static constexpr double kDamping = 0.25;
  static constexpr double kContactForce = 100.0;
  static constexpr double kContactMargin = 0.001;
  // Draw's view: the square [-kViewBound, kViewBound]^2 about the origin.
  static constexpr double kViewBound = 1.5;

  ParticleWorld(std::vector<Entity> agents, std::vector<Entity> landmarks);

  int num_agents() const { return num_agents_; }
  int num_landmarks() const { return static_cast<int>(entities_.size()) - num_agents_; }

  Entity& agent(int k) { return entities_[k]; }
  const Entity& agent(int k) const { return entities_[k]; }
  Entity& landmark(int j) { return entities_[num_agents_ + j]; }
  const Entity& landmark(int j) const { return entities_[num_agents_ + j]; }

  // One step of the rules above. `controls[k]` is agent k's control u
  // (before its sensitivity); an agent that is not movable ignores its own.
  // InvalidArgument, with nothing changed, when there is not one control
  // per agent.
  absl::Status Step(const std::vector<Vec2>& controls);

  // Every entity as a filled circle of its size in its colour, agents
  // first, landmarks over them, on white; the view is the square
  // [-1.5, 1.5]^2 stretched over the whole canvas (an entity outside it is
  // cut off). Reads the state only.
  void Draw(render::Canvas& canvas) const;

 private:
  int num_agents_;
  std::vector<Entity> entities_;  // agents, then landmarks
};

}  // namespace rill::envs::particle

#endif  // RILL_ENVS_PARTICLE_PARTICLE_WORLD_H_
