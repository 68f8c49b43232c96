#include "runtime/task.h"

#include <charconv>
#include <stdexcept>

#include "common/bytes.h"
#include "metrics/metrics.h"

namespace sw {

std::string TaskMeta::encode() const {
  std::string out;
  bytes::put<std::uint8_t>(out, 2);  // format version
  bytes::put<std::int64_t>(out, input_offset);
  bytes::put<std::uint32_t>(out, static_cast<std::uint32_t>(last_offsets.size()));
  for (std::size_t t = 0; t < last_offsets.size(); ++t) {
    bytes::put<std::uint32_t>(out, static_cast<std::uint32_t>(last_offsets[t].size()));
    for (std::size_t p = 0; p < last_offsets[t].size(); ++p) {
      bytes::put<std::int64_t>(out, last_offsets[t][p]);
      bytes::put<std::uint32_t>(out, t < last_seqs.size() && p < last_seqs[t].size() ? last_seqs[t][p] : 0);
      bytes::put<std::int64_t>(out, t < watermarks.size() && p < watermarks[t].size() ? watermarks[t][p]
                                                                                      : kWatermarkUnknown);
    }
  }
  return out;
}

bool TaskMeta::decode(std::string_view in, TaskMeta& out) {
  bytes::Reader r(in);
  // Version 1 had no sequence numbers: an applied offset covered the whole position.
  const auto version = r.get<std::uint8_t>();
  if (version != 1 && version != 2) return false;
  out.input_offset = r.get<std::int64_t>();
  const auto topics = r.get<std::uint32_t>();
  if (!r.ok() || topics > 65535) return false;
  out.last_offsets.assign(topics, {});
  out.last_seqs.assign(topics, {});
  out.watermarks.assign(topics, {});
  for (std::uint32_t t = 0; t < topics; ++t) {
    const auto parts = r.get<std::uint32_t>();
    if (!r.ok() || parts > 1'000'000) return false;
    for (std::uint32_t p = 0; p < parts; ++p) {
      out.last_offsets[t].push_back(r.get<std::int64_t>());
      out.last_seqs[t].push_back(version == 1 ? UINT32_MAX : r.get<std::uint32_t>());
      out.watermarks[t].push_back(r.get<std::int64_t>());
    }
  }
  return r.ok();
}

std::string encode_commit_metadata(TimestampMs stream_time, bool empty, std::int64_t chunk_end) {
  std::string out = "sw1";
  if (empty) out += ";st=empty";
  else if (stream_time != kNoTimestamp) out += ";st=" + std::to_string(stream_time);
  if (chunk_end >= 0) out += ";pa=" + std::to_string(chunk_end);
  return out;
}

namespace {
bool parse_int64(std::string_view v, std::int64_t& out) {
  const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  return ec == std::errc() && p == v.data() + v.size() && !v.empty();
}
}  // namespace

bool decode_commit_metadata(std::string_view in, TimestampMs& stream_time, bool& empty, std::int64_t& chunk_end) {
  stream_time = kNoTimestamp;
  empty = false;
  chunk_end = -1;
  if (in.substr(0, 3) != "sw1" || (in.size() > 3 && in[3] != ';')) return false;
  std::string_view rest = in.substr(3);
  TimestampMs st = kNoTimestamp;
  bool is_empty = false, seen_st = false, seen_pa = false;
  std::int64_t pa = -1;
  while (!rest.empty()) {
    rest.remove_prefix(1);  // ';'
    const auto end = rest.find(';');
    const auto item = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
    if (item.substr(0, 3) == "st=" && !seen_st) {
      seen_st = true;
      const auto v = item.substr(3);
      if (v == "empty") is_empty = true;
      else if (!parse_int64(v, st)) return false;
    } else if (item.substr(0, 3) == "pa=" && !seen_pa) {
      seen_pa = true;
      if (!parse_int64(item.substr(3), pa) || pa < 0) return false;
    } else {
      return false;
    }
  }
  stream_time = st;
  empty = is_empty;
  chunk_end = pa;
  return true;
}

bool decode_commit_metadata(std::string_view in, TimestampMs& stream_time, bool& empty) {
  std::int64_t chunk_end;
  return decode_commit_metadata(in, stream_time, empty, chunk_end);
}

Task::Task(const Topology& topology, const SubTopologyDef& def, std::int32_t partition, RecordCollector& collector,
           std::map<std::string, state::RocksDbStore*> stores, TaskCounters counters,
           std::vector<std::int32_t> upstream_partitions, TaskMeta restored)
    : topology_(topology),
      def_(def),
      partition_(partition),
      collector_(collector),
      stores_(std::move(stores)),
      counters_(counters),
      meta_(std::move(restored)) {
  if (def.internal_sources) {
    std::size_t total = 0;
    meta_.last_offsets.resize(upstream_partitions.size());
    meta_.last_seqs.resize(upstream_partitions.size());
    meta_.watermarks.resize(upstream_partitions.size());
    for (std::size_t i = 0; i < upstream_partitions.size(); ++i) {
      upstream_base_.push_back(total);
      const auto n = static_cast<std::size_t>(upstream_partitions[i]);
      total += n;
      meta_.last_offsets[i].resize(n, -1);
      meta_.last_seqs[i].resize(n, 0);
      meta_.watermarks[i].resize(n, kWatermarkUnknown);
    }
    upstream_.resize(total);
    for (std::size_t i = 0; i < upstream_partitions.size(); ++i)
      for (std::size_t p = 0; p < meta_.watermarks[i].size(); ++p)
        upstream_.update(upstream_base_[i] + p, meta_.watermarks[i][p]);
  }
  for (const auto& topic : def.source_topics) {
    SourceState s;
    s.node = def.sources.at(topic)(*this);
    for (std::size_t i = 0; i < topology.entry_topics().size(); ++i)
      if (topology.entry_topics()[i] == topic) s.entry_index = static_cast<std::uint16_t>(i);
    if (def.internal_sources && meta_.input_offset >= 0) s.next_offset = Offset::at(meta_.input_offset);
    sources_.push_back(std::move(s));
  }
  applied_event_time_ = upstream_.current();
  if (!pre_aggregators_.empty() && (def.internal_sources || sources_.size() != 1))
    throw std::logic_error("pre-aggregation needs an entry stage with exactly one input topic");
}

Task::~Task() = default;

state::RocksDbStore& Task::store(const std::string& name) {
  auto it = stores_.find(name);
  if (it == stores_.end()) throw std::logic_error("task has no store " + name);
  return *it->second;
}

void Task::process(const InputRecord& rec) {
  std::size_t i = 0;
  if (sources_.size() > 1) {
    while (i < sources_.size() && def_.source_topics[i] != rec.topic) ++i;
    if (i == sources_.size()) return;
  }
  SourceState& s = sources_[i];
  last_source_ = i;
  s.next_offset = Offset::at(rec.offset + 1);
  dirty_ = true;
  if (def_.internal_sources) {
    process_internal(s, rec);
    return;
  }
  current_ = &rec;
  current_source_ = s.node.get();
  if (pre_aggregators_.empty()) {
    s.node->process_external(rec, s.stream_time);
    s.empty = false;
  } else {
    if (chunk_.forced_end >= 0 && rec.offset > chunk_.forced_end) close_chunk();
    if (!chunk_.open) {
      chunk_.open = true;
      chunk_.start = rec.offset;
      chunk_.stream_time_before = s.stream_time;
      chunk_.empty_before = s.empty;
    }
    s.node->process_external(rec, s.stream_time);
    s.empty = false;
    chunk_.last = rec.offset;
    if (chunk_.forced_end >= 0 && rec.offset >= chunk_.forced_end) close_chunk();
  }
  current_ = nullptr;
}

void Task::dead_letter(const std::string& reason) {
  if (current_ && current_source_) current_source_->reject(*current_, reason);
}

void Task::close_chunk() {
  if (chunk_.open) {
    RecordContext rc;
    rc.source_topic = sources_[0].entry_index;
    rc.source_partition = partition_;
    rc.source_offset = chunk_.last;
    rc.entry_stream_time = sources_[0].stream_time;
    // Each pre-aggregator numbers its own partials (its own topic and downstream tasks), so
    // the content of one never shifts the numbers of another.
    for (auto* p : pre_aggregators_) {
      std::uint32_t seq = 0;
      p->flush_partials(rc, seq);
    }
  }
  chunk_.open = false;
  chunk_.forced_end = -1;
  dirty_ = true;
}

bool Task::chunk_intent(OffsetCommit& out) const {
  if (!chunk_.open || chunk_.forced_end >= 0) return false;
  bool pending = false;
  for (auto* p : pre_aggregators_) pending = pending || p->pending();
  if (!pending) return false;
  out.source = 0;
  out.offset = Offset::at(chunk_.start);
  out.metadata = encode_commit_metadata(chunk_.stream_time_before, chunk_.empty_before, chunk_.last);
  return true;
}

void Task::send_chunk() {
  // A chunk with a committed end closes only there, or a replay would cut it differently.
  if (chunk_.open && chunk_.forced_end < 0) close_chunk();
}

void Task::committable(std::vector<OffsetCommit>& out) const {
  for (std::size_t i = 0; i < sources_.size(); ++i) {
    const auto& s = sources_[i];
    if (def_.internal_sources) {
      out.push_back({i, s.next_offset, {}});
    } else if (i == 0 && chunk_.open) {
      // Partials of the open chunk are not downstream yet: resume at its start.
      out.push_back({i, Offset::at(chunk_.start),
                     encode_commit_metadata(chunk_.stream_time_before, chunk_.empty_before, chunk_.forced_end)});
    } else {
      out.push_back({i, s.next_offset, encode_commit_metadata(s.stream_time, s.empty)});
    }
  }
}

void Task::restore_commit(std::size_t source, std::string_view metadata) {
  TimestampMs st;
  bool empty;
  std::int64_t chunk_end;
  if (!decode_commit_metadata(metadata, st, empty, chunk_end)) return;
  restore_stream_time(source, st);  // "empty" is decided again after a restart
  if (source == 0 && !pre_aggregators_.empty()) chunk_.forced_end = chunk_end;
}

void Task::process_internal(SourceState& s, const InputRecord& rec) {
  if (!rec.value.empty() && rec.value[0] == envelope::kWatermark) {
    apply_watermarks(rec.value);
    return;
  }
  RecordContext ctx;
  std::string_view payload;
  if (!envelope::decode_data(rec.value, ctx, payload)) return;
  if (ctx.source_topic >= meta_.last_offsets.size()) return;
  auto& last = meta_.last_offsets[ctx.source_topic];
  if (ctx.source_partition < 0 || static_cast<std::size_t>(ctx.source_partition) >= last.size()) return;
  // Upstream records arrive in their input order; an offset we already applied is a replay
  // (an upstream task restarted from its last commit) and must not count twice.
  const auto p = static_cast<std::size_t>(ctx.source_partition);
  auto& seen = last[p];
  auto& seen_seq = meta_.last_seqs[ctx.source_topic][p];
  if (ctx.source_offset < seen || (ctx.source_offset == seen && ctx.source_seq <= seen_seq)) {
    if (counters_.deduplicated) counters_.deduplicated->inc();
    return;
  }
  seen = ctx.source_offset;
  seen_seq = ctx.source_seq;
  ctx.append_time = rec.timestamp;
  s.node->process_internal(rec.key, payload, ctx);
}

void Task::apply_watermarks(std::string_view value) {
  if (!envelope::decode_watermarks(value, wm_scratch_)) return;
  for (const auto& e : wm_scratch_) {
    if (e.topic >= meta_.watermarks.size()) continue;
    auto& wms = meta_.watermarks[e.topic];
    if (e.partition < 0 || static_cast<std::size_t>(e.partition) >= wms.size()) continue;
    const auto p = static_cast<std::size_t>(e.partition);
    upstream_.update(upstream_base_[e.topic] + p, e.stream_time);
    wms[p] = upstream_.values()[upstream_base_[e.topic] + p];
  }
}

void Task::advance_event_time() {
  const TimestampMs t = upstream_.current();
  if (t == kNoTimestamp || (applied_event_time_ != kNoTimestamp && t <= applied_event_time_)) return;
  applied_event_time_ = t;
  dirty_ = true;
  for (auto* s : stateful_) s->on_event_time(t);
}

void Task::restore_stream_time(std::size_t source, TimestampMs t) {
  // A committed "empty" described the partition then; it is decided again (caught up and idle)
  // before downstream may ignore the partition.
  sources_[source].stream_time = t;
  sources_[source].empty = false;
}

bool Task::advance_idle(std::size_t source, TimestampMs now, TimestampMs idle_timeout, bool caught_up) {
  SourceState& s = sources_[source];
  if (!caught_up || now - s.last_activity < idle_timeout) return false;
  // While a pre-aggregation chunk is open (or a replayed one has not reached its recorded end),
  // its records must be judged against the stream time the chunk started with, as a replay
  // would: idle advancement waits until the chunk is sent.
  if (source == 0 && !pre_aggregators_.empty() && (chunk_.open || chunk_.forced_end >= 0)) return false;
  if (s.stream_time == kNoTimestamp) {
    if (s.empty) return false;
    s.empty = true;  // never carried a record: does not hold event time back
    return true;
  }
  const TimestampMs floor = now - idle_timeout;
  if (floor <= s.stream_time) return false;
  s.stream_time = floor;
  dirty_ = true;  // the new stream time must be committed
  return true;
}

void Task::append_watermarks(std::vector<envelope::WatermarkEntry>& out) const {
  for (std::size_t i = 0; i < sources_.size(); ++i) {
    const auto& s = sources_[i];
    TimestampMs st = s.stream_time;
    bool empty = s.empty;
    if (i == 0 && chunk_.open) {
      // The open chunk's partials are not downstream yet; a watermark past them could close
      // their windows first.
      st = chunk_.stream_time_before;
      empty = chunk_.empty_before;
    }
    // Unknown (no record yet, not seen idle since this task started) is published too: after a
    // restart it takes back an "empty" published before, as records may have reached the
    // partition meanwhile, behind a backlog of the other partitions.
    out.push_back({s.entry_index, partition_, st != kNoTimestamp ? st : empty ? kWatermarkEmpty : kWatermarkUnknown});
  }
}

void Task::flush() {
  if (stateful_.empty()) return;
  // The marker records the upstream watermarks: apply them first, so that every window they
  // close is closed (and emitted, under this same commit) before the marker says so. A restore
  // treats windows that end before the marker's event time as already emitted.
  if (def_.internal_sources) advance_event_time();
  meta_.input_offset = sources_.empty() ? -1 : sources_[0].next_offset.value_or(-1);
  const std::string meta = meta_.encode();
  for (auto* s : stateful_) s->flush(meta);
}

void Task::commit_local() {
  for (auto* s : stateful_) s->commit_local();
}

std::size_t Task::cached_windows() const {
  std::size_t n = 0;
  for (auto* s : stateful_) n += s->cached_entries();
  return n;
}

}  // namespace sw
