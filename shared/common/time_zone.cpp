#include "common/time_zone.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "common/time.h"

namespace sw {

namespace {

constexpr std::int32_t kMaxOffset = 18 * 3600;  // java.time's ZoneOffset range
// Event times end before 2100 (check_event_time): rules are expanded into transitions up to then.
constexpr int kLastRuleYear = 2100;

bool two_digits(std::string_view s, std::size_t pos, int& v) {
  if (pos + 2 > s.size() || s[pos] < '0' || s[pos] > '9' || s[pos + 1] < '0' || s[pos + 1] > '9') return false;
  v = (s[pos] - '0') * 10 + (s[pos + 1] - '0');
  return true;
}

// "+02:00", "-0530", "+05" (after an optional "UTC"/"GMT"): seconds east of UTC.
bool parse_fixed_offset(std::string_view s, std::int32_t& out) {
  for (std::string_view prefix : {"UTC", "GMT"})
    if (s.substr(0, prefix.size()) == prefix) s.remove_prefix(prefix.size());
  if (s.empty()) return out = 0, true;
  if (s[0] != '+' && s[0] != '-') return false;
  const int sign = s[0] == '-' ? -1 : 1;
  int h = 0, m = 0;
  if (!two_digits(s, 1, h)) return false;
  std::size_t pos = 3;
  if (pos < s.size()) {
    if (s[pos] == ':') ++pos;
    if (!two_digits(s, pos, m)) return false;
    pos += 2;
  }
  if (pos != s.size() || m > 59) return false;
  const std::int32_t offset = sign * (h * 3600 + m * 60);
  if (offset < -kMaxOffset || offset > kMaxOffset) return false;
  out = offset;
  return true;
}

// ---- TZif (RFC 8536) ---------------------------------------------------------------------------

std::int64_t be(const unsigned char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = v << 8 | p[i];
  if (bytes == 4) return static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
  return static_cast<std::int64_t>(v);
}

// A POSIX TZ rule date "Mm.w.d[/time]" (the form every current zone uses).
struct RuleDate {
  int month = 0, week = 0, weekday = 0;
  std::int32_t time = 7200;  // seconds after local midnight
};

struct PosixRule {
  std::int32_t std_offset = 0;  // seconds east of UTC
  bool has_dst = false;
  std::int32_t dst_offset = 0;
  RuleDate start, end;
};

bool skip_name(std::string_view s, std::size_t& pos) {
  const std::size_t begin = pos;
  if (pos < s.size() && s[pos] == '<') {
    const auto close = s.find('>', pos);
    if (close == std::string_view::npos) return false;
    pos = close + 1;
    return true;
  }
  while (pos < s.size() && ((s[pos] >= 'A' && s[pos] <= 'Z') || (s[pos] >= 'a' && s[pos] <= 'z'))) ++pos;
  return pos - begin >= 3;
}

// POSIX "[+-]hh[:mm[:ss]]", in seconds (POSIX's sign: west of UTC is positive).
bool posix_time(std::string_view s, std::size_t& pos, std::int32_t& out) {
  int sign = 1;
  if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) sign = s[pos++] == '-' ? -1 : 1;
  std::int32_t parts[3] = {0, 0, 0};
  for (int i = 0; i < 3; ++i) {
    const std::size_t begin = pos;
    std::int32_t v = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9' && pos - begin < 3) v = v * 10 + (s[pos++] - '0');
    if (pos == begin) return false;
    parts[i] = v;
    if (i == 2 || pos >= s.size() || s[pos] != ':') break;
    ++pos;
  }
  out = sign * (parts[0] * 3600 + parts[1] * 60 + parts[2]);
  return true;
}

bool rule_date(std::string_view s, std::size_t& pos, RuleDate& d) {
  if (pos >= s.size() || s[pos] != 'M') return false;  // Jn and n forms: no current zone uses them
  ++pos;
  auto number = [&](int& v) {
    const std::size_t begin = pos;
    v = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') v = v * 10 + (s[pos++] - '0');
    return pos > begin;
  };
  if (!number(d.month) || pos >= s.size() || s[pos++] != '.' || !number(d.week) || pos >= s.size() ||
      s[pos++] != '.' || !number(d.weekday))
    return false;
  if (d.month < 1 || d.month > 12 || d.week < 1 || d.week > 5 || d.weekday > 6) return false;
  if (pos < s.size() && s[pos] == '/') {
    ++pos;
    if (!posix_time(s, pos, d.time)) return false;
  }
  return true;
}

bool parse_posix_rule(std::string_view s, PosixRule& r) {
  std::size_t pos = 0;
  std::int32_t west = 0;
  if (!skip_name(s, pos) || !posix_time(s, pos, west)) return false;
  r.std_offset = -west;
  if (pos == s.size()) return true;
  if (!skip_name(s, pos)) return false;
  r.has_dst = true;
  r.dst_offset = r.std_offset + 3600;
  if (pos < s.size() && s[pos] != ',') {
    if (!posix_time(s, pos, west)) return false;
    r.dst_offset = -west;
  }
  if (pos >= s.size() || s[pos++] != ',' || !rule_date(s, pos, r.start) || pos >= s.size() || s[pos++] != ',' ||
      !rule_date(s, pos, r.end))
    return false;
  return pos == s.size();
}

int days_in_month(int y, int m) {
  static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

// Local seconds (since the epoch, read as UTC) at which a rule date falls in year `y`.
std::int64_t rule_local_seconds(int y, const RuleDate& d) {
  const std::int64_t first = days_from_civil(y, static_cast<unsigned>(d.month), 1);
  const int first_weekday = static_cast<int>(((first % 7) + 7 + 4) % 7);  // 1970-01-01 was a Thursday
  int day = 1 + (d.weekday - first_weekday + 7) % 7 + (d.week - 1) * 7;
  while (day > days_in_month(y, d.month)) day -= 7;
  return (first + day - 1) * 86400 + d.time;
}

}  // namespace

TimeZone TimeZone::parse(std::string_view spec) {
  const char* dir = std::getenv("TZDIR");
  return parse(spec, dir && *dir ? dir : "/usr/share/zoneinfo");
}

TimeZone TimeZone::parse(std::string_view spec, const std::string& tzdir) {
  const std::string text(spec);
  if (text.empty()) throw std::invalid_argument("time zone must not be empty (UTC, +02:00 or an IANA name such as Europe/Berlin)");
  if (text == "Z" || text == "UTC" || text == "GMT" || text == "Etc/UTC") return TimeZone{};
  std::int32_t offset = 0;
  if (parse_fixed_offset(text, offset)) {
    TimeZone z;
    z.name_ = text;
    z.fixed_offset_ = offset;
    return z;
  }
  // An IANA name: letters, digits and "/_-+"; no "..", no leading "/".
  const bool plausible =
      std::all_of(text.begin(), text.end(),
                  [](char c) {
                    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '/' ||
                           c == '_' || c == '-' || c == '+';
                  }) &&
      text.front() != '/' && text.find("..") == std::string::npos;
  if (!plausible)
    throw std::invalid_argument("unknown time zone '" + text + "' (UTC, +02:00 or an IANA name such as Europe/Berlin)");
  return load_tzif(text, tzdir + "/" + text);
}

TimeZone TimeZone::load_tzif(const std::string& name, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw std::invalid_argument("unknown time zone '" + name + "': no such zone in the tz database (" + path +
                                "; install tzdata, or give an offset such as +02:00)");
  const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
  auto bad = [&]() { return std::invalid_argument("time zone '" + name + "': " + path + " is not a valid TZif file"); };
  constexpr std::size_t kHeader = 44;
  auto counts = [&](std::size_t at, std::int64_t c[6]) {
    if (data.size() < at + kHeader || data.compare(at, 4, "TZif") != 0) throw bad();
    for (int i = 0; i < 6; ++i) {
      c[i] = be(bytes + at + 20 + 4 * i, 4);
      if (c[i] < 0 || c[i] > 100000) throw bad();
    }
  };
  std::int64_t c[6];  // isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
  counts(0, c);
  std::size_t at = kHeader;
  int time_bytes = 4;
  const char version = data.size() > 4 ? data[4] : 0;
  if (version >= '2') {  // skip the 32-bit block; the 64-bit one follows with its own header
    at += static_cast<std::size_t>(c[3] * 4 + c[3] + c[4] * 6 + c[5] + c[2] * 8 + c[1] + c[0]);
    counts(at, c);
    at += kHeader;
    time_bytes = 8;
  }
  const std::int64_t timecnt = c[3], typecnt = c[4];
  const std::size_t block = static_cast<std::size_t>(timecnt * time_bytes + timecnt + typecnt * 6 + c[5] +
                                                     c[2] * (time_bytes + 4) + c[1] + c[0]);
  if (typecnt < 1 || data.size() < at + block) throw bad();
  const unsigned char* times = bytes + at;
  const unsigned char* indexes = times + timecnt * time_bytes;
  const unsigned char* types = indexes + timecnt;
  auto type_offset = [&](std::size_t i) -> std::int32_t {
    if (i >= static_cast<std::size_t>(typecnt)) throw bad();
    return static_cast<std::int32_t>(be(types + i * 6, 4));
  };

  auto transitions = std::make_shared<std::vector<Transition>>();
  for (std::int64_t i = 0; i < timecnt; ++i)
    transitions->push_back({be(times + i * time_bytes, time_bytes), type_offset(indexes[i])});

  // The footer's POSIX rule covers the years after the last transition (files may stop at 2037).
  if (version >= '2') {
    const std::size_t footer = at + block;
    if (footer < data.size() && data[footer] == '\n') {
      const auto end = data.find('\n', footer + 1);
      PosixRule rule;
      if (end != std::string::npos && parse_posix_rule(std::string_view(data).substr(footer + 1, end - footer - 1), rule)) {
        const std::int64_t last = transitions->empty() ? INT64_MIN : transitions->back().at;
        if (!rule.has_dst) {
          if (transitions->empty() || transitions->back().offset != rule.std_offset)
            transitions->push_back({last == INT64_MIN ? INT64_MIN + 1 : last + 1, rule.std_offset});
        } else {
          std::vector<Transition> extra;
          for (int y = 1970; y <= kLastRuleYear; ++y) {
            extra.push_back({rule_local_seconds(y, rule.start) - rule.std_offset, rule.dst_offset});
            extra.push_back({rule_local_seconds(y, rule.end) - rule.dst_offset, rule.std_offset});
          }
          std::sort(extra.begin(), extra.end(), [](const Transition& a, const Transition& b) { return a.at < b.at; });
          for (const auto& t : extra)
            if (t.at > last) transitions->push_back(t);
        }
      }
    }
  }

  TimeZone z;
  z.name_ = name;
  z.fixed_offset_ = type_offset(0);
  if (!transitions->empty()) z.transitions_ = std::move(transitions);
  return z;
}

std::int32_t TimeZone::offset_at(std::int64_t utc_seconds) const noexcept {
  if (!transitions_) return fixed_offset_;
  const auto& t = *transitions_;
  const auto it = std::upper_bound(t.begin(), t.end(), utc_seconds,
                                   [](std::int64_t s, const Transition& tr) { return s < tr.at; });
  return it == t.begin() ? fixed_offset_ : std::prev(it)->offset;
}

std::int64_t TimeZone::to_utc_ms(std::int64_t local_ms) const noexcept {
  if (!transitions_) return local_ms - static_cast<std::int64_t>(fixed_offset_) * 1000;
  const std::int64_t local = local_ms >= 0 ? local_ms / 1000 : (local_ms - 999) / 1000;
  // The offsets a day either side: no zone changes its offset twice within two days.
  const std::int32_t before = offset_at(local - 86400), after = offset_at(local + 86400);
  std::int32_t offset = before;
  if (offset_at(local - before) != before && offset_at(local - after) == after) offset = after;
  // Neither fits: a gap; local - before is the time moved forward by the gap.
  return local_ms - static_cast<std::int64_t>(offset) * 1000;
}

}  // namespace sw
