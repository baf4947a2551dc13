// Every rule of one replay table's config, in one place. Table::Create (a
// shard at start-up, for any table it is given) and experiment config
// finalization (every process, naming the config field) both apply them,
// so a config the launcher accepts is one every shard accepts, and the two
// cannot drift.
//
// Thread-safe: pure functions.
#ifndef RILL_REPLAY_TABLE_CONFIG_H_
#define RILL_REPLAY_TABLE_CONFIG_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/invalid_field.h"
#include "proto/config.pb.h"

namespace rill::replay {

// The name of the selector a config chooses, or "uniform" when it leaves
// it to the default: the oneof case's field name, as messages report it.
std::string SelectorName(const v1::TableConfig& config);

// The first rule `config` breaks, or nullopt. Fields are relative to the
// table ("remover", "rate_limiter.error_buffer"). The rules: a name; a
// valid signature; each compression entry names a column of the signature
// (once), a known codec and, for ZSTD, a level in range (column_codec.h),
// for items of at most 1 GiB; share_planes only with codec NONE, on items
// of rank >= 3 or with a plane_size that divides them, planes of one size
// in every such column, and no more planes than PlanePool's ids;
// plane_size only with share_planes; the lowest_priority remover only with the prioritized
// selector; max_times_sampled >= 0, and at most 1 for a fifo queue; the
// prioritized selector's exponents within range; the rate
// limiter's own rules; samples_per_insert no higher than max_times_sampled
// (items would leave before they could be sampled that often: deadlock);
// max_size > 0 and max_bytes >= 0, a capacity of at least one item and at
// most kMaxSlots, whose storage fits in this machine's memory (compressed
// columns counted as is, or at max_bytes when set);
// min_size_to_sample within the capacity.
std::optional<FieldIssue> FindTableConfigIssue(const v1::TableConfig& config);

// InvalidArgument "table '<name>': <field> <why>" for the first broken rule.
absl::Status CheckTableConfig(const v1::TableConfig& config);

// Most items, and most payload bytes, one Sample may ask for: Table's
// kMaxSampleBatchSize and kMaxSampleBytes (table.h, which builds on this
// header), for the config's rules.
inline constexpr int64_t kMaxSampleBatchItems = int64_t{1} << 20;
inline constexpr int64_t kMaxSampleBatchBytes = int64_t{1} << 30;

// Bytes of one SampleResponse of `batch_size` items of the table, as a shard
// estimates it before it accepts a Sample stream. For a valid config and a
// batch FindSampleBatchIssue finds no issue with (no overflow then).
int64_t SampleBatchBytes(const v1::TableConfig& config, int64_t batch_size);

// Why batches of `batch_size` items cannot be sampled from the table (a
// valid config) through messages of at most `max_message_bytes`, or
// nullopt: out of 1..kMaxSampleBatchItems, over kMaxSampleBatchBytes of
// payload or the message limit, or above the capacity of a fifo table.
// `field` is empty: the issue is the batch size's.
std::optional<FieldIssue> FindSampleBatchIssue(const v1::TableConfig& config, int64_t batch_size,
                                               int64_t max_message_bytes);

// Bytes of one plane of the table's share_planes columns (plane_size
// elements, or an item's last two dimensions), or 0 when no column shares
// planes. For a config that
// passes CheckTableConfig.
int64_t SharedPlaneBytes(const v1::TableConfig& config);
// Whether `column` shares planes (its compression entry says share_planes).
bool SharesPlanes(const v1::TableConfig& config, const std::string& column);

// The items the table holds at most: max_size, lowered to what max_bytes
// allows when no column is compressed or shares planes (with one, max_bytes
// bounds the bytes as stored instead, and a table that reaches it holds
// fewer). For a
// config that passes CheckTableConfig (not checked again).
int64_t TableCapacity(const v1::TableConfig& config);

// Table `table` of policy `policy` (config.policies: each policy's items go
// to tables of their own): "<table>.<policy>", or `table` itself for the
// unnamed policy of a run without policies.
std::string PolicyTableName(const std::string& table, const std::string& policy);

}  // namespace rill::replay

#endif  // RILL_REPLAY_TABLE_CONFIG_H_
