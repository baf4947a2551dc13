#include "envs/particle/particle_world.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"

namespace rill::envs::particle {
namespace {

// log(1 + exp(x)), without overflow for large x.
double Softplus(double x) { return std::max(x, 0.0) + std::log1p(std::exp(-std::abs(x))); }

// The soft contact force of `b` on `a`, for two different entities that
// both collide: along the line from b's centre to a's, growing smoothly as
// the discs overlap. Zero when the centres coincide (no direction).
Vec2 ContactForce(const Entity& a, const Entity& b) {
  const Vec2 delta = {a.position[0] - b.position[0], a.position[1] - b.position[1]};
  const double dist = std::hypot(delta[0], delta[1]);
  if (dist == 0) return {0, 0};
  const double dist_min = a.size + b.size;
  constexpr double k = ParticleWorld::kContactMargin;
  const double penetration = Softplus(-(dist - dist_min) / k) * k;
  const double scale = ParticleWorld::kContactForce * penetration / dist;
  return {delta[0] * scale, delta[1] * scale};
}

}  // namespace

double Distance(const Entity& a, const Entity& b) {
  return std::hypot(a.position[0] - b.position[0], a.position[1] - b.position[1]);
}

bool Colliding(const Entity& a, const Entity& b) { return Distance(a, b) < a.size + b.size; }

ParticleWorld::ParticleWorld(std::vector<Entity> agents, std::vector<Entity> landmarks)
    : num_agents_(static_cast<int>(agents.size())), entities_(std::move(agents)) {
  entities_.insert(entities_.end(), landmarks.begin(), landmarks.end());
}

absl::Status ParticleWorld::Step(const std::vector<Vec2>& controls) {
  if (static_cast<int>(controls.size()) != num_agents_) {
    return absl::InvalidArgumentError(
        absl::StrCat("ParticleWorld::Step: ", controls.size(), " controls for ", num_agents_, " agents"));
  }
  const size_t n = entities_.size();
  std::vector<Vec2> force(n, Vec2{0, 0});
  for (int k = 0; k < num_agents_; ++k) {
    const Entity& agent = entities_[k];
    if (!agent.movable) continue;
    force[k][0] += controls[k][0] * agent.sensitivity;
    force[k][1] += controls[k][1] * agent.sensitivity;
  }
  for (size_t a = 0; a < n; ++a) {
    for (size_t b = a + 1; b < n; ++b) {
      const Entity& ea = entities_[a];
      const Entity& eb = entities_[b];
      if (!ea.collide || !eb.collide) continue;
      const Vec2 f = ContactForce(ea, eb);
      if (ea.movable) {
        force[a][0] += f[0];
        force[a][1] += f[1];
      }
      if (eb.movable) {
        force[b][0] -= f[0];
        force[b][1] -= f[1];
      }
    }
  }
  for (size_t i = 0; i < n; ++i) {
    Entity& e = entities_[i];
    if (!e.movable) continue;
    for (int d = 0; d < 2; ++d) {
      e.velocity[d] = e.velocity[d] * (1 - kDamping) + force[i][d] / e.mass * kDt;
    }
    if (e.max_speed.has_value()) {
      const double speed = std::hypot(e.velocity[0], e.velocity[1]);
      if (speed > *e.max_speed) {
        e.velocity[0] *= *e.max_speed / speed;
        e.velocity[1] *= *e.max_speed / speed;
      }
    }
    for (int d = 0; d < 2; ++d) e.position[d] += e.velocity[d] * kDt;
  }
  return absl::OkStatus();
}

void ParticleWorld::Draw(render::Canvas& canvas) const {
  canvas.SetView(-kViewBound, kViewBound, -kViewBound, kViewBound);
  canvas.Fill({255, 255, 255});
  for (const Entity& e : entities_) {
    canvas.FillCircle({e.position[0], e.position[1]}, e.size, e.colour);
  }
}

}  // namespace rill::envs::particle
