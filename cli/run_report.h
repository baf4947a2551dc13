// The run report page: <run_dir>/report.html, one self-contained HTML file
// that shows a `rill launch` run from its folder alone, offline: what ran
// (run.json), how far it got (summary.json at the end, progress.json while
// it runs) with the env's own figures from the evaluator's last round
// (metrics/evaluator.jsonl), the config it used (config.textpb), the plots
// the launcher drew (plots/*.png) and the evaluator's latest videos
// (videos/*.mp4, newest version first). Every link is relative, nothing is
// fetched from outside the folder, and every text from the folder is
// HTML-escaped.
//
// The page checks its own media when opened: a small inline script counts
// the images and videos that loaded and those that failed, and writes the
// tally into the page (element #media-status, attribute data-media on
// <body>), which tests/report_test.cc reads from headless Chromium.
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
