#include "topologies/crash_monitor_data.h"

#include <cstdio>
#include <sstream>
#include <stdexcept>

namespace sw::crash_monitor {

namespace {
constexpr std::array<const char*, 6> kCrashTexts{
    "Application crash detected in module %s",
    "Fatal: worker process crashed with signal 11 in %s",
    "CRASH report uploaded after unexpected exit of %s",
    "Renderer Crashed while handling request in %s",
    "Unhandled exception, service crash imminent in %s",
    "Watchdog restarted %s after a crash loop",
};
// The same situations for any word (%t): what the seed's ADDITIONAL_TERM puts into messages.
constexpr std::array<const char*, 6> kTermTexts{
    "Application %t detected in module %s",
    "Fatal: worker process reported %t in %s",
    "%t report uploaded after unexpected exit of %s",
    "Renderer hit %t while handling request in %s",
    "Unhandled exception, service %t imminent in %s",
    "Watchdog restarted %s after a %t loop",
};
constexpr std::array<const char*, 6> kNormalTexts{
    "Request served in %s",
    "User login succeeded via %s",
    "Cache miss for key in %s",
    "Connection reset by peer in %s",
    "Slow query detected in %s",
    "Configuration reloaded for %s",
};
constexpr std::array<const char*, 6> kModules{"checkout", "payments", "search", "profile", "media-upload", "auth"};

// A template with %s replaced by the module and %t by the term.
std::string fill_template(std::string_view tmpl, std::string_view module, std::string_view term) {
  std::string out;
  for (std::size_t i = 0; i < tmpl.size(); ++i) {
    if (tmpl[i] == '%' && i + 1 < tmpl.size() && (tmpl[i + 1] == 's' || tmpl[i + 1] == 't')) {
      out += tmpl[i + 1] == 's' ? module : term;
      ++i;
    } else {
      out += tmpl[i];
    }
  }
  return out;
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// Whether `text` contains `word`, ASCII case ignored (as the crash monitor's filter matches).
bool contains_folded(std::string_view text, std::string_view word) {
  if (word.size() > text.size()) return false;
  for (std::size_t i = 0; i + word.size() <= text.size(); ++i) {
    std::size_t j = 0;
    while (j < word.size() && lower(text[i + j]) == lower(word[j])) ++j;
    if (j == word.size()) return true;
  }
  return false;
}

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 0 : (c >> 5) == 0x6 ? 1 : (c >> 4) == 0xE ? 2 : (c >> 3) == 0x1E ? 3 : 4;
    if (n == 4 || (n == 1 && c < 0xC2) || (n > 0 && i + n >= s.size())) return false;
    std::uint32_t cp = n == 0 ? c : c & (0x3F >> n);
    for (std::size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += n + 1;
  }
  return true;
}

std::uint64_t splitmix(std::uint64_t z) {
  z += 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Appends `v` in decimal with at least `width` digits (zero-padded), as printf's %0*llu does.
void append_padded(std::string& out, std::uint64_t v, int width) {
  char buf[24];
  int n = 0;
  do {
    buf[sizeof buf - 1 - n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v);
  while (n < width) buf[sizeof buf - 1 - n++] = '0';
  out.append(buf + sizeof buf - n, static_cast<std::size_t>(n));
}
}  // namespace

std::array<double, 4> parse_severity_mix(const std::string& text) {
  std::array<double, 4> w{0, 0, 0, 0};
  std::stringstream ss(text);
  std::string item;
  bool any = false;
  while (std::getline(ss, item, ',')) {
    const auto eq = item.find('=');
    if (eq == std::string::npos) throw std::invalid_argument("severity mix item '" + item + "' is not Name=weight");
    const auto name = item.substr(0, eq);
    double v = 0;
    try {
      v = std::stod(item.substr(eq + 1));
    } catch (const std::exception&) {
      throw std::invalid_argument("severity mix weight in '" + item + "' is not a number");
    }
    if (v < 0) throw std::invalid_argument("severity mix weight in '" + item + "' is negative");
    bool found = false;
    for (std::size_t i = 0; i < kSeverities.size(); ++i)
      if (name == kSeverities[i]) w[i] = v, found = true;
    if (!found) throw std::invalid_argument("unknown severity '" + name + "' (Low, Medium, High, Critical)");
    any = any || v > 0;
  }
  if (!any) throw std::invalid_argument("severity mix needs a positive weight");
  return w;
}

std::string term_problem(std::string_view term) {
  if (term.find_first_not_of(" \t") == std::string_view::npos) return "the term must not be empty";
  if (term.size() > kMaxTermBytes)
    return "the term is longer than " + std::to_string(kMaxTermBytes) + " bytes";
  for (char c : term) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\' || u < 0x20 || u == 0x7F)
      return "the term must not contain quotes, backslashes or control characters (it is written into JSON text as "
             "it is)";
  }
  if (!valid_utf8(term)) return "the term is not valid UTF-8";
  for (const char* module : kModules)
    for (const char* tmpl : kNormalTexts)
      if (!contains_folded(fill_template(tmpl, module, {}), term)) return {};
  return "the term '" + std::string(term) + "' appears in every ordinary message; choose a longer word";
}

LogGenerator::LogGenerator(const GeneratorConfig& config)
    : config_(config),
      state_(config.instance == 0 ? config.seed * 0x9E3779B97F4A7C15ULL + 1
                                  : splitmix(config.seed * 0x9E3779B97F4A7C15ULL + 1) ^ splitmix(~std::uint64_t{config.instance})),
      special_rate_(config.term.empty() ? config.crash_rate : config.term_rate) {
  if (config_.users == 0) throw std::invalid_argument("users must be positive");
  if (!config_.term.empty()) {
    if (auto problem = term_problem(config_.term); !problem.empty()) throw std::invalid_argument(problem);
    if (!(config_.term_rate >= 0 && config_.term_rate <= 1)) throw std::invalid_argument("the term rate must be between 0 and 1");
  }
  double total = 0;
  for (double w : config_.severity_weights) total += w;
  if (total <= 0) throw std::invalid_argument("severity weights must not all be zero");
  double acc = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    acc += config_.severity_weights[i] / total;
    cumulative_[i] = acc;
  }
  // Every content text, made once: module-major, so that [module * 6 + template] is what the
  // original generator formatted for the same two random draws.
  for (std::uint8_t m = 0; m < kModules.size(); ++m) {
    for (std::size_t t = 0; t < kNormalTexts.size(); ++t) {
      if (config_.term.empty()) {
        special_.push_back({fill_template(kCrashTexts[t], kModules[m], {}), m});
        ordinary_.push_back({fill_template(kNormalTexts[t], kModules[m], {}), m});
      } else {
        special_.push_back({fill_template(kTermTexts[t], kModules[m], config_.term), m});
        auto text = fill_template(kNormalTexts[t], kModules[m], {});
        if (!contains_folded(text, config_.term)) ordinary_.push_back({std::move(text), m});
      }
    }
  }
  request_prefix_ = "\",\"request_id\":\"r-";
  if (config_.instance != 0) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%08x-", static_cast<unsigned>(config_.instance));
    request_prefix_ += buf;
  }
}

std::uint64_t LogGenerator::rand() {
  std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

void LogGenerator::next(TimestampMs now, std::string& key, std::string& value) {
  ++sequence_;
  TimestampMs ts = now;
  const double r = uniform();
  if (r < config_.late) {
    ts -= config_.late_by.count();
  } else if (r < config_.late + config_.out_of_order) {
    ts -= static_cast<TimestampMs>(uniform() * static_cast<double>(config_.max_disorder.count()));
  }
  const auto user = static_cast<std::uint32_t>(rand() % config_.users);
  const double s = uniform();
  std::size_t sev = 0;
  while (sev < 3 && s > cumulative_[sev]) ++sev;
  const bool special = uniform() < special_rate_;
  const Text* text;
  if (config_.term.empty()) {  // the original draws: module, then template
    const auto module = rand() % kModules.size();
    text = &(special ? special_ : ordinary_)[module * kNormalTexts.size() + rand() % kNormalTexts.size()];
  } else {
    const auto& texts = special ? special_ : ordinary_;
    text = &texts[rand() % texts.size()];
  }
  if (ts != cached_ts_) {
    cached_ts_ = ts;
    cached_ts_text_.clear();
    format_rfc3339(ts, cached_ts_text_);
  }

  key.assign("user-");
  append_padded(key, user, 5);

  value.clear();
  value += "{\"timestamp\":\"";
  value += cached_ts_text_;
  value += "\",\"user_id\":\"";
  value += key;
  value += "\",\"severity\":\"";
  value += kSeverities[sev];
  value += "\",\"content\":\"";
  value += text->content;
  value += "\",\"service\":\"";
  value += kModules[text->module];
  value += "\",\"host\":\"node-";
  append_padded(value, rand() % 32, 2);
  value += request_prefix_;
  append_padded(value, sequence_, 12);
  value += "\"}";
}

}  // namespace sw::crash_monitor
