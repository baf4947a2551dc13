#include "envs/render/canvas.h"

#include <cmath>
#include <cstdint>
#include <vector>

#include "gtest/gtest.h"

namespace rill::envs::render {
namespace {

constexpr Rgb kBlack = {0, 0, 0};
constexpr Rgb kWhite = {255, 255, 255};
constexpr Rgb kRed = {255, 0, 0};
constexpr double kPi = 3.14159265358979323846;

// An image and a canvas over it, cleared to black.
struct Image {
  Image(int w, int h) : width(w), height(h), rgb(static_cast<size_t>(w) * h * 3, 0), canvas(w, h, rgb.data()) {}

  bool Is(int x, int y, Rgb c) const {
    const uint8_t* p = &rgb[(static_cast<size_t>(y) * width + x) * 3];
    return p[0] == c.r && p[1] == c.g && p[2] == c.b;
  }
  // The pixels (row-major) that are not black.
  std::vector<bool> Drawn() const {
    std::vector<bool> drawn;
    for (size_t k = 0; k < rgb.size(); k += 3) drawn.push_back(rgb[k] || rgb[k + 1] || rgb[k + 2]);
    return drawn;
  }

  int width;
  int height;
  std::vector<uint8_t> rgb;
  Canvas canvas;
};

TEST(CanvasTest, FillColoursEveryPixel) {
  Image image(5, 3);
  image.canvas.Fill({1, 2, 3});
  for (int y = 0; y < 3; ++y) {
    for (int x = 0; x < 5; ++x) EXPECT_TRUE(image.Is(x, y, {1, 2, 3})) << x << "," << y;
  }
}

TEST(CanvasTest, FillRectColoursExactlyThePixelsWhoseCentresLieInside) {
  Image image(10, 10);  // the default view: world = pixels, y up
  image.canvas.FillRect(2, 3, 5, 7, kWhite);
  // x in [2, 5): columns 2..4; world y in [3, 7) is rows 10-7 = 3 to 6.
  for (int y = 0; y < 10; ++y) {
    for (int x = 0; x < 10; ++x) {
      const bool inside = x >= 2 && x <= 4 && y >= 3 && y <= 6;
      EXPECT_EQ(image.Is(x, y, kWhite), inside) << x << "," << y;
    }
  }
}

TEST(CanvasTest, SetViewPutsTheWorldRectangleOnTheImageWithYUp) {
  Image image(10, 10);
  image.canvas.SetView(-1, 1, -1, 1);
  image.canvas.FillRect(0, 0, 1, 1, kWhite);  // the top-right quadrant
  for (int y = 0; y < 10; ++y) {
    for (int x = 0; x < 10; ++x) EXPECT_EQ(image.Is(x, y, kWhite), x >= 5 && y < 5) << x << "," << y;
  }
}

TEST(CanvasTest, NonSquareViewStretchesEachAxisOnItsOwn) {
  Image image(8, 2);
  image.canvas.SetView(0, 4, 0, 4);  // 2 px per unit across, 0.5 px per unit down
  image.canvas.FillRect(1, 0, 2, 2, kWhite);
  for (int y = 0; y < 2; ++y) {
    for (int x = 0; x < 8; ++x) EXPECT_EQ(image.Is(x, y, kWhite), (x == 2 || x == 3) && y == 1) << x << "," << y;
  }
  EXPECT_DOUBLE_EQ(image.canvas.PixelSize(), 2.0);
}

TEST(CanvasTest, TriangleCoversItsInteriorAndNothingOutside) {
  Image image(20, 20);
  const Point triangle[3] = {{2, 2}, {18, 2}, {2, 18}};  // x + y < 20 above the corner
  image.canvas.FillConvexPolygon(triangle, kRed);
  for (int y = 0; y < 20; ++y) {
    for (int x = 0; x < 20; ++x) {
      const double cx = x + 0.5;
      const double cy = 20 - (y + 0.5);
      const bool inside = cx > 2 && cy > 2 && cx + cy < 20;
      EXPECT_EQ(image.Is(x, y, kRed), inside) << x << "," << y;
    }
  }
}

TEST(CanvasTest, PolygonOfFewerThanThreePointsOrNotFiniteDrawsNothing) {
  Image image(4, 4);
  const Point two[2] = {{0, 0}, {4, 4}};
  image.canvas.FillConvexPolygon(two, kWhite);
  const Point nan[3] = {{0, 0}, {4, 0}, {NAN, 4}};
  image.canvas.FillConvexPolygon(nan, kWhite);
  image.canvas.FillCircle({2, 2}, INFINITY, kWhite);
  for (bool drawn : image.Drawn()) EXPECT_FALSE(drawn);
}

// Draws each polygon onto its own black image and checks that, pixel by
// pixel, exactly as many of them cover it as the whole shape does (0 or 1):
// no gap along shared edges and no pixel drawn twice.
void ExpectTiling(const std::vector<std::vector<Point>>& pieces, const std::vector<Point>& whole) {
  constexpr int kW = 37;
  constexpr int kH = 23;
  Image reference(kW, kH);
  reference.canvas.SetView(-1.3, 1.1, -0.9, 1.2);  // not square, not aligned
  reference.canvas.FillConvexPolygon(whole, kWhite);
  const std::vector<bool> expected = reference.Drawn();
  std::vector<int> count(expected.size(), 0);
  for (const std::vector<Point>& piece : pieces) {
    Image image(kW, kH);
    image.canvas.SetView(-1.3, 1.1, -0.9, 1.2);
    image.canvas.FillConvexPolygon(piece, kWhite);
    const std::vector<bool> drawn = image.Drawn();
    for (size_t k = 0; k < drawn.size(); ++k) count[k] += drawn[k];
  }
  int covered = 0;
  for (size_t k = 0; k < expected.size(); ++k) {
    EXPECT_EQ(count[k], expected[k] ? 1 : 0) << "pixel " << k % kW << "," << k / kW;
    covered += count[k];
  }
  EXPECT_GT(covered, 50);  // the shape is big enough to test something
}

TEST(CanvasTest, QuadSplitAlongItsDiagonalLeavesNoGapAndNoOverlap) {
  const Point a = {-1.17, -0.61}, b = {0.93, -0.83}, c = {0.71, 1.03}, d = {-0.89, 0.77};
  ExpectTiling({{a, b, c}, {a, c, d}}, {a, b, c, d});
}

TEST(CanvasTest, FanOfTrianglesAroundACentreLeavesNoGapAndNoOverlap) {
  // A heptagon cut into seven triangles meeting at an off-centre point,
  // wound one way and the other, so shared edges run both ways.
  std::vector<Point> heptagon;
  for (int k = 0; k < 7; ++k) {
    const double angle = 2 * kPi * k / 7 + 0.3;
    heptagon.push_back({-0.1 + 0.95 * std::cos(angle), 0.15 + 0.95 * std::sin(angle)});
  }
  const Point centre = {0.07, 0.21};
  std::vector<std::vector<Point>> fan;
  for (int k = 0; k < 7; ++k) {
    const Point p = heptagon[k], q = heptagon[(k + 1) % 7];
    fan.push_back(k % 2 ? std::vector<Point>{centre, p, q} : std::vector<Point>{q, p, centre});
  }
  ExpectTiling(fan, heptagon);
}

TEST(CanvasTest, RectanglesSharingPixelAlignedEdgesTileExactly) {
  // Edges through pixel centres are the hard case for the half-open rule.
  ExpectTiling({{{-1, -0.5}, {0, -0.5}, {0, 0.5}, {-1, 0.5}}, {{0, -0.5}, {1, -0.5}, {1, 0.5}, {0, 0.5}}},
               {{-1, -0.5}, {1, -0.5}, {1, 0.5}, {-1, 0.5}});
}

TEST(CanvasTest, CircleCoversThePixelsWithinItsRadius) {
  Image image(21, 21);
  image.canvas.SetView(-1, 1, -1, 1);
  image.canvas.FillCircle({0, 0}, 0.5, kWhite);  // 5.25 px
  for (int y = 0; y < 21; ++y) {
    for (int x = 0; x < 21; ++x) {
      const double distance = std::hypot(x + 0.5 - 10.5, y + 0.5 - 10.5);
      if (distance < 5.0) {
        EXPECT_TRUE(image.Is(x, y, kWhite)) << x << "," << y;
      } else if (distance > 5.5) {
        EXPECT_TRUE(image.Is(x, y, kBlack)) << x << "," << y;
      }
    }
  }
}

TEST(CanvasTest, LineIsARectangleOfItsWidth) {
  Image image(10, 10);
  image.canvas.DrawLine({1, 5}, {9, 5}, 2, kWhite);  // rows of world y 4..6: rows 4 and 5
  for (int y = 0; y < 10; ++y) {
    for (int x = 0; x < 10; ++x) EXPECT_EQ(image.Is(x, y, kWhite), x >= 1 && x <= 8 && (y == 4 || y == 5));
  }
}

TEST(CanvasTest, ZeroLengthLineDrawsASquare) {
  Image image(10, 10);
  image.canvas.DrawLine({5, 5}, {5, 5}, 2, kWhite);
  for (int y = 0; y < 10; ++y) {
    for (int x = 0; x < 10; ++x) EXPECT_EQ(image.Is(x, y, kWhite), x >= 4 && x <= 5 && y >= 4 && y <= 5);
  }
}

TEST(CanvasTest, LineOnePixelWideLeavesNoGapsInAnyDirection) {
  for (double angle = 0; angle < kPi; angle += 0.1) {
    Image image(31, 17);
    image.canvas.SetView(-1, 1, -1, 1);  // stretched: the pixel size differs per axis
    const Point a = {-0.9 * std::cos(angle), -0.9 * std::sin(angle)};
    const Point b = {0.9 * std::cos(angle), 0.9 * std::sin(angle)};
    image.canvas.DrawLine(a, b, image.canvas.PixelSize(), kWhite);
    // Every row and column between the ends holds a drawn pixel.
    const std::vector<bool> drawn = image.Drawn();
    const double x_lo = (std::min(a.x, b.x) + 1) / 2 * 31, x_hi = (std::max(a.x, b.x) + 1) / 2 * 31;
    const double y_lo = (1 - std::max(a.y, b.y)) / 2 * 17, y_hi = (1 - std::min(a.y, b.y)) / 2 * 17;
    for (int x = static_cast<int>(x_lo) + 1; x + 1 < x_hi; ++x) {
      bool any = false;
      for (int y = 0; y < 17; ++y) any = any || drawn[y * 31 + x];
      EXPECT_TRUE(any) << "column " << x << " at angle " << angle;
    }
    for (int y = static_cast<int>(y_lo) + 1; y + 1 < y_hi; ++y) {
      bool any = false;
      for (int x = 0; x < 31; ++x) any = any || drawn[y * 31 + x];
      EXPECT_TRUE(any) << "row " << y << " at angle " << angle;
    }
  }
}

TEST(CanvasTest, PolylineFillsTheOuterCornerOfABend) {
  Image image(20, 20);
  const Point path[3] = {{2, 10}, {10, 10}, {10, 2}};
  image.canvas.DrawPolyline(path, 4, kWhite);
  // Past the bend's outer corner, beyond both segments' ends, the round
  // joint covers pixel (10, 9), world centre (10.5, 10.5).
  EXPECT_TRUE(image.Is(10, 9, kWhite));
  EXPECT_TRUE(image.Is(5, 10, kWhite));  // on the first segment
  EXPECT_TRUE(image.Is(10, 15, kWhite));  // on the second
  EXPECT_TRUE(image.Is(15, 15, kBlack));
}

TEST(CanvasTest, PlaceTurnsCounterclockwiseThenMoves) {
  const Point p = Place({1, 0}, kPi / 2, {10, 20});
  EXPECT_NEAR(p.x, 10, 1e-12);
  EXPECT_NEAR(p.y, 21, 1e-12);
}

TEST(CanvasTest, VisibleWidthIsAtLeastOnePixel) {
  Image image(10, 20);
  image.canvas.SetView(0, 1, 0, 1);
  EXPECT_DOUBLE_EQ(image.canvas.VisibleWidth(0.01), 0.1);
  EXPECT_DOUBLE_EQ(image.canvas.VisibleWidth(0.3), 0.3);
}

TEST(CanvasTest, ShapesPartlyOffTheImageWriteOnlyInsideIt) {
  // The canvas draws onto the middle of a larger buffer; the guard bytes
  // before and after must stay untouched.
  constexpr int kGuard = 64;
  constexpr int kW = 7;
  constexpr int kH = 5;
  std::vector<uint8_t> buffer(kGuard + kW * kH * 3 + kGuard, 0xAB);
  Canvas canvas(kW, kH, buffer.data() + kGuard);
  canvas.SetView(0, 1, 0, 1);
  canvas.FillRect(-3, -3, 0.5, 4, kRed);
  canvas.FillCircle({1, 1}, 0.7, kWhite);
  canvas.DrawLine({-10, 0.5}, {10, 0.6}, 0.2, kWhite);
  const Point huge[3] = {{-1e6, -1e6}, {1e6, -1e6}, {0, 1e6}};
  canvas.FillConvexPolygon(huge, kBlack);
  const Point absurd[3] = {{-1e300, -1e300}, {1e300, -1e300}, {0, 1e300}};
  canvas.FillConvexPolygon(absurd, kRed);
  const Point outside[3] = {{2, 2}, {3, 2}, {2, 3}};
  canvas.FillConvexPolygon(outside, kRed);
  for (int k = 0; k < kGuard; ++k) {
    EXPECT_EQ(buffer[k], 0xAB) << k;
    EXPECT_EQ(buffer[buffer.size() - 1 - k], 0xAB) << k;
  }
  // The huge triangle covers the image; the absurd one draws nothing.
  for (int k = kGuard; k < kGuard + kW * kH * 3; ++k) EXPECT_EQ(buffer[k], 0) << k;
}

TEST(CanvasTest, PartlyOffImageRectangleKeepsItsVisiblePart) {
  Image image(6, 4);
  image.canvas.FillRect(-5, -5, 3, 2, kWhite);  // the bottom-left 3x2 pixels
  for (int y = 0; y < 4; ++y) {
    for (int x = 0; x < 6; ++x) EXPECT_EQ(image.Is(x, y, kWhite), x < 3 && y >= 2) << x << "," << y;
  }
}

TEST(CanvasTest, OnePixelImageTakesTheShapeOverItsCentre) {
  Image image(1, 1);
  image.canvas.SetView(-1, 1, -1, 1);
  image.canvas.FillRect(0.1, 0.1, 1, 1, kWhite);  // misses the centre
  EXPECT_TRUE(image.Is(0, 0, kBlack));
  image.canvas.FillCircle({0, 0}, 0.01, kRed);
  EXPECT_TRUE(image.Is(0, 0, kRed));
  image.canvas.DrawLine({-1, 0}, {1, 0}, image.canvas.PixelSize(), kWhite);
  EXPECT_TRUE(image.Is(0, 0, kWhite));
}

}  // namespace
}  // namespace rill::envs::render
