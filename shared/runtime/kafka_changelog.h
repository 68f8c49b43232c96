#pragma once
// Restore from Kafka: a stage's changelog partitions of one store, read with the stage's restore
// consumer (see runtime/restore.h for what is done with the records).
#include <atomic>
#include <string>
#include <vector>

#include "kafka/client.h"
#include "metrics/metrics.h"
#include "runtime/restore.h"

namespace sw {

// Reads changelog partitions of one topic together: one assignment, so each fetch carries all
// of them (a broker answers with about one batch per partition per fetch).
class KafkaChangelogSource final : public ChangelogSource {
 public:
  // `cancel`, if given: read() gives up (false) once it is set.
  KafkaChangelogSource(kafka::Consumer& consumer, std::string topic, metrics::Counter& restored,
                       const std::atomic<bool>* cancel = nullptr)
      : consumer_(consumer), topic_(std::move(topic)), restored_(restored), cancel_(cancel) {}
  bool bounds(std::int32_t partition, std::int64_t& low, std::int64_t& high) override;
  // Fails when no record arrives for 60 s.
  bool read(const std::vector<Range>& ranges, const RecordFn& f) override;

 private:
  kafka::Consumer& consumer_;
  std::string topic_;
  metrics::Counter& restored_;
  const std::atomic<bool>* cancel_;
};

}  // namespace sw
