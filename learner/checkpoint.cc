#include "learner/checkpoint.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "torch/torch.h"

namespace rill::learner {

namespace fs = std::filesystem;

absl::Status WriteCheckpoint(const std::string& dir,
                             const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                             const v1::ParameterSet& policy,
                             const std::vector<std::pair<std::string, std::string>>& files) {
  const fs::path final_dir = fs::path(dir).lexically_normal();
  if (final_dir.filename().empty()) return absl::InvalidArgumentError(absl::StrCat("bad checkpoint folder '", dir, "'"));
  const fs::path staging = fs::path(final_dir.string() + ".saving");
  const fs::path previous = fs::path(final_dir.string() + ".previous");
  std::error_code error;
  fs::remove_all(staging, error);
  fs::create_directories(staging, error);
  if (error) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create checkpoint folder '", staging.string(), "': ", error.message()));
  }
  try {
    torch::serialize::OutputArchive archive;
    for (const auto& [name, tensor] : tensors) archive.write(name, tensor.detach().to(torch::kCPU));
    archive.save_to((staging / kCheckpointStateFile).string());
  } catch (const c10::Error& e) {
    fs::remove_all(staging, error);
    return absl::InternalError(
        absl::StrCat("cannot write checkpoint to '", staging.string(), "': ", e.what_without_backtrace()));
  }
  {
    std::ofstream out(staging / kCheckpointPolicyFile, std::ios::binary | std::ios::trunc);
    if (!out || !policy.SerializeToOstream(&out) || !out.flush()) {
      fs::remove_all(staging, error);
      return absl::InternalError(absl::StrCat("cannot write the policy to '", staging.string(), "'"));
    }
  }
  for (const auto& [name, bytes] : files) {
    std::ofstream out(staging / name, std::ios::binary | std::ios::trunc);
    if (!out || !out.write(bytes.data(), static_cast<std::streamsize>(bytes.size())) || !out.flush()) {
      fs::remove_all(staging, error);
      return absl::InternalError(absl::StrCat("cannot write ", name, " to '", staging.string(), "'"));
    }
  }
  // Swap the finished folder in; the older checkpoint goes only after.
  fs::remove_all(previous, error);
  error.clear();
  if (fs::exists(final_dir)) fs::rename(final_dir, previous, error);
  if (!error) fs::rename(staging, final_dir, error);
  if (error) {
    return absl::InternalError(absl::StrCat("cannot install checkpoint '", final_dir.string(), "': ", error.message()));
  }
  fs::remove_all(previous, error);
  return absl::OkStatus();
}

bool RecoverCheckpoint(const std::string& dir) {
  const fs::path final_dir = fs::path(dir).lexically_normal();
  const fs::path previous = fs::path(final_dir.string() + ".previous");
  std::error_code error;
  if (fs::exists(final_dir, error)) return true;
  if (!fs::exists(previous / kCheckpointStateFile, error)) return false;
  fs::rename(previous, final_dir, error);
  return !error;
}

absl::StatusOr<std::map<std::string, torch::Tensor>> ReadCheckpointState(const std::string& dir) {
  const fs::path file = fs::path(dir) / kCheckpointStateFile;
  if (!fs::exists(file)) return absl::NotFoundError(absl::StrCat("no learner checkpoint in '", dir, "'"));
  std::map<std::string, torch::Tensor> tensors;
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(file.string());
    for (const std::string& key : archive.keys()) {
      torch::Tensor value;
      archive.read(key, value);
      tensors[key] = value;
    }
  } catch (const c10::Error& e) {
    return absl::DataLossError(absl::StrCat("cannot read checkpoint '", file.string(), "': ", e.what_without_backtrace()));
  }
  return tensors;
}

absl::StatusOr<v1::ParameterSet> ReadCheckpointPolicy(const std::string& dir) {
  const fs::path file = fs::path(dir) / kCheckpointPolicyFile;
  std::ifstream in(file, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("no exported policy in '", dir, "' (", file.string(), " is missing)"));
  v1::ParameterSet policy;
  if (!policy.ParseFromIstream(&in)) {
    return absl::DataLossError(absl::StrCat("cannot parse the policy in '", file.string(), "'"));
  }
  return policy;
}

absl::StatusOr<std::string> ReadCheckpointFile(const std::string& dir, const std::string& name) {
  const fs::path file = fs::path(dir) / name;
  std::ifstream in(file, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("no ", name, " in '", dir, "'"));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return absl::DataLossError(absl::StrCat("cannot read '", file.string(), "'"));
  return bytes;
}

}  // namespace rill::learner
