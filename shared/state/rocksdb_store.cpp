#include "state/rocksdb_store.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <rocksdb/write_buffer_manager.h>

#include <fstream>
#include <stdexcept>

#include "common/bytes.h"

namespace sw::state {

namespace {
void local_prefix(std::string& out, std::int32_t partition) {
  bytes::put_sortable_u32(out, static_cast<std::uint32_t>(partition));
}
void local_key(std::string& out, std::int32_t partition, const WindowKey& k) {
  out.clear();
  local_prefix(out, partition);
  bytes::put_sortable_i64(out, k.end);
  bytes::put_sortable_i64(out, k.start);
  out.append(k.key);
}
}  // namespace

void encode_changelog_key(std::string& out, const WindowKey& k) {
  out.clear();
  out += kChangelogDataType;
  bytes::put_sortable_i64(out, k.end);
  bytes::put_sortable_i64(out, k.start);
  out.append(k.key);
}

bool decode_changelog_key(std::string_view in, WindowKey& k) {
  if (in.size() < 17 || in[0] != kChangelogDataType) return false;
  k.end = bytes::get_sortable_i64(in.data() + 1);
  k.start = bytes::get_sortable_i64(in.data() + 9);
  k.key = in.substr(17);
  return true;
}

void encode_changelog_value(std::string& out, bool deleted, std::uint32_t generation, std::string_view payload) {
  out.clear();
  out += static_cast<char>(deleted ? 1 : 0);
  bytes::put<std::uint32_t>(out, generation);
  out.append(payload);
}

bool decode_changelog_value(std::string_view in, bool& deleted, std::uint32_t& generation,
                            std::string_view& payload) {
  if (in.size() < 5) return false;
  deleted = in[0] == 1;
  bytes::Reader r(in.substr(1));
  generation = r.get<std::uint32_t>();
  payload = in.substr(5);
  return true;
}

RocksDbResources::RocksDbResources(const RocksDbOptions& options)
    : options_(options), cache_budget_(options.max_cached_entries) {
  cache_ = rocksdb::NewLRUCache(options.block_cache_bytes);
  // Memtables are charged to the block cache, so the two share one budget.
  wbm_ = std::make_shared<rocksdb::WriteBufferManager>(options.write_buffer_bytes, cache_);
}
RocksDbResources::~RocksDbResources() = default;

RocksDbStore::Batch::Batch() : wb_(std::make_unique<rocksdb::WriteBatch>()) {}
RocksDbStore::Batch::~Batch() = default;
RocksDbStore::Batch::Batch(Batch&&) noexcept = default;
RocksDbStore::Batch& RocksDbStore::Batch::operator=(Batch&&) noexcept = default;

void RocksDbStore::Batch::put(std::int32_t partition, const WindowKey& k, std::string_view value) {
  local_key(scratch_, partition, k);
  wb_->Put(scratch_, rocksdb::Slice(value.data(), value.size()));
}
void RocksDbStore::Batch::remove(std::int32_t partition, const WindowKey& k) {
  local_key(scratch_, partition, k);
  wb_->Delete(scratch_);
}
void RocksDbStore::Batch::put_meta(std::int32_t partition, std::string_view meta) {
  scratch_.clear();
  local_prefix(scratch_, partition);
  wb_->Put(scratch_, rocksdb::Slice(meta.data(), meta.size()));
}
void RocksDbStore::Batch::put_raw_changelog(std::int32_t partition, std::string_view changelog_key, bool deleted,
                                            std::string_view payload) {
  WindowKey k;
  if (!decode_changelog_key(changelog_key, k)) return;
  if (deleted)
    remove(partition, k);
  else
    put(partition, k, payload);
}
std::size_t RocksDbStore::Batch::count() const noexcept { return static_cast<std::size_t>(wb_->Count()); }
void RocksDbStore::Batch::clear() { wb_->Clear(); }

RocksDbStore::RocksDbStore(const std::filesystem::path& dir, std::string name, RocksDbResources& resources)
    : dir_(dir), name_(std::move(name)), cache_budget_(&resources.cache_budget()) {
  std::filesystem::create_directories(dir_);
  rocksdb::Options options;
  options.create_if_missing = true;
  options.write_buffer_manager = resources.write_buffers();
  options.max_open_files = 256;
  options.compression = rocksdb::kLZ4Compression;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = resources.block_cache();
  table.cache_index_and_filter_blocks = true;
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  rocksdb::DB* db = nullptr;
  auto status = rocksdb::DB::Open(options, (dir_ / name_).string(), &db);
  if (!status.ok()) {
    // LZ4 may be missing from a RocksDB build; fall back to no compression.
    options.compression = rocksdb::kNoCompression;
    status = rocksdb::DB::Open(options, (dir_ / name_).string(), &db);
  }
  if (!status.ok()) throw std::runtime_error("cannot open state store " + name_ + ": " + status.ToString());
  db_.reset(db);
  std::ifstream in(dir_ / (name_ + ".checkpoint"));
  std::int32_t p;
  std::int64_t off;
  while (in >> p >> off) checkpoints_[p] = off;
}

RocksDbStore::~RocksDbStore() = default;

bool RocksDbStore::get(std::int32_t partition, const WindowKey& k, std::string& value) const {
  std::string key;
  local_key(key, partition, k);
  return db_->Get(rocksdb::ReadOptions(), key, &value).ok();
}

bool RocksDbStore::get_meta(std::int32_t partition, std::string& meta) const {
  std::string key;
  local_prefix(key, partition);
  return db_->Get(rocksdb::ReadOptions(), key, &meta).ok();
}

void RocksDbStore::write(Batch& batch) {
  rocksdb::WriteOptions wo;
  wo.sync = false;
  write_with(batch, wo);
}

void RocksDbStore::write_unlogged(Batch& batch) {
  rocksdb::WriteOptions wo;
  wo.disableWAL = true;
  write_with(batch, wo);
}

void RocksDbStore::write_with(Batch& batch, const rocksdb::WriteOptions& options) {
  if (batch.count() == 0) return;
  const auto s = db_->Write(options, batch.wb_.get());
  if (!s.ok()) throw std::runtime_error("state store " + name_ + " write failed: " + s.ToString());
  batch.clear();
}

void RocksDbStore::flush() {
  rocksdb::FlushOptions fo;
  fo.wait = true;
  const auto s = db_->Flush(fo);
  if (!s.ok()) throw std::runtime_error("state store " + name_ + " flush failed: " + s.ToString());
}

void RocksDbStore::scan_until(std::int32_t partition, TimestampMs end_bound,
                              const std::function<void(const WindowKey&, std::string_view)>& f) const {
  std::string lower, upper;
  local_prefix(lower, partition);
  bytes::put_sortable_i64(lower, INT64_MIN);
  local_prefix(upper, partition);
  bytes::put_sortable_i64(upper, end_bound == INT64_MAX ? INT64_MAX : end_bound + 1);
  rocksdb::ReadOptions ro;
  rocksdb::Slice upper_slice(upper);
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
  for (it->Seek(lower); it->Valid(); it->Next()) {
    const auto key = it->key();
    if (key.size() < 20) continue;
    WindowKey k;
    k.end = bytes::get_sortable_i64(key.data() + 4);
    k.start = bytes::get_sortable_i64(key.data() + 12);
    k.key = std::string_view(key.data() + 20, key.size() - 20);
    f(k, std::string_view(it->value().data(), it->value().size()));
  }
}

void RocksDbStore::wipe_partition(std::int32_t partition) {
  std::string lower, upper;
  local_prefix(lower, partition);
  local_prefix(upper, partition + 1);
  db_->DeleteRange(rocksdb::WriteOptions(), db_->DefaultColumnFamily(), lower, upper);
  clear_checkpoint(partition);
}

std::uint64_t RocksDbStore::approximate_keys() const {
  std::uint64_t n = 0;
  db_->GetIntProperty("rocksdb.estimate-num-keys", &n);
  return n;
}

std::uint64_t RocksDbStore::approximate_bytes() const {
  std::uint64_t live = 0, mem = 0;
  db_->GetIntProperty("rocksdb.estimate-live-data-size", &live);
  db_->GetIntProperty("rocksdb.cur-size-all-mem-tables", &mem);
  return live + mem;
}

std::optional<std::int64_t> RocksDbStore::checkpoint(std::int32_t partition) const {
  std::lock_guard lock(checkpoint_mu_);
  auto it = checkpoints_.find(partition);
  if (it == checkpoints_.end()) return std::nullopt;
  return it->second;
}

void RocksDbStore::set_checkpoint(std::int32_t partition, std::int64_t offset) {
  std::lock_guard lock(checkpoint_mu_);
  checkpoints_[partition] = offset;
  save_checkpoints();
}

void RocksDbStore::set_checkpoints(const std::vector<std::pair<std::int32_t, std::int64_t>>& offsets) {
  if (offsets.empty()) return;
  std::lock_guard lock(checkpoint_mu_);
  for (const auto& [p, off] : offsets) checkpoints_[p] = off;
  save_checkpoints();
}

void RocksDbStore::clear_checkpoint(std::int32_t partition) {
  std::lock_guard lock(checkpoint_mu_);
  if (checkpoints_.erase(partition)) save_checkpoints();
}

void RocksDbStore::save_checkpoints() const {
  const auto path = dir_ / (name_ + ".checkpoint");
  const auto tmp = dir_ / (name_ + ".checkpoint.tmp");
  {
    std::ofstream out(tmp, std::ios::trunc);
    for (const auto& [p, off] : checkpoints_) out << p << ' ' << off << '\n';
  }
  std::filesystem::rename(tmp, path);
}

}  // namespace sw::state
