#pragma once
// Where the stages' metrics come from: their /metrics endpoints, scraped directly (one replica
// per address a URL's host resolves to), or a Prometheus server that scrapes them. Both give one
// ReplicaScrape per replica and round.
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/time.h"
#include "services/console/options.h"
#include "services/console/prom_text.h"

namespace sw::console {

struct ReplicaScrape {
  std::string id;              // the replica: its URL, URL@address when the host has several, or a Prometheus instance
  std::string source;          // the URL given (or the Prometheus server)
  std::string declared_stage;  // from STAGE=URL, or ""
  bool ok = false;
  std::string error;           // why not ok
  TimestampMs at_ms = 0;       // when the samples were taken (ok), or when the attempt failed
  std::vector<Sample> samples;
  bool gone = false;           // no longer listed (left DNS or Prometheus' targets): forget after a while
};

class MetricsSource {
 public:
  virtual ~MetricsSource() = default;
  // One round over every replica; blocks at most about the scrape timeout.
  virtual std::vector<ReplicaScrape> scrape() = 0;
  // Shown on the page: where the metrics come from.
  virtual std::string describe() const = 0;
};

// Scrapes every --metrics-url in parallel. A host name that resolves to several addresses (a
// Kubernetes headless Service) is scraped at each address, each a replica.
class DirectScraper final : public MetricsSource {
 public:
  DirectScraper(std::vector<MetricsEndpoint> endpoints, std::chrono::milliseconds timeout);
  std::vector<ReplicaScrape> scrape() override;
  std::string describe() const override;

  // At most this many addresses per URL (a misconfigured name cannot make the console scrape
  // a whole network).
  static constexpr std::size_t kMaxAddressesPerUrl = 64;

 private:
  struct Target {
    std::string id, address;  // address "" : connect to the URL's host as given
  };
  std::vector<Target> targets_of(const MetricsEndpoint& e, std::string& dns_error);
  std::vector<MetricsEndpoint> endpoints_;
  std::chrono::milliseconds timeout_;
  std::map<std::string, std::vector<std::string>> last_ids_;  // per URL: replicas of the last round
};

// Reads the stages' series from a Prometheus server: one instant query for the series the
// console shows and one for `up`, both with the given matchers; a replica is an `instance`.
class PrometheusSource final : public MetricsSource {
 public:
  PrometheusSource(HttpUrl server, std::string selector, std::chrono::milliseconds timeout);
  std::vector<ReplicaScrape> scrape() override;
  std::string describe() const override;
  // The queries, for the documentation and the tests.
  std::string series_query() const;
  std::string up_query() const;

 private:
  HttpUrl server_;
  std::string selector_;
  std::chrono::milliseconds timeout_;
  std::map<std::string, std::string> last_stage_;  // instance -> stage label last seen
  std::vector<std::string> last_ids_;
};

// GET of an http URL (with an optional address to connect to instead of the host): status 0 when
// nothing answered, with the reason in `error`.
struct HttpAnswer {
  int status = 0;
  std::string body, error;
};
HttpAnswer http_get_url(const HttpUrl& url, const std::string& path_and_query, const std::string& connect_address,
                        std::chrono::milliseconds timeout);

}  // namespace sw::console
