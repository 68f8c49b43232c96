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

std::pair<std::size_t, bool> DistinctStrings::emplace(std::string_view s) {
  if ((ends_.size() + 1) * 2 > slots_.size()) grow();
  const std::size_t slot = find_slot(s, std::hash<std::string_view>{}(s));
  if (slots_[slot] != 0) return {slots_[slot] - 1, false};
  if (chars_.size() + s.size() > UINT32_MAX || ends_.size() >= UINT32_MAX - 1)
    throw std::length_error("too many distinct strings in one window");
  chars_.append(s);
  ends_.push_back(static_cast<std::uint32_t>(chars_.size()));
  slots_[slot] = static_cast<std::uint32_t>(ends_.size());
  return {ends_.size() - 1, true};
}

void ChatterMasks::mark(std::string_view chatter, std::uint64_t bits) {
  const auto [i, inserted] = names_.emplace(chatter);
  if (inserted) {
    masks_.push_back(bits);
    return;
  }
  if (masks_[i] == 0) --dropped_;
  masks_[i] |= bits;
}

std::int64_t ChatterMasks::count_then_keep(std::uint64_t window, std::uint64_t keep) {
  std::int64_t n = 0;
  std::size_t dropped = 0;
  for (auto& m : masks_) {
    n += (m & window) != 0;
    m &= keep;
    dropped += m == 0;
  }
  dropped_ = dropped;
  // Dropped entries stay (their mask 0) until they are most of the set: then it is rebuilt.
  if (dropped_ * 2 > masks_.size()) {
    DistinctStrings names;
    std::vector<std::uint64_t> masks;
    masks.reserve(masks_.size() - dropped_);
    for (std::size_t i = 0; i < masks_.size(); ++i) {
      if (masks_[i] == 0) continue;
      names.insert(names_[i]);
      masks.push_back(masks_[i]);
    }
    names_ = std::move(names);
    masks_ = std::move(masks);
    dropped_ = 0;
  }
  return n;
}

void ChatterMasks::clear() {
  names_ = DistinctStrings{};
  masks_.clear();
  dropped_ = 0;
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

namespace {
void put_slice(std::string& out, const SliceTotals& t) {
  for (const std::int64_t v : {t.index, t.chat_count}) put_pod(out, v);
  put_pod(out, t.sentiment_sum);
  for (const std::int64_t v : {t.positive_count, t.negative_count, t.viewer_sum, t.viewer_events}) put_pod(out, v);
  put_pod(out, static_cast<std::uint32_t>(t.emotes.size()));
  for (const auto& [e, c] : t.emotes) {
    put_str(out, e);
    put_pod(out, c);
  }
}
bool get_slice(std::string_view in, std::size_t& pos, SliceTotals& t) {
  std::uint32_t n = 0;
  if (!get_pod(in, pos, t.index) || !get_pod(in, pos, t.chat_count) || !get_pod(in, pos, t.sentiment_sum) ||
      !get_pod(in, pos, t.positive_count) || !get_pod(in, pos, t.negative_count) || !get_pod(in, pos, t.viewer_sum) ||
      !get_pod(in, pos, t.viewer_events) || !get_pod(in, pos, n))
    return false;
  if (n > (in.size() - pos) / 12) return false;  // each emote takes at least 12 bytes
  t.emotes.clear();
  t.emotes.reserve(n);
  for (std::uint32_t i = 0; i < n; ++i) {
    std::string_view e;
    std::int64_t c = 0;
    if (!get_str(in, pos, e) || !get_pod(in, pos, c)) return false;
    t.emotes.emplace_back(std::string(e), c);
  }
  return true;
}
}  // namespace

// Layout: counts (u32 n, n x i64), last_slice (i64), recent slices (u32 n, each: index, chat
// count, sentiment sum, positive, negative, viewer sum, viewer events, u32 emotes, each name and
// count), chatters (u32 n, each name and u64 mask, masks not 0, names distinct).
Serde<History> history_serde() {
  return {[](const History& h, std::string& out) {
            put_pod(out, static_cast<std::uint32_t>(h.counts.size()));
            for (auto c : h.counts) put_pod(out, c);
            put_pod(out, h.last_slice);
            put_pod(out, static_cast<std::uint32_t>(h.recent.size()));
            for (const auto& t : h.recent) put_slice(out, t);
            std::uint32_t live = 0;
            for (std::size_t i = 0; i < h.chatters.size(); ++i) live += h.chatters.mask(i) != 0;
            put_pod(out, live);
            for (std::size_t i = 0; i < h.chatters.size(); ++i) {
              if (h.chatters.mask(i) == 0) continue;
              put_str(out, h.chatters.name(i));
              put_pod(out, h.chatters.mask(i));
            }
          },
          [](std::string_view in, History& h, std::string& error) {
            h = History{};
            std::size_t pos = 0;
            std::uint32_t n = 0;
            if (!get_pod(in, pos, n) || n > (in.size() - pos) / 8) return fail(error, "bad history");
            h.counts.resize(n);
            for (auto& c : h.counts) get_pod(in, pos, c);
            if (!get_pod(in, pos, h.last_slice) || !get_pod(in, pos, n) || n > (in.size() - pos) / 60)
              return fail(error, "bad history");
            h.recent.resize(n);
            for (auto& t : h.recent)
              if (!get_slice(in, pos, t)) return fail(error, "bad history slice");
            if (!get_pod(in, pos, n) || n > (in.size() - pos) / 12) return fail(error, "bad history");
            for (std::uint32_t i = 0; i < n; ++i) {
              std::string_view name;
              std::uint64_t mask = 0;
              if (!get_str(in, pos, name) || !get_pod(in, pos, mask) || mask == 0)
                return fail(error, "bad history chatter");
              const auto before = h.chatters.size();
              h.chatters.mark(name, mask);
              if (h.chatters.size() == before) return fail(error, "repeated chatter in history");
            }
            return pos == in.size() ? true : fail(error, "trailing bytes in history");
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

namespace {
// Floor division: slice indexes of negative times stay in order.
std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }
std::uint64_t slice_bit(std::int64_t index) { return std::uint64_t{1} << static_cast<unsigned>(index & 63); }
// Bits of the slices first..last (at most 64 of them).
std::uint64_t slice_bits(std::int64_t first, std::int64_t last) {
  std::uint64_t bits = 0;
  for (std::int64_t i = first; i <= last; ++i) bits |= slice_bit(i);
  return bits;
}
}  // namespace

void combine_slice(const Window& slice, std::int64_t slices_per_window, std::size_t top_n, const WindowState& s,
                   History& h, Summary& out) {
  const std::int64_t advance = slice.end - slice.start;
  const std::int64_t n = slices_per_window;
  const std::int64_t k = floor_div(slice.start, advance);
  // Slices close in order; what is older than the window ending here is not part of it. After
  // the last close the masks hold bits of slices last - n + 2 .. last only; after a gap, those
  // before k - n + 1 go first, or (bits being slice indexes mod 64) they could alias into the
  // window's. (k - n >= last: no overflow for any stored last_slice.)
  if (h.last_slice == History::kNoSlice || k <= h.last_slice || k - n >= h.last_slice) {
    h.recent.clear();
    h.chatters.clear();
  } else if (k > h.last_slice + 1) {
    h.chatters.count_then_keep(0, slice_bits(k - n + 1, h.last_slice));
  }
  std::erase_if(h.recent, [&](const SliceTotals& t) { return t.index <= k - n; });
  const std::uint64_t bit = slice_bit(k);
  for (std::size_t i = 0; i < s.chatters.size(); ++i) h.chatters.mark(s.chatters[i], bit);
  // The next window (ending with slice k + 1) starts at slice k - n + 2.
  const std::int64_t unique = h.chatters.count_then_keep(slice_bits(k - n + 1, k), n > 1 ? slice_bits(k - n + 2, k) : 0);

  // The slice joins the history (its windows to come need it), then the window sums the
  // history's slices, oldest first.
  SliceTotals current;
  current.index = k;
  current.chat_count = s.chat_count;
  current.sentiment_sum = s.sentiment_sum;
  current.positive_count = s.positive_count;
  current.negative_count = s.negative_count;
  current.viewer_sum = s.viewer_sum;
  current.viewer_events = s.viewer_events;
  current.emotes.assign(s.emotes.begin(), s.emotes.end());
  std::sort(current.emotes.begin(), current.emotes.end());  // stored bytes independent of hash order
  h.recent.push_back(std::move(current));

  std::int64_t chat = 0, positive = 0, negative = 0, viewer_sum = 0, viewer_events = 0;
  double sentiment = 0;
  std::unordered_map<std::string, std::int64_t, StringHash, std::equal_to<>> emotes;
  for (const auto& t : h.recent) {
    chat += t.chat_count;
    sentiment += t.sentiment_sum;
    positive += t.positive_count;
    negative += t.negative_count;
    viewer_sum += t.viewer_sum;
    viewer_events += t.viewer_events;
    for (const auto& [e, c] : t.emotes) emotes[e] += c;
  }

  out.window = Window{slice.end - n * advance, slice.end};
  out.chat_count = chat;
  out.unique_chatters = unique;
  out.avg_sentiment.reset();
  if (chat > 0) out.avg_sentiment = sentiment / static_cast<double>(chat);
  out.positive_count = positive;
  out.negative_count = negative;
  out.top_emotes = top_emotes(emotes, top_n);
  out.chat_rate = static_cast<double>(chat) / (static_cast<double>(n * advance) / 1000.0);
  out.avg_viewers.reset();
  if (viewer_events > 0) out.avg_viewers = static_cast<double>(viewer_sum) / static_cast<double>(viewer_events);

  // What the next window (slices k - n + 2 .. k + 1) does not hold goes.
  std::erase_if(h.recent, [&](const SliceTotals& r) { return r.index <= k - n + 1; });
  h.last_slice = k;
}

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
