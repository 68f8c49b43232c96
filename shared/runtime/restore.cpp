#include "runtime/restore.h"

#include <stdexcept>
#include <vector>

#include "common/bytes.h"

namespace sw {

namespace {
struct Pending {
  std::string key;
  std::string payload;
  bool deleted;
  std::uint32_t generation;
};
}  // namespace

RestoreResult restore_partition(state::RocksDbStore& store, std::int32_t partition, ChangelogReader& reader) {
  RestoreResult result;
  std::int64_t low = 0, high = 0;
  if (!reader.bounds(low, high)) throw std::runtime_error("cannot read changelog bounds");
  auto checkpoint = store.checkpoint(partition);
  // A checkpoint before the log start means records we never saw were dropped by retention.
  if (!checkpoint || *checkpoint < low || *checkpoint > high) {
    store.wipe_partition(partition);
    checkpoint = low;
    result.full = true;
  }
  result.start_offset = *checkpoint;
  result.end_offset = high;
  std::string local_meta;
  if (store.get_meta(partition, local_meta) && !result.full) {
    result.has_meta = true;
    result.meta = local_meta;
  }
  std::vector<Pending> pending;
  state::RocksDbStore::Batch batch;
  std::int64_t applied_until = *checkpoint;
  std::uint32_t last_generation = 0;
  bool saw_marker = false;
  if (*checkpoint < high) {
    const bool ok = reader.read(*checkpoint, high, [&](std::int64_t offset, std::string_view key, std::string_view value) {
      ++result.records;
      if (key.size() == 1 && key[0] == state::kChangelogMarkerType) {
        bytes::Reader r(value);
        const auto gen = r.get<std::uint32_t>();
        if (!r.ok()) return;
        for (auto& p : pending) {
          if (p.generation != gen) {
            ++result.discarded;
            continue;
          }
          batch.put_raw_changelog(partition, p.key, p.deleted, p.payload);
        }
        pending.clear();
        const auto meta = value.substr(4);
        batch.put_meta(partition, meta);
        store.write(batch);
        result.has_meta = true;
        result.meta.assign(meta);
        last_generation = gen;
        saw_marker = true;
        applied_until = offset + 1;
        return;
      }
      bool deleted = false;
      std::uint32_t gen = 0;
      std::string_view payload;
      if (!state::decode_changelog_value(value, deleted, gen, payload)) return;
      pending.push_back({std::string(key), std::string(payload), deleted, gen});
    });
    if (!ok) throw std::runtime_error("changelog read failed");
  }
  result.discarded += pending.size();
  if (saw_marker) result.generation = last_generation;
  store.set_checkpoint(partition, applied_until);
  return result;
}

}  // namespace sw
