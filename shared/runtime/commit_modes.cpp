#include "runtime/commit_modes.h"

#include <spdlog/spdlog.h>

#include <stdexcept>
#include <string>

namespace sw {

namespace {

class AtLeastOnce final : public CommitMode {
 public:
  AtLeastOnce(kafka::Producer& producer, std::chrono::milliseconds timeout) : producer_(producer), timeout_(timeout) {}
  bool transactional() const noexcept override { return false; }
  void start() override {}
  bool has_uncommitted_sends() const noexcept override { return false; }
  bool seal(std::vector<kafka::TopicPartition>&, std::error_code refused, const char*) override {
    // A record that was never enqueued is in no epoch: committing past it would lose it.
    if (refused) throw std::runtime_error("an output record was not accepted: " + refused.message());
    producer_.seal();
    return false;
  }
  void finish() override {
    // The last commit covered everything that matters; what is left (watermark heartbeats) is
    // covered by no offset and would be sent again. Worth a short wait, not the flush timeout:
    // a broker that is gone must not hold the shutdown.
    if (const auto held = producer_.in_flight()) {
      if (auto ec = producer_.flush(std::min<std::chrono::milliseconds>(timeout_, std::chrono::seconds(2))))
        spdlog::warn("final flush: {} records not delivered ({}); they are covered by no committed offset", held,
                     ec.message());
    }
  }

 private:
  kafka::Producer& producer_;
  std::chrono::milliseconds timeout_;
};

class ExactlyOnce final : public CommitMode {
 public:
  ExactlyOnce(kafka::Producer& producer, kafka::Consumer& consumer, std::chrono::milliseconds timeout)
      : producer_(producer), consumer_(consumer), timeout_(timeout) {}
  bool transactional() const noexcept override { return true; }
  void start() override { begin(); }
  bool has_uncommitted_sends() const noexcept override { return producer_.sent() != sent_at_begin_; }
  bool seal(std::vector<kafka::TopicPartition>& offsets, std::error_code refused, const char* reason) override {
    producer_.seal();
    kafka::TxnResult r;
    if (refused) {
      // A record that was never enqueued is not in the transaction: committing would lose it.
      r.error = refused;
      r.abortable = true;
      r.message = "an output record was not accepted: " + refused.message();
    }
    // librdkafka classifies each failure: a retriable one may repeat the same call.
    const auto with_retries = [&](const char* what, const auto& call) {
      for (int attempt = 1;; ++attempt) {
        r = call();
        if (!r || !r.retriable || attempt == 5) return;
        spdlog::warn("{} ({}) attempt {} failed, retrying: {}", what, reason, attempt, r.message);
      }
    };
    if (!r)
      with_retries("send offsets to transaction",
                   [&] { return producer_.send_offsets_to_transaction(offsets, consumer_, timeout_); });
    if (!r) with_retries("commit transaction", [&] { return producer_.commit_transaction(timeout_); });
    if (r) {
      if (r.abortable) {
        if (const auto a = producer_.abort_transaction(timeout_)) spdlog::error("abort transaction: {}", a.message);
      }
      // The in-memory state has run ahead of what committed: the process restarts and resumes
      // from the last committed transaction.
      throw std::runtime_error(std::string("transaction commit (") + reason + ") failed" + (r.fatal ? " fatally" : "") +
                               ": " + r.message);
    }
    begin();
    return true;  // the transaction committed: every record of it is acknowledged
  }
  void finish() override {
    // Whatever is still in the open transaction (at most heartbeat watermarks) is covered by no
    // committed offset.
    if (const auto r = producer_.abort_transaction(timeout_))
      spdlog::warn("aborting the last, empty transaction: {}", r.message);
  }

 private:
  void begin() {
    if (const auto r = producer_.begin_transaction()) throw std::runtime_error("begin transaction: " + r.message);
    sent_at_begin_ = producer_.sent();
  }
  kafka::Producer& producer_;
  kafka::Consumer& consumer_;
  std::chrono::milliseconds timeout_;
  std::uint64_t sent_at_begin_ = 0;
};

}  // namespace

std::unique_ptr<CommitMode> make_commit_mode(bool exactly_once, kafka::Producer& producer, kafka::Consumer& consumer,
                                             std::chrono::milliseconds timeout) {
  if (exactly_once) return std::make_unique<ExactlyOnce>(producer, consumer, timeout);
  return std::make_unique<AtLeastOnce>(producer, timeout);
}

}  // namespace sw
