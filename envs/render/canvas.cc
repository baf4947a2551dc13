#include "envs/render/canvas.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>
#include <vector>

namespace rill::envs::render {
namespace {

// The first pixel index whose centre (i + 0.5) is at or beyond `x`, clamped
// to [0, limit]. Clamping in double first keeps huge or infinite
// coordinates from overflowing the int.
int FirstCentreAtOrAfter(double x, int limit) {
  const double i = std::ceil(x - 0.5);
  return static_cast<int>(std::clamp(i, 0.0, static_cast<double>(limit)));
}

// Pixel coordinates beyond this magnitude make a shape draw nothing: a
// bound far past any image that keeps the crossing arithmetic from
// overflowing into inf or NaN.
constexpr double kMaxPixelCoordinate = 1e30;

bool Representable(double v) { return std::abs(v) <= kMaxPixelCoordinate; }  // false for NaN

}  // namespace

Point Place(Point local, double radians, Point origin) {
  const double c = std::cos(radians);
  const double s = std::sin(radians);
  return {origin.x + c * local.x - s * local.y, origin.y + s * local.x + c * local.y};
}

Canvas::Canvas(int width, int height, uint8_t* rgb) : width_(width), height_(height), rgb_(rgb) {
  assert(width >= 1 && height >= 1);
  SetView(0, width, 0, height);
}

void Canvas::SetView(double x0, double x1, double y0, double y1) {
  assert(x0 < x1 && y0 < y1);
  x0_ = x0;
  y1_ = y1;
  scale_x_ = width_ / (x1 - x0);
  scale_y_ = height_ / (y1 - y0);
}

double Canvas::PixelSize() const { return std::max(1 / scale_x_, 1 / scale_y_); }

double Canvas::VisibleWidth(double width) const { return std::max(width, PixelSize()); }

void Canvas::Fill(Rgb colour) {
  uint8_t* row = rgb_;
  for (int i = 0; i < width_; ++i) {
    row[3 * i] = colour.r;
    row[3 * i + 1] = colour.g;
    row[3 * i + 2] = colour.b;
  }
  const size_t row_bytes = static_cast<size_t>(width_) * 3;
  for (int j = 1; j < height_; ++j) std::memcpy(rgb_ + j * row_bytes, row, row_bytes);
}

void Canvas::FillSpan(int row, double left, double right, Rgb colour) {
  const int begin = FirstCentreAtOrAfter(left, width_);
  const int end = FirstCentreAtOrAfter(right, width_);
  uint8_t* p = rgb_ + (static_cast<size_t>(row) * width_ + begin) * 3;
  for (int i = begin; i < end; ++i, p += 3) {
    p[0] = colour.r;
    p[1] = colour.g;
    p[2] = colour.b;
  }
}

void Canvas::FillRect(double x0, double y0, double x1, double y1, Rgb colour) {
  const Point corners[4] = {{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}};
  FillConvexPolygon(corners, colour);
}

void Canvas::FillConvexPolygon(absl::Span<const Point> points, Rgb colour) {
  if (points.size() < 3) return;
  std::vector<Point> pixels;
  pixels.reserve(points.size());
  double top = INFINITY;
  double bottom = -INFINITY;
  for (const Point& p : points) {
    const Point q = {PixelX(p.x), PixelY(p.y)};
    if (!Representable(q.x) || !Representable(q.y)) return;
    top = std::min(top, q.y);
    bottom = std::max(bottom, q.y);
    pixels.push_back(q);
  }
  const int first_row = FirstCentreAtOrAfter(top, height_);
  const int end_row = FirstCentreAtOrAfter(bottom, height_);
  std::vector<double> crossings;
  for (int row = first_row; row < end_row; ++row) {
    const double y = row + 0.5;
    crossings.clear();
    for (size_t k = 0; k < pixels.size(); ++k) {
      Point lo = pixels[k];
      Point hi = pixels[(k + 1) % pixels.size()];
      // Horizontal edges cross no centre row under the half-open rule.
      if (lo.y == hi.y) continue;
      // The same edge in the neighbouring polygon runs the other way;
      // ordering by y makes both compute bit-identical crossings, so a
      // shared edge splits its pixels exactly.
      if (lo.y > hi.y) std::swap(lo, hi);
      if (y < lo.y || y >= hi.y) continue;
      crossings.push_back(lo.x + (y - lo.y) * (hi.x - lo.x) / (hi.y - lo.y));
    }
    std::sort(crossings.begin(), crossings.end());
    for (size_t k = 0; k + 1 < crossings.size(); k += 2) FillSpan(row, crossings[k], crossings[k + 1], colour);
  }
}

void Canvas::FillCircle(Point centre, double radius, Rgb colour) {
  const double cx = PixelX(centre.x);
  const double cy = PixelY(centre.y);
  const double rx = radius * scale_x_;
  const double ry = radius * scale_y_;
  if (!Representable(cx) || !Representable(cy) || !Representable(rx) || !Representable(ry) || !(rx > 0) ||
      !(ry > 0)) {
    return;
  }
  const int first_row = FirstCentreAtOrAfter(cy - ry, height_);
  const int end_row = FirstCentreAtOrAfter(cy + ry, height_);
  for (int row = first_row; row < end_row; ++row) {
    const double dy = (row + 0.5 - cy) / ry;
    const double half = rx * std::sqrt(std::max(0.0, 1 - dy * dy));
    FillSpan(row, cx - half, cx + half, colour);
  }
}

void Canvas::DrawLine(Point a, Point b, double width, Rgb colour) {
  const double half = width / 2;
  const double dx = b.x - a.x;
  const double dy = b.y - a.y;
  const double length = std::hypot(dx, dy);
  if (length == 0) {
    FillRect(a.x - half, a.y - half, a.x + half, a.y + half, colour);
    return;
  }
  // The unit normal, scaled to half the width.
  const double nx = -dy / length * half;
  const double ny = dx / length * half;
  const Point corners[4] = {{a.x + nx, a.y + ny}, {b.x + nx, b.y + ny}, {b.x - nx, b.y - ny}, {a.x - nx, a.y - ny}};
  FillConvexPolygon(corners, colour);
}

void Canvas::DrawPolyline(absl::Span<const Point> points, double width, Rgb colour) {
  for (size_t k = 0; k + 1 < points.size(); ++k) DrawLine(points[k], points[k + 1], width, colour);
  for (size_t k = 1; k + 1 < points.size(); ++k) FillCircle(points[k], width / 2, colour);
}

}  // namespace rill::envs::render
