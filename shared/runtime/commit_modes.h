#pragma once
// The commit steps of the two processing guarantees. A commit covers what the producer sent
// before it (outputs, dead letters, repartition, changelog records and markers) and the input
// offsets of what was processed.
// - At-least-once: the commit seals the producer's epoch; the runner completes it (local state
//   written, offsets committed) once every record of the epoch is acknowledged, while processing
//   goes on.
// - Exactly-once: the commit is one Kafka transaction holding the epoch's records and the input
//   offsets, committed before processing goes on.
#include <chrono>
#include <memory>
#include <system_error>
#include <vector>

#include "kafka/client.h"

namespace sw {

class CommitMode {
 public:
  virtual ~CommitMode() = default;
  virtual bool transactional() const noexcept = 0;
  // Before the first record is processed. Throws on failure.
  virtual void start() = 0;
  // Records were sent that only a commit makes visible (exactly-once: the open transaction holds
  // some), so a commit is due even without processing progress.
  virtual bool has_uncommitted_sends() const noexcept = 0;
  // Seals everything sent so far as the commit of `offsets`. `refused`: a record the producer did
  // not accept since the last commit (committing past it would lose it). Throws
  // std::runtime_error when the commit cannot be made; the process must then restart from the
  // last commit. Returns true when the commit's records are all acknowledged on return.
  virtual bool seal(std::vector<kafka::TopicPartition>& offsets, std::error_code refused, const char* reason) = 0;
  // At shutdown, after the last commit: what is left in flight is covered by no offset.
  virtual void finish() = 0;
};

std::unique_ptr<CommitMode> make_commit_mode(bool exactly_once, kafka::Producer& producer, kafka::Consumer& consumer,
                                             std::chrono::milliseconds timeout);

}  // namespace sw
