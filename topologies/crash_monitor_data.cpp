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
constexpr std::array<const char*, 6> kNormalTexts{
    "Request served in %s",
    "User login succeeded via %s",
    "Cache miss for key in %s",
    "Connection reset by peer in %s",
    "Slow query detected in %s",
    "Configuration reloaded for %s",
};
constexpr std::array<const char*, 6> kModules{"checkout", "payments", "search", "profile", "media-upload", "auth"};
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

LogGenerator::LogGenerator(const GeneratorConfig& config) : config_(config), state_(config.seed * 0x9E3779B97F4A7C15ULL + 1) {
  if (config_.users == 0) throw std::invalid_argument("users must be positive");
  double total = 0;
  for (double w : config_.severity_weights) total += w;
  if (total <= 0) throw std::invalid_argument("severity weights must not all be zero");
  double acc = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    acc += config_.severity_weights[i] / total;
    cumulative_[i] = acc;
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
  const bool crash = uniform() < config_.crash_rate;
  const char* module = kModules[rand() % kModules.size()];
  const char* tmpl = crash ? kCrashTexts[rand() % kCrashTexts.size()] : kNormalTexts[rand() % kNormalTexts.size()];

  char user_buf[32];
  const int ulen = std::snprintf(user_buf, sizeof user_buf, "user-%05u", user);
  key.assign(user_buf, static_cast<std::size_t>(ulen));
  char content[160];
  const int clen = std::snprintf(content, sizeof content, tmpl, module);

  value.clear();
  value += "{\"timestamp\":\"";
  format_rfc3339(ts, value);
  value += "\",\"user_id\":\"";
  value.append(user_buf, static_cast<std::size_t>(ulen));
  value += "\",\"severity\":\"";
  value += kSeverities[sev];
  value += "\",\"content\":\"";
  value.append(content, static_cast<std::size_t>(clen));
  char tail[96];
  const int tlen = std::snprintf(tail, sizeof tail, "\",\"service\":\"%s\",\"host\":\"node-%02u\",\"request_id\":\"r-%012llu\"}",
                                 module, static_cast<unsigned>(rand() % 32), static_cast<unsigned long long>(sequence_));
  value.append(tail, static_cast<std::size_t>(tlen));
}

}  // namespace sw::crash_monitor
