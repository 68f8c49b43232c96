#pragma once
// Input rate against processing rate (Spark's inputRowsPerSecond and processedRowsPerSecond):
// records appended to partitions, read from their successive end offsets, and a rate over a
// sliding window of recent samples. Used by the stages and the lag exporter.
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <utility>

namespace sw::metrics {

// Records appended to a set of partitions, from successive end offsets (high watermarks).
class AppendTracker {
 public:
  // One observation of a partition's end offset: the records appended since the previous one
  // (0 the first time, and when the offset went backwards: the topic was recreated).
  std::uint64_t observe(const std::string& topic, std::int32_t partition, std::int64_t end_offset) {
    auto [it, inserted] = last_.try_emplace({topic, partition}, Entry{end_offset, round_});
    Entry& e = it->second;
    e.round = round_;
    if (inserted) return 0;
    ++compared_;
    const std::int64_t delta = end_offset - e.end_offset;
    e.end_offset = end_offset;
    return delta > 0 ? static_cast<std::uint64_t>(delta) : 0;
  }
  // Ends a round of observations: partitions not observed in it (revoked, deleted) are forgotten,
  // so a partition assigned again later starts afresh instead of counting what was appended
  // while it was elsewhere. True if some partition of the round had been observed before (the
  // round measured something; a rate should not count the time before the first observation).
  bool end_round() {
    for (auto it = last_.begin(); it != last_.end();) it = it->second.round == round_ ? std::next(it) : last_.erase(it);
    ++round_;
    const bool measured = compared_ > 0;
    compared_ = 0;
    return measured;
  }
  std::size_t partitions() const noexcept { return last_.size(); }

 private:
  struct Entry {
    std::int64_t end_offset;
    std::uint64_t round;
  };
  std::map<std::pair<std::string, std::int32_t>, Entry> last_;
  std::uint64_t round_ = 0;
  std::size_t compared_ = 0;
};

// Events per second over the samples of the last `span_seconds`.
class RateWindow {
 public:
  explicit RateWindow(double span_seconds = 10) : span_(span_seconds) {}
  void add(double seconds, double count) {
    if (seconds <= 0) return;
    samples_.emplace_back(seconds, count);
    total_seconds_ += seconds;
    total_count_ += count;
    while (samples_.size() > 1 && total_seconds_ - samples_.front().first >= span_) {
      total_seconds_ -= samples_.front().first;
      total_count_ -= samples_.front().second;
      samples_.pop_front();
    }
  }
  double rate() const noexcept { return total_seconds_ > 0 ? total_count_ / total_seconds_ : 0; }

 private:
  double span_;
  std::deque<std::pair<double, double>> samples_;
  double total_seconds_ = 0, total_count_ = 0;
};

}  // namespace sw::metrics
