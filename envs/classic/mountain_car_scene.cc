#include "envs/classic/mountain_car_scene.h"

#include <cmath>

#include "envs/render/canvas.h"

namespace rill::envs {
namespace {

constexpr double kMinPosition = -1.2;
constexpr double kMaxPosition = 0.6;

double HillHeight(double x) { return std::sin(3 * x) * 0.45 + 0.55; }

}  // namespace

void DrawMountainCarScene(double position, double goal_position, int width, int height, uint8_t* rgb) {
  // Gymnasium's frame is 600x400 at 333.3 px to the unit: 1.8 units across,
  // 1.2 up. Its sizes in pixels, in units: the car 40x20 px with wheels of
  // radius 8 px a quarter of its width either side of its middle, riding
  // 10 px over the hill; the flagpole 50 px, the flag 25 px long.
  constexpr double kClearance = 0.03;
  constexpr double kCarHalfWidth = 0.06;
  constexpr double kCarHeight = 0.06;
  constexpr double kWheelRadius = 0.024;
  constexpr double kFlagpoleHeight = 0.15;
  constexpr render::Rgb kBlack = {0, 0, 0};
  render::Canvas canvas(width, height, rgb);
  canvas.SetView(kMinPosition, kMaxPosition, 0, 1.2);
  canvas.Fill({255, 255, 255});

  // The hill, as Gymnasium's 100-point polyline, 2 px wide at 600x400.
  constexpr int kHillPoints = 100;
  render::Point hill[kHillPoints];
  for (int k = 0; k < kHillPoints; ++k) {
    const double x = kMinPosition + (kMaxPosition - kMinPosition) * k / (kHillPoints - 1);
    hill[k] = {x, HillHeight(x)};
  }
  canvas.DrawPolyline(hill, canvas.VisibleWidth(0.006), kBlack);

  // The car sits on the hill, turned to its slope, d/dx = 1.35 cos(3x).
  // (Gymnasium turns it by cos(3x) radians, close to this.)
  const double angle = std::atan(1.35 * std::cos(3 * position));
  const render::Point base = {position, HillHeight(position) + kClearance};
  const render::Point body[4] = {
      render::Place({-kCarHalfWidth, 0}, angle, base),
      render::Place({kCarHalfWidth, 0}, angle, base),
      render::Place({kCarHalfWidth, kCarHeight}, angle, base),
      render::Place({-kCarHalfWidth, kCarHeight}, angle, base),
  };
  canvas.FillConvexPolygon(body, kBlack);
  for (double side : {-1.0, 1.0}) {
    canvas.FillCircle(render::Place({side * kCarHalfWidth / 2, 0}, angle, base), kWheelRadius, {128, 128, 128});
  }

  // The flag: a pole up from the hill at the goal, a yellow pennant at its
  // top pointing right.
  const double flag_bottom = HillHeight(goal_position);
  const double flag_top = flag_bottom + kFlagpoleHeight;
  canvas.DrawLine({goal_position, flag_bottom}, {goal_position, flag_top}, canvas.VisibleWidth(0.006), kBlack);
  const render::Point pennant[3] = {
      {goal_position, flag_top}, {goal_position, flag_top - 0.03}, {goal_position + 0.075, flag_top - 0.015}};
  canvas.FillConvexPolygon(pennant, {204, 204, 0});
}

}  // namespace rill::envs
