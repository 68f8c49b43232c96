#include "runtime/standby.h"

#include <spdlog/spdlog.h>

#include <exception>
#include <stdexcept>
#include <utility>

namespace sw {

StandbyUpdater::StandbyUpdater(std::map<std::string, state::RocksDbStore*> stores, std::int32_t partitions,
                               SourceFor source, std::chrono::milliseconds interval, Counters counters)
    : stores_(std::move(stores)),
      partitions_(partitions),
      source_(std::move(source)),
      interval_(interval),
      counters_(counters) {
  if (counters_.partitions) counters_.partitions->set(static_cast<double>(partitions_));
}

StandbyUpdater::~StandbyUpdater() { stop(); }

void StandbyUpdater::start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { loop(); });
}

void StandbyUpdater::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    cancel_.store(true);
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void StandbyUpdater::set_active(const std::vector<std::int32_t>& active) {
  std::unique_lock lock(mu_);
  active_ = std::set<std::int32_t>(active.begin(), active.end());
  const auto overlaps = [&] {
    for (const auto p : in_round_)
      if (active_.count(p)) return true;
    return false;
  };
  if (counters_.partitions) {
    std::int32_t standby = 0;
    for (std::int32_t p = 0; p < partitions_; ++p) standby += active_.count(p) ? 0 : 1;
    counters_.partitions->set(static_cast<double>(standby));
  }
  if (!overlaps()) return;
  // The round is writing a partition that becomes active here: it gives up (what it wrote is
  // not yet covered by a checkpoint, and the task's restore applies it again from there).
  cancel_.store(true);
  cv_.wait(lock, [&] { return !overlaps(); });
}

std::vector<std::int32_t> StandbyUpdater::standby_partitions() const {
  std::lock_guard lock(mu_);
  std::vector<std::int32_t> out;
  for (std::int32_t p = 0; p < partitions_; ++p)
    if (!active_.count(p)) out.push_back(p);
  return out;
}

std::uint64_t StandbyUpdater::run_round() {
  std::vector<std::int32_t> parts;
  {
    std::lock_guard lock(mu_);
    for (std::int32_t p = 0; p < partitions_; ++p)
      if (!active_.count(p)) parts.push_back(p);
    in_round_ = std::set<std::int32_t>(parts.begin(), parts.end());
    cancel_.store(stopping_);
  }
  struct EndOfRound {
    StandbyUpdater& u;
    ~EndOfRound() {
      {
        std::lock_guard lock(u.mu_);
        u.in_round_.clear();
      }
      u.cv_.notify_all();
    }
  } end_of_round{*this};
  std::uint64_t records = 0;
  if (parts.empty()) return 0;
  for (const auto& [name, store] : stores_) {
    if (cancel_.load()) throw std::runtime_error("standby round cancelled");
    for (const auto& r : restore_partitions(*store, parts, source_(name, cancel_))) records += r.records;
  }
  return records;
}

void StandbyUpdater::loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    try {
      run_round();
    } catch (const std::exception& e) {
      if (!cancel_.load()) {
        spdlog::warn("standby replicas: {}; trying again in {} ms", e.what(), interval_.count());
        if (counters_.failures) counters_.failures->inc();
      }
    }
    lock.lock();
    cv_.wait_for(lock, interval_, [&] { return stopping_; });
  }
}

}  // namespace sw
