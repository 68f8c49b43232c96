#include "services/loadgen/replay_time.h"

#include <charconv>

#include "common/time.h"

namespace sw::loadgen {

namespace {

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) noexcept {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

void put(std::string& out, std::int64_t v, int width) {
  char buf[24];
  int n = 0;
  bool neg = v < 0;
  std::uint64_t u = neg ? 0 - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
  do {
    buf[sizeof buf - 1 - n++] = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u);
  while (n < width) buf[sizeof buf - 1 - n++] = '0';
  if (neg) out += '-';
  out.append(buf + sizeof buf - n, static_cast<std::size_t>(n));
}

}  // namespace

std::int64_t TokenTime::precision_ms() const noexcept {
  if (number || fraction_digits >= 3) return 1;
  return fraction_digits == 2 ? 10 : fraction_digits == 1 ? 100 : 1000;
}

bool parse_token_time(std::string_view token, TokenTime& out) noexcept {
  out = TokenTime{};
  if (token.empty()) return false;
  if (token.front() != '"') {  // epoch milliseconds: an integer
    std::int64_t v = 0;
    const auto* end = token.data() + token.size();
    const auto r = std::from_chars(token.data(), end, v);
    if (r.ec != std::errc() || r.ptr != end) return false;
    if (v <= -1'000'000'000'000'000 || v >= 1'000'000'000'000'000) return false;
    out.number = true;
    out.local_ms = v;
    return true;
  }
  if (token.size() < 2 || token.back() != '"') return false;
  const std::string_view s = token.substr(1, token.size() - 2);
  int y, mo, d, h, mi, sec;
  if (!digits(s, 0, 4, y) || s.size() < 19 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d) || !(s[10] == 'T' || s[10] == 't' || s[10] == ' ') || !digits(s, 11, 2, h) || s[13] != ':' ||
      !digits(s, 14, 2, mi) || s[16] != ':' || !digits(s, 17, 2, sec))
    return false;
  if (mo < 1 || mo > 12 || d < 1 || static_cast<unsigned>(d) > days_in_month(y, static_cast<unsigned>(mo)) || h > 23 ||
      mi > 59 || sec > 59)
    return false;
  out.separator = s[10];
  std::size_t p = 19;
  int ms = 0;
  if (p < s.size() && s[p] == '.') {
    std::size_t q = p + 1;
    while (q < s.size() && s[q] >= '0' && s[q] <= '9') ++q;
    const std::size_t n = q - p - 1;
    if (n == 0 || n > 9) return false;
    for (std::size_t i = 0; i < 3; ++i) ms = ms * 10 + (i < n ? s[p + 1 + i] - '0' : 0);
    out.fraction_digits = static_cast<int>(n);
    if (n > 3) out.sub_ms = s.substr(p + 4, n - 3);
    p = q;
  }
  out.zone = s.substr(p);
  const std::string_view z = out.zone;
  if (z.empty() || z == "Z" || z == "z") {
    out.offset_min = 0;
  } else if (z[0] == '+' || z[0] == '-') {
    int oh = 0, om = 0;
    if (z.size() == 3 && digits(z, 1, 2, oh)) {
    } else if (z.size() == 5 && digits(z, 1, 2, oh) && digits(z, 3, 2, om)) {
    } else if (z.size() == 6 && digits(z, 1, 2, oh) && z[3] == ':' && digits(z, 4, 2, om)) {
    } else {
      return false;
    }
    if (oh > 23 || om > 59) return false;
    out.offset_min = (z[0] == '-' ? -1 : 1) * (oh * 60 + om);
  } else {
    return false;
  }
  out.local_ms = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400000 +
                 (std::int64_t{h} * 3600 + mi * 60 + sec) * 1000 + ms;
  return true;
}

bool append_shifted(const TokenTime& t, std::int64_t shift_ms, std::string& out) {
  constexpr std::int64_t kLimit = 1'000'000'000'000'000;
  if (shift_ms <= -kLimit || shift_ms >= kLimit) return false;
  const std::int64_t v = t.local_ms + shift_ms;
  if (t.number) {
    if (v <= -kLimit || v >= kLimit) return false;
    put(out, v, 1);
    return true;
  }
  constexpr std::int64_t kYear0 = -62167219200000;    // 0000-01-01T00:00:00
  constexpr std::int64_t kYear10000 = 253402300800000;  // 10000-01-01T00:00:00
  if (v < kYear0 || v >= kYear10000) return false;
  std::int64_t days = v >= 0 ? v / 86400000 : (v - 86399999) / 86400000;
  std::int64_t rem = v - days * 86400000;
  std::int64_t y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  const std::int64_t ms = rem % 1000;
  rem /= 1000;
  out += '"';
  put(out, y, 4);
  out += '-';
  put(out, m, 2);
  out += '-';
  put(out, d, 2);
  out += t.separator;
  put(out, rem / 3600, 2);
  out += ':';
  put(out, rem / 60 % 60, 2);
  out += ':';
  put(out, rem % 60, 2);
  if (t.fraction_digits > 0) {
    out += '.';
    char f[3] = {static_cast<char>('0' + ms / 100), static_cast<char>('0' + ms / 10 % 10), static_cast<char>('0' + ms % 10)};
    out.append(f, static_cast<std::size_t>(t.fraction_digits < 3 ? t.fraction_digits : 3));
    out += t.sub_ms;
  }
  out += t.zone;
  out += '"';
  return true;
}

}  // namespace sw::loadgen
