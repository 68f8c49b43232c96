#pragma once
// The console: a model of the pipeline fed by the metrics source (its own thread) and Kafka (two
// threads), served by the HTTP server. start() binds and starts everything; stop() ends every
// thread and waits for it.
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "services/console/options.h"

namespace sw::console {

class Model;
class Server;
class KafkaWatch;
class MetricsSource;

class Console {
 public:
  explicit Console(Options options);
  ~Console();
  Console(const Console&) = delete;
  Console& operator=(const Console&) = delete;

  // Binds the HTTP port and starts reading; throws std::runtime_error when it cannot listen.
  void start();
  // Stops the readers and the server and waits for them. Idempotent.
  void stop();
  std::uint16_t port() const noexcept;
  std::string url() const;

 private:
  void scrape_loop();

  Options options_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<KafkaWatch> kafka_;
  std::vector<std::unique_ptr<MetricsSource>> sources_;
  std::thread scrape_thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
};

}  // namespace sw::console
