#pragma once
// Offsets of durable work (outputs acknowledged, state flushed, rows in the database) that the
// group coordinator has not accepted yet: a commit held back while the member rejoins its group,
// or refused. They stay owed and are sent with the next commit, or on their own once the group
// has settled: with cooperative rebalancing a member keeps its partitions and its position
// through a rebalance, so nothing replays that work, and an idle member would otherwise leave
// them uncommitted indefinitely. Used by the stage runner and the PostgreSQL sink.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "kafka/client.h"

namespace sw::kafka {

class OwedOffsets {
 public:
  using Clock = std::chrono::steady_clock;
  // After a REBALANCE_IN_PROGRESS refusal, commits wait for the rebalance's callback or this long:
  // three heartbeat intervals at the 1 s the services set, by which the member has learned of a
  // real rebalance and is rejoining (group_joining() then holds the commit). A commit still
  // carrying the old generation when the new one forms is refused as an illegal generation, and
  // librdkafka then counts the member's own partitions as lost.
  static constexpr std::chrono::milliseconds kRebalanceHold{3000};
  // After any other refusal, the next attempt waits this long (not once per loop pass).
  static constexpr std::chrono::milliseconds kRetrySpacing{200};
  // A join state that never clears (librdkafka always logs the end of a join) must not stop
  // commits for good.
  static constexpr std::chrono::seconds kMaxJoinWait{60};

  // Owes tp.offset (and its metadata) for its partition. Offsets are cumulative: the latest
  // replaces an earlier one of the same partition.
  void owe(TopicPartition tp);
  // A partition given up (revoked or lost) is its new owner's to replay: its offset, sent later,
  // could move the new owner's committed offsets back.
  void forget(const TopicPartition& tp);
  // A rebalance callback ran: the member knows its generation, and a hold after a refusal ends.
  void rebalance_ended() noexcept { held_until_.reset(); }
  bool empty() const noexcept { return offsets_.empty(); }
  const std::vector<TopicPartition>& offsets() const noexcept { return offsets_; }

  enum class When {
    settled,  // not while the member rejoins its group, nor while held after a refusal
    now,      // regardless (a revocation callback, shutdown)
  };
  // Commits the owed offsets of partitions the consumer still holds (any other is dropped: its
  // new owner replays it). nullopt: nothing was sent (nothing owed, or held); an empty error
  // code: committed, nothing is owed any more; otherwise the refusal, and the offsets stay owed.
  std::optional<std::error_code> commit(Consumer& consumer, When when = When::settled);

 private:
  std::vector<TopicPartition> offsets_;
  std::optional<Clock::time_point> held_until_;
  std::optional<Clock::time_point> joining_since_;
};

}  // namespace sw::kafka
