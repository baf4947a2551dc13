"""Draws the plots of one `rill launch` run from its metric history.

`rill launch` writes <run_dir>/plots/history.csv (one row per progress line
and one at the end: seconds since start, env steps, learner updates, env
steps/s and updates/s over the interval before the row), eval.csv (one row
per finished evaluation round: seconds, env steps, learner updates, parameter
version, mean return) and resumes.csv (one row per `rill launch --resume`:
the seconds, env steps and updates the new part went on from), then runs
this script, embedded in the binary, on that folder. Run it by hand to draw a
run again:

    /usr/bin/python3 cli/plot_run.py <run_dir>/plots

Writes beside the CSVs training_return_by_env_steps.png (the return of every
episode the actors finished, from their scalar logs <run_dir>/metrics/
actor-<i>.jsonl, with its running mean and the evaluation rounds' means;
the episodes also as training_return.csv: env steps of the run, return),
eval_return_by_env_steps.png, eval_return_by_time.png (every evaluation
round), env_steps_per_second.png and updates_per_second.png, and
learner_statistics.png (each loss and statistic by update, a page of small
multiples 1280 px wide, losses first) from the learner's scalar log,
<run_dir>/metrics/learner.jsonl, or each policy's (learner.<policy>.jsonl),
when there is one. When the evaluator's rounds (<run_dir>/metrics/
evaluator.jsonl) carry an env's own figures ("env/NAME" fields), also
writes env_figures.csv (env steps, then a column per figure) and draws
env_figures_by_env_steps.png (a panel per figure). When its rounds are a
self-play run's (a "rating" field), also writes self_play.csv (env steps,
rating, and the fractions won, drawn and lost against the scripted player
and against past versions) and draws self_play_by_env_steps.png: the
rating, and won/drawn/lost against each kind of opponent. Every plot of a
resumed run marks each resume with a labelled dashed line at its time, env
steps or update. Exits 3 (with one line on stderr) when matplotlib is
missing, 2 on bad input.
"""

import bisect
import csv
import json
import os
import sys

EXIT_BAD_INPUT = 2
EXIT_NO_MATPLOTLIB = 3


def read_csv(path):
    with open(path, newline="") as f:
        return [{key: float(value) for key, value in row.items()} for row in csv.DictReader(f)]


def main(argv):
    if len(argv) != 2:
        print("usage: plot_run.py <run_dir>/plots", file=sys.stderr)
        return EXIT_BAD_INPUT
    folder = argv[1]
    try:
        history = read_csv(os.path.join(folder, "history.csv"))
        evals = read_csv(os.path.join(folder, "eval.csv"))
        # A run drawn by an older launcher has no resumes.csv: no resume.
        resumes_path = os.path.join(folder, "resumes.csv")
        resumes = read_csv(resumes_path) if os.path.exists(resumes_path) else []
    except (OSError, ValueError) as error:
        print(f"plot_run.py: cannot read the CSVs in {folder}: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    # Imported only now, so that a missing matplotlib is told apart from bad
    # input; Agg draws without a display.
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as error:
        print(f"plot_run.py: matplotlib is missing ({error}); install python3-matplotlib", file=sys.stderr)
        return EXIT_NO_MATPLOTLIB

    title = os.path.basename(os.path.dirname(os.path.abspath(folder)))
    marks = Resumes(resumes)

    def draw(name, xs, ys, xlabel, ylabel, empty_note, at, rate=False):
        figure, axes = plt.subplots(figsize=(6.4, 4.0), dpi=100)
        if xs and rate:
            # A rate is the mean over the interval that ends at its row,
            # the first one's starting at the launch.
            axes.plot([0.0] + xs, ys[:1] + ys, drawstyle="steps-pre", linewidth=1.5)
            axes.set_ylim(bottom=0)
        elif xs:
            axes.plot(xs, ys, marker="o" if len(xs) < 40 else None, markersize=3, linewidth=1.5)
        else:
            axes.text(0.5, 0.5, empty_note, ha="center", va="center", transform=axes.transAxes)
        marks.draw(axes, at)
        axes.set_xlabel(xlabel)
        axes.set_ylabel(ylabel)
        axes.set_title(title, fontsize=10)
        axes.grid(True, alpha=0.3)
        figure.tight_layout()
        figure.savefig(os.path.join(folder, name))
        plt.close(figure)

    no_eval = "no evaluation finished in this run"
    draw_training_returns(plt, folder, title, evals, marks)
    draw("eval_return_by_env_steps.png", [r["env_steps"] for r in evals], [r["return_mean"] for r in evals],
         "env steps", "eval return (mean)", no_eval, "env_steps")
    draw("eval_return_by_time.png", [r["seconds"] for r in evals], [r["return_mean"] for r in evals],
         "wall-clock seconds since start", "eval return (mean)", no_eval, "seconds")
    draw("env_steps_per_second.png", [r["seconds"] for r in history], [r["env_steps_per_second"] for r in history],
         "wall-clock seconds since start", "env steps / s", "no progress recorded", "seconds", rate=True)
    draw("updates_per_second.png", [r["seconds"] for r in history], [r["updates_per_second"] for r in history],
         "wall-clock seconds since start", "learner updates / s", "no progress recorded", "seconds", rate=True)
    draw_learner_statistics(plt, folder, title, marks)
    draw_env_figures(plt, folder, title, evals, marks)
    draw_self_play(plt, folder, title, evals, marks)
    return 0


class Resumes:
    """The resumes of a run (resumes.csv's rows), drawn on a plot as dashed
    vertical lines, each labelled with the part that began there."""

    def __init__(self, rows):
        self.rows = rows

    def draw(self, axes, at, fontsize=8, labelled=True):
        """A line on `axes` at each resume's `at` ("seconds", "env_steps"
        or "learner_updates"), the axes' x, labelled unless `labelled` is
        false (a page of small multiples labels its first panel's)."""
        for index, row in enumerate(self.rows):
            axes.axvline(row[at], color="tab:red", linestyle="--", linewidth=1.0, alpha=0.8)
            if labelled:
                axes.annotate(f"resumed: part {index + 2}", xy=(row[at], 1.0), xycoords=("data", "axes fraction"),
                              xytext=(3, -3), textcoords="offset points", ha="left", va="top", rotation=90,
                              fontsize=fontsize, color="tab:red",
                              bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.7, "pad": 1})


def read_jsonl(path):
    """The lines of a scalar log (common/scalar_log.h); a torn line is skipped."""
    rows = []
    try:
        with open(path) as f:
            for line in f:
                try:
                    row = json.loads(line)
                except ValueError:
                    continue
                if isinstance(row, dict):
                    rows.append(row)
    except OSError:
        pass
    return rows


def draw_panels(plt, path, suptitle, series, xlabel, columns, panel_width, panel_height, markersize, marks, at,
                fontsize=9):
    """A figure of one panel per named series of (x, y) points, `columns`
    panels a line, each `panel_width` x `panel_height` inches at 100 dpi,
    the resumes marked at their `at`; saved to `path`."""
    names = list(series)
    lines = (len(names) + columns - 1) // columns
    figure, grid = plt.subplots(lines, columns, figsize=(panel_width * columns, panel_height * lines), dpi=100,
                                squeeze=False)
    for index, axes in enumerate(grid.flat):
        if index >= len(names):
            axes.axis("off")
            continue
        points = series[names[index]]
        axes.plot([x for x, _ in points], [y for _, y in points], linewidth=1.2,
                  marker="o" if len(points) < 40 else None, markersize=markersize)
        marks.draw(axes, at, fontsize=fontsize - 1, labelled=index == 0)
        axes.set_title(names[index], fontsize=fontsize + 1)
        axes.set_xlabel(xlabel, fontsize=fontsize)
        axes.tick_params(labelsize=fontsize - 1)
        axes.grid(True, alpha=0.3)
    figure.suptitle(suptitle, fontsize=fontsize + 2)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


# The learner's bookkeeping, drawn elsewhere or not a curve of its own.
NOT_STATISTICS = {"time", "updates", "samples", "updates_per_second", "env_steps_learned_per_second"}

# learner_statistics.png: panels a line, and a panel's size in inches at 100
# dpi: 1280 px wide, so that it reads at its own size on the report page.
STATISTICS_COLUMNS = 4
STATISTICS_PANEL = (3.2, 2.4)


def draw_learner_statistics(plt, folder, title, marks):
    """learner_statistics.png: every loss and statistic of the learner's
    scalar log (<run_dir>/metrics/learner.jsonl) by update, one panel each,
    the losses first; for a run of several policies, of each policy's log
    (metrics/learner.<policy>.jsonl), its panels titled "<policy>: NAME"."""
    metrics = os.path.join(folder, os.pardir, "metrics")
    logs = [("", os.path.join(metrics, "learner.jsonl"))]
    if os.path.isdir(metrics):
        for name in sorted(os.listdir(metrics)):
            if name.startswith("learner.") and name.endswith(".jsonl") and name != "learner.jsonl":
                logs.append((name[len("learner."):-len(".jsonl")] + ": ", os.path.join(metrics, name)))
    series = {}
    for prefix, path in logs:
        rows = read_jsonl(path)
        names = []
        for row in rows:
            for name in row:
                if name not in NOT_STATISTICS and name not in names:
                    names.append(name)
        # Losses first, then the statistics, each in the log's order.
        names.sort(key=lambda name: not name.startswith("loss/"))
        for name in names:
            series[prefix + name] = [(row["updates"], row[name]) for row in rows
                                     if "updates" in row and isinstance(row.get(name), (int, float))]
    if not series:
        return
    draw_panels(plt, os.path.join(folder, "learner_statistics.png"), f"{title}: learner statistics", series,
                "updates", STATISTICS_COLUMNS, *STATISTICS_PANEL, markersize=2, marks=marks, at="learner_updates")


def actor_episodes(metrics):
    """(env steps of the run, return) of every episode the actors finished,
    by env steps, from their scalar logs (<run_dir>/metrics/actor-<i>.jsonl:
    each line one episode, with the actor's own env steps at its end).

    An episode's env steps are every actor's at its time: its own actor's
    count, and each other actor's interpolated between that actor's
    episodes (before its first one, back to 0 at its own pace). A new
    process in an actor's place (a restart, or a resumed run's next part)
    counts on from the last one's count: its lines' "episode" (the
    process's own count of episodes) starts again, or, in a log without it,
    its env steps go down."""
    tracks = []  # per actor: [(time, its env steps so far, return)]
    names = sorted(os.listdir(metrics)) if os.path.isdir(metrics) else []
    for name in names:
        if not (name.startswith("actor-") and name.endswith(".jsonl")):
            continue
        track, before, last, last_episode = [], 0.0, 0.0, 0.0
        for row in read_jsonl(os.path.join(metrics, name)):
            if not all(isinstance(row.get(key), (int, float)) for key in ("time", "env_steps", "return")):
                continue
            episode = row.get("episode")
            if isinstance(episode, (int, float)):
                new_process = episode <= last_episode
                last_episode = episode
            else:
                new_process = row["env_steps"] < last
            if new_process:
                before += last
            last = row["env_steps"]
            track.append((row["time"], before + last, row["return"]))
        if track:
            tracks.append(track)

    times = [[when for when, _, _ in track] for track in tracks]

    def steps_at(index, when):
        track = tracks[index]
        after = bisect.bisect_left(times[index], when)
        if after == 0:
            # Before its first episode: back to 0 at the pace of its first two.
            if len(track) < 2 or track[1][0] <= track[0][0]:
                return track[0][1] if when == track[0][0] else 0.0
            pace = (track[1][1] - track[0][1]) / (track[1][0] - track[0][0])
            return max(0.0, track[0][1] - pace * (track[0][0] - when))
        if after == len(track):
            return track[-1][1]
        (t0, s0, _), (t1, s1, _) = track[after - 1], track[after]
        return s0 if t1 <= t0 else s0 + (s1 - s0) * (when - t0) / (t1 - t0)

    episodes = []
    for own, track in enumerate(tracks):
        for when, steps, value in track:
            others = sum(steps_at(index, when) for index in range(len(tracks)) if index != own)
            episodes.append((steps + others, value))
    episodes.sort()
    return episodes


# Fewer training episodes than this are drawn as points only; more, with
# the mean of the last max(half this, 5% of them, at most 100).
MEAN_EPISODES_MIN = 20


def draw_training_returns(plt, folder, title, evals, marks):
    """training_return_by_env_steps.png: the return of every episode the
    actors finished (actor_episodes) by env steps, its running mean over the
    last episodes, and the evaluation rounds' means for comparison; and
    training_return.csv (env steps, return: one row per episode) when an
    episode finished."""
    episodes = actor_episodes(os.path.join(folder, os.pardir, "metrics"))
    if episodes:
        with open(os.path.join(folder, "training_return.csv"), "w", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(["env_steps", "return"])
            for steps, value in episodes:
                writer.writerow([f"{steps:.0f}", f"{value:.6g}"])
    # As wide as the page of learner statistics: the run's headline.
    figure, axes = plt.subplots(figsize=(12.8, 4.0), dpi=100)
    if not episodes:
        axes.text(0.5, 0.5, "no training episode finished in this run", ha="center", va="center",
                  transform=axes.transAxes)
    elif len(episodes) < MEAN_EPISODES_MIN:
        # Too few for a mean to say more than the episodes themselves.
        axes.scatter([steps for steps, _ in episodes], [value for _, value in episodes], s=16, color="tab:blue",
                     label="training episode")
    else:
        xs = [steps for steps, _ in episodes]
        ys = [value for _, value in episodes]
        axes.scatter(xs, ys, s=6, alpha=0.3, color="tab:blue", linewidths=0, label="training episode")
        window = max(MEAN_EPISODES_MIN // 2, min(100, len(episodes) // 20))
        means, total = [], 0.0
        for index, value in enumerate(ys):
            total += value - (ys[index - window] if index >= window else 0.0)
            means.append(total / min(index + 1, window))
        axes.plot(xs, means, color="tab:blue", linewidth=1.8, label=f"training, mean of the last {window} episodes")
    if evals:
        axes.plot([r["env_steps"] for r in evals], [r["return_mean"] for r in evals], color="tab:orange",
                  marker="o" if len(evals) < 40 else None, markersize=3, linewidth=1.5, label="evaluation (mean)")
    marks.draw(axes, "env_steps")
    if episodes or evals:
        axes.legend(fontsize=8, loc="best")
    axes.set_xlabel("env steps")
    axes.set_ylabel("episode return")
    axes.set_title(f"{title}: training return", fontsize=10)
    axes.grid(True, alpha=0.3)
    figure.tight_layout()
    figure.savefig(os.path.join(folder, "training_return_by_env_steps.png"))
    plt.close(figure)


ENV_PREFIX = "env/"


def matched_rounds(folder, evals):
    """(env steps, round) for each row of eval.csv and its round in the
    evaluator's scalar log (every field of the round's line).

    eval.csv's rows are the log's rounds that the launcher saw, in order
    (cli/run_monitor.cc), so a round is matched to the next row with its
    parameter version and return: a round the launcher missed (one written
    as a resumed run's earlier part was stopped) is skipped, not shifted."""
    rounds = [row for row in read_jsonl(os.path.join(folder, os.pardir, "metrics", "evaluator.jsonl"))
              if "time" in row and "return_mean" in row]
    matched = []
    next_row = 0
    for round_ in rounds:
        for index in range(next_row, len(evals)):
            row = evals[index]
            if (row["parameter_version"] == round_.get("parameter_version", 0)
                    and abs(row["return_mean"] - round_["return_mean"]) <= 1e-5):
                matched.append((row["env_steps"], round_))
                next_row = index + 1
                break
    return matched


def env_figure_rounds(folder, evals):
    """(env steps, {figure: value}) for each row of eval.csv whose round in
    the evaluator's scalar log carries env figures (matched_rounds)."""
    matched = []
    for steps, round_ in matched_rounds(folder, evals):
        figures = {name[len(ENV_PREFIX):]: value for name, value in round_.items()
                   if name.startswith(ENV_PREFIX) and isinstance(value, (int, float))}
        if figures:
            matched.append((steps, figures))
    return matched


def draw_env_figures(plt, folder, title, evals, marks):
    """env_figures.csv and env_figures_by_env_steps.png: each figure the env
    reported (cooperative navigation's landmark_distance, collisions, ...)
    per evaluation round by env steps, one panel each. Nothing when no
    round carries one."""
    rounds = env_figure_rounds(folder, evals)
    names = []
    for _, figures in rounds:
        for name in figures:
            if name not in names:
                names.append(name)
    if not names:
        return
    with open(os.path.join(folder, "env_figures.csv"), "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["env_steps"] + names)
        for steps, figures in rounds:
            writer.writerow([f"{steps:.0f}"] + [f"{figures[name]:.6g}" if name in figures else "" for name in names])
    series = {name: [(steps, figures[name]) for steps, figures in rounds if name in figures] for name in names}
    draw_panels(plt, os.path.join(folder, "env_figures_by_env_steps.png"),
                f"{title}: env figures per evaluation round", series, "env steps", min(3, len(names)), 4.0, 2.8,
                markersize=3, marks=marks, at="env_steps")


# A self-play round's opponents (actor/evaluator.h) and their panels' titles.
SELF_PLAY_OPPONENTS = (("scripted", "against the scripted player"), ("past", "against past versions"))
SELF_PLAY_OUTCOMES = (("win_rate", "won"), ("draw_rate", "drawn"), ("loss_rate", "lost"))


def draw_self_play(plt, folder, title, evals, marks):
    """self_play.csv and self_play_by_env_steps.png: a self-play run's
    Elo-style rating per evaluation round (the scripted player is 1000) by
    env steps, and the fractions of the round's games won, drawn and lost
    against the scripted player and against the past versions, a panel
    each. Nothing when no round is rated."""
    rounds = [(steps, round_) for steps, round_ in matched_rounds(folder, evals)
              if isinstance(round_.get("rating"), (int, float))]
    if not rounds:
        return
    columns = ["rating"] + [f"{opponent}/{outcome}" for opponent, _ in SELF_PLAY_OPPONENTS
                            for outcome, _ in SELF_PLAY_OUTCOMES]
    with open(os.path.join(folder, "self_play.csv"), "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["env_steps"] + columns)
        for steps, round_ in rounds:
            writer.writerow([f"{steps:.0f}"] + [f"{round_[name]:.6g}" if isinstance(round_.get(name), (int, float))
                                                else "" for name in columns])
    played = [(opponent, label) for opponent, label in SELF_PLAY_OPPONENTS
              if any(f"{opponent}/win_rate" in round_ for _, round_ in rounds)]
    figure, grid = plt.subplots(1, 1 + len(played), figsize=(4.4 * (1 + len(played)), 3.4), dpi=100,
                                squeeze=False)
    marker = "o" if len(rounds) < 40 else None
    axes = grid[0][0]
    axes.plot([steps for steps, _ in rounds], [round_["rating"] for _, round_ in rounds], marker=marker,
              markersize=3, linewidth=1.5)
    axes.axhline(1000, color="grey", linewidth=0.8, linestyle="--")
    axes.set_title("rating (Elo scale, scripted player 1000)", fontsize=9)
    for index, (opponent, label) in enumerate(played):
        axes = grid[0][index + 1]
        for outcome, name in SELF_PLAY_OUTCOMES:
            points = [(steps, round_[f"{opponent}/{outcome}"]) for steps, round_ in rounds
                      if isinstance(round_.get(f"{opponent}/{outcome}"), (int, float))]
            axes.plot([x for x, _ in points], [y for _, y in points], marker=marker, markersize=3, linewidth=1.2,
                      label=name)
        axes.set_ylim(-0.02, 1.02)
        axes.set_title(f"games {label}", fontsize=9)
        axes.legend(fontsize=7)
    for axes in grid.flat:
        marks.draw(axes, "env_steps", fontsize=7, labelled=axes is grid[0][0])
        axes.set_xlabel("env steps", fontsize=8)
        axes.tick_params(labelsize=7)
        axes.grid(True, alpha=0.3)
    figure.suptitle(f"{title}: self-play evaluation", fontsize=10)
    figure.tight_layout()
    figure.savefig(os.path.join(folder, "self_play_by_env_steps.png"))
    plt.close(figure)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
