#include "kafka/client.h"

#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace sw::kafka {

namespace {

class KafkaCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "kafka"; }
  std::string message(int ev) const override { return rd_kafka_err2str(static_cast<rd_kafka_resp_err_t>(ev)); }
};

std::error_code ec(rd_kafka_resp_err_t e) { return make_kafka_error(static_cast<int>(e)); }

int to_ms(std::chrono::milliseconds d) { return static_cast<int>(d.count()); }

using PartitionListPtr =
    std::unique_ptr<rd_kafka_topic_partition_list_t, decltype(&rd_kafka_topic_partition_list_destroy)>;

static_assert(kAnyPartition == RD_KAFKA_PARTITION_UA);

// librdkafka's encoding of offsets: absolute ones, and logical ones from -1 down.
std::int64_t to_rdkafka(Offset o) noexcept {
  if (o.is_absolute()) return o.value();
  if (o.is_beginning()) return RD_KAFKA_OFFSET_BEGINNING;
  if (o.is_end()) return RD_KAFKA_OFFSET_END;
  return RD_KAFKA_OFFSET_INVALID;  // none, or committed: assign() resumes from the group's offset
}

Offset from_rdkafka(std::int64_t o) noexcept {
  if (o >= 0) return Offset::at(o);
  if (o == RD_KAFKA_OFFSET_BEGINNING) return Offset::beginning();
  if (o == RD_KAFKA_OFFSET_END) return Offset::end();
  if (o == RD_KAFKA_OFFSET_STORED) return Offset::committed();
  return Offset::none();
}

PartitionListPtr to_list(const std::vector<TopicPartition>& parts, bool with_metadata) {
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(parts.size())),
                        &rd_kafka_topic_partition_list_destroy);
  for (const auto& tp : parts) {
    auto* p = rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition);
    p->offset = to_rdkafka(tp.offset);
    if (with_metadata && !tp.metadata.empty()) {
      // The list's destructor frees metadata with free(), so it must come from malloc().
      p->metadata = std::malloc(tp.metadata.size());
      std::memcpy(p->metadata, tp.metadata.data(), tp.metadata.size());
      p->metadata_size = tp.metadata.size();
    }
  }
  return list;
}

std::vector<TopicPartition> from_list(const rd_kafka_topic_partition_list_t* list) {
  std::vector<TopicPartition> out;
  if (!list) return out;
  out.reserve(static_cast<std::size_t>(list->cnt));
  for (int i = 0; i < list->cnt; ++i) {
    const auto& p = list->elems[i];
    TopicPartition tp{p.topic, p.partition, from_rdkafka(p.offset), {}};
    if (p.metadata && p.metadata_size > 0)
      tp.metadata.assign(static_cast<const char*>(p.metadata), p.metadata_size);
    out.push_back(std::move(tp));
  }
  return out;
}

}  // namespace

const std::error_category& kafka_category() noexcept {
  static const KafkaCategory category;
  return category;
}

std::string librdkafka_version() { return rd_kafka_version_str(); }

namespace detail {
void HandleDeleter::operator()(rd_kafka_s* rk) const noexcept { rd_kafka_destroy(rk); }
void QueueDeleter::operator()(rd_kafka_queue_s* q) const noexcept { rd_kafka_queue_destroy(q); }
void TopicDeleter::operator()(rd_kafka_topic_s* t) const noexcept { rd_kafka_topic_destroy(t); }

// "Group "g" changed join state wait-join -> wait-metadata (state up)": true while the new state
// is one of the join's request/response steps (init, wait-join, wait-metadata, wait-sync), when
// a commit would carry a generation the join is about to end. In the later steps (the assign and
// revoke calls and their completion) the member knows its new generation, and the revoke commit
// of a cooperative rebalance belongs there.
bool is_joining(std::string_view line) noexcept {
  const auto arrow = line.find(" -> ");
  if (arrow == std::string_view::npos) return false;
  auto state = line.substr(arrow + 4);
  state = state.substr(0, state.find(' '));
  return state == "init" || state == "wait-join" || state == "wait-metadata" || state == "wait-sync";
}
}  // namespace detail

// Static trampolines from librdkafka's C callbacks into the client objects.
struct Callbacks {
  static void error(rd_kafka_t*, int err, const char* reason, void* opaque) {
    auto* self = static_cast<ClientBase*>(opaque);
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
      char buf[512];
      const auto fatal = rd_kafka_fatal_error(self->handle(), buf, sizeof buf);
      spdlog::error("kafka: fatal error: {} ({})", buf, rd_kafka_err2name(fatal));
      int expected = 0;
      self->fatal_error_code_.compare_exchange_strong(expected, static_cast<int>(fatal));
      return;
    }
    spdlog::warn("kafka: {}: {}", rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)), reason);
  }
  static void log(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
    if (level >= 7 && rk) {
      auto* self = static_cast<ClientBase*>(rd_kafka_opaque(rk));
      if (self && std::strcmp(fac, "CGRPJOINSTATE") == 0) self->group_joining_.store(detail::is_joining(buf), std::memory_order_release);
      if (self && self->drop_debug_log_) return;
    }
    if (level <= 3)
      spdlog::error("librdkafka {}: {}", fac, buf);
    else if (level <= 4)
      spdlog::warn("librdkafka {}: {}", fac, buf);
    else
      spdlog::debug("librdkafka {}: {}", fac, buf);
  }
  static void delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    static_cast<ClientBase*>(opaque)->on_delivery(m);
  }
  static void rebalance(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                        void* opaque) {
    static_cast<Consumer*>(opaque)->handle_rebalance(static_cast<int>(err), parts);
  }
};

void ClientBase::create(bool producer, const Config& config) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char errstr[512];
  for (const auto& [k, v] : config.entries()) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      throw KafkaError("invalid Kafka setting " + k + "=" + (Config::is_secret_key(k) ? "***" : v) + ": " +
                       errstr);
    }
  }
  rd_kafka_conf_set_opaque(conf, this);
  rd_kafka_conf_set_error_cb(conf, &Callbacks::error);
  rd_kafka_conf_set_log_cb(conf, &Callbacks::log);
  if (producer) rd_kafka_conf_set_dr_msg_cb(conf, &Callbacks::delivery);
  if (!producer) rd_kafka_conf_set_rebalance_cb(conf, &Callbacks::rebalance);
  rd_kafka_t* rk = rd_kafka_new(producer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    throw KafkaError(std::string("cannot create Kafka client: ") + errstr);
  }
  rk_.reset(rk);
}

std::error_code ClientBase::partition_count(const std::string& topic, std::int32_t& count,
                                            std::chrono::milliseconds timeout) const {
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk_.get(), topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  auto err = rd_kafka_metadata(rk_.get(), 0, rkt, &md, to_ms(timeout));
  rd_kafka_topic_destroy(rkt);
  if (err) return ec(err);
  std::error_code result = ec(RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC);
  for (int i = 0; i < md->topic_cnt; ++i) {
    if (topic == md->topics[i].topic) {
      if (md->topics[i].err) {
        result = ec(md->topics[i].err);
      } else {
        count = md->topics[i].partition_cnt;
        result = {};
      }
    }
  }
  rd_kafka_metadata_destroy(md);
  return result;
}

std::error_code ClientBase::query_watermarks(const std::string& topic, std::int32_t partition, std::int64_t& low,
                                             std::int64_t& high, std::chrono::milliseconds timeout) const {
  return ec(rd_kafka_query_watermark_offsets(rk_.get(), topic.c_str(), partition, &low, &high, to_ms(timeout)));
}

int ClientBase::poll_events(std::chrono::milliseconds timeout) { return rd_kafka_poll(rk_.get(), to_ms(timeout)); }

std::vector<std::string> ClientBase::create_topics(const std::vector<TopicSpec>& topics,
                                                   std::chrono::milliseconds timeout) {
  std::vector<std::string> failed;
  std::vector<const TopicSpec*> missing;
  for (const auto& t : topics) {
    std::int32_t n = 0;
    if (partition_count(t.name, n, timeout)) missing.push_back(&t);
  }
  if (missing.empty()) return failed;
  char errstr[512];
  std::vector<rd_kafka_NewTopic_t*> new_topics;
  for (const auto* tp : missing) {
    const auto& t = *tp;
    auto* nt = rd_kafka_NewTopic_new(t.name.c_str(), t.partitions, t.replication_factor, errstr, sizeof errstr);
    if (!nt) {
      failed.push_back(t.name);
      continue;
    }
    for (const auto& [k, v] : t.configs) rd_kafka_NewTopic_set_config(nt, k.c_str(), v.c_str());
    new_topics.push_back(nt);
  }
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk_.get());
  rd_kafka_AdminOptions_t* opts = rd_kafka_AdminOptions_new(rk_.get(), RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_request_timeout(opts, to_ms(timeout), errstr, sizeof errstr);
  rd_kafka_CreateTopics(rk_.get(), new_topics.data(), new_topics.size(), opts, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, to_ms(timeout) + 1000);
  if (!ev) {
    spdlog::warn("kafka: CreateTopics did not answer in time; assuming the topics exist");
  } else if (rd_kafka_event_error(ev)) {
    const auto err = rd_kafka_event_error(ev);
    // The dev broker has no CreateTopics: it creates topics itself, so this is not an error.
    spdlog::info("kafka: CreateTopics not available ({}); topics must exist already", rd_kafka_err2name(err));
  } else if (const auto* res = rd_kafka_event_CreateTopics_result(ev)) {
    size_t n = 0;
    const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(res, &n);
    for (size_t i = 0; i < n; ++i) {
      const auto err = rd_kafka_topic_result_error(results[i]);
      if (err && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        spdlog::warn("kafka: cannot create topic {}: {}", rd_kafka_topic_result_name(results[i]),
                     rd_kafka_err2str(err));
        failed.emplace_back(rd_kafka_topic_result_name(results[i]));
      }
    }
  }
  if (ev) rd_kafka_event_destroy(ev);
  rd_kafka_AdminOptions_destroy(opts);
  rd_kafka_queue_destroy(q);
  for (auto* nt : new_topics) rd_kafka_NewTopic_destroy(nt);
  return failed;
}

// ---------------------------------------------------------------------------------------------
// Message

void MessageBatch::prefetch_ahead(std::size_t i) const noexcept {
  if (i + 8 < msgs_.size()) __builtin_prefetch(msgs_[i + 8]);
  if (i + 4 < msgs_.size()) {
    const rd_kafka_message_t* m = msgs_[i + 4];  // its header was prefetched four records ago
    if (m->payload) __builtin_prefetch(m->payload);
    if (m->key) __builtin_prefetch(m->key);
  }
}

std::error_code Message::error() const noexcept { return ec(m_->err); }
std::string_view Message::topic() const noexcept { return m_->rkt ? rd_kafka_topic_name(m_->rkt) : ""; }
std::int32_t Message::partition() const noexcept { return m_->partition; }
std::int64_t Message::offset() const noexcept { return m_->offset; }
std::string_view Message::key() const noexcept {
  return m_->key ? std::string_view(static_cast<const char*>(m_->key), m_->key_len) : std::string_view();
}
std::string_view Message::value() const noexcept {
  return m_->payload ? std::string_view(static_cast<const char*>(m_->payload), m_->len) : std::string_view();
}
bool Message::value_is_null() const noexcept { return m_->payload == nullptr; }
std::int64_t Message::timestamp_ms() const noexcept { return rd_kafka_message_timestamp(m_, nullptr); }
bool Message::header(std::string_view name, std::string_view& value) const noexcept {
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(m_, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) return false;
  const void* v = nullptr;
  size_t size = 0;
  const std::string n(name);
  if (rd_kafka_header_get_last(hdrs, n.c_str(), &v, &size) != RD_KAFKA_RESP_ERR_NO_ERROR) return false;
  value = std::string_view(static_cast<const char*>(v), size);
  return true;
}

void MessageBatch::clear() noexcept {
  for (auto* m : msgs_) rd_kafka_message_destroy(m);
  msgs_.clear();
}

// ---------------------------------------------------------------------------------------------
// Consumer

Consumer::Consumer(const Config& config, RebalanceListener* listener) : listener_(listener) {
  Config c = config;
  if (!c.get("group.id")) c.set(keys::group_id, "streamwright-assign-" + std::to_string(::getpid()));
  if (!c.get("partition.assignment.strategy")) c.set(keys::partition_assignment_strategy, "cooperative-sticky");
  if (!c.get("enable.auto.commit")) c.set(keys::enable_auto_commit, false);
  if (!c.get("enable.auto.offset.store")) c.set(keys::enable_auto_offset_store, false);
  group_id_ = *c.get("group.id");
  const auto kb = c.get("queued.max.messages.kbytes");
  queue_limit_bytes_ = (kb ? std::strtoll(kb->c_str(), nullptr, 10) : 65536) * 1024;
  const auto msgs = c.get("queued.min.messages");
  queue_limit_messages_ = msgs ? std::strtoll(msgs->c_str(), nullptr, 10) : 100000;
  // The join state (group_joining()) is only logged under the "cgrp" debug context.
  const auto debug = c.get("debug");
  if (!debug || (debug->find("cgrp") == std::string::npos && debug->find("all") == std::string::npos)) {
    drop_debug_log_ = !debug || debug->empty();
    c.set_raw("debug", drop_debug_log_ ? std::string("cgrp") : *debug + ",cgrp");
  }
  create(false, c);
  rd_kafka_poll_set_consumer(rk_.get());
  queue_.reset(rd_kafka_queue_get_consumer(rk_.get()));
}

Consumer::~Consumer() {
  try {
    close();
  } catch (const std::exception& e) {
    spdlog::error("kafka: while closing the consumer: {}", e.what());
  }
}

std::error_code Consumer::subscribe(const std::vector<std::string>& topics) {
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(topics.size())),
                        &rd_kafka_topic_partition_list_destroy);
  for (const auto& t : topics) rd_kafka_topic_partition_list_add(list.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
  return ec(rd_kafka_subscribe(rk_.get(), list.get()));
}

std::error_code Consumer::assign(const std::vector<TopicPartition>& partitions) {
  // Replaces the whole assignment; for consumers outside a group (restore, tools).
  auto list = to_list(partitions, false);
  paused_.clear();
  return ec(rd_kafka_assign(rk_.get(), partitions.empty() ? nullptr : list.get()));
}

std::size_t Consumer::poll(MessageBatch& batch, std::size_t max, std::chrono::milliseconds timeout) {
  batch.clear();
  if (batch.msgs_.capacity() < max) batch.msgs_.reserve(max);
  batch.msgs_.resize(max);
  // rd_kafka_consume_batch_queue() returns early only once it has `max` messages: given a
  // timeout, it holds a trickle of records for the whole timeout (20 ms a batch was the p50 of
  // every stage's latency). So: take what is queued now; if nothing is, wait for the first
  // message alone (rd_kafka_consume_queue() returns as soon as one arrives), then take what
  // came with it.
  ssize_t n = rd_kafka_consume_batch_queue(queue_.get(), 0, batch.msgs_.data(), max);
  if (n == 0 && timeout.count() > 0 && max > 0) {
    using Clock = std::chrono::steady_clock;
    auto now = Clock::now();
    const auto deadline = now + timeout;
    // With a wake-up, the wait is cut where the queue will have been quiet for `wakeup_quiet_`.
    while (true) {
      // Rounded up: a wait truncated to 0 ms returns at once, and the loop would spin through
      // the last millisecond of every timeout (7% of a core in an idle stage).
      auto wait = std::chrono::ceil<std::chrono::milliseconds>(deadline - now);
      if (wakeup_quiet_.count() > 0)
        wait = std::min(wait, std::chrono::ceil<std::chrono::milliseconds>(last_activity_ + wakeup_quiet_ - now));
      wait = std::max(wait, std::chrono::milliseconds(1));
      if (rd_kafka_message_t* first = rd_kafka_consume_queue(queue_.get(), to_ms(wait))) {
        batch.msgs_[0] = first;
        const ssize_t more = max > 1 ? rd_kafka_consume_batch_queue(queue_.get(), 0, batch.msgs_.data() + 1, max - 1) : 0;
        n = 1 + std::max<ssize_t>(more, 0);
        break;
      }
      now = Clock::now();
      if (wakeup_quiet_.count() > 0 && now - last_activity_ >= wakeup_quiet_) {
        wake_fetchers(true);
        last_activity_ = now = Clock::now();
      }
      if (now >= deadline) break;
    }
  }
  batch.msgs_.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  if (n > 0 && wakeup_quiet_.count() > 0) {
    last_activity_ = std::chrono::steady_clock::now();
    // What librdkafka counts against its byte limit is the records' values; the queue's length
    // times their average size estimates it.
    std::size_t bytes = 0;
    for (const auto* m : batch.msgs_) bytes += m->len;
    const double avg = static_cast<double>(bytes) / static_cast<double>(n);
    record_bytes_ = record_bytes_ == 0 ? avg : 0.9 * record_bytes_ + 0.1 * avg;
    // librdkafka stops fetching at either limit: the bytes or the message count.
    const auto queued_messages = static_cast<double>(rd_kafka_queue_length(queue_.get()));
    const double queued = queued_messages * record_bytes_;
    const auto limit = static_cast<double>(queue_limit_bytes_);
    const auto limit_messages = static_cast<double>(queue_limit_messages_);
    // Near a limit before this batch was taken: fetching may have stopped. Drained to half of
    // both (at once, when the batch took it all): wake it.
    if (queued + static_cast<double>(bytes) >= 0.75 * limit ||
        queued_messages + static_cast<double>(n) >= 0.75 * limit_messages)
      queue_was_full_ = true;
    if (queue_was_full_ && queued <= 0.5 * limit && queued_messages <= 0.5 * limit_messages) {
      queue_was_full_ = false;
      wake_fetchers(false);
    }
  }
  // An exception cannot cross librdkafka's C frames: the rebalance callback parks it here.
  if (callback_error_) std::rethrow_exception(std::exchange(callback_error_, nullptr));
  return batch.msgs_.size();
}

void Consumer::handle_rebalance(int err_code, void* parts_ptr) {
  try {
    rebalance(err_code, parts_ptr);
  } catch (...) {
    spdlog::error("kafka: rebalance listener failed; the consumer stops");
    if (!callback_error_) callback_error_ = std::current_exception();
  }
}

void Consumer::rebalance(int err_code, void* parts_ptr) {
  auto* parts = static_cast<rd_kafka_topic_partition_list_t*>(parts_ptr);
  const auto err = static_cast<rd_kafka_resp_err_t>(err_code);
  const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk_.get()), "COOPERATIVE") == 0;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    auto vec = from_list(parts);
    if (listener_) listener_->on_partitions_assigned(vec);
    auto list = to_list(vec, false);
    if (cooperative) {
      if (auto* e = rd_kafka_incremental_assign(rk_.get(), list.get())) {
        spdlog::error("kafka: incremental assign failed: {}", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
      }
    } else {
      rd_kafka_assign(rk_.get(), list.get());
    }
  } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
    forget_paused(parts);
    auto vec = from_list(parts);
    if (listener_) {
      if (rd_kafka_assignment_lost(rk_.get()))
        listener_->on_partitions_lost(vec);
      else
        listener_->on_partitions_revoked(vec);
    }
    if (cooperative) {
      if (auto* e = rd_kafka_incremental_unassign(rk_.get(), parts)) {
        spdlog::error("kafka: incremental unassign failed: {}", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
      }
    } else {
      rd_kafka_assign(rk_.get(), nullptr);
    }
  } else {
    spdlog::error("kafka: rebalance error: {}", rd_kafka_err2str(err));
    rd_kafka_assign(rk_.get(), nullptr);
  }
}

std::error_code Consumer::commit_sync(const std::vector<TopicPartition>& offsets) {
  if (offsets.empty()) return {};
  auto list = to_list(offsets, true);
  if (const auto err = rd_kafka_commit(rk_.get(), list.get(), 0)) return ec(err);
  // The call fails as a whole only when every partition failed: check each one.
  for (int i = 0; i < list->cnt; ++i)
    if (list->elems[i].err) return ec(list->elems[i].err);
  return {};
}

std::error_code Consumer::commit_async(const std::vector<TopicPartition>& offsets) {
  if (offsets.empty()) return {};
  auto list = to_list(offsets, true);
  return ec(rd_kafka_commit(rk_.get(), list.get(), 1));
}

std::error_code Consumer::committed(std::vector<TopicPartition>& partitions, std::chrono::milliseconds timeout) {
  if (partitions.empty()) return {};
  auto list = to_list(partitions, false);
  const auto err = rd_kafka_committed(rk_.get(), list.get(), to_ms(timeout));
  if (err) return ec(err);
  for (int i = 0; i < list->cnt; ++i)
    if (list->elems[i].err) return ec(list->elems[i].err);
  auto got = from_list(list.get());
  for (std::size_t i = 0; i < partitions.size() && i < got.size(); ++i) {
    partitions[i].offset = got[i].offset;
    partitions[i].metadata = std::move(got[i].metadata);
  }
  return {};
}

std::error_code Consumer::pause(const std::vector<TopicPartition>& partitions) {
  auto list = to_list(partitions, false);
  const auto e = ec(rd_kafka_pause_partitions(rk_.get(), list.get()));
  for (const auto& tp : partitions) {
    const std::pair<std::string, std::int32_t> key{tp.topic, tp.partition};
    auto it = std::lower_bound(paused_.begin(), paused_.end(), key);
    if (it == paused_.end() || *it != key) paused_.insert(it, key);
  }
  return e;
}

std::error_code Consumer::resume(const std::vector<TopicPartition>& partitions) {
  auto list = to_list(partitions, false);
  for (const auto& tp : partitions) {
    const std::pair<std::string, std::int32_t> key{tp.topic, tp.partition};
    auto it = std::lower_bound(paused_.begin(), paused_.end(), key);
    if (it != paused_.end() && *it == key) paused_.erase(it);
  }
  return ec(rd_kafka_resume_partitions(rk_.get(), list.get()));
}

void Consumer::forget_paused(void* parts_ptr) {
  // A partition that leaves the assignment is no longer paused when it comes back.
  const auto* parts = static_cast<const rd_kafka_topic_partition_list_t*>(parts_ptr);
  if (paused_.empty() || !parts) return;
  for (int i = 0; i < parts->cnt; ++i) {
    const std::pair<std::string, std::int32_t> key{parts->elems[i].topic, parts->elems[i].partition};
    auto it = std::lower_bound(paused_.begin(), paused_.end(), key);
    if (it != paused_.end() && *it == key) paused_.erase(it);
  }
}

void Consumer::wake_fetchers(bool only_lagging) {
  rd_kafka_topic_partition_list_t* assigned = nullptr;
  if (rd_kafka_assignment(rk_.get(), &assigned) != RD_KAFKA_RESP_ERR_NO_ERROR || !assigned) return;
  PartitionListPtr owned(assigned, &rd_kafka_topic_partition_list_destroy);
  if (assigned->cnt == 0) return;
  // Positions of every assigned partition in one call (the next offset to hand out).
  if (rd_kafka_position(rk_.get(), assigned) != RD_KAFKA_RESP_ERR_NO_ERROR) return;
  // Lagging: records handed out from it, and more on the broker than that. Without
  // `only_lagging` (the read-ahead was full), every unpaused partition may need its fetch back.
  std::vector<const rd_kafka_topic_partition_t*> lagging;
  for (int i = 0; i < assigned->cnt; ++i) {
    const auto& e = assigned->elems[i];
    if (std::binary_search(paused_.begin(), paused_.end(), std::make_pair(std::string(e.topic), e.partition))) continue;
    if (only_lagging) {
      std::int64_t low = 0, high = 0;
      if (e.offset < 0 ||
          rd_kafka_get_watermark_offsets(rk_.get(), e.topic, e.partition, &low, &high) != RD_KAFKA_RESP_ERR_NO_ERROR ||
          high <= e.offset)
        continue;
    }
    lagging.push_back(&e);
  }
  if (lagging.empty()) return;
  // One request per leader: leaders from metadata, asked again at most every 10 s.
  const auto now = std::chrono::steady_clock::now();
  if (leaders_.empty() || now - leaders_at_ > std::chrono::seconds(10)) {
    leaders_.clear();
    const rd_kafka_metadata_t* md = nullptr;
    if (rd_kafka_metadata(rk_.get(), 0, nullptr, &md, 500) == RD_KAFKA_RESP_ERR_NO_ERROR && md) {
      for (int t = 0; t < md->topic_cnt; ++t) {
        auto& v = leaders_[md->topics[t].topic];
        for (int p = 0; p < md->topics[t].partition_cnt; ++p) {
          const auto& mp = md->topics[t].partitions[p];
          if (mp.id < 0) continue;
          if (static_cast<std::size_t>(mp.id) >= v.size()) v.resize(static_cast<std::size_t>(mp.id) + 1, -1);
          v[static_cast<std::size_t>(mp.id)] = mp.leader;
        }
      }
      rd_kafka_metadata_destroy(md);
    }
    leaders_at_ = now;
  }
  std::vector<std::int32_t> woken;
  bool unknown_woken = false;
  for (const auto* e : lagging) {
    std::int32_t leader = -1;
    if (auto it = leaders_.find(e->topic); it != leaders_.end() && static_cast<std::size_t>(e->partition) < it->second.size())
      leader = it->second[static_cast<std::size_t>(e->partition)];
    if (leader < 0) {
      if (unknown_woken) continue;
      unknown_woken = true;
    } else {
      if (std::find(woken.begin(), woken.end(), leader) != woken.end()) continue;
      woken.push_back(leader);
    }
    // The request wakes the broker's thread as it is queued; the answer is not needed, so the
    // wait for it is short (a leader that does not answer cannot hold the poll up).
    std::int64_t low = 0, high = 0;
    (void)rd_kafka_query_watermark_offsets(rk_.get(), e->topic, e->partition, &low, &high, 20);
  }
  ++wakeups_;
}

std::error_code Consumer::seek(const TopicPartition& tp, std::chrono::milliseconds timeout) {
  auto list = to_list({tp}, false);
  rd_kafka_error_t* e = rd_kafka_seek_partitions(rk_.get(), list.get(), to_ms(timeout));
  if (e) {
    const auto code = rd_kafka_error_code(e);
    rd_kafka_error_destroy(e);
    return ec(code);
  }
  return ec(list->elems[0].err);
}

Offset Consumer::position(const std::string& topic, std::int32_t partition) const {
  PartitionListPtr list(rd_kafka_topic_partition_list_new(1), &rd_kafka_topic_partition_list_destroy);
  rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition);
  if (rd_kafka_position(rk_.get(), list.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) return Offset::none();
  const auto o = list->elems[0].offset;
  return o >= 0 ? Offset::at(o) : Offset::none();
}

bool Consumer::cached_watermarks(const std::string& topic, std::int32_t partition, std::int64_t& low,
                                 std::int64_t& high) const {
  return rd_kafka_get_watermark_offsets(rk_.get(), topic.c_str(), partition, &low, &high) ==
             RD_KAFKA_RESP_ERR_NO_ERROR &&
         high >= 0;
}

std::vector<TopicPartition> Consumer::assignment() const {
  rd_kafka_topic_partition_list_t* list = nullptr;
  if (rd_kafka_assignment(rk_.get(), &list) != RD_KAFKA_RESP_ERR_NO_ERROR) return {};
  auto out = from_list(list);
  rd_kafka_topic_partition_list_destroy(list);
  return out;
}

void Consumer::close() {
  if (closed_ || !rk_) return;
  closed_ = true;
  queue_.reset();
  // Runs the revoke callback for the current assignment, then leaves the group.
  rd_kafka_consumer_close(rk_.get());
  if (callback_error_) {
    auto e = std::exchange(callback_error_, nullptr);
    std::rethrow_exception(e);
  }
}

// ---------------------------------------------------------------------------------------------
// Producer

Producer::Producer(const Config& config) {
  Config c = config;
  if (!c.get("enable.idempotence")) c.set(keys::enable_idempotence, true);
  create(true, c);
}

Producer::~Producer() {
  if (rk_ && rd_kafka_outq_len(rk_.get()) > 0) {
    rd_kafka_flush(rk_.get(), 5000);
  }
  topics_.clear();
}

Producer::TopicId Producer::topic(const std::string& name) {
  if (auto it = topic_ids_.find(name); it != topic_ids_.end()) return it->second;
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk_.get(), name.c_str(), nullptr);
  if (!rkt) throw KafkaError("cannot create topic handle for " + name);
  const auto id = static_cast<TopicId>(topics_.size());
  topics_.push_back({name, detail::TopicPtr(rkt)});
  topic_ids_.emplace(name, id);
  return id;
}

namespace {
// rd_kafka_produceva with a fixed argument list (the RD_KAFKA_V_* macros use C casts).
rd_kafka_resp_err_t produce_va(rd_kafka_t* rk, rd_kafka_topic_t* rkt, std::int32_t partition, std::string_view key,
                               const std::string_view* value, std::int64_t timestamp_ms, void* opaque,
                               rd_kafka_headers_t* headers) {
  rd_kafka_vu_t vu[8];
  std::size_t n = 0;
  vu[n].vtype = RD_KAFKA_VTYPE_RKT;
  vu[n++].u.rkt = rkt;
  vu[n].vtype = RD_KAFKA_VTYPE_PARTITION;
  vu[n++].u.i32 = partition;
  vu[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
  vu[n++].u.i = RD_KAFKA_MSG_F_COPY;
  vu[n].vtype = RD_KAFKA_VTYPE_KEY;
  vu[n].u.mem.ptr = key.empty() ? nullptr : const_cast<char*>(key.data());
  vu[n++].u.mem.size = key.size();
  vu[n].vtype = RD_KAFKA_VTYPE_VALUE;
  vu[n].u.mem.ptr = value ? const_cast<char*>(value->data()) : nullptr;
  vu[n++].u.mem.size = value ? value->size() : 0;
  vu[n].vtype = RD_KAFKA_VTYPE_TIMESTAMP;
  vu[n++].u.i64 = timestamp_ms;
  vu[n].vtype = RD_KAFKA_VTYPE_OPAQUE;
  vu[n++].u.ptr = opaque;
  if (headers) {
    vu[n].vtype = RD_KAFKA_VTYPE_HEADERS;
    vu[n++].u.headers = headers;
  }
  rd_kafka_error_t* error = rd_kafka_produceva(rk, vu, n);
  if (!error) return RD_KAFKA_RESP_ERR_NO_ERROR;
  const auto code = rd_kafka_error_code(error);
  rd_kafka_error_destroy(error);
  return code;
}

// A record's opaque: its topic id + 1, and the parity of the epoch it was sent in.
constexpr unsigned kEpochBit = 40;
void* record_opaque(Producer::TopicId topic, unsigned epoch) {
  return reinterpret_cast<void*>((static_cast<std::uintptr_t>(topic) + 1) |
                                 (static_cast<std::uintptr_t>(epoch) << kEpochBit));
}
}  // namespace

std::error_code Producer::send(TopicId topic, std::int32_t partition, std::string_view key, std::string_view value,
                               std::int64_t timestamp_ms) {
  rd_kafka_topic_t* rkt = topics_[topic].rkt.get();
  for (;;) {
    const auto err =
        produce_va(rk_.get(), rkt, partition, key, &value, timestamp_ms, record_opaque(topic, epoch_), nullptr);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      unreported_[epoch_].fetch_add(1, std::memory_order_relaxed);
      ++sent_;
      sent_bytes_ += key.size() + value.size() + kRecordBookkeepingBytes;
      return {};
    }
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) return ec(err);
    rd_kafka_poll(rk_.get(), 5);  // backpressure: wait for deliveries to free the queue
  }
}

std::error_code Producer::send_with_headers(TopicId topic, std::int32_t partition, std::string_view key,
                                            const std::string_view* value,
                                            const std::vector<std::pair<std::string, std::string>>& headers,
                                            std::int64_t timestamp_ms) {
  rd_kafka_topic_t* rkt = topics_[topic].rkt.get();
  for (;;) {
    rd_kafka_headers_t* hdrs = rd_kafka_headers_new(headers.size());
    for (const auto& [k, v] : headers)
      rd_kafka_header_add(hdrs, k.data(), static_cast<ssize_t>(k.size()), v.data(), static_cast<ssize_t>(v.size()));
    const auto err = produce_va(rk_.get(), rkt, partition, key, value, timestamp_ms, record_opaque(topic, epoch_), hdrs);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      unreported_[epoch_].fetch_add(1, std::memory_order_relaxed);
      ++sent_;
      sent_bytes_ += key.size() + (value ? value->size() : 0) + kRecordBookkeepingBytes;
      return {};  // librdkafka owns the headers now
    }
    rd_kafka_headers_destroy(hdrs);
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) return ec(err);
    rd_kafka_poll(rk_.get(), 5);
  }
}

void Producer::on_delivery(const rd_kafka_message_s* m) {
  reported_bytes_.fetch_add(m->len + m->key_len + kRecordBookkeepingBytes, std::memory_order_relaxed);
  const auto opaque = reinterpret_cast<std::uintptr_t>(m->_private);
  const unsigned epoch = static_cast<unsigned>(opaque >> kEpochBit) & 1u;
  const auto id = opaque & ((std::uintptr_t{1} << kEpochBit) - 1);
  if (m->err) {
    int expected = 0;
    first_delivery_error_.compare_exchange_strong(expected, static_cast<int>(m->err));
    spdlog::error("kafka: delivery to {} [{}] failed: {}", rd_kafka_topic_name(m->rkt), m->partition,
                  rd_kafka_err2str(m->err));
  } else {
    delivered_.fetch_add(1, std::memory_order_relaxed);
    auto& tracked = acked_offsets_[epoch];
    if (id > 0 && id - 1 < tracked.size()) {
      auto& offsets = tracked[id - 1];
      if (!offsets.empty()) {
        const auto p = static_cast<std::size_t>(m->partition);
        if (p >= offsets.size()) offsets.resize(p + 1, -1);
        if (m->offset > offsets[p]) offsets[p] = m->offset;
      }
    }
  }
  // Last: a record counts as reported once its offset is recorded.
  unreported_[epoch].fetch_sub(1, std::memory_order_release);
}

void Producer::seal() {
  const unsigned next = epoch_ ^ 1u;
  // The next epoch reuses the parity of the previously sealed one: its records must all be
  // reported first, or they would count as the new epoch's.
  while (unreported_[next].load(std::memory_order_acquire) != 0) rd_kafka_poll(rk_.get(), 1);
  // Offsets recorded under that parity belong to older epochs, all below the new records' ones
  // (offsets grow per partition), so they need no reset.
  sealed_ = epoch_;
  epoch_ = next;
}

bool Producer::sealed_acknowledged() const noexcept {
  return unreported_[sealed_].load(std::memory_order_acquire) == 0;
}

std::error_code Producer::take_delivery_error() {
  const int err = first_delivery_error_.exchange(0);
  return err ? make_kafka_error(err) : std::error_code{};
}

void Producer::track_offsets(TopicId topic) {
  for (auto& tracked : acked_offsets_) {
    if (tracked.size() <= topic) tracked.resize(topic + 1);
    if (tracked[topic].empty()) tracked[topic].assign(1, -1);
  }
}

Offset Producer::last_acked_offset(TopicId topic, std::int32_t partition) const {
  const auto& tracked = acked_offsets_[sealed_];
  if (topic >= tracked.size()) return Offset::none();
  const auto& offsets = tracked[topic];
  const auto p = static_cast<std::size_t>(partition);
  return p < offsets.size() && offsets[p] >= 0 ? Offset::at(offsets[p]) : Offset::none();
}

std::error_code Producer::flush(std::chrono::milliseconds timeout) {
  const auto err = rd_kafka_flush(rk_.get(), to_ms(timeout));
  const int delivery_err = first_delivery_error_.exchange(0);
  if (delivery_err) return make_kafka_error(delivery_err);
  return ec(err);
}

namespace {
TxnResult txn_result(rd_kafka_error_t* error) {
  TxnResult r;
  if (!error) return r;
  r.error = ec(rd_kafka_error_code(error));
  r.retriable = rd_kafka_error_is_retriable(error) != 0;
  r.abortable = rd_kafka_error_txn_requires_abort(error) != 0;
  r.fatal = rd_kafka_error_is_fatal(error) != 0;
  r.message = rd_kafka_error_string(error);
  rd_kafka_error_destroy(error);
  return r;
}
}  // namespace

TxnResult Producer::init_transactions(std::chrono::milliseconds timeout) {
  return txn_result(rd_kafka_init_transactions(rk_.get(), to_ms(timeout)));
}

TxnResult Producer::begin_transaction() { return txn_result(rd_kafka_begin_transaction(rk_.get())); }

TxnResult Producer::send_offsets_to_transaction(const std::vector<TopicPartition>& offsets, const Consumer& consumer,
                                                std::chrono::milliseconds timeout) {
  if (offsets.empty()) return {};
  auto list = to_list(offsets, true);
  rd_kafka_consumer_group_metadata_t* group = rd_kafka_consumer_group_metadata(consumer.handle());
  if (!group) {
    TxnResult r;
    r.error = ec(RD_KAFKA_RESP_ERR__STATE);
    r.message = "the consumer is not a group member";
    return r;
  }
  auto r = txn_result(rd_kafka_send_offsets_to_transaction(rk_.get(), list.get(), group, to_ms(timeout)));
  rd_kafka_consumer_group_metadata_destroy(group);
  return r;
}

TxnResult Producer::commit_transaction(std::chrono::milliseconds timeout) {
  auto r = txn_result(rd_kafka_commit_transaction(rk_.get(), to_ms(timeout)));
  // Delivery reports of the committed records were served by the commit: a delivery error among
  // them fails the transaction, so a stale one must not fail the next flush.
  if (!r) first_delivery_error_.store(0);
  return r;
}

TxnResult Producer::abort_transaction(std::chrono::milliseconds timeout) {
  auto r = txn_result(rd_kafka_abort_transaction(rk_.get(), to_ms(timeout)));
  first_delivery_error_.store(0);  // the aborted records' delivery errors no longer matter
  return r;
}

std::size_t Producer::in_flight() const noexcept { return static_cast<std::size_t>(rd_kafka_outq_len(rk_.get())); }

}  // namespace sw::kafka
