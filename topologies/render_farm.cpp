#include "topologies/render_farm.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "common/bytes.h"
#include "serde/fields.h"

namespace sw::render_farm {

// ---------------------------------------------------------------------------------------------
// render events

namespace {
enum Field : unsigned {
  kFrame = 1,
  kScene = 2,
  kNode = 4,
  kRender = 8,
  kGpu = 16,
  kTimestamp = 32,
  kStatus = 64,
  kAttempt = 128,
  kMemory = 256,
  kCpu = 512,
  kError = 1024,
};
constexpr double kMaxRenderMs = 1e9;  // about 11.5 days: anything longer is a broken clock
}  // namespace

bool parse_render_event(std::string_view text, RenderEvent& out, std::string& error, const TimeZone* default_zone) {
  out = RenderEvent{};
  unsigned seen = 0;
  std::string_view status;
  const bool parsed = json::parse_object(
      text, seen,
      [](std::string_view key) -> unsigned {
        if (key == "frame_id") return kFrame;
        if (key == "scene_id") return kScene;
        if (key == "node_id") return kNode;
        if (key == "render_time_ms") return kRender;
        if (key == "gpu_utilization") return kGpu;
        if (key == "timestamp") return kTimestamp;
        if (key == "status") return kStatus;
        if (key == "attempt") return kAttempt;
        if (key == "memory_mb") return kMemory;
        if (key == "cpu_utilization") return kCpu;
        if (key == "error") return kError;
        return 0;
      },
      [&](unsigned bit, std::string_view, simdjson::ondemand::value value) {
        switch (bit) {
          case kFrame: return json::read_id(value, "frame_id", out.frame_id, error);
          case kScene: return json::read_id(value, "scene_id", out.scene_id, error);
          case kNode: return json::read_id(value, "node_id", out.node_id, error);
          case kTimestamp: return json::read_timestamp(value, "timestamp", default_zone, out.timestamp, error);
          case kStatus: return json::read_string(value, "status", status, error);
          case kRender: return json::read_number(value, "render_time_ms", 0, kMaxRenderMs, out.render_time_ms, error);
          case kGpu: return json::read_number(value, "gpu_utilization", 0, 1, out.gpu_utilization, error);
          case kCpu: return json::read_number(value, "cpu_utilization", 0, 1, out.cpu_utilization, error);
          case kMemory: return json::read_number(value, "memory_mb", 0, 1e9, out.memory_mb, error);
          case kAttempt: return json::read_integer(value, "attempt", 1, 1'000'000, out.attempt, error);
          default: {  // kError: a string or null
            bool is_null = false;
            if (value.is_null().get(is_null) == simdjson::SUCCESS && is_null) return true;
            return json::read_string(value, "error", out.error, error);
          }
        }
      },
      error);
  if (!parsed) return false;
  if (!(seen & kFrame)) return error = "missing field frame_id", false;
  if (!(seen & kScene)) return error = "missing field scene_id", false;
  if (!(seen & kNode)) return error = "missing field node_id", false;
  if (!(seen & kRender)) return error = "missing field render_time_ms", false;
  if (!(seen & kGpu)) return error = "missing field gpu_utilization", false;
  if (!(seen & kTimestamp)) return error = "missing field timestamp", false;
  if (out.scene_id.empty()) return error = "field scene_id is empty", false;
  if (out.node_id.empty()) return error = "field node_id is empty", false;
  if (seen & kStatus) {
    if (status == "ok") out.status = FrameStatus::ok;
    else if (status == "failed") out.status = FrameStatus::failed;
    else if (status == "retry") out.status = FrameStatus::retry;
    else return error = "field status must be ok, failed or retry", false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// dimension rows

namespace {
// A string; for an id (the join keys) also an integer, as its decimal text, as in the events.
bool row_string(const nlohmann::json& row, const char* name, bool required, std::string& out, std::string& error,
                bool id = false) {
  const auto it = row.find(name);
  if (it == row.end() || it->is_null()) {
    if (required) error = std::string("missing field ") + name;
    return !required;
  }
  if (id && it->is_number_integer())
    out = it->dump();
  else if (!it->is_string())
    return error = std::string("field ") + name + (id ? " is not a string or an integer" : " is not a string"), false;
  else
    out = it->get<std::string>();
  if (required && out.empty()) return error = std::string("field ") + name + " is empty", false;
  return true;
}
bool row_number(const nlohmann::json& row, const char* name, double& out, std::string& error) {
  const auto it = row.find(name);
  if (it == row.end() || it->is_null()) return true;
  if (!it->is_number()) return error = std::string("field ") + name + " is not a number", false;
  out = it->get<double>();
  if (!std::isfinite(out) || out < 0) return error = std::string("field ") + name + " must be a non-negative number", false;
  return true;
}
}  // namespace

bool parse_scene_row(const nlohmann::json& row, std::string& key, Scene& out, std::string& error) {
  return row_string(row, "scene_id", true, key, error, true) && row_string(row, "project", false, out.project, error) &&
         row_string(row, "sequence", false, out.sequence, error) && row_number(row, "complexity", out.complexity, error) &&
         row_number(row, "frame_budget_ms", out.frame_budget_ms, error);
}

bool parse_node_row(const nlohmann::json& row, std::string& key, HardwareNode& out, std::string& error) {
  double cores = 0;
  if (!(row_string(row, "node_id", true, key, error, true) && row_string(row, "gpu_model", false, out.gpu_model, error) &&
        row_string(row, "pool", false, out.pool, error) && row_number(row, "gpu_memory_gb", out.gpu_memory_gb, error) &&
        row_number(row, "cpu_cores", cores, error)))
    return false;
  if (cores > 1e6) return error = "field cpu_cores is out of range", false;
  out.cpu_cores = static_cast<std::int64_t>(cores);
  return true;
}

// ---------------------------------------------------------------------------------------------
// frames and aggregates

std::string_view StringSet::view(const Slot& slot) const {
  if (slot.tag == kLong) {
    std::uint32_t index;
    std::memcpy(&index, slot.bytes, sizeof index);
    return long_[index];
  }
  return std::string_view(slot.bytes, static_cast<std::size_t>(slot.tag - 1));
}

bool StringSet::insert(std::string_view s) {
  if (slots_.empty()) rehash(16);
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = std::hash<std::string_view>{}(s) & mask;; i = (i + 1) & mask) {
    Slot& slot = slots_[i];
    if (slot.tag == kEmpty) {
      if (s.size() <= sizeof slot.bytes) {
        std::memcpy(slot.bytes, s.data(), s.size());
        slot.tag = static_cast<std::uint8_t>(s.size() + 1);
      } else {
        const auto index = static_cast<std::uint32_t>(long_.size());
        long_.emplace_back(s);
        std::memcpy(slot.bytes, &index, sizeof index);
        slot.tag = kLong;
      }
      if (++size_ * 2 > slots_.size()) rehash(slots_.size() * 2);  // load factor <= 1/2
      return true;
    }
    if (view(slot) == s) return false;
  }
}

void StringSet::rehash(std::size_t n) {
  std::vector<Slot> old(n, Slot{{}, kEmpty});
  old.swap(slots_);
  const std::size_t mask = n - 1;
  for (const auto& slot : old) {
    if (slot.tag == kEmpty) continue;
    std::size_t i = std::hash<std::string_view>{}(view(slot)) & mask;
    while (slots_[i].tag != kEmpty) i = (i + 1) & mask;
    slots_[i] = slot;
  }
}

void StringSet::reserve(std::size_t n) {
  std::size_t slots = 16;
  while (slots < n * 2) slots *= 2;
  if (slots > slots_.size()) rehash(slots);
}

void StringSet::clear() noexcept {
  slots_.clear();
  long_.clear();
  size_ = 0;
}

std::vector<std::string_view> StringSet::sorted() const {
  std::vector<std::string_view> out;
  out.reserve(size_);
  for_each([&](std::string_view v) { out.push_back(v); });
  std::sort(out.begin(), out.end());
  return out;
}

namespace {
// {"<id>":..,"<attribute>":..,"window_start":..,"window_end":.. (the record continues)
void metrics_json_head(std::string& out, const char* id_name, std::string_view id, const char* attribute_name,
                       std::string_view attribute, const Window& w) {
  out.clear();
  out += "{\"";
  out += id_name;
  out += "\":";
  json::append_string(out, id);
  out += ",\"";
  out += attribute_name;
  out += "\":";
  json::append_string(out, attribute);
  out += ",\"window_start\":\"";
  format_rfc3339(w.start, out);
  out += "\",\"window_end\":\"";
  format_rfc3339(w.end, out);
  out += '"';
}

// A JSON number with `decimals` decimals. Any double fits (1e308 has 309 digits before the
// point); what is not a number in JSON (inf, nan: only from corrupted state) is null.
void append_fixed(std::string& out, double v, int decimals) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  char buf[400];
  const int n = std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  if (n > 0) out.append(buf, std::min(static_cast<std::size_t>(n), sizeof buf - 1));
}
}  // namespace

Serde<Frame> frame_serde() {
  return {[](const Frame& f, std::string& out) {
            bytes::put_varint(out, static_cast<std::uint64_t>(f.render_us));
            bytes::put_varint(out, static_cast<std::uint64_t>(f.gpu_ppm));
            bytes::put_varint(out, static_cast<std::uint64_t>(f.budget_us + 1));
            out += static_cast<char>(static_cast<std::uint8_t>(f.status) | (f.scene_joined ? 0x80 : 0));
            bytes::put_string(out, f.scene_id);
            bytes::put_string(out, f.node_id);
            bytes::put_string(out, f.project);
            bytes::put_string(out, f.gpu_model);
          },
          [](std::string_view in, Frame& f, std::string& error) {
            bytes::Reader r(in);
            // Stored values are non-negative and far below 2^62; anything larger is a damaged
            // record (and would overflow the arithmetic below).
            constexpr std::uint64_t kLimit = std::uint64_t{1} << 62;
            const auto render_us = r.get_varint(), gpu_ppm = r.get_varint(), budget = r.get_varint();
            if (render_us >= kLimit || gpu_ppm >= kLimit || budget >= kLimit) return error = "bad frame record", false;
            f.render_us = static_cast<std::int64_t>(render_us);
            f.gpu_ppm = static_cast<std::int64_t>(gpu_ppm);
            f.budget_us = static_cast<std::int64_t>(budget) - 1;
            const auto flags = r.get<std::uint8_t>();
            f.status = static_cast<FrameStatus>(flags & 0x7f);
            f.scene_joined = (flags & 0x80) != 0;
            f.scene_id = r.get_string();
            f.node_id = r.get_string();
            f.project = r.get_string();
            f.gpu_model = r.get_string();
            if (!r.ok() || !r.rest().empty() || (flags & 0x7f) > 2) return error = "bad frame record", false;
            return true;
          }};
}

void add_frame(SceneStats& s, const Frame& f) {
  ++s.frames;
  s.failed += f.status == FrameStatus::failed;
  s.retried += f.status == FrameStatus::retry;
  s.over_budget += f.budget_us >= 0 && f.render_us > f.budget_us;
  s.render_us_sum += f.render_us;
  s.render_us_max = std::max(s.render_us_max, f.render_us);
  s.gpu_ppm_sum += f.gpu_ppm;
  if (s.project.empty() && !f.project.empty()) s.project.assign(f.project);
  s.nodes.insert(f.node_id);
  s.render_ms.add(static_cast<double>(f.render_us) / 1000.0);
}

void merge(SceneStats& into, const SceneStats& p) {
  into.frames += p.frames;
  into.failed += p.failed;
  into.retried += p.retried;
  into.over_budget += p.over_budget;
  into.render_us_sum += p.render_us_sum;
  into.render_us_max = std::max(into.render_us_max, p.render_us_max);
  into.gpu_ppm_sum += p.gpu_ppm_sum;
  if (into.project.empty()) into.project = p.project;
  p.nodes.for_each([&](std::string_view n) { into.nodes.insert(n); });
  into.render_ms.merge(p.render_ms);
}

namespace {
// Counters and sums read back from state are non-negative and at most 2^56 (2284 years of render
// time in microseconds): corrupted bytes cannot make merging partials overflow.
constexpr std::uint64_t kMaxCounter = 1ULL << 56;
}  // namespace

Serde<SceneStats> scene_stats_serde() {
  return {[](const SceneStats& s, std::string& out) {
            for (auto v : {s.frames, s.failed, s.retried, s.over_budget, s.render_us_sum, s.render_us_max, s.gpu_ppm_sum})
              bytes::put_varint(out, static_cast<std::uint64_t>(v));
            bytes::put_string(out, s.project);
            // Front coding: each id as the length it shares with the previous one and the rest
            // ("node-041", "node-042" -> 7, "2"): a few bytes per node instead of the whole id.
            bytes::put_varint(out, s.nodes.size());
            std::string_view prev;
            for (const auto n : s.nodes.sorted()) {
              std::size_t shared = 0;
              while (shared < prev.size() && shared < n.size() && prev[shared] == n[shared]) ++shared;
              bytes::put_varint(out, shared);
              bytes::put_string(out, std::string_view(n).substr(shared));
              prev = n;
            }
            s.render_ms.serialize(out);
          },
          [](std::string_view in, SceneStats& s, std::string& error) {
            bytes::Reader r(in);
            for (auto* v : {&s.frames, &s.failed, &s.retried, &s.over_budget, &s.render_us_sum, &s.render_us_max,
                            &s.gpu_ppm_sum}) {
              const auto u = r.get_varint();
              if (u > kMaxCounter) return error = "bad scene aggregate", false;
              *v = static_cast<std::int64_t>(u);
            }
            s.project.assign(r.get_string());
            const auto n = r.get_varint();
            if (!r.ok() || n > in.size()) return error = "bad scene aggregate", false;
            s.nodes.clear();
            s.nodes.reserve(n);
            std::string prev, id;
            for (std::uint64_t i = 0; i < n; ++i) {
              const auto shared = r.get_varint();
              const auto rest = r.get_string();
              if (!r.ok() || shared > prev.size()) return error = "bad scene aggregate", false;
              id.assign(prev, 0, shared);
              id.append(rest);
              if (i > 0 && !(prev < id)) return error = "bad scene aggregate", false;  // sorted, distinct
              s.nodes.insert(id);
              prev.swap(id);
            }
            if (!r.ok() || !sketch::DDSketch::deserialize(r.rest(), s.render_ms)) return error = "bad scene aggregate", false;
            return true;
          }};
}

void scene_metrics_json(std::string& out, std::string_view scene_id, const Window& w, const SceneStats& s) {
  metrics_json_head(out, "scene_id", scene_id, "project", s.project, w);
  out += ",\"frames\":" + std::to_string(s.frames);
  out += ",\"failed_frames\":" + std::to_string(s.failed);
  out += ",\"retried_frames\":" + std::to_string(s.retried);
  const double n = s.frames > 0 ? static_cast<double>(s.frames) : 1.0;
  out += ",\"avg_render_time_ms\":";
  append_fixed(out, static_cast<double>(s.render_us_sum) / 1000.0 / n, 3);
  out += ",\"max_render_time_ms\":";
  append_fixed(out, static_cast<double>(s.render_us_max) / 1000.0, 3);
  out += ",\"p95_render_time_ms\":";
  append_fixed(out, s.render_ms.quantile(0.95), 3);
  out += ",\"avg_gpu_utilization\":";
  append_fixed(out, static_cast<double>(s.gpu_ppm_sum) / 1e6 / n, 6);
  out += ",\"over_budget_frames\":" + std::to_string(s.over_budget);
  out += ",\"nodes\":" + std::to_string(s.nodes.size());
  out += '}';
}

void add_frame(NodeStats& s, const Frame& f) {
  ++s.frames;
  s.failed += f.status == FrameStatus::failed;
  s.gpu_ppm_sum += f.gpu_ppm;
  if (s.gpu_model.empty() && !f.gpu_model.empty()) s.gpu_model.assign(f.gpu_model);
}

void merge(NodeStats& into, const NodeStats& p) {
  into.frames += p.frames;
  into.failed += p.failed;
  into.gpu_ppm_sum += p.gpu_ppm_sum;
  if (into.gpu_model.empty()) into.gpu_model = p.gpu_model;
}

Serde<NodeStats> node_stats_serde() {
  return {[](const NodeStats& s, std::string& out) {
            for (auto v : {s.frames, s.failed, s.gpu_ppm_sum}) bytes::put_varint(out, static_cast<std::uint64_t>(v));
            bytes::put_string(out, s.gpu_model);
          },
          [](std::string_view in, NodeStats& s, std::string& error) {
            bytes::Reader r(in);
            for (auto* v : {&s.frames, &s.failed, &s.gpu_ppm_sum}) {
              const auto u = r.get_varint();
              if (u > kMaxCounter) return error = "bad node aggregate", false;
              *v = static_cast<std::int64_t>(u);
            }
            s.gpu_model.assign(r.get_string());
            if (!r.ok() || !r.rest().empty()) return error = "bad node aggregate", false;
            return true;
          }};
}

void node_metrics_json(std::string& out, std::string_view node_id, const Window& w, const NodeStats& s) {
  metrics_json_head(out, "node_id", node_id, "gpu_model", s.gpu_model, w);
  out += ",\"frames\":" + std::to_string(s.frames);
  out += ",\"failed_frames\":" + std::to_string(s.failed);
  out += ",\"avg_gpu_utilization\":";
  append_fixed(out, static_cast<double>(s.gpu_ppm_sum) / 1e6 / (s.frames > 0 ? static_cast<double>(s.frames) : 1.0), 6);
  out += '}';
}

}  // namespace sw::render_farm
