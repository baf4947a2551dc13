// The picture of MountainCar-v0 and MountainCarContinuous-v0, which differ
// only in where the flag stands: both envs' Render draw it.
//
// Thread safety: none needed (a pure function of its arguments).
#ifndef RILL_ENVS_CLASSIC_MOUNTAIN_CAR_SCENE_H_
#define RILL_ENVS_CLASSIC_MOUNTAIN_CAR_SCENE_H_

#include <cstdint>

namespace rill::envs {

// Draws the hill y = 0.45 sin(3x) + 0.55 over [-1.2, 0.6], the car at
// `position` on it, tilted with the slope, and the flag at `goal_position`,
// as Gymnasium lays out its 600x400 frame, stretched to `width` x `height`
// pixels of `rgb` (rows top first, 3 bytes a pixel).
void DrawMountainCarScene(double position, double goal_position, int width, int height, uint8_t* rgb);

}  // namespace rill::envs

#endif  // RILL_ENVS_CLASSIC_MOUNTAIN_CAR_SCENE_H_
