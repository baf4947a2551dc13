// The run report page: <run_dir>/report.html, one self-contained HTML file
// that shows a `rill launch` run from its folder alone, offline: what ran
// (run.json), how far it got (summary.json at the end, progress.json while
// it runs) with the env's own figures from the evaluator's last round
// (metrics/evaluator.jsonl), a warning at its head when more than
// kReportEnvErrorFraction of its env steps failed, the config it used
// (config.textpb), the plots the launcher drew (plots/*.png: each a
// <figure id="plot-NAME"> with its caption, the training return first, two a row or a wide one alone, and a
// note of the run's resumes from plots/resumes.csv) and the evaluator's
// latest videos (videos/*.mp4, newest version first). Every link is
// relative, nothing is fetched from outside the folder, and every text from
// the folder is HTML-escaped.
//
// The page checks itself when opened: a small inline script counts the
// images and videos that loaded and those that failed (attribute
// data-media on <body>; element #media-status, at the page's head, says
// so only when something failed) and, once the images are in, measures
// the most blank pixels below a plot (data-plot-gap), which
// tests/report_test.cc reads from headless Chromium.
//
// The launcher writes it at every progress line and once more after the
// summary. Thread-compatible: pure functions over the file system.
#ifndef RILL_CLI_RUN_REPORT_H_
#define RILL_CLI_RUN_REPORT_H_

#include <map>
#include <string>

#include "absl/status/status.h"

namespace rill::cli {

// The most videos a report shows (the newest).
inline constexpr int kReportVideos = 4;

// The share of failed env steps above which the page warns at its head.
inline constexpr double kReportEnvErrorFraction = 0.01;

// <run_dir>/report.html.
std::string ReportPath(const std::string& run_dir);

// The page for the run in `run_dir`, as it stands. Missing parts (no
// summary yet, no plots, no videos) are said so on the page.
std::string RunReportHtml(const std::string& run_dir);

// Writes RunReportHtml(run_dir) to ReportPath(run_dir) atomically (a
// reader never sees half a page): WriteFileAtomically's errors, naming the
// file.
absl::Status WriteRunReport(const std::string& run_dir);

// The figures the env reported in the run's last evaluation round, by name
// (the "env/NAME" fields of <run_dir>/metrics/evaluator.jsonl, written by
// actor/evaluator.cc): cooperative navigation's landmark_distance, ...;
// empty for an env without its own figures or a run without rounds.
std::map<std::string, double> FinalEnvFigures(const std::string& run_dir);

// `text` with &, <, >, " and ' escaped for HTML text and attributes.
std::string HtmlEscape(const std::string& text);

}  // namespace rill::cli

#endif  // RILL_CLI_RUN_REPORT_H_
