#include "services/console/sources.h"

#include <httplib.h>
#include <netdb.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include <algorithm>
#include <future>
#include <set>

namespace sw::console {

namespace {

// RFC 3986: everything but unreserved characters as %XX (a PromQL query in a query parameter).
std::string percent_encode(const std::string& text) {
  static const char* const hex = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
        c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace


HttpAnswer http_get_url(const HttpUrl& url, const std::string& path_and_query, const std::string& connect_address,
                        std::chrono::milliseconds timeout) {
  HttpAnswer a;
  const std::string host = connect_address.empty() ? url.host : connect_address;
  httplib::Client client(host, url.port);
  const auto sec = static_cast<time_t>(timeout.count() / 1000);
  const auto usec = static_cast<time_t>((timeout.count() % 1000) * 1000);
  client.set_connection_timeout(sec, usec);
  client.set_read_timeout(sec, usec);
  client.set_write_timeout(sec, usec);
  client.set_keep_alive(false);
  httplib::Headers headers;
  if (!connect_address.empty()) {
    const bool v6 = url.host.find(':') != std::string::npos;
    headers.emplace("Host", (v6 ? "[" + url.host + "]" : url.host) + ":" + std::to_string(url.port));
  }
  auto res = client.Get(path_and_query, headers);
  if (!res) {
    a.error = httplib::to_string(res.error());
    return a;
  }
  a.status = res->status;
  // A body larger than this is not a stage's /metrics (a few hundred series): refuse it.
  constexpr std::size_t kMaxBody = 16 * 1024 * 1024;
  if (res->body.size() > kMaxBody) {
    a.error = "answer larger than 16 MiB";
    a.status = 0;
    return a;
  }
  a.body = std::move(res->body);
  return a;
}

namespace {

// Every address a host name resolves to (numeric forms as they are), deduplicated, sorted.
std::vector<std::string> resolve(const std::string& host, std::string& error) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_family = AF_UNSPEC;
  addrinfo* res = nullptr;
  if (const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res); rc != 0) {
    error = std::string("cannot resolve ") + host + ": " + ::gai_strerror(rc);
    return {};
  }
  std::set<std::string> out;
  for (auto* p = res; p; p = p->ai_next) {
    char buf[INET6_ADDRSTRLEN] = {};
    if (p->ai_family == AF_INET)
      ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(p->ai_addr)->sin_addr, buf, sizeof buf);
    else if (p->ai_family == AF_INET6)
      ::inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(p->ai_addr)->sin6_addr, buf, sizeof buf);
    else
      continue;
    out.insert(buf);
  }
  ::freeaddrinfo(res);
  return {out.begin(), out.end()};
}

bool numeric_host(const std::string& host) {
  in6_addr a6{};
  in_addr a4{};
  return ::inet_pton(AF_INET, host.c_str(), &a4) == 1 || ::inet_pton(AF_INET6, host.c_str(), &a6) == 1;
}

}  // namespace

DirectScraper::DirectScraper(std::vector<MetricsEndpoint> endpoints, std::chrono::milliseconds timeout)
    : endpoints_(std::move(endpoints)), timeout_(timeout) {}

std::string DirectScraper::describe() const {
  return std::to_string(endpoints_.size()) + " metrics URL" + (endpoints_.size() == 1 ? "" : "s") + " (scraped directly)";
}

std::vector<DirectScraper::Target> DirectScraper::targets_of(const MetricsEndpoint& e, std::string& dns_error) {
  // localhost and numeric addresses are one replica; a name with several addresses is one per address.
  if (numeric_host(e.url.host) || e.url.host == "localhost") return {{e.url.text, ""}};
  auto addresses = resolve(e.url.host, dns_error);
  if (addresses.size() <= 1) return {{e.url.text, ""}};
  if (addresses.size() > kMaxAddressesPerUrl) addresses.resize(kMaxAddressesPerUrl);
  std::vector<Target> out;
  for (const auto& a : addresses) out.push_back({e.url.text + "@" + a, a});
  return out;
}

std::vector<ReplicaScrape> DirectScraper::scrape() {
  struct Job {
    ReplicaScrape r;
    std::future<HttpAnswer> answer;
    HttpUrl url;
  };
  std::vector<Job> jobs;
  std::vector<ReplicaScrape> out;
  for (const auto& e : endpoints_) {
    std::string dns_error;
    const auto targets = targets_of(e, dns_error);
    std::vector<std::string> ids;
    for (const auto& t : targets) {
      Job j;
      j.r.id = t.id;
      j.r.source = e.url.text;
      j.r.declared_stage = e.stage;
      j.url = e.url;
      j.answer = std::async(std::launch::async, [url = e.url, address = t.address, timeout = timeout_] {
        return http_get_url(url, url.path, address, timeout);
      });
      ids.push_back(t.id);
      jobs.push_back(std::move(j));
    }
    // Replicas that were listed in the last round and are not any more (a pod left the Service).
    auto& last = last_ids_[e.url.text];
    for (const auto& id : last) {
      if (std::find(ids.begin(), ids.end(), id) != ids.end()) continue;
      ReplicaScrape gone;
      gone.id = id;
      gone.source = e.url.text;
      gone.declared_stage = e.stage;
      gone.gone = true;
      gone.error = dns_error.empty() ? "no longer among the addresses of " + e.url.host : dns_error;
      gone.at_ms = wall_clock_ms();
      out.push_back(std::move(gone));
    }
    last = ids;
  }
  for (auto& j : jobs) {
    const auto a = j.answer.get();
    j.r.at_ms = wall_clock_ms();
    if (a.status == 200) {
      j.r.ok = true;
      j.r.samples = parse_exposition(a.body);
      if (j.r.samples.empty()) {
        j.r.ok = false;
        j.r.error = "answered, but with no Prometheus samples";
      }
    } else if (a.status == 0) {
      j.r.error = "no answer: " + a.error;
    } else {
      j.r.error = "HTTP " + std::to_string(a.status);
    }
    out.push_back(std::move(j.r));
  }
  return out;
}

PrometheusSource::PrometheusSource(HttpUrl server, std::string selector, std::chrono::milliseconds timeout)
    : server_(std::move(server)), selector_(std::move(selector)), timeout_(timeout) {
  if (!server_.path.empty() && server_.path.back() == '/') server_.path.pop_back();
}

std::string PrometheusSource::describe() const {
  return "Prometheus at " + server_.text + (selector_.empty() ? "" : " {" + selector_ + "}");
}

std::string PrometheusSource::series_query() const {
  return "{__name__=~\"streamwright_.+|kafka_consumergroup_lag|telemetra_sink_.+\"" +
         (selector_.empty() ? std::string() : "," + selector_) + "}";
}

std::string PrometheusSource::up_query() const {
  return selector_.empty() ? std::string("up") : "up{" + selector_ + "}";
}

std::vector<ReplicaScrape> PrometheusSource::scrape() {
  auto query = [&](const std::string& q, std::string& error) -> std::vector<QuerySample> {
    std::string base = server_.path;
    while (!base.empty() && base.back() == '/') base.pop_back();
    const auto a = http_get_url(server_, base + "/api/v1/query?query=" + percent_encode(q), "", timeout_);
    if (a.status == 0) {
      error = "Prometheus: no answer: " + a.error;
      return {};
    }
    try {
      return parse_query_result(a.body);
    } catch (const std::exception& e) {
      error = "Prometheus: HTTP " + std::to_string(a.status) + ": " + e.what();
      return {};
    }
  };
  std::string error;
  auto series = query(series_query(), error);
  std::vector<QuerySample> ups;
  if (error.empty()) ups = query(up_query(), error);
  const auto now = wall_clock_ms();
  std::vector<ReplicaScrape> out;
  if (!error.empty()) {
    // The server itself cannot be read: every replica seen last is unknown now.
    for (const auto& id : last_ids_) {
      ReplicaScrape r;
      r.id = id;
      r.source = server_.text;
      r.declared_stage = last_stage_.count(id) ? last_stage_[id] : "";
      r.error = error;
      r.at_ms = now;
      out.push_back(std::move(r));
    }
    if (out.empty()) {
      ReplicaScrape r;
      r.id = server_.text;
      r.source = server_.text;
      r.error = error;
      r.at_ms = now;
      out.push_back(std::move(r));
    }
    return out;
  }
  std::map<std::string, ReplicaScrape> by_instance;
  for (auto& q : series) {
    const std::string instance(q.sample.label("instance"));
    if (instance.empty()) continue;
    auto& r = by_instance[instance];
    if (r.id.empty()) {
      r.id = instance;
      r.source = server_.text;
      r.ok = true;
      r.at_ms = q.time_ms;
    }
    const std::string stage(q.sample.label("stage"));
    if (!stage.empty()) last_stage_[instance] = stage;
    r.samples.push_back(std::move(q.sample));
  }
  // `up` says which targets answered Prometheus' last scrape; its timestamp is when.
  for (const auto& u : ups) {
    const std::string instance(u.sample.label("instance"));
    if (instance.empty()) continue;
    auto it = by_instance.find(instance);
    const bool known_stage = last_stage_.count(instance) > 0;
    if (it == by_instance.end()) {
      if (!known_stage) continue;  // a target of something else
      ReplicaScrape r;
      r.id = instance;
      r.source = server_.text;
      r.declared_stage = last_stage_[instance];
      r.at_ms = u.time_ms;
      r.error = u.sample.value == 1 ? "no series from it" : "Prometheus cannot scrape it (up == 0)";
      it = by_instance.emplace(instance, std::move(r)).first;
    } else if (u.sample.value != 1) {
      it->second.ok = false;
      it->second.samples.clear();
      it->second.error = "Prometheus cannot scrape it (up == 0)";
    }
  }
  std::vector<std::string> ids;
  for (auto& [instance, r] : by_instance) {
    if (r.declared_stage.empty() && last_stage_.count(instance)) r.declared_stage = last_stage_[instance];
    ids.push_back(instance);
    out.push_back(std::move(r));
  }
  for (const auto& id : last_ids_) {
    if (by_instance.count(id)) continue;
    ReplicaScrape gone;
    gone.id = id;
    gone.source = server_.text;
    gone.declared_stage = last_stage_.count(id) ? last_stage_[id] : "";
    gone.gone = true;
    gone.error = "no longer among Prometheus' targets";
    gone.at_ms = now;
    out.push_back(std::move(gone));
    last_stage_.erase(id);
  }
  last_ids_ = std::move(ids);
  return out;
}

}  // namespace sw::console
