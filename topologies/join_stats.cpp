// join-stats: exact decimals, the event parser, dataset rows, samples, statistics and their serdes,
// and the output record (the topology is in join_stats_topology.cpp).
#include "topologies/join_stats.h"

#include <algorithm>
#include <bit>
#include <stdexcept>

#include "common/bytes.h"
#include "serde/fields.h"

namespace sw::join_stats {

// ---------------------------------------------------------------------------------------------
// exact decimals

namespace {
constexpr std::uint64_t kLimitUnits = 9'000'000'000'000'000'000ULL;  // 9e18 units, below 2^63
constexpr std::uint64_t kPow10[] = {1ULL,
                                    10ULL,
                                    100ULL,
                                    1'000ULL,
                                    10'000ULL,
                                    100'000ULL,
                                    1'000'000ULL,
                                    10'000'000ULL,
                                    100'000'000ULL,
                                    1'000'000'000ULL,
                                    10'000'000'000ULL,
                                    100'000'000'000ULL,
                                    1'000'000'000'000ULL,
                                    10'000'000'000'000ULL,
                                    100'000'000'000'000ULL,
                                    1'000'000'000'000'000ULL,
                                    10'000'000'000'000'000ULL,
                                    100'000'000'000'000'000ULL,
                                    1'000'000'000'000'000'000ULL};
bool is_digit(char c) { return c >= '0' && c <= '9'; }
}  // namespace

double value_limit(int decimals) { return 9e18 / static_cast<double>(kPow10[decimals]); }

bool parse_scaled(std::string_view t, int decimals, std::int64_t& out) {
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t' || t.back() == '\n' || t.back() == '\r')) t.remove_suffix(1);
  // JSON's number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  std::size_t i = 0;
  const bool negative = i < t.size() && t[i] == '-';
  if (negative) ++i;
  const std::size_t int_begin = i;
  while (i < t.size() && is_digit(t[i])) ++i;
  const std::string_view int_digits = t.substr(int_begin, i - int_begin);
  if (int_digits.empty() || (int_digits.size() > 1 && int_digits[0] == '0')) return false;
  std::string_view frac_digits;
  if (i < t.size() && t[i] == '.') {
    const std::size_t b = ++i;
    while (i < t.size() && is_digit(t[i])) ++i;
    frac_digits = t.substr(b, i - b);
    if (frac_digits.empty()) return false;
  }
  std::int64_t exponent = 0;
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    bool exp_negative = false;
    if (i < t.size() && (t[i] == '+' || t[i] == '-')) exp_negative = t[i++] == '-';
    const std::size_t b = i;
    while (i < t.size() && is_digit(t[i])) {
      if (exponent < 1'000'000) exponent = exponent * 10 + (t[i] - '0');  // beyond: out of range or 0
      ++i;
    }
    if (i == b) return false;
    if (exp_negative) exponent = -exponent;
  }
  if (i != t.size()) return false;

  // The significant digits D (no leading or trailing zeros): the value is D * 10^e10 units.
  char digits[64];
  // Digits beyond the buffer are below the rounding digit (at most 19 digits are kept and the
  // next one rounds), so dropping them changes nothing.
  std::size_t n = 0, dropped = 0;
  std::int64_t e10 = exponent - static_cast<std::int64_t>(frac_digits.size()) + decimals;
  auto push = [&](char c) {
    if (n == 0 && c == '0') return;
    if (n < sizeof digits)
      digits[n++] = c;
    else
      ++dropped;
  };
  for (char c : int_digits) push(c);
  for (char c : frac_digits) push(c);
  if (n == 0) {
    out = 0;
    return true;
  }
  e10 += static_cast<std::int64_t>(dropped);
  while (n > 0 && digits[n - 1] == '0') {
    --n;
    ++e10;
  }
  const auto total = static_cast<std::int64_t>(n) + e10;  // digits of the integer part, in units
  if (total > 19) return false;
  std::uint64_t units = 0;
  if (e10 >= 0) {
    for (std::size_t k = 0; k < n; ++k) units = units * 10 + static_cast<std::uint64_t>(digits[k] - '0');
    units *= kPow10[e10];  // total <= 19 digits: no overflow
  } else {
    const std::int64_t keep = total;  // may be <= 0: the value is below one unit
    for (std::int64_t k = 0; k < keep; ++k) units = units * 10 + static_cast<std::uint64_t>(digits[k] - '0');
    // Half away from zero: the first dropped digit decides (>= 5 rounds the magnitude up).
    const char first_dropped = keep >= 0 ? digits[keep] : '0';
    if (first_dropped >= '5') ++units;
  }
  if (units > kLimitUnits) return false;
  out = negative ? -static_cast<std::int64_t>(units) : static_cast<std::int64_t>(units);
  return true;
}

void append_decimal(std::string& out, i128 scaled, int decimals) {
  u128 magnitude = scaled < 0 ? -static_cast<u128>(scaled) : static_cast<u128>(scaled);
  if (scaled < 0) out += '-';
  const std::uint64_t unit = kPow10[decimals];
  const auto frac = static_cast<std::uint64_t>(magnitude % unit);
  u128 whole = magnitude / unit;
  char buf[48];
  std::size_t len = 0;
  do {
    buf[len++] = static_cast<char>('0' + static_cast<int>(whole % 10));
    whole /= 10;
  } while (whole > 0);
  while (len > 0) out += buf[--len];
  if (frac == 0) return;
  char f[20];
  std::uint64_t x = frac;
  for (int k = decimals - 1; k >= 0; --k) {
    f[k] = static_cast<char>('0' + x % 10);
    x /= 10;
  }
  int end = decimals;
  while (end > 0 && f[end - 1] == '0') --end;
  out += '.';
  out.append(f, static_cast<std::size_t>(end));
}

i128 rounded_quotient(i128 sum, std::int64_t count) {
  const i128 q = sum / count, r = sum % count;
  const i128 twice = (r < 0 ? -r : r) * 2;
  if (twice >= count) return sum < 0 ? q - 1 : q + 1;
  return q;
}

// ---------------------------------------------------------------------------------------------
// events

namespace {
constexpr unsigned kJoin = 1, kTime = 2, kGroup = 4, kFirstField = 8;

bool split_group_by(const std::string& group_by, bool& from_event, std::string& field) {
  for (const auto& [prefix, event] : {std::pair<std::string_view, bool>{"event.", true}, {"dataset.", false}}) {
    if (group_by.size() > prefix.size() && std::string_view(group_by).substr(0, prefix.size()) == prefix) {
      from_event = event;
      field = group_by.substr(prefix.size());
      return true;
    }
  }
  return false;
}
}  // namespace

EventSpec::EventSpec(const Config& c)
    : join_key_(c.join_key), timestamp_(c.timestamp_field), group_by_(c.group_by), fields_(c.fields), decimals_(c.decimals) {
  if (join_key_.empty()) throw std::invalid_argument("the join key field (--join-key) must not be empty");
  if (timestamp_.empty()) throw std::invalid_argument("the timestamp field (--timestamp-field) must not be empty");
  if (!split_group_by(group_by_, group_from_event_, group_field_))
    throw std::invalid_argument("--group-by must be event.<field> or dataset.<field>, not '" + group_by_ + "'");
  if (decimals_ < 0 || decimals_ > kMaxDecimals)
    throw std::invalid_argument("--decimals must be between 0 and " + std::to_string(kMaxDecimals));
  if (fields_.size() > kMaxFields)
    throw std::invalid_argument("at most " + std::to_string(kMaxFields) + " numeric fields (--fields), not " +
                                std::to_string(fields_.size()));
  group_is_join_key_ = group_from_event_ && group_field_ == join_key_;
  if (timestamp_ == join_key_) throw std::invalid_argument("the timestamp field and the join key must differ");
  if (group_from_event_ && !group_is_join_key_ && group_field_ == timestamp_)
    throw std::invalid_argument("the group-by field and the timestamp field must differ");
  for (std::size_t i = 0; i < fields_.size(); ++i) {
    const auto& f = fields_[i];
    if (f.empty()) throw std::invalid_argument("a numeric field (--fields) has an empty name");
    if (f == join_key_ || f == timestamp_ || (group_from_event_ && f == group_field_))
      throw std::invalid_argument("field " + f + " cannot be both a numeric field and the join key, timestamp or group");
    if (std::find(fields_.begin(), fields_.begin() + static_cast<std::ptrdiff_t>(i), f) != fields_.begin() + static_cast<std::ptrdiff_t>(i))
      throw std::invalid_argument("field " + f + " is named twice in --fields");
  }
  limit_text_ = "[-9e" + std::to_string(18 - decimals_) + ", 9e" + std::to_string(18 - decimals_) + "]";
}

unsigned EventSpec::classify(std::string_view key) const {
  if (key == join_key_) return kJoin;
  if (key == timestamp_) return kTime;
  if (group_from_event_ && !group_is_join_key_ && key == group_field_) return kGroup;
  for (std::size_t i = 0; i < fields_.size(); ++i)
    if (key == fields_[i]) return kFirstField << i;
  return 0;
}

namespace {
bool is_null(simdjson::ondemand::value& v) {
  bool null = false;
  return v.is_null().get(null) == simdjson::SUCCESS && null;
}

// A numeric field: a JSON number, read exactly from its token.
bool read_scaled(simdjson::ondemand::value v, const std::string& name, const EventSpec& spec, std::int64_t& out,
                 std::string& error) {
  if (!json::has_type(v, name, simdjson::ondemand::json_type::number, "number", error)) return false;
  const std::string_view token = v.raw_json_token();
  if (parse_scaled(token, spec.decimals(), out)) return true;
  // Not a JSON number at all ("-Infinity" looks like one to the tokenizer), or too large.
  double d = 0;
  if (v.get_double().get(d) != simdjson::SUCCESS) {
    error = "field " + name + " is not a valid number: " + json::describe(simdjson::NUMBER_ERROR);
    return false;
  }
  error = "field " + name + " is out of range " + spec.limit_text();
  return false;
}
}  // namespace

bool parse_event(std::string_view text, const EventSpec& spec, Event& out, std::string& error, const TimeZone* default_zone) {
  out.key = {};
  out.group = {};
  out.timestamp = kNoTimestamp;
  out.present = 0;
  unsigned seen = 0;
  const bool parsed = json::parse_object(
      text, seen, [&](std::string_view key) { return spec.classify(key); },
      [&](unsigned bit, std::string_view, simdjson::ondemand::value value) {
        switch (bit) {
          case kJoin: return json::read_id(value, spec.join_key(), out.key, error);
          case kTime: return json::read_timestamp(value, spec.timestamp(), default_zone, out.timestamp, error);
          case kGroup: return is_null(value) || json::read_id(value, spec.group_field(), out.group, error);
          default: {
            const auto i = static_cast<unsigned>(std::countr_zero(bit)) - 3;
            if (is_null(value)) return true;  // no value, as an absent field
            if (!read_scaled(value, spec.fields()[i], spec, out.values[i], error)) return false;
            out.present |= 1u << i;
            return true;
          }
        }
      },
      error);
  if (!parsed) return false;
  if (!(seen & kJoin)) return error = "missing field " + spec.join_key(), false;
  if (out.key.empty()) return error = "field " + spec.join_key() + " is empty", false;
  if (!(seen & kTime)) return error = "missing field " + spec.timestamp(), false;
  if (spec.group_is_join_key()) out.group = out.key;
  return true;
}

// ---------------------------------------------------------------------------------------------
// the dataset

namespace {
// An id as the events write it: a string, or an integer as its decimal text.
bool row_id(const nlohmann::json& v, const std::string& name, std::string& out, std::string& error) {
  if (v.is_number_integer()) {
    out = v.dump();
    return true;
  }
  if (!v.is_string()) return error = "field " + name + " is not a string or an integer", false;
  out = v.get<std::string>();
  return true;
}
}  // namespace

bool parse_row(const nlohmann::json& row, const std::string& key_field, const std::string& group_field, std::string& key,
               Row& out, std::string& error) {
  if (!row.is_object()) return error = "not a JSON object", false;
  const auto k = row.find(key_field);
  if (k == row.end() || k->is_null()) return error = "missing field " + key_field, false;
  if (!row_id(*k, key_field, key, error)) return false;
  if (key.empty()) return error = "field " + key_field + " is empty", false;
  out.group.clear();
  if (group_field.empty()) return true;
  const auto g = row.find(group_field);
  if (g == row.end() || g->is_null()) return true;  // the null group
  return row_id(*g, group_field, out.group, error);
}

// ---------------------------------------------------------------------------------------------
// samples and statistics

namespace {
std::uint64_t zigzag(std::int64_t v) { return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63); }
std::int64_t unzigzag(std::uint64_t u) { return static_cast<std::int64_t>(u >> 1) ^ -static_cast<std::int64_t>(u & 1); }
void put_i128(std::string& out, i128 v) {
  const auto u = (static_cast<u128>(v) << 1) ^ static_cast<u128>(v >> 127);
  bytes::put_varint(out, static_cast<std::uint64_t>(u));
  bytes::put_varint(out, static_cast<std::uint64_t>(u >> 64));
}
i128 get_i128(bytes::Reader& r) {
  const u128 lo = r.get_varint(), hi = r.get_varint();
  const u128 u = lo | (hi << 64);
  return static_cast<i128>(u >> 1) ^ -static_cast<i128>(u & 1);
}
// Counters read back from state are at most 2^56 and values at most 9e18 units in magnitude, so
// no merge of stored partials can overflow (|sum| <= 2^56 * 9e18 < 2^126).
constexpr std::uint64_t kMaxCounter = std::uint64_t{1} << 56;
bool within_limit(std::int64_t v) {
  return v >= -static_cast<std::int64_t>(kLimitUnits) && v <= static_cast<std::int64_t>(kLimitUnits);
}
}  // namespace

Serde<Sample> sample_serde(std::size_t fields) {
  return {[](const Sample& s, std::string& out) {
            out += static_cast<char>(s.matched ? 1 : 0);
            bytes::put_varint(out, s.present);
            for (std::uint32_t bits = s.present; bits; bits &= bits - 1)
              bytes::put_varint(out, zigzag(s.values[static_cast<std::size_t>(std::countr_zero(bits))]));
          },
          [fields](std::string_view in, Sample& s, std::string& error) {
            bytes::Reader r(in);
            const auto flags = r.get<std::uint8_t>();
            const auto present = r.get_varint();
            if (!r.ok() || flags > 1 || present >> fields) return error = "bad sample record", false;
            s.matched = flags == 1;
            s.present = static_cast<std::uint32_t>(present);
            for (std::uint32_t bits = s.present; bits; bits &= bits - 1) {
              const auto v = unzigzag(r.get_varint());
              if (!within_limit(v)) return error = "bad sample record", false;
              s.values[static_cast<std::size_t>(std::countr_zero(bits))] = v;
            }
            if (!r.ok() || !r.rest().empty()) return error = "bad sample record", false;
            return true;
          }};
}

GroupStats make_stats(std::size_t fields) {
  GroupStats s;
  s.fields.resize(fields);
  return s;
}

void add_sample(GroupStats& s, const Sample& sample) {
  ++s.count;
  s.unmatched += !sample.matched;
  for (std::uint32_t bits = sample.present; bits; bits &= bits - 1) {
    const auto i = static_cast<std::size_t>(std::countr_zero(bits));
    if (i >= s.fields.size()) break;
    auto& f = s.fields[i];
    const std::int64_t v = sample.values[i];
    ++f.count;
    f.sum += v;
    f.min = std::min(f.min, v);
    f.max = std::max(f.max, v);
  }
}

void merge(GroupStats& into, const GroupStats& p) {
  into.count += p.count;
  into.unmatched += p.unmatched;
  const std::size_t n = std::min(into.fields.size(), p.fields.size());
  for (std::size_t i = 0; i < n; ++i) {
    auto& f = into.fields[i];
    const auto& g = p.fields[i];
    f.count += g.count;
    f.sum += g.sum;
    f.min = std::min(f.min, g.min);
    f.max = std::max(f.max, g.max);
  }
}

Serde<GroupStats> group_stats_serde(std::size_t fields) {
  return {[](const GroupStats& s, std::string& out) {
            bytes::put_varint(out, static_cast<std::uint64_t>(s.count));
            bytes::put_varint(out, static_cast<std::uint64_t>(s.unmatched));
            bytes::put_varint(out, s.fields.size());
            for (const auto& f : s.fields) {
              bytes::put_varint(out, static_cast<std::uint64_t>(f.count));
              if (f.count == 0) continue;
              put_i128(out, f.sum);
              bytes::put_varint(out, zigzag(f.min));
              bytes::put_varint(out, zigzag(f.max));
            }
          },
          [fields](std::string_view in, GroupStats& s, std::string& error) {
            bytes::Reader r(in);
            const auto count = r.get_varint(), unmatched = r.get_varint(), n = r.get_varint();
            if (!r.ok() || count > kMaxCounter || unmatched > count || n != fields)
              return error = "bad group statistics", false;
            s.count = static_cast<std::int64_t>(count);
            s.unmatched = static_cast<std::int64_t>(unmatched);
            s.fields.assign(fields, FieldStats{});
            for (auto& f : s.fields) {
              const auto c = r.get_varint();
              if (!r.ok() || c > count) return error = "bad group statistics", false;
              f.count = static_cast<std::int64_t>(c);
              if (c == 0) continue;
              f.sum = get_i128(r);
              f.min = unzigzag(r.get_varint());
              f.max = unzigzag(r.get_varint());
              const i128 bound = static_cast<i128>(f.count) * static_cast<std::int64_t>(kLimitUnits);
              if (!r.ok() || f.min > f.max || !within_limit(f.min) || !within_limit(f.max) || f.sum > bound || f.sum < -bound)
                return error = "bad group statistics", false;
            }
            if (!r.ok() || !r.rest().empty()) return error = "bad group statistics", false;
            return true;
          }};
}

void stats_json(std::string& out, const EventSpec& spec, std::string_view group, const Window& w, const GroupStats& s) {
  out.clear();
  out += "{\"group_by\":";
  json::append_string(out, spec.group_by());
  out += ",\"group\":";
  if (group.empty())
    out += "null";
  else
    json::append_string(out, group);
  out += ",\"window_start\":\"";
  format_rfc3339(w.start, out);
  out += "\",\"window_end\":\"";
  format_rfc3339(w.end, out);
  out += "\",\"count\":";
  out += std::to_string(s.count);
  out += ",\"unmatched\":";
  out += std::to_string(s.unmatched);
  out += ",\"stats\":{";
  const int d = spec.decimals();
  for (std::size_t i = 0; i < spec.fields().size(); ++i) {
    if (i > 0) out += ',';
    json::append_string(out, spec.fields()[i]);
    const FieldStats f = i < s.fields.size() ? s.fields[i] : FieldStats{};
    out += ":{\"count\":";
    out += std::to_string(f.count);
    if (f.count == 0) {
      out += ",\"sum\":null,\"avg\":null,\"min\":null,\"max\":null}";
      continue;
    }
    out += ",\"sum\":";
    append_decimal(out, f.sum, d);
    out += ",\"avg\":";
    append_decimal(out, rounded_quotient(f.sum, f.count), d);
    out += ",\"min\":";
    append_decimal(out, f.min, d);
    out += ",\"max\":";
    append_decimal(out, f.max, d);
    out += '}';
  }
  out += "}}";
}

}  // namespace sw::join_stats
