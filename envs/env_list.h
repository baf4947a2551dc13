// Every environment Rill makes by Gymnasium id, one line each:
//   X(Class, spec function)
// The catalogue (catalog.cc) expands each line to its spec function alone,
// and the registry (registry.cc) to the pair of that spec function and a
// factory of Class, so an env's spec and its factory come from the same
// line and cannot disagree. The catalogue never names Class (the macro
// drops it), so it links no env's code: a MuJoCo task's spec function is
// its sizes' (mujoco/specs.h), and rill-replay links no physics engine.
//
// Envs of several agents (envs/multi_agent/interface.h) have a list of
// their own, RILL_MULTI_AGENT_ENV_LIST, whose spec functions return a
// MultiAgentSpec.
//
// Adding an env (docs/extending.md): its class with a static Spec() and a
// static Create(max_episode_steps, seed), its line below, and its header
// here (a MuJoCo task's class header in registry.cc instead, with its sizes
// in mujoco/specs.h). Order is free: KnownEnvNames() sorts.
#ifndef RILL_ENVS_ENV_LIST_H_
#define RILL_ENVS_ENV_LIST_H_

#include "envs/classic/acrobot.h"
#include "envs/classic/cartpole.h"
#include "envs/classic/cartpole_no_velocity.h"
#include "envs/classic/mountain_car.h"
#include "envs/classic/mountain_car_continuous.h"
#include "envs/classic/pendulum.h"
#include "envs/minatar/asterix.h"
#include "envs/minatar/breakout.h"
#include "envs/minatar/freeway.h"
#include "envs/minatar/seaquest.h"
#include "envs/minatar/space_invaders.h"
#include "envs/mujoco/specs.h"
#include "envs/games/beacon.h"
#include "envs/games/masked_pick.h"
#include "envs/games/pong_duel.h"
#include "envs/particle/cooperative_navigation.h"
#include "envs/particle/physical_deception.h"
#include "envs/particle/predator_prey.h"

#define RILL_ENV_LIST(X)                                                       \
  X(Acrobot, Acrobot::Spec)                                                    \
  X(CartPole, CartPole::Spec)                                                  \
  X(CartPoleNoVelocity, CartPoleNoVelocity::Spec) /* CartPole seen as [x, theta] */ \
  X(MountainCar, MountainCar::Spec)                                            \
  X(MountainCarContinuous, MountainCarContinuous::Spec)                        \
  X(Pendulum, Pendulum::Spec)                                                  \
  X(games::MaskedPick, games::MaskedPick::Spec) /* action masks */             \
  X(games::Beacon, games::Beacon::Spec) /* a Dict observation: image + vector */ \
  X(games::BeaconCameras, games::BeaconCameras::Spec) /* two image leaves */  \
  X(games::BeaconImage, games::BeaconImage::Spec) /* Beacon's image alone */   \
  X(games::BeaconPosition, games::BeaconPosition::Spec) /* its vector alone */ \
  X(HalfCheetah, HalfCheetahSpec)                                              \
  X(Hopper, HopperSpec)                                                        \
  X(Walker2d, Walker2dSpec)                                                    \
  X(Ant, AntSpec)                                                              \
  X(Humanoid, HumanoidSpec)                                                    \
  X(minatar::Asterix, minatar::Asterix::Spec)                                  \
  X(minatar::Breakout, minatar::Breakout::Spec)                                \
  X(minatar::Freeway, minatar::Freeway::Spec)                                  \
  X(minatar::Seaquest, minatar::Seaquest::Spec)                                \
  X(minatar::SpaceInvaders, minatar::SpaceInvaders::Spec)

#define RILL_MULTI_AGENT_ENV_LIST(X) \
  X(particle::CooperativeNavigation, particle::CooperativeNavigation::Spec) /* MPE's simple_spread */ \
  X(particle::PredatorPrey, particle::PredatorPrey::Spec) /* MPE's simple_tag */                    \
  X(particle::PhysicalDeception, particle::PhysicalDeception::Spec) /* MPE's simple_adversary */     \
  X(games::PongDuel, games::PongDuel::Spec) /* two players, zero-sum: self-play */                  \
  /* The particle tasks' continuous twins: forces in [-1, 1]^2 (PettingZoo's continuous_actions). */  \
  X(particle::ContinuousActions<particle::CooperativeNavigation>,                                      \
    particle::ContinuousActions<particle::CooperativeNavigation>::Spec)                                \
  X(particle::ContinuousActions<particle::PredatorPrey>, particle::ContinuousActions<particle::PredatorPrey>::Spec) \
  X(particle::ContinuousActions<particle::PhysicalDeception>,                                          \
    particle::ContinuousActions<particle::PhysicalDeception>::Spec)

#endif  // RILL_ENVS_ENV_LIST_H_
