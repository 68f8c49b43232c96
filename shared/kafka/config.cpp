#include "kafka/config.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <memory>
#include <stdexcept>

#include <unistd.h>

#include "common/secret_file.h"

namespace sw::kafka {

namespace {

constexpr std::string_view kFileSuffix = ".file";

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string_view trim_left(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\f')) s.remove_prefix(1);
  return s;
}

std::string_view trim_right(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\f' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* c) const noexcept { rd_kafka_conf_destroy(c); }
};
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

extern "C" void discard_log(const rd_kafka_t*, int, const char*, const char*) {}

}  // namespace

Config& Config::set_raw(std::string key, std::string value) {
  from_files_.erase(std::remove_if(from_files_.begin(), from_files_.end(), [&](const auto& f) { return f.first == key; }),
                    from_files_.end());
  for (auto& [k, v] : entries_) {
    if (k == key) {
      v = std::move(value);
      return *this;
    }
  }
  entries_.emplace_back(std::move(key), std::move(value));
  return *this;
}

bool Config::set_from_assignment(std::string_view assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string_view::npos || eq == 0) return false;
  set_raw(std::string(assignment.substr(0, eq)), std::string(assignment.substr(eq + 1)));
  return true;
}

Config& Config::set_user_property(std::string key, std::string value, const std::string& source) {
  if (key.empty()) throw std::invalid_argument(source + ": empty property name");
  std::string file;
  if (ends_with(key, kFileSuffix) && key.size() > kFileSuffix.size()) {
    file = std::move(value);
    key.resize(key.size() - kFileSuffix.size());
    value = read_secret_file(file, source + " (" + key + std::string(kFileSuffix) + ")");
  }
  // librdkafka knows every property and its type; ask it now, so that a typo names its source.
  ConfPtr conf(rd_kafka_conf_new());
  char errstr[512];
  if (rd_kafka_conf_set(conf.get(), key.c_str(), value.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
    std::string reason = errstr;
    if (is_secret_key(key) || !file.empty()) {
      // The value may be quoted in the reason; a value read from a file may be a secret too.
      for (std::size_t pos = 0; !value.empty() && (pos = reason.find(value, pos)) != std::string::npos; pos += 3)
        reason.replace(pos, value.size(), "***");
    }
    throw std::invalid_argument(source + ": " + key + ": " + reason);
  }
  set_raw(key, std::move(value));
  if (!file.empty()) from_files_.emplace_back(std::move(key), std::move(file));
  return *this;
}

Config& Config::set_from_environment(std::string_view prefix) {
  for (char** e = environ; *e; ++e) {
    const std::string_view entry(*e);
    const auto eq = entry.find('=');
    if (entry.substr(0, prefix.size()) != prefix || eq == std::string_view::npos || eq == prefix.size()) continue;
    std::string key(entry.substr(prefix.size(), eq - prefix.size()));
    for (auto& c : key) c = c == '_' ? '.' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    set_user_property(std::move(key), std::string(entry.substr(eq + 1)), std::string(entry.substr(0, eq)));
  }
  return *this;
}

Config& Config::set_from_properties_file(const std::string& path, const std::string& flag) {
  const std::string what = flag + " " + path;
  const std::string text = read_secret_file(path, flag);
  std::size_t start = 0;
  int line_no = 0;
  while (start <= text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string_view raw(text.data() + start, end - start);
    start = end + 1;
    ++line_no;
    const auto line = trim_right(trim_left(raw));
    if (line.empty() || line.front() == '#' || line.front() == '!') continue;
    const auto sep = line.find_first_of("=:");
    const std::string where = what + ":" + std::to_string(line_no);
    // The line is not quoted in the message: it may hold a secret.
    if (sep == std::string_view::npos) throw std::invalid_argument(where + ": expected key=value");
    const auto key = trim_right(line.substr(0, sep));
    if (key.empty()) throw std::invalid_argument(where + ": expected key=value, the key is empty");
    set_user_property(std::string(key), std::string(trim_left(line.substr(sep + 1))), where);
  }
  return *this;
}

Config& Config::set_user_properties(const std::vector<std::string>& files, const std::vector<std::string>& assignments,
                                    const std::string& flag, ClientRoles roles) {
  for (const auto& f : files) set_from_properties_file(f);
  set_from_environment();
  for (const auto& kv : assignments) {
    const auto eq = kv.find('=');
    // Not quoted back: "sasl.password:hunter2" would print the password.
    if (eq == std::string::npos || eq == 0)
      throw std::invalid_argument(flag + " expects key=value, got an argument " +
                                  (eq == 0 ? std::string("with an empty key") : std::string("without '='")));
    set_user_property(kv.substr(0, eq), kv.substr(eq + 1), flag);
  }
  try {
    validate(roles);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("Kafka properties (" + flag + ", --kafka-properties-file, KAFKA_PROPERTY_*): " + e.what());
  }
  return *this;
}

void Config::validate(ClientRoles roles) const {
  auto check = [&](bool producer) {
    ConfPtr conf(rd_kafka_conf_new());
    char errstr[512];
    bool idempotence_set = false;
    for (const auto& [k, v] : entries_) {
      // Without brokers (and without a group) the handle never connects.
      if (k == "bootstrap.servers" || k == "metadata.broker.list" || k == "group.id") continue;
      if (k == "enable.idempotence") idempotence_set = true;
      if (rd_kafka_conf_set(conf.get(), k.c_str(), v.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK)
        throw std::invalid_argument(scrub("invalid Kafka property " + k + ": " + errstr));
    }
    if (producer && !idempotence_set) rd_kafka_conf_set(conf.get(), "enable.idempotence", "true", errstr, sizeof errstr);
    // No Kerberos ticket refresh (kinit) for a handle that lives a moment.
    rd_kafka_conf_set(conf.get(), "sasl.kerberos.min.time.before.relogin", "0", errstr, sizeof errstr);
    rd_kafka_conf_set_log_cb(conf.get(), &discard_log);
    rd_kafka_t* rk = rd_kafka_new(producer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER, conf.get(), errstr, sizeof errstr);
    if (!rk)
      throw std::invalid_argument(scrub(std::string("invalid Kafka configuration (") +
                                        (producer ? "producer" : "consumer") + "): " + errstr));
    conf.release();  // rd_kafka_new took it
    rd_kafka_destroy(rk);
  };
  if (static_cast<int>(roles) & static_cast<int>(ClientRoles::producer)) check(true);
  if (static_cast<int>(roles) & static_cast<int>(ClientRoles::consumer)) check(false);
}

std::optional<std::string> Config::get(std::string_view key) const {
  for (const auto& [k, v] : entries_)
    if (k == key) return v;
  return std::nullopt;
}

bool Config::is_secret_key(std::string_view key) {
  std::string lower(key);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  static constexpr std::array<std::string_view, 8> markers{"password", "secret", "key.pem", "token", "jaas",
                                                           "oauthbearer.config", "private", "credential"};
  for (auto m : markers)
    if (lower.find(m) != std::string::npos) return true;
  // ssl.key.location names a file, not a secret; ssl.key.password is caught above.
  return false;
}

std::string Config::scrub(std::string text) const {
  for (const auto& [k, v] : entries_) {
    if (v.empty() || !is_secret_key(k)) continue;
    for (std::size_t pos = 0; (pos = text.find(v, pos)) != std::string::npos; pos += 3) text.replace(pos, v.size(), "***");
  }
  return text;
}

std::string Config::redacted() const {
  std::string out;
  for (const auto& [k, v] : entries_) {
    out += k;
    out += '=';
    const auto file = std::find_if(from_files_.begin(), from_files_.end(), [&](const auto& f) { return f.first == k; });
    if (is_secret_key(k))
      out += "***";
    else if (file == from_files_.end())
      out += v;
    if (file != from_files_.end()) out += (is_secret_key(k) ? " (read from " : "(read from ") + file->second + ")";
    out += '\n';
  }
  return out;
}

}  // namespace sw::kafka
