#include "cli/run_report.h"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "cli/run_history.h"
#include "common/os.h"
#include "common/scalar_log.h"

namespace rill::cli {
namespace {

std::optional<std::string> ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The names of the regular files in `dir` ending in `suffix`, sorted.
std::vector<std::string> FilesIn(const std::string& dir, const std::string& suffix) {
  std::vector<std::string> names;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file(error) && absl::EndsWith(name, suffix)) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

// The value of "key" in a one-level JSON object, as its text (a number, a
// quoted string with its quotes, null, true, false); nullopt when absent.
std::optional<std::string> JsonField(const std::string& json, const std::string& key) {
  std::smatch match;
  const std::regex pattern("\"" + key + "\": (\"(?:[^\"\\\\]|\\\\.)*\"|[-+0-9.eE]+|null|true|false)");
  if (!std::regex_search(json, match, pattern)) return std::nullopt;
  return match[1].str();
}

// A JSON value for the page: strings unquoted (escapes kept as they are),
// numbers as written.
std::string Shown(const std::string& value) {
  if (value.size() >= 2 && value.front() == '"') return value.substr(1, value.size() - 2);
  return value;
}

// A table row per (label, key) present in `json`.
std::string FigureRows(const std::string& json, const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string rows;
  for (const auto& [label, key] : fields) {
    const std::optional<std::string> value = JsonField(json, key);
    if (!value.has_value()) continue;
    absl::StrAppend(&rows, "<tr><th>", HtmlEscape(label), "</th><td>", HtmlEscape(Shown(*value)), "</td></tr>\n");
  }
  return rows;
}

// A table row per figure the env reported in the evaluator's last round
// (FinalEnvFigures), by name; none for an env without its own figures.
std::string EnvFigureRows(const std::string& run_dir) {
  std::string rows;
  for (const auto& [name, value] : FinalEnvFigures(run_dir)) {
    absl::StrAppend(&rows, "<tr><th>final ", HtmlEscape(name), "</th><td>", absl::StrFormat("%g", value),
                    "</td></tr>\n");
  }
  return rows;
}

// A self-play run's last rated round (actor/evaluator.h): its version's
// rating and the games won, drawn and lost against each kind of opponent,
// as table rows; none for a run whose evaluator rates nothing. The rating
// curve is the plot self_play_by_env_steps.png.
std::string SelfPlayRows(const std::string& run_dir) {
  const std::vector<std::map<std::string, double>> rounds = ReadScalarLog(run_dir + "/metrics/evaluator.jsonl");
  for (auto round = rounds.rbegin(); round != rounds.rend(); ++round) {
    const auto rating = round->find("rating");
    if (rating == round->end()) continue;
    std::string rows = absl::StrFormat(
        "<tr><th>final rating</th><td>%.0f (Elo scale, scripted player 1000)</td></tr>\n", rating->second);
    constexpr std::pair<const char*, const char*> kOpponents[] = {{"scripted", "the scripted player"},
                                                                  {"past", "past versions"}};
    for (const auto& [opponent_name, label] : kOpponents) {
      // A copy: C++17 (the clang checks' standard) cannot capture a binding.
      const char* const opponent = opponent_name;
      const auto rate = [&](const char* outcome) {
        const auto found = round->find(absl::StrCat(opponent, "/", outcome));
        return found == round->end() ? 0.0 : 100 * found->second;
      };
      if (round->count(absl::StrCat(opponent, "/win_rate")) == 0) continue;
      absl::StrAppend(&rows, "<tr><th>final games against ", label, "</th><td>",
                      absl::StrFormat("won %.0f%%, drawn %.0f%%, lost %.0f%%", rate("win_rate"), rate("draw_rate"),
                                      rate("loss_rate")),
                      "</td></tr>\n");
    }
    return rows;
  }
  return "";
}

// The parameter version a video is named by (actor/evaluator.cc:
// "v000120_return_-150.2.mp4"), -1 for another name. By number, not by
// name: the zero padding ends at a million versions.
int64_t VideoVersion(const std::string& name) {
  int64_t version = -1;
  const size_t end = name.find('_');
  if (name.empty() || name[0] != 'v' || end == std::string::npos) return -1;
  if (!absl::SimpleAtoi(name.substr(1, end - 1), &version)) return -1;
  return version;
}

// A path relative to the page, as an attribute value: each part escaped
// for HTML (file names are the run's own: versions, returns).
std::string RelativeLink(const std::string& folder, const std::string& name) {
  return HtmlEscape(absl::StrCat(folder, "/", name));
}

// A warning when more than kReportEnvErrorFraction of the env steps in
// `figures` (summary.json or progress.json) failed; empty otherwise.
std::string EnvErrorWarning(const std::string& figures) {
  double errors = 0, steps = 0;
  if (!absl::SimpleAtod(JsonField(figures, "env_errors").value_or("0"), &errors) ||
      !absl::SimpleAtod(JsonField(figures, "env_steps").value_or("0"), &steps) || steps <= 0 ||
      errors <= kReportEnvErrorFraction * steps) {
    return "";
  }
  return absl::StrFormat(
      "<p class=\"warning\" id=\"env-errors\">Env errors: the env failed %.0f of %.0f env steps (%.1f%%). Each "
      "failed step reset its env and dropped its item; the actors' logs (logs/actor-*.log) name each error, and "
      "<code>rill launch --max_env_error_fraction</code> fails a run with too many.</p>\n",
      errors, steps, 100 * errors / steps);
}

// The plots the launcher draws (cli/plot_run.py) in the page's order, each
// with its caption; a wide one (a page of panels) takes a row of its own,
// two others share one.
struct ShownPlot {
  const char* name;
  const char* caption;
  bool wide;
};
constexpr ShownPlot kShownPlots[] = {
    {"training_return_by_env_steps.png",
     "Training return: each episode the actors finished, its running mean, and the evaluations", true},
    {"eval_return_by_env_steps.png", "Evaluation return by env steps (the first round: the untrained policy)",
     false},
    {"eval_return_by_time.png", "Evaluation return by wall-clock time", false},
    {"env_steps_per_second.png", "Env steps per second", false},
    {"updates_per_second.png", "Learner updates per second", false},
    {"env_figures_by_env_steps.png", "The env's own figures per evaluation round", true},
    {"self_play_by_env_steps.png", "Self-play: rating and games per evaluation round", true},
    {"learner_statistics.png", "Learner losses and statistics by update", true},
};

// One plot as a figure: id "plot-<name without .png>", the image linked
// to itself, and its caption.
std::string PlotFigure(const std::string& name, const std::string& caption, bool wide) {
  const std::string link = RelativeLink("plots", name);
  return absl::StrCat("<figure id=\"plot-", HtmlEscape(std::string(absl::StripSuffix(name, ".png"))), "\"",
                      wide ? " class=\"wide\"" : "", "><a href=\"", link, "\"><img src=\"", link, "\" alt=\"",
                      HtmlEscape(name), "\"></a><figcaption>", HtmlEscape(caption), "</figcaption></figure>\n");
}

// The plots in <run_dir>/plots: the known ones in kShownPlots' order, then
// any other PNG by name.
std::string PlotFigures(const std::string& run_dir) {
  std::vector<std::string> names = FilesIn(run_dir + "/plots", ".png");
  std::string figures;
  for (const ShownPlot& plot : kShownPlots) {
    const auto found = std::find(names.begin(), names.end(), plot.name);
    if (found == names.end()) continue;
    names.erase(found);
    absl::StrAppend(&figures, PlotFigure(plot.name, plot.caption, plot.wide));
  }
  for (const std::string& name : names) absl::StrAppend(&figures, PlotFigure(name, name, false));
  return figures;
}

// Where a resumed run's parts began (plots/resumes.csv), which the plots
// mark with dashed lines; empty for a run of one part.
std::string ResumeNote(const std::string& run_dir) {
  absl::StatusOr<std::vector<RunHistory::Resume>> resumes = ReadResumes(run_dir + "/plots");
  if (!resumes.ok() || resumes->empty()) return "";
  std::string parts;
  for (size_t i = 0; i < resumes->size(); ++i) {
    const RunHistory::Resume& resume = (*resumes)[i];
    absl::StrAppendFormat(&parts, "%spart %d went on from %d env steps and %.0f updates, %.0f s in",
                          i == 0 ? "" : "; ", i + 2, resume.env_steps, resume.learner_updates, resume.seconds);
  }
  return absl::StrCat("<p id=\"resumes\">Resumed ", resumes->size(), resumes->size() == 1 ? " time" : " times",
                      " (<code>rill launch --resume</code>): ", parts,
                      ". A dashed red line marks each resume on the plots.</p>\n");
}

constexpr char kStyle[] = R"(<style>
body { font-family: sans-serif; margin: 1.5em; color: #222; max-width: 1300px; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; } th, td { text-align: left; padding: 2px 12px 2px 0; vertical-align: top; }
th { font-weight: 600; color: #555; }
pre { background: #f6f6f6; padding: 8px; overflow-x: auto; font-size: 0.85em; }
.plots { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 12px; align-items: start; }
.plots figure { margin: 0; min-width: 0; }
.plots figure.wide { grid-column: 1 / -1; }
.plots img { display: block; width: 100%; height: auto; border: 1px solid #ddd; box-sizing: border-box; }
.plots figure.wide img { width: auto; max-width: 100%; }
.plots figcaption { font-size: 0.9em; color: #555; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.videos figure { display: inline-block; margin: 4px 12px 12px 0; }
.missing { color: #888; font-style: italic; }
.warning { background: #fff3cd; border: 1px solid #e0a800; padding: 8px; font-weight: 600; }
#media-status { color: #a00; font-weight: 600; }
</style>
)";

// Counts the page's images and videos as they load or fail, and writes the
// tally into <body data-media>: "loaded I/N images, V/M videos; failed:
// names"; and into #media-status, shown at the head of the page, only when
// something failed. Once every image has loaded or failed, measures the
// plots' layout into <body data-plot-gap>: the most blank pixels between a
// plot and the next one below it (or the end of the plots).
constexpr char kMediaScript[] = R"(<script>
(function () {
  var images = Array.prototype.slice.call(document.images);
  var videos = Array.prototype.slice.call(document.getElementsByTagName('video'));
  var loadedImages = 0, settledImages = 0, loadedVideos = 0, failed = [];
  function plotGap() {
    var grid = document.querySelector('.plots');
    if (!grid) return 0;
    var figures = Array.prototype.slice.call(grid.getElementsByTagName('figure'));
    var end = grid.getBoundingClientRect().bottom, gap = 0;
    figures.forEach(function (f) {
      var a = f.getBoundingClientRect(), below = end;
      figures.forEach(function (g) {
        var b = g.getBoundingClientRect();
        if (g !== f && b.top >= a.bottom - 1 && b.left < a.right && b.right > a.left) below = Math.min(below, b.top);
      });
      gap = Math.max(gap, below - a.bottom);
    });
    return Math.round(gap);
  }
  function show() {
    var text = 'loaded ' + loadedImages + '/' + images.length + ' images, ' + loadedVideos + '/' + videos.length +
        ' videos' + (failed.length ? '; failed: ' + failed.join(' ') : '');
    var status = document.getElementById('media-status');
    status.textContent = failed.length ? 'Not every plot or video loaded: ' + text : '';
    status.hidden = !failed.length;
    document.body.setAttribute('data-media', text);
    if (settledImages === images.length) document.body.setAttribute('data-plot-gap', plotGap());
  }
  images.forEach(function (img) {
    function done() {
      settledImages++;
      if (img.naturalWidth > 0) { loadedImages++; } else { failed.push(img.getAttribute('src')); }
      show();
    }
    if (img.complete) { done(); } else { img.addEventListener('load', done); img.addEventListener('error', done); }
  });
  videos.forEach(function (video) {
    var counted = false;
    function loaded() { if (!counted) { counted = true; loadedVideos++; show(); } }
    function error() {
      if (counted) return;
      counted = true;
      failed.push(video.getAttribute('src') + (video.error ? ' (media error ' + video.error.code + ')' : ''));
      show();
    }
    if (video.readyState >= 2) { loaded(); } else { video.addEventListener('loadeddata', loaded); video.addEventListener('error', error); }
  });
  show();
})();
</script>
)";

}  // namespace

std::map<std::string, double> FinalEnvFigures(const std::string& run_dir) {
  const std::vector<std::map<std::string, double>> rounds = ReadScalarLog(run_dir + "/metrics/evaluator.jsonl");
  std::map<std::string, double> figures;
  if (rounds.empty()) return figures;
  for (const auto& [field, value] : rounds.back()) {
    absl::string_view name = field;
    if (absl::ConsumePrefix(&name, "env/")) figures[std::string(name)] = value;
  }
  return figures;
}

std::string ReportPath(const std::string& run_dir) { return run_dir + "/report.html"; }

std::string HtmlEscape(const std::string& text) {
  std::string escaped;
  escaped.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': escaped += "&amp;"; break;
      case '<': escaped += "&lt;"; break;
      case '>': escaped += "&gt;"; break;
      case '"': escaped += "&quot;"; break;
      case '\'': escaped += "&#39;"; break;
      default: escaped += c;
    }
  }
  return escaped;
}

std::string RunReportHtml(const std::string& run_dir) {
  const std::optional<std::string> identity = ReadText(run_dir + "/run.json");
  const std::optional<std::string> summary = ReadText(run_dir + "/summary.json");
  const std::optional<std::string> progress = ReadText(run_dir + "/progress.json");
  const std::optional<std::string> config = ReadText(run_dir + "/config.textpb");
  const std::string id = identity.value_or("");
  const std::string config_name = Shown(JsonField(id, "config_name").value_or("\"run\""));

  std::string html = absl::StrCat("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>",
                                  HtmlEscape(config_name), " - rill run report</title>\n", kStyle, "</head>\n<body>\n");
  absl::StrAppend(&html, "<h1>", HtmlEscape(config_name), "</h1>\n<p id=\"media-status\" hidden></p>\n");
  absl::StrAppend(&html, EnvErrorWarning(summary.value_or(progress.value_or(""))));

  absl::StrAppend(&html, "<h2>Run</h2>\n");
  if (identity.has_value()) {
    absl::StrAppend(&html, "<table>\n",
                    FigureRows(id, {{"env", "env"},
                                    {"algorithm", "algorithm"},
                                    {"seed", "seed"},
                                    {"started", "started_at"},
                                    {"host", "host"},
                                    {"rill commit", "rill_commit"},
                                    {"config file", "config_file"}}),
                    "</table>\n");
  } else {
    absl::StrAppend(&html, "<p class=\"missing\">No run.json in this folder.</p>\n");
  }

  absl::StrAppend(&html, "<h2>", summary.has_value() ? "Summary" : "Progress (the run is going on)", "</h2>\n");
  const std::optional<std::string>& figures = summary.has_value() ? summary : progress;
  if (figures.has_value()) {
    absl::StrAppend(&html, "<table>\n",
                    FigureRows(*figures, {{"env steps", "env_steps"},
                                          {"env errors", "env_errors"},
                                          {"env error fraction", "env_error_fraction"},
                                          {"learner updates", "learner_updates"},
                                          {"wall seconds", "wall_seconds"},
                                          {"env steps / s", "env_steps_per_second"},
                                          {"updates / s", "updates_per_second"},
                                          {"final evaluation return", "eval_return_mean"},
                                          {"evaluation episodes", "eval_episodes"},
                                          {"final evaluation", "final_eval"},
                                          {"actor restarts", "actor_restarts"},
                                          {"replay restarts", "replay_restarts"},
                                          {"learner restarts", "learner_restarts"},
                                          {"resumes", "resumes"}}),
                    EnvFigureRows(run_dir), SelfPlayRows(run_dir), "</table>\n<details><summary>",
                    summary.has_value() ? "summary.json" : "progress.json",
                    "</summary><pre>", HtmlEscape(*figures), "</pre></details>\n");
  } else {
    absl::StrAppend(&html, "<p class=\"missing\">No summary or progress yet.</p>\n");
  }

  absl::StrAppend(&html, "<h2>Plots</h2>\n");
  const std::string plots = PlotFigures(run_dir);
  if (plots.empty()) {
    absl::StrAppend(&html, "<p class=\"missing\">No plots yet (they are drawn when the run ends).</p>\n");
  } else {
    absl::StrAppend(&html, ResumeNote(run_dir), "<div class=\"plots\">\n", plots, "</div>\n");
  }

  absl::StrAppend(&html, "<h2>Videos</h2>\n");
  std::vector<std::string> videos = FilesIn(run_dir + "/videos", ".mp4");
  std::sort(videos.begin(), videos.end(), [](const std::string& a, const std::string& b) {
    return std::make_pair(VideoVersion(a), a) > std::make_pair(VideoVersion(b), b);
  });
  if (videos.empty()) {
    absl::StrAppend(&html, "<p class=\"missing\">No videos (eval { video_every_seconds: ... } records them).</p>\n");
  } else {
    if (static_cast<int>(videos.size()) > kReportVideos) {
      absl::StrAppend(&html, "<p>The newest ", kReportVideos, " of ", videos.size(), " videos (all are in videos/).</p>\n");
      videos.resize(kReportVideos);
    }
    absl::StrAppend(&html, "<div class=\"videos\">\n");
    for (const std::string& video : videos) {
      absl::StrAppend(&html, "<figure><video controls muted preload=\"auto\" width=\"320\" src=\"",
                      RelativeLink("videos", video), "\"></video><figcaption>", HtmlEscape(video),
                      "</figcaption></figure>\n");
    }
    absl::StrAppend(&html, "</div>\n");
  }

  absl::StrAppend(&html, "<h2>Config</h2>\n");
  if (config.has_value()) {
    absl::StrAppend(&html, "<pre>", HtmlEscape(*config), "</pre>\n");
  } else {
    absl::StrAppend(&html, "<p class=\"missing\">No config.textpb in this folder.</p>\n");
  }
  absl::StrAppend(&html, kMediaScript, "</body>\n</html>\n");
  return html;
}

absl::Status WriteRunReport(const std::string& run_dir) {
  return WriteFileAtomically(ReportPath(run_dir), RunReportHtml(run_dir));
}

}  // namespace rill::cli
