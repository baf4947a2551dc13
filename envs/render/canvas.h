// Canvas: a small software rasteriser over a caller's RGB buffer, what the
// classic-control envs (envs/classic) draw their Env::Render images with.
// Shapes are given in world units; SetView maps a world rectangle onto the
// whole image, y up, so an env describes its scene once, as Gymnasium's
// renderers lay it out, and gets it at any size.
//
// A pixel takes a shape's colour when its centre lies inside the shape (no
// antialiasing), with a half-open rule on both axes (the usual top-left
// rule): a centre exactly on a shape's left or top edge belongs to it, one
// on its right or bottom edge does not. So two polygons that share an edge cover every pixel along
// it exactly once, with no gap and no pixel drawn by both, and the output is
// integer and deterministic. Shapes may lie partly or wholly off the image:
// only the pixels on it are written.
//
// Thread safety: none; one Canvas draws on one thread.
#ifndef RILL_ENVS_RENDER_CANVAS_H_
#define RILL_ENVS_RENDER_CANVAS_H_

#include <cstdint>

#include "absl/types/span.h"

namespace rill::envs::render {

struct Rgb {
  uint8_t r = 0;
  uint8_t g = 0;
  uint8_t b = 0;
};

// A point in world units (y up).
struct Point {
  double x = 0;
  double y = 0;
};

// The point at `local` in a frame turned `radians` counterclockwise and
// moved to `origin`: how an env places a shape it describes about its own
// pivot (a cart, a link).
Point Place(Point local, double radians, Point origin);

class Canvas {
 public:
  // Draws onto `rgb`: `height` rows of `width` RGB pixels, top row first,
  // 3 bytes a pixel. `width` and `height` must be at least 1; `rgb` stays
  // the caller's and must outlive the Canvas. The view starts as the image
  // itself: world [0, width] x [0, height], y up.
  Canvas(int width, int height, uint8_t* rgb);

  // Maps the world rectangle [x0, x1] x [y0, y1] onto the whole image: x0 at
  // the left edge, y1 at the top. Each axis scales on its own, so a world of
  // another aspect ratio than the image is stretched to fit (as resizing
  // Gymnasium's frame would), never cropped. Requires x0 < x1 and y0 < y1.
  void SetView(double x0, double x1, double y0, double y1);

  int width() const { return width_; }
  int height() const { return height_; }

  // The world length of one pixel along the coarser axis: a line at least
  // this wide never breaks up into separate pixels, whatever its direction.
  double PixelSize() const;
  // `width` world units, widened to PixelSize() when narrower: the width
  // of a line that must stay visible however small the image.
  double VisibleWidth(double width) const;

  // Every pixel.
  void Fill(Rgb colour);
  // The axis-aligned rectangle with corners (x0, y0) and (x1, y1).
  void FillRect(double x0, double y0, double x1, double y1, Rgb colour);
  // The polygon through `points` in order (either winding). Meant for
  // convex polygons; any simple polygon fills by the even-odd rule. Fewer
  // than 3 points, or a point that is not finite (or lies absurdly far off
  // the image, over 1e30 pixels), draws nothing.
  void FillConvexPolygon(absl::Span<const Point> points, Rgb colour);
  // The disc of `radius` world units about `centre` (an ellipse on the
  // image when the view stretches one axis more than the other). A radius
  // that is not positive, or a centre as FillConvexPolygon refuses, draws
  // nothing.
  void FillCircle(Point centre, double radius, Rgb colour);
  // The segment from `a` to `b`, `width` world units thick, with square
  // ends at `a` and `b` (a rectangle). A zero-length segment draws a square
  // `width` on a side.
  void DrawLine(Point a, Point b, double width, Rgb colour);
  // The segments through `points`, `width` thick, with round joints so
  // that bends leave no notch.
  void DrawPolyline(absl::Span<const Point> points, double width, Rgb colour);

 private:
  // World to pixel coordinates (pixel (i, j) spans [i, i+1] x [j, j+1],
  // rows counted down from the top).
  double PixelX(double x) const { return (x - x0_) * scale_x_; }
  double PixelY(double y) const { return (y1_ - y) * scale_y_; }

  // Fills pixels i of row `row` whose centres lie in [left, right).
  void FillSpan(int row, double left, double right, Rgb colour);

  int width_;
  int height_;
  uint8_t* rgb_;
  double x0_ = 0;
  double y1_ = 0;
  double scale_x_ = 1;  // pixels per world unit
  double scale_y_ = 1;
};

}  // namespace rill::envs::render

#endif  // RILL_ENVS_RENDER_CANVAS_H_
