#include "services/console/console.h"

#include <spdlog/spdlog.h>

#include <future>

#include "services/console/kafka_watch.h"
#include "services/console/model.h"
#include "services/console/server.h"
#include "services/console/sources.h"

namespace sw::console {

Console::Console(Options options) : options_(std::move(options)) {
  auto pipeline = describe_pipeline(options_.pipeline, options_.application_id);
  if (!options_.metrics.empty())
    sources_.push_back(std::make_unique<DirectScraper>(options_.metrics, options_.scrape_timeout));
  if (options_.prometheus)
    sources_.push_back(
        std::make_unique<PrometheusSource>(*options_.prometheus, options_.prometheus_selector, options_.scrape_timeout));
  ModelSettings settings;
  settings.bootstrap_servers = options_.bootstrap_servers;
  for (const auto& s : sources_) settings.metrics_source += (settings.metrics_source.empty() ? "" : "; ") + s->describe();
  if (settings.metrics_source.empty()) settings.metrics_source = "none (Kafka only: give --metrics-url or --prometheus-url)";
  settings.interval = options_.interval;
  settings.history = options_.history;
  model_ = std::make_unique<Model>(std::move(pipeline), settings);
}

Console::~Console() { stop(); }

void Console::start() {
  server_ = std::make_unique<Server>(options_.address, options_.port, *model_);
  kafka_ = std::make_unique<KafkaWatch>(options_.bootstrap_servers, options_.kafka,
                                        describe_pipeline(options_.pipeline, options_.application_id), *model_,
                                        options_.interval);
  scrape_thread_ = std::thread([this] { scrape_loop(); });
}

void Console::scrape_loop() {
  while (true) {
    const auto t0 = std::chrono::steady_clock::now();
    if (!sources_.empty()) {
      std::vector<ReplicaScrape> round;
      for (auto& s : sources_) {
        try {
          auto r = s->scrape();
          round.insert(round.end(), std::make_move_iterator(r.begin()), std::make_move_iterator(r.end()));
        } catch (const std::exception& e) {
          spdlog::warn("metrics: {}", e.what());
        }
      }
      model_->apply_scrapes(round);
    }
    std::unique_lock lock(mu_);
    if (cv_.wait_until(lock, t0 + options_.interval, [&] { return stopping_; })) return;
  }
}

void Console::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (scrape_thread_.joinable()) scrape_thread_.join();
  if (kafka_) kafka_->stop();
  if (model_) model_->shutdown();  // wakes the event streams
  if (server_) server_->stop();
}

std::uint16_t Console::port() const noexcept { return server_ ? server_->port() : 0; }

std::string Console::url() const {
  const bool v6 = options_.address.find(':') != std::string::npos;
  const std::string host = options_.address == "0.0.0.0" ? "127.0.0.1" : options_.address;
  return "http://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port()) + "/";
}

}  // namespace sw::console
