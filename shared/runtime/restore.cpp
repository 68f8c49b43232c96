#include "runtime/restore.h"

#include <algorithm>
#include <exception>
#include <map>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "common/bytes.h"

namespace sw {

namespace {

// A changelog data record held in a partition's arena.
struct Rec {
  std::uint64_t prefix = 0;  // 8 key bytes after the common prefix, big-endian (sort shortcut)
  std::size_t key_off = 0, val_off = 0;
  std::uint32_t key_len = 0, val_len = 0;
  std::uint32_t seq = 0;     // arrival order: the later write of a key wins
  std::uint32_t generation = 0;
  bool deleted = false;
};

struct PartitionRestore {
  RestoreResult result;
  std::int64_t high = 0;
  std::int64_t applied_until = 0;  // just after the last applied marker
  std::string arena;               // key and value bytes of pending and complete records
  std::vector<Rec> pending;        // records of the flush in progress (no marker yet)
  std::vector<Rec> complete;       // records of complete flushes, not yet written
  bool meta_dirty = false;         // result.meta not yet written
  bool saw_marker = false;
  std::uint32_t seq = 0;

  std::string_view key(const Rec& r) const { return std::string_view(arena.data() + r.key_off, r.key_len); }
  std::string_view value(const Rec& r) const { return std::string_view(arena.data() + r.val_off, r.val_len); }
};

// Complete records of one partition, handed to the writer.
struct Chunk {
  std::int32_t partition = 0;
  std::string arena;
  std::vector<Rec> recs;
  bool write_meta = false;
  std::string meta;
  std::string_view key(const Rec& r) const { return std::string_view(arena.data() + r.key_off, r.key_len); }
  std::string_view value(const Rec& r) const { return std::string_view(arena.data() + r.val_off, r.val_len); }
};

// Moves the partition's complete records (and its position, if newer) out; keeps the bytes of
// the flush still in progress.
Chunk take_complete(PartitionRestore& p, std::int32_t partition) {
  Chunk c;
  c.partition = partition;
  c.recs.swap(p.complete);
  c.arena.swap(p.arena);
  p.arena.clear();
  for (auto& r : p.pending) {
    const auto k = c.key(r), v = c.value(r);
    r.key_off = p.arena.size();
    p.arena.append(k);
    r.val_off = p.arena.size();
    p.arena.append(v);
  }
  c.write_meta = p.meta_dirty;
  if (p.meta_dirty) c.meta = p.result.meta;
  p.meta_dirty = false;
  return c;
}

// Sorts a partition's complete records by key (then arrival) and adds the last write of each key
// to the batch. Sorted input makes RocksDB's memtable inserts mostly sequential (its skip list
// resumes the search from the previous insert): 1 M records took 0.33 s to write and 0.16 s to
// sort, against about 1.4 s of random inserts.
void add_sorted(Chunk& c, state::RocksDbStore::Batch& batch) {
  auto& recs = c.recs;
  if (!recs.empty()) {
    // The keys' common prefix (window bounds of one window size often agree) is skipped; the
    // next 8 bytes decide most comparisons without touching the arena.
    const auto first = c.key(recs.front());
    std::size_t common = first.size();
    for (const auto& r : recs) {
      const auto k = c.key(r);
      std::size_t n = std::min(common, k.size()), i = 0;
      while (i < n && k[i] == first[i]) ++i;
      common = i;
      if (common == 0) break;
    }
    for (auto& r : recs) {
      const auto k = c.key(r);
      std::uint64_t v = 0;
      for (std::size_t i = 0; i < 8; ++i)
        v = (v << 8) | (common + i < k.size() ? static_cast<unsigned char>(k[common + i]) : 0u);
      r.prefix = v;
    }
    std::sort(recs.begin(), recs.end(), [&](const Rec& a, const Rec& b) {
      if (a.prefix != b.prefix) return a.prefix < b.prefix;
      const int cmp = c.key(a).substr(common).compare(c.key(b).substr(common));
      if (cmp != 0) return cmp < 0;
      return a.seq < b.seq;
    });
    for (std::size_t i = 0; i < recs.size(); ++i) {
      const auto& r = recs[i];
      if (i + 1 < recs.size() && recs[i + 1].prefix == r.prefix && c.key(recs[i + 1]) == c.key(r)) continue;
      batch.put_raw_changelog(c.partition, c.key(r), r.deleted, c.value(r));
    }
  }
  // The position goes with the data it describes.
  if (c.write_meta) batch.put_meta(c.partition, c.meta);
}

// Sorts and writes batches on a second thread while the changelog is read: the reading thread
// keeps draining the consumer (whose fetching stalls once its read-ahead is full), and the two
// halves of the work share the machine's cores. One batch at a time.
class BatchWriter {
 public:
  explicit BatchWriter(state::RocksDbStore& store) : store_(store) {}
  ~BatchWriter() {
    if (thread_.joinable()) thread_.join();
  }
  BatchWriter(const BatchWriter&) = delete;
  BatchWriter& operator=(const BatchWriter&) = delete;

  void submit(std::vector<Chunk> chunks) {
    wait();
    thread_ = std::thread([this, chunks = std::move(chunks)]() mutable {
      try {
        state::RocksDbStore::Batch batch;
        for (auto& c : chunks) add_sorted(c, batch);
        if (batch.count() > 0) {
          store_.write_unlogged(batch);
          written_ = true;
        }
      } catch (...) {
        error_ = std::current_exception();
      }
    });
  }
  // Waits for the batch in progress; rethrows its failure.
  void wait() {
    if (thread_.joinable()) thread_.join();
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
  }
  bool written() const noexcept { return written_; }

 private:
  state::RocksDbStore& store_;
  std::thread thread_;
  std::exception_ptr error_;
  bool written_ = false;
};

class SingleSource final : public ChangelogSource {
 public:
  SingleSource(ChangelogReader& reader, std::int32_t partition) : reader_(reader), partition_(partition) {}
  bool bounds(std::int32_t, std::int64_t& low, std::int64_t& high) override { return reader_.bounds(low, high); }
  bool read(const std::vector<Range>& ranges, const RecordFn& f) override {
    for (const auto& r : ranges) {
      const bool ok = reader_.read(r.from, r.high, [&](std::int64_t offset, std::string_view key, std::string_view value) {
        f(partition_, offset, key, value);
      });
      if (!ok) return false;
    }
    return true;
  }

 private:
  ChangelogReader& reader_;
  std::int32_t partition_;
};

}  // namespace

std::vector<RestoreResult> restore_partitions(state::RocksDbStore& store, const std::vector<std::int32_t>& partitions,
                                              ChangelogSource& source, const RestoreOptions& options) {
  // Ordered by partition: the batch is then written in key order across partitions too.
  std::map<std::int32_t, PartitionRestore> parts;
  for (const auto p : partitions) parts[p].result.partition = p;
  std::vector<ChangelogSource::Range> ranges;
  for (auto& [partition, p] : parts) {
    std::int64_t low = 0, high = 0;
    if (!source.bounds(partition, low, high)) throw std::runtime_error("cannot read changelog bounds");
    auto checkpoint = store.checkpoint(partition);
    // A checkpoint before the log start means records we never saw were dropped by retention.
    if (!checkpoint || *checkpoint < low || *checkpoint > high) {
      store.wipe_partition(partition);
      checkpoint = low;
      p.result.full = true;
    }
    p.result.start_offset = *checkpoint;
    p.result.end_offset = high;
    p.high = high;
    p.applied_until = *checkpoint;
    std::string local_meta;
    if (!p.result.full && store.get_meta(partition, local_meta)) {
      p.result.has_meta = true;
      p.result.meta = local_meta;
    }
    if (*checkpoint < high) ranges.push_back({partition, *checkpoint, high});
  }

  BatchWriter writer(store);
  std::size_t complete_bytes = 0;
  const auto write_complete = [&] {
    std::vector<Chunk> chunks;
    for (auto& [partition, p] : parts)
      if (!p.complete.empty() || p.meta_dirty) chunks.push_back(take_complete(p, partition));
    if (!chunks.empty()) writer.submit(std::move(chunks));
    complete_bytes = 0;
  };

  if (!ranges.empty()) {
    // The last partition looked up: records usually arrive in runs of one partition.
    PartitionRestore* last = nullptr;
    std::int32_t last_partition = 0;
    const bool ok = source.read(ranges, [&](std::int32_t partition, std::int64_t offset, std::string_view key,
                                            std::string_view value) {
      if (!last || partition != last_partition) {
        const auto it = parts.find(partition);
        if (it == parts.end()) return;
        last = &it->second;
        last_partition = partition;
      }
      auto& p = *last;
      if (offset >= p.high) return;
      ++p.result.records;
      if (key.size() == 1 && key[0] == state::kChangelogMarkerType) {
        bytes::Reader r(value);
        const auto gen = r.get<std::uint32_t>();
        if (!r.ok()) return;
        for (auto& rec : p.pending) {
          if (rec.generation != gen) {
            ++p.result.discarded;
            continue;
          }
          p.complete.push_back(rec);
          complete_bytes += rec.key_len + rec.val_len;
        }
        p.pending.clear();
        p.result.has_meta = true;
        p.result.meta.assign(value.substr(4));
        p.meta_dirty = true;
        p.result.generation = gen;
        p.saw_marker = true;
        p.applied_until = offset + 1;
        if (complete_bytes >= options.batch_bytes) write_complete();
        return;
      }
      bool deleted = false;
      std::uint32_t gen = 0;
      std::string_view payload;
      if (!state::decode_changelog_value(value, deleted, gen, payload)) return;
      Rec rec;
      rec.key_off = p.arena.size();
      rec.key_len = static_cast<std::uint32_t>(key.size());
      p.arena.append(key);
      rec.val_off = p.arena.size();
      rec.val_len = static_cast<std::uint32_t>(payload.size());
      p.arena.append(payload);
      rec.seq = p.seq++;
      rec.generation = gen;
      rec.deleted = deleted;
      p.pending.push_back(rec);
    });
    if (!ok) throw std::runtime_error("changelog read failed");
  }
  write_complete();
  writer.wait();
  // Written without the write-ahead log: durable only once flushed, which must precede the
  // checkpoints that cover it.
  if (writer.written()) store.flush();

  std::vector<std::pair<std::int32_t, std::int64_t>> checkpoints;
  for (auto& [partition, p] : parts) {
    p.result.discarded += p.pending.size();
    if (!p.saw_marker) p.result.generation = 0;
    checkpoints.emplace_back(partition, p.applied_until);
  }
  store.set_checkpoints(checkpoints);

  std::vector<RestoreResult> results;
  results.reserve(partitions.size());
  for (const auto partition : partitions) results.push_back(parts[partition].result);
  return results;
}

RestoreResult restore_partition(state::RocksDbStore& store, std::int32_t partition, ChangelogReader& reader,
                                const RestoreOptions& options) {
  SingleSource source(reader, partition);
  return restore_partitions(store, {partition}, source, options).front();
}

}  // namespace sw
