"""Draws the comparison plot of one `rill sweep` from its curves.csv.

`rill sweep` writes <sweep_dir>/curves.csv (setting, seed, env_steps,
return_mean: every evaluation round of every run) and runs this script,
embedded in the binary, on that folder; run it by hand to draw again:

    /usr/bin/python3 cli/plot_sweep.py <sweep_dir>

Writes return_by_env_steps.png: per setting, the mean evaluation return over
its seeds on a common grid of env steps (each run's curve interpolated
linearly, within its own range), with a band of one standard deviation.
Exits 3 (one line on stderr) when matplotlib is missing, 2 on bad input.
"""

import csv
import math
import os
import sys

EXIT_BAD_INPUT = 2
EXIT_NO_MATPLOTLIB = 3
GRID_POINTS = 60


def interpolate(points, x):
    """The curve's value at x, or None outside its range."""
    if not points or x < points[0][0] or x > points[-1][0]:
        return None
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        if x0 <= x <= x1:
            return y0 if x1 == x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return points[-1][1]


def main(argv):
    if len(argv) != 2:
        print("usage: plot_sweep.py <sweep_dir>", file=sys.stderr)
        return EXIT_BAD_INPUT
    folder = argv[1]
    curves = {}  # setting -> seed -> [(env steps, return)]
    try:
        with open(os.path.join(folder, "curves.csv"), newline="") as f:
            for row in csv.DictReader(f):
                runs = curves.setdefault(row["setting"], {})
                runs.setdefault(row["seed"], []).append((float(row["env_steps"]), float(row["return_mean"])))
    except (OSError, ValueError, KeyError) as error:
        print(f"plot_sweep.py: cannot read {folder}/curves.csv: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as error:
        print(f"plot_sweep.py: matplotlib is missing ({error}); install python3-matplotlib", file=sys.stderr)
        return EXIT_NO_MATPLOTLIB

    figure, axes = plt.subplots(figsize=(7.2, 4.4), dpi=100)
    for setting, runs in sorted(curves.items()):
        for points in runs.values():
            points.sort()
        end = max(points[-1][0] for points in runs.values() if points)
        # The rounds' own env steps when there are few, else an even grid.
        steps = sorted({x for points in runs.values() for x, _ in points})
        grid = steps if len(steps) <= GRID_POINTS else [end * i / (GRID_POINTS - 1) for i in range(GRID_POINTS)]
        xs, means, stds = [], [], []
        for x in grid:
            values = [v for v in (interpolate(points, x) for points in runs.values()) if v is not None]
            if not values:
                continue
            mean = sum(values) / len(values)
            xs.append(x)
            means.append(mean)
            # The sample standard deviation over the seeds (n - 1), as the table's.
            stds.append(math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0)
        line, = axes.plot(xs, means, linewidth=1.6, marker="o" if len(set(xs)) < 40 else None, markersize=3,
                          label=f"{setting} ({len(runs)} seeds)")
        axes.fill_between(xs, [m - s for m, s in zip(means, stds)], [m + s for m, s in zip(means, stds)],
                          color=line.get_color(), alpha=0.2)
    if not curves:
        axes.text(0.5, 0.5, "no evaluation finished in any run", ha="center", va="center", transform=axes.transAxes)
    axes.set_xlabel("env steps")
    axes.set_ylabel("eval return (mean over seeds, ± 1 sample s.d.)")
    axes.set_title(os.path.basename(os.path.abspath(folder)), fontsize=10)
    axes.grid(True, alpha=0.3)
    if curves:
        axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(os.path.join(folder, "return_by_env_steps.png"))
    plt.close(figure)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
