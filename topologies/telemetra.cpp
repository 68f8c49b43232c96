#include "topologies/telemetra.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "common/bytes.h"
#include "serde/fields.h"
#include "topology/dsl_ext.h"

namespace sw::telemetra {

// Generated from topologies/data/lexicon-*.txt at configure time (telemetra_lexicon_data.cpp).
extern const char* const kPositiveLexicon;
extern const char* const kNegativeLexicon;

namespace {

bool is_word_byte(unsigned char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '\'' || c >= 0x80;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument("cannot read lexicon file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void append_double(std::string& out, double v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

}  // namespace

// ---------------------------------------------------------------- lexicon

Lexicon::Lexicon(const std::vector<std::string>& positive, const std::vector<std::string>& negative) {
  for (const auto& w : positive) positive_.insert(lower(w));
  for (const auto& w : negative) negative_.insert(lower(w));
  for (const auto& w : positive_)
    if (negative_.count(w)) throw std::invalid_argument("lexicon word '" + w + "' is both positive and negative");
}

std::vector<std::string> Lexicon::parse_word_list(std::string_view text) {
  std::vector<std::string> words;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    auto nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    auto line = text.substr(pos, nl - pos);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (!line.empty() && line.front() != '#') {
      for (unsigned char c : line)
        if (!is_word_byte(c))
          throw std::invalid_argument("lexicon entry '" + std::string(line) + "' is not a single word");
      words.emplace_back(line);
    }
    pos = nl + 1;
  }
  return words;
}

Lexicon Lexicon::builtin() { return Lexicon(parse_word_list(kPositiveLexicon), parse_word_list(kNegativeLexicon)); }

Lexicon Lexicon::from_files(const std::string& positive_path, const std::string& negative_path) {
  return Lexicon(parse_word_list(read_file(positive_path)), parse_word_list(read_file(negative_path)));
}

Lexicon::Matches Lexicon::match(std::string_view message) const {
  Matches m;
  char word[64];
  std::size_t i = 0;
  const std::size_t n = message.size();
  while (i < n) {
    while (i < n && !is_word_byte(static_cast<unsigned char>(message[i]))) ++i;
    const std::size_t start = i;
    while (i < n && is_word_byte(static_cast<unsigned char>(message[i]))) ++i;
    const std::size_t len = i - start;
    if (len == 0 || len > sizeof word) continue;  // longer than any lexicon word we ship
    for (std::size_t k = 0; k < len; ++k) {
      const char c = message[start + k];
      word[k] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    }
    const std::string_view w(word, len);
    if (positive_.find(w) != positive_.end())
      ++m.positive;
    else if (negative_.find(w) != negative_.end())
      ++m.negative;
  }
  return m;
}

// ---------------------------------------------------------------- parsing

namespace {

enum Field : unsigned {
  kStream = 1,
  kUser = 2,
  kMessage = 4,
  kEmotes = 8,
  kTimestamp = 16,
  kViewers = 32,
};

bool fail(std::string& error, std::string msg) {
  error = std::move(msg);
  return false;
}

unsigned classify(std::string_view key, bool chat) {
  if (key == "stream_id") return kStream;
  if (key == "timestamp") return kTimestamp;
  if (chat) {
    if (key == "user_id") return kUser;
    if (key == "message") return kMessage;
    if (key == "emotes") return kEmotes;
  } else if (key == "viewer_count") {
    return kViewers;
  }
  return 0;
}

// An array of non-empty emote names, or null (none).
bool read_emotes(simdjson::ondemand::value v, std::vector<std::string_view>& out, std::string& error) {
  simdjson::ondemand::json_type type;
  if (v.type().get(type)) return fail(error, "malformed JSON in field emotes");
  if (type == simdjson::ondemand::json_type::null) {
    if (v.is_null().error()) return fail(error, "malformed JSON in field emotes");
    return true;
  }
  if (type != simdjson::ondemand::json_type::array) return fail(error, "field emotes is not an array");
  simdjson::ondemand::array arr;
  if (v.get_array().get(arr)) return fail(error, "malformed JSON in field emotes");
  for (auto el : arr) {
    simdjson::ondemand::value ev;
    if (el.get(ev)) return fail(error, "malformed JSON in field emotes");
    std::string_view name;
    if (!json::read_string(ev, "emotes[]", name, error)) return false;
    if (name.empty()) return fail(error, "field emotes has an empty name");
    out.push_back(name);
  }
  return true;
}

}  // namespace

bool parse_chat_event(std::string_view text, InputEvent& out, std::string& error, const TimeZone* default_zone) {
  out.chat = true;
  out.emotes.clear();
  out.viewer_count = 0;
  unsigned seen = 0;
  const bool ok = json::parse_object(
      text, seen, [](std::string_view key) { return classify(key, true); },
      [&](unsigned bit, std::string_view, simdjson::ondemand::value v) {
        switch (bit) {
          case kStream: return json::read_id(v, "stream_id", out.stream_id, error);
          case kUser: return json::read_id(v, "user_id", out.user_id, error);
          case kMessage: return json::read_string(v, "message", out.message, error);
          case kTimestamp: return json::read_timestamp(v, "timestamp", default_zone, out.timestamp, error);
          default: return read_emotes(v, out.emotes, error);
        }
      },
      error);
  if (!ok) return false;
  if (!(seen & kStream)) return fail(error, "missing field stream_id");
  if (!(seen & kUser)) return fail(error, "missing field user_id");
  if (!(seen & kMessage)) return fail(error, "missing field message");
  if (!(seen & kTimestamp)) return fail(error, "missing field timestamp");
  if (out.stream_id.empty()) return fail(error, "field stream_id is empty");
  if (out.user_id.empty()) return fail(error, "field user_id is empty");
  return true;
}

bool parse_viewer_event(std::string_view text, InputEvent& out, std::string& error, const TimeZone* default_zone) {
  out.chat = false;
  out.emotes.clear();
  out.user_id = {};
  out.message = {};
  unsigned seen = 0;
  const bool ok = json::parse_object(
      text, seen, [](std::string_view key) { return classify(key, false); },
      [&](unsigned bit, std::string_view, simdjson::ondemand::value v) {
        switch (bit) {
          case kStream: return json::read_id(v, "stream_id", out.stream_id, error);
          case kTimestamp: return json::read_timestamp(v, "timestamp", default_zone, out.timestamp, error);
          default:
            if (!json::read_integer(v, "viewer_count", INT64_MIN, INT64_MAX, out.viewer_count, error)) return false;
            return out.viewer_count >= 0 || fail(error, "field viewer_count is negative");
        }
      },
      error);
  if (!ok) return false;
  if (!(seen & kStream)) return fail(error, "missing field stream_id");
  if (!(seen & kViewers)) return fail(error, "missing field viewer_count");
  if (!(seen & kTimestamp)) return fail(error, "missing field timestamp");
  if (out.stream_id.empty()) return fail(error, "field stream_id is empty");
  return true;
}

// ---------------------------------------------------------------- serdes

namespace {
void put_str(std::string& out, std::string_view s) {
  bytes::put<std::uint32_t>(out, static_cast<std::uint32_t>(s.size()));
  out.append(s);
}
bool get_str(std::string_view in, std::size_t& pos, std::string_view& s) {
  if (in.size() - pos < 4) return false;
  std::uint32_t n;
  std::memcpy(&n, in.data() + pos, 4);
  pos += 4;
  if (in.size() - pos < n) return false;
  s = in.substr(pos, n);
  pos += n;
  return true;
}
template <class T>
bool get_pod(std::string_view in, std::size_t& pos, T& v) {
  if (in.size() - pos < sizeof(T)) return false;
  std::memcpy(&v, in.data() + pos, sizeof(T));
  pos += sizeof(T);
  return true;
}
template <class T>
void put_pod(std::string& out, T v) {
  char buf[sizeof(T)];
  std::memcpy(buf, &v, sizeof(T));
  out.append(buf, sizeof(T));
}
}  // namespace

Serde<Contribution> contribution_serde() {
  return {[](const Contribution& c, std::string& out) {
            if (c.chat) {
              out += 'C';
              put_pod(out, c.sentiment);
              put_str(out, c.user_id);
              put_pod(out, static_cast<std::uint32_t>(c.emotes.size()));
              for (auto e : c.emotes) put_str(out, e);
            } else {
              out += 'V';
              put_pod(out, c.viewer_count);
            }
          },
          [](std::string_view in, Contribution& c, std::string& error) {
            std::size_t pos = 1;
            c.emotes.clear();
            if (in.empty()) return fail(error, "empty contribution");
            if (in[0] == 'V') {
              c.chat = false;
              return get_pod(in, pos, c.viewer_count) && pos == in.size() ? true : fail(error, "bad viewer contribution");
            }
            if (in[0] != 'C') return fail(error, "unknown contribution kind");
            c.chat = true;
            std::uint32_t n = 0;
            if (!get_pod(in, pos, c.sentiment) || !get_str(in, pos, c.user_id) || !get_pod(in, pos, n))
              return fail(error, "bad chat contribution");
            for (std::uint32_t i = 0; i < n; ++i) {
              std::string_view e;
              if (!get_str(in, pos, e)) return fail(error, "bad chat contribution emotes");
              c.emotes.push_back(e);
            }
            return pos == in.size() ? true : fail(error, "trailing bytes in chat contribution");
          }};
}

Serde<WindowState> window_state_serde() {
  return {[](const WindowState& s, std::string& out) {
            put_pod(out, s.chat_count);
            put_pod(out, s.sentiment_sum);
            put_pod(out, s.positive_count);
            put_pod(out, s.negative_count);
            put_pod(out, static_cast<std::uint32_t>(s.chatters.size()));
            for (std::size_t i = 0; i < s.chatters.size(); ++i) put_str(out, s.chatters[i]);
            put_pod(out, static_cast<std::uint32_t>(s.emotes.size()));
            for (const auto& [e, n] : s.emotes) {
              put_str(out, e);
              put_pod(out, n);
            }
            put_pod(out, s.viewer_sum);
            put_pod(out, s.viewer_events);
          },
          [](std::string_view in, WindowState& s, std::string& error) {
            s = WindowState{};
            std::size_t pos = 0;
            std::uint32_t n = 0;
            if (!get_pod(in, pos, s.chat_count) || !get_pod(in, pos, s.sentiment_sum) ||
                !get_pod(in, pos, s.positive_count) || !get_pod(in, pos, s.negative_count) || !get_pod(in, pos, n))
              return fail(error, "bad window state");
            for (std::uint32_t i = 0; i < n; ++i) {
              std::string_view u;
              if (!get_str(in, pos, u)) return fail(error, "bad window state chatters");
              s.add_chatter(u);
            }
            if (!get_pod(in, pos, n)) return fail(error, "bad window state");
            for (std::uint32_t i = 0; i < n; ++i) {
              std::string_view e;
              std::int64_t c = 0;
              if (!get_str(in, pos, e) || !get_pod(in, pos, c)) return fail(error, "bad window state emotes");
              s.emotes.emplace(std::string(e), c);
            }
            if (!get_pod(in, pos, s.viewer_sum) || !get_pod(in, pos, s.viewer_events) || pos != in.size())
              return fail(error, "bad window state");
            return true;
          }};
}

std::size_t DistinctStrings::find_slot(std::string_view s, std::size_t hash) const {
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
    const std::uint32_t v = slots_[i];
    if (v == 0 || (*this)[v - 1] == s) return i;
  }
}

bool DistinctStrings::contains(std::string_view s) const {
  if (slots_.empty()) return false;
  return slots_[find_slot(s, std::hash<std::string_view>{}(s))] != 0;
}

bool DistinctStrings::insert(std::string_view s) {
  if ((ends_.size() + 1) * 2 > slots_.size()) grow();
  const std::size_t slot = find_slot(s, std::hash<std::string_view>{}(s));
  if (slots_[slot] != 0) return false;
  if (chars_.size() + s.size() > UINT32_MAX || ends_.size() >= UINT32_MAX - 1)
    throw std::length_error("too many distinct strings in one window");
  chars_.append(s);
  ends_.push_back(static_cast<std::uint32_t>(chars_.size()));
  slots_[slot] = static_cast<std::uint32_t>(ends_.size());
  return true;
}

void DistinctStrings::grow() {
  slots_.assign(std::max<std::size_t>(16, slots_.size() * 2), 0);
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t n = 0; n < ends_.size(); ++n) {
    std::size_t i = std::hash<std::string_view>{}((*this)[n]) & mask;
    while (slots_[i] != 0) i = (i + 1) & mask;
    slots_[i] = static_cast<std::uint32_t>(n + 1);
  }
}

bool WindowState::add_chatter(std::string_view user) { return chatters.insert(user); }

namespace {
void put_users(std::string& out, const WindowState& s, std::size_t from, std::size_t to) {
  put_pod(out, static_cast<std::uint32_t>(to - from));
  for (std::size_t i = from; i < to; ++i) put_str(out, s.chatters[i]);
}
bool get_users(std::string_view in, std::size_t& pos, WindowState& s) {
  std::uint32_t n = 0;
  if (!get_pod(in, pos, n)) return false;
  for (std::uint32_t i = 0; i < n; ++i) {
    std::string_view u;
    if (!get_str(in, pos, u)) return false;
    s.add_chatter(u);
  }
  return true;
}
}  // namespace

ValueParts<WindowState> window_state_parts(std::size_t chunk) {
  if (chunk == 0) throw std::invalid_argument("chatter chunk must be positive");
  ValueParts<WindowState> parts;
  parts.changed = [chunk](WindowState& s, std::vector<std::pair<std::uint32_t, std::string>>& out) {
    const auto full = static_cast<std::uint32_t>(s.chatters.size() / chunk);
    for (std::uint32_t k = s.chunks_written + 1; k <= full; ++k) {
      std::string bytes;
      put_users(bytes, s, (k - 1) * chunk, k * chunk);
      out.emplace_back(k, std::move(bytes));
    }
    s.chunks_written = full;
    std::string head;
    put_pod(head, s.chat_count);
    put_pod(head, s.sentiment_sum);
    put_pod(head, s.positive_count);
    put_pod(head, s.negative_count);
    put_pod(head, static_cast<std::uint32_t>(s.emotes.size()));
    for (const auto& [e, n] : s.emotes) {
      put_str(head, e);
      put_pod(head, n);
    }
    put_pod(head, s.viewer_sum);
    put_pod(head, s.viewer_events);
    put_users(head, s, static_cast<std::size_t>(full) * chunk, s.chatters.size());
    out.emplace_back(kWindowHeadPart, std::move(head));
  };
  parts.load = [chunk](std::uint32_t index, std::string_view in, WindowState& s) {
    std::size_t pos = 0;
    if (index != kWindowHeadPart) {
      // Chunks load in order, before the head; a gap means a chunk is missing.
      if (index != s.chunks_written + 1 || s.chatters.size() != static_cast<std::size_t>(s.chunks_written) * chunk)
        return false;
      if (!get_users(in, pos, s) || pos != in.size()) return false;
      s.chunks_written = index;
      return true;
    }
    std::uint32_t n = 0;
    if (!get_pod(in, pos, s.chat_count) || !get_pod(in, pos, s.sentiment_sum) || !get_pod(in, pos, s.positive_count) ||
        !get_pod(in, pos, s.negative_count) || !get_pod(in, pos, n))
      return false;
    for (std::uint32_t i = 0; i < n; ++i) {
      std::string_view e;
      std::int64_t c = 0;
      if (!get_str(in, pos, e) || !get_pod(in, pos, c)) return false;
      s.emotes.emplace(std::string(e), c);
    }
    return get_pod(in, pos, s.viewer_sum) && get_pod(in, pos, s.viewer_events) && get_users(in, pos, s) &&
           pos == in.size();
  };
  parts.stored = [chunk](const WindowState& s, std::vector<std::uint32_t>& out) {
    const auto full = static_cast<std::uint32_t>(s.chatters.size() / chunk);
    for (std::uint32_t k = 1; k <= full; ++k) out.push_back(k);
    out.push_back(kWindowHeadPart);
  };
  return parts;
}

Serde<History> history_serde() {
  return {[](const History& h, std::string& out) {
            put_pod(out, static_cast<std::uint32_t>(h.counts.size()));
            for (auto c : h.counts) put_pod(out, c);
          },
          [](std::string_view in, History& h, std::string& error) {
            h.counts.clear();
            std::size_t pos = 0;
            std::uint32_t n = 0;
            if (!get_pod(in, pos, n) || in.size() != 4 + static_cast<std::size_t>(n) * 8) return fail(error, "bad history");
            for (std::uint32_t i = 0; i < n; ++i) {
              std::int64_t c = 0;
              get_pod(in, pos, c);
              h.counts.push_back(c);
            }
            return true;
          }};
}

// ---------------------------------------------------------------- metrics

ZScore z_score(std::int64_t value, std::span<const std::int64_t> previous, std::size_t min_previous) {
  ZScore r;
  r.baseline = previous.size();
  if (previous.empty()) return r;
  double sum = 0;
  for (auto c : previous) sum += static_cast<double>(c);
  r.mean = sum / static_cast<double>(previous.size());
  double sq = 0;
  for (auto c : previous) {
    const double d = static_cast<double>(c) - r.mean;
    sq += d * d;
  }
  r.stddev = std::sqrt(sq / static_cast<double>(previous.size()));  // population
  if (previous.size() >= min_previous && r.stddev > 0) r.z = (static_cast<double>(value) - r.mean) / r.stddev;
  return r;
}

std::vector<std::pair<std::string, std::int64_t>> top_emotes(
    const std::unordered_map<std::string, std::int64_t, StringHash, std::equal_to<>>& counts, std::size_t n) {
  std::vector<std::pair<std::string, std::int64_t>> all(counts.begin(), counts.end());
  const auto better = [](const auto& a, const auto& b) { return a.second != b.second ? a.second > b.second : a.first < b.first; };
  if (all.size() > n) {
    std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n), all.end(), better);
    all.resize(n);
  } else {
    std::sort(all.begin(), all.end(), better);
  }
  return all;
}

namespace {
void append_optional(std::string& out, const std::optional<double>& v) {
  if (v)
    append_double(out, *v);
  else
    out += "null";
}
}  // namespace

void summary_json(std::string& out, const Summary& s) {
  out.clear();
  out += "{\"stream_id\":";
  json::append_string(out, s.stream_id);
  out += ",\"window_start\":\"";
  format_rfc3339(s.window.start, out);
  out += "\",\"window_end\":\"";
  format_rfc3339(s.window.end, out);
  out += "\",\"chat_count\":";
  out += std::to_string(s.chat_count);
  out += ",\"unique_chatters\":";
  out += std::to_string(s.unique_chatters);
  out += ",\"avg_sentiment\":";
  append_optional(out, s.avg_sentiment);
  out += ",\"positive_count\":";
  out += std::to_string(s.positive_count);
  out += ",\"negative_count\":";
  out += std::to_string(s.negative_count);
  out += ",\"top_emotes\":[";
  for (std::size_t i = 0; i < s.top_emotes.size(); ++i) {
    if (i) out += ',';
    json::append_string(out, s.top_emotes[i].first);
  }
  out += "],\"chat_rate\":";
  append_double(out, s.chat_rate);
  out += ",\"avg_viewers\":";
  append_optional(out, s.avg_viewers);
  out += ",\"z_score\":";
  append_optional(out, s.z.z);
  out += ",\"is_anomaly\":";
  out += s.is_anomaly ? "true" : "false";
  out += '}';
}

void moment_json(std::string& out, const Summary& s) {
  out.clear();
  out += "{\"stream_id\":";
  json::append_string(out, s.stream_id);
  out += ",\"timestamp\":\"";
  format_rfc3339(s.window.start, out);
  out += "\",\"moment_type\":\"chat_spike\",\"description\":";
  std::string d = "chat spike: " + std::to_string(s.chat_count) + " messages in the window, z=";
  append_double(d, s.z.z.value_or(0));
  json::append_string(out, d);
  out += ",\"intensity\":";
  append_double(out, s.z.z.value_or(0));
  out += ",\"metadata\":{\"window_start\":\"";
  format_rfc3339(s.window.start, out);
  out += "\",\"window_end\":\"";
  format_rfc3339(s.window.end, out);
  out += "\",\"chat_count\":";
  out += std::to_string(s.chat_count);
  out += ",\"unique_chatters\":";
  out += std::to_string(s.unique_chatters);
  out += ",\"positive_count\":";
  out += std::to_string(s.positive_count);
  out += ",\"negative_count\":";
  out += std::to_string(s.negative_count);
  out += ",\"baseline_mean\":";
  append_double(out, s.z.mean);
  out += ",\"baseline_stddev\":";
  append_double(out, s.z.stddev);
  out += ",\"baseline_windows\":";
  out += std::to_string(s.z.baseline);
  out += "}}";
}

}  // namespace sw::telemetra
