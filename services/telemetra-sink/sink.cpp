#include "sink.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <thread>

#include "common/time.h"

namespace sw::telemetra {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

std::int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()).count();
}

// The seed's tables, plus the unique keys that make every write an idempotent upsert.
const char* const kCreateSummary = R"SQL(
CREATE TABLE IF NOT EXISTS chat_summary_minute (
    id SERIAL PRIMARY KEY,
    stream_id VARCHAR(255) NOT NULL,
    window_start TIMESTAMP NOT NULL,
    window_end TIMESTAMP NOT NULL,
    chat_count INTEGER,
    unique_chatters INTEGER,
    avg_sentiment DOUBLE PRECISION,
    positive_count INTEGER,
    negative_count INTEGER,
    chat_rate DOUBLE PRECISION,
    avg_viewers DOUBLE PRECISION,
    top_emotes TEXT[],
    z_score DOUBLE PRECISION,
    is_anomaly BOOLEAN,
    processed_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
))SQL";

const char* const kCreateMoments = R"SQL(
CREATE TABLE IF NOT EXISTS moments (
    id SERIAL PRIMARY KEY,
    stream_id VARCHAR(255) NOT NULL,
    timestamp TIMESTAMP NOT NULL,
    moment_type VARCHAR(50) NOT NULL,
    description TEXT,
    intensity DOUBLE PRECISION,
    metadata JSONB,
    detected_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
))SQL";

// Timestamps are stored as UTC in the seed's TIMESTAMP (without time zone) columns. A replayed
// row that is identical is left alone (the WHERE clause), so processed_at/detected_at keep the
// time of the first write and a replay leaves the tables unchanged.
const char* const kUpsertSummary = R"SQL(
INSERT INTO chat_summary_minute (stream_id, window_start, window_end, chat_count, unique_chatters, avg_sentiment,
                                 positive_count, negative_count, chat_rate, avg_viewers, top_emotes, z_score, is_anomaly)
SELECT r->>'stream_id',
       (r->>'window_start')::timestamptz AT TIME ZONE 'UTC',
       (r->>'window_end')::timestamptz AT TIME ZONE 'UTC',
       (r->>'chat_count')::integer,
       (r->>'unique_chatters')::integer,
       (r->>'avg_sentiment')::double precision,
       (r->>'positive_count')::integer,
       (r->>'negative_count')::integer,
       (r->>'chat_rate')::double precision,
       (r->>'avg_viewers')::double precision,
       ARRAY(SELECT json_array_elements_text(r->'top_emotes')),
       (r->>'z_score')::double precision,
       (r->>'is_anomaly')::boolean
FROM json_array_elements($1::json) AS r
ON CONFLICT (stream_id, window_start, window_end) DO UPDATE SET
  chat_count = EXCLUDED.chat_count, unique_chatters = EXCLUDED.unique_chatters, avg_sentiment = EXCLUDED.avg_sentiment,
  positive_count = EXCLUDED.positive_count, negative_count = EXCLUDED.negative_count, chat_rate = EXCLUDED.chat_rate,
  avg_viewers = EXCLUDED.avg_viewers, top_emotes = EXCLUDED.top_emotes, z_score = EXCLUDED.z_score,
  is_anomaly = EXCLUDED.is_anomaly, processed_at = CURRENT_TIMESTAMP
WHERE (chat_summary_minute.chat_count, chat_summary_minute.unique_chatters, chat_summary_minute.avg_sentiment,
       chat_summary_minute.positive_count, chat_summary_minute.negative_count, chat_summary_minute.chat_rate,
       chat_summary_minute.avg_viewers, chat_summary_minute.top_emotes, chat_summary_minute.z_score,
       chat_summary_minute.is_anomaly)
  IS DISTINCT FROM
      (EXCLUDED.chat_count, EXCLUDED.unique_chatters, EXCLUDED.avg_sentiment, EXCLUDED.positive_count,
       EXCLUDED.negative_count, EXCLUDED.chat_rate, EXCLUDED.avg_viewers, EXCLUDED.top_emotes, EXCLUDED.z_score,
       EXCLUDED.is_anomaly)
)SQL";

const char* const kUpsertMoments = R"SQL(
INSERT INTO moments (stream_id, timestamp, moment_type, description, intensity, metadata)
SELECT r->>'stream_id',
       (r->>'timestamp')::timestamptz AT TIME ZONE 'UTC',
       r->>'moment_type',
       r->>'description',
       (r->>'intensity')::double precision,
       (r->'metadata')::jsonb
FROM json_array_elements($1::json) AS r
ON CONFLICT (stream_id, timestamp, moment_type) DO UPDATE SET
  description = EXCLUDED.description, intensity = EXCLUDED.intensity, metadata = EXCLUDED.metadata,
  detected_at = CURRENT_TIMESTAMP
WHERE (moments.description, moments.intensity, moments.metadata)
  IS DISTINCT FROM (EXCLUDED.description, EXCLUDED.intensity, EXCLUDED.metadata)
)SQL";

bool is_timestamp(const nlohmann::json& j) {
  if (!j.is_string()) return false;
  TimestampMs t;
  return parse_rfc3339(j.get_ref<const std::string&>(), t) == TimeParseError::none;
}

}  // namespace

std::vector<std::string> PgSink::migrations() {
  return {
      // One sink replica migrates at a time.
      "SELECT pg_advisory_xact_lock(7301946001)",
      kCreateSummary,
      kCreateMoments,
      // Tables made by an older version of the seed's schema gain the columns they lack.
      "ALTER TABLE chat_summary_minute ADD COLUMN IF NOT EXISTS avg_viewers DOUBLE PRECISION, "
      "ADD COLUMN IF NOT EXISTS top_emotes TEXT[], ADD COLUMN IF NOT EXISTS z_score DOUBLE PRECISION, "
      "ADD COLUMN IF NOT EXISTS is_anomaly BOOLEAN, "
      "ADD COLUMN IF NOT EXISTS processed_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP",
      "ALTER TABLE moments ADD COLUMN IF NOT EXISTS description TEXT, ADD COLUMN IF NOT EXISTS intensity DOUBLE PRECISION, "
      "ADD COLUMN IF NOT EXISTS metadata JSONB, ADD COLUMN IF NOT EXISTS detected_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP",
      "CREATE UNIQUE INDEX IF NOT EXISTS chat_summary_minute_stream_window_key "
      "ON chat_summary_minute (stream_id, window_start, window_end)",
      "CREATE UNIQUE INDEX IF NOT EXISTS moments_stream_timestamp_type_key ON moments (stream_id, timestamp, moment_type)",
  };
}

PgSink::PgSink(SinkConfig config, metrics::Registry& registry) : config_(std::move(config)), registry_(registry) {
  if (config_.bootstrap_servers.empty()) throw std::invalid_argument("no Kafka bootstrap servers configured");
  if (config_.conninfo.empty()) throw std::invalid_argument("no PostgreSQL URL configured (POSTGRES_URL)");
  if (config_.batch_rows == 0) throw std::invalid_argument("batch rows must be positive");
  rows_summary_ = &registry.counter("telemetra_sink_rows_written_total", "Rows upserted, by table",
                                    metrics::labels({{"table", "chat_summary_minute"}}));
  rows_moments_ = &registry.counter("telemetra_sink_rows_written_total", "Rows upserted, by table",
                                    metrics::labels({{"table", "moments"}}));
  batches_ = &registry.counter("telemetra_sink_batches_total", "Database transactions committed");
  db_errors_ = &registry.counter("telemetra_sink_database_errors_total",
                                 "Failed connections, connection checks and transactions");
  db_retries_ = &registry.counter("telemetra_sink_database_retries_total",
                                  "Attempts to reach the database again after a failure (connection or batch)");
  bad_records_ = &registry.counter("telemetra_sink_invalid_records_total", "Records that are not valid rows (skipped)");
  consumed_ = &registry.counter("telemetra_sink_records_consumed_total", "Records read from Kafka");
  ready_gauge_ = &registry.gauge("telemetra_sink_ready",
                                 "1 when the database is reachable (connected, migrated, answering)");
  pending_gauge_ = &registry.gauge("telemetra_sink_pending_rows", "Rows read but not yet committed to the database");
  z_score_ = &registry.histogram("telemetra_sink_z_score",
                                 "z-scores of the chat_summary_minute rows written (rows without one are not counted)", "",
                                 {-3, -2, -1, 0, 1, 2, 3, 4, 5, 7.5, 10, 15, 20, 50});
  // The series every Streamwright process exports, so the common alerts and panels cover the sink.
  const auto stage = metrics::labels({{"stage", kSinkStage}});
  sw_consumed_summary_ = &registry.counter("streamwright_records_consumed_total", "Records read from input topics",
                                           metrics::labels({{"stage", kSinkStage}, {"topic", config_.summary_topic}}));
  sw_consumed_moments_ = config_.moments_topic == config_.summary_topic
                             ? sw_consumed_summary_
                             : &registry.counter("streamwright_records_consumed_total", "Records read from input topics",
                                                 metrics::labels({{"stage", kSinkStage}, {"topic", config_.moments_topic}}));
  sw_commits_ = &registry.counter("streamwright_commits_total", "Offset commits", stage);
  sw_rebalances_ = &registry.counter("streamwright_rebalances_total", "Partition assignments and revocations", stage);
  sw_ready_ = &registry.gauge("streamwright_ready", "1 when the database is reachable (the sink's readiness)", stage);
  sw_assigned_ = &registry.gauge("streamwright_assigned_partitions", "Partitions assigned to this replica", stage);
  sw_commit_seconds_ = &registry.histogram("streamwright_commit_seconds",
                                           "From a batch's database transaction start to its offset commit", stage,
                                           metrics::latency_buckets());

  kafka::Config cc;
  cc.set(kafka::keys::bootstrap_servers, config_.bootstrap_servers);
  cc.set(kafka::keys::group_id, config_.group_id);
  cc.set(kafka::keys::client_id, config_.group_id);
  cc.set(kafka::keys::auto_offset_reset, "earliest");
  cc.set(kafka::keys::fetch_wait_max_ms, 100);
  // As the stages: a replica that died hands its partitions over after 10 s, not librdkafka's
  // default 45 s, and only committed transactional output is written to the database.
  cc.set(kafka::keys::session_timeout_ms, kafka::kDefaultSessionTimeoutMs);
  cc.set(kafka::keys::heartbeat_interval_ms, 1000);
  cc.set(kafka::keys::isolation_level, "read_committed");
  for (const auto& [k, v] : config_.kafka.entries()) cc.set_raw(k, v);
  consumer_ = std::make_unique<kafka::Consumer>(cc, this);
  consumer_->set_fetch_wakeup(kafka::kFetchWakeupQuiet);
  last_loop_ms_.store(steady_ms());
}

PgSink::~PgSink() {
  consumer_.reset();
  db_.reset();
}

bool PgSink::alive() const noexcept { return steady_ms() - last_loop_ms_.load(std::memory_order_relaxed) < 60000; }

void PgSink::update_ready() {
  const bool r = db_ok_;
  ready_.store(r, std::memory_order_relaxed);
  ready_gauge_->set(r ? 1 : 0);
  sw_ready_->set(r ? 1 : 0);
  sw_assigned_->set(static_cast<double>(assigned_));
}

void PgSink::database_failed(const std::exception& e, const char* what) {
  db_ok_ = false;
  db_.reset();
  db_errors_->inc();
  // libpq error texts name the host and user, never the password.
  spdlog::warn("PostgreSQL unavailable ({}): {}", what, e.what());
  update_ready();
}

void PgSink::check_database() {
  const auto now = Clock::now();
  if (now - last_db_check_ < config_.db_check_interval) return;
  last_db_check_ = now;
  if (!db_ok_ || !db_ || !db_->is_open()) {
    db_retries_->inc();
    ensure_connected();
    return;
  }
  try {
    pqxx::nontransaction q(*db_);
    q.exec("SELECT 1");
  } catch (const std::exception& e) {
    database_failed(e, "connection check");
  }
}

bool PgSink::ensure_connected() {
  if (db_ok_ && db_ && db_->is_open()) return true;
  try {
    db_.reset();
    db_ = std::make_unique<pqxx::connection>(config_.conninfo);
    pqxx::work tx(*db_);
    for (const auto& sql : migrations()) tx.exec(sql);
    tx.commit();
    db_ok_ = true;
    backoff_ = 0ms;
    last_db_check_ = Clock::now();
    spdlog::info("connected to PostgreSQL (database {}, server {}); tables chat_summary_minute and moments ready",
                 db_->dbname(), db_->server_version());
    update_ready();
  } catch (const std::exception& e) {
    database_failed(e, "connect and migrate");
  }
  return db_ok_;
}

void PgSink::wait_backoff() {
  db_retries_->inc();
  backoff_ = backoff_.count() == 0 ? config_.min_backoff : std::min(config_.max_backoff, backoff_ * 2);
  const auto until = Clock::now() + backoff_;
  while (!stop_requested() && Clock::now() < until) {
    last_loop_ms_.store(steady_ms(), std::memory_order_relaxed);
    std::this_thread::sleep_for(50ms);
  }
}

bool PgSink::add(const kafka::Message& m) {
  const bool summary = m.topic() == config_.summary_topic;
  nlohmann::json j = nlohmann::json::parse(m.value(), nullptr, false);
  std::string key;
  bool valid = j.is_object() && j.contains("stream_id") && j["stream_id"].is_string();
  if (valid && summary) {
    valid = is_timestamp(j.value("window_start", nlohmann::json())) && is_timestamp(j.value("window_end", nlohmann::json()));
    if (valid)
      key = j["stream_id"].get<std::string>() + '\n' + j["window_start"].get<std::string>() + '\n' +
            j["window_end"].get<std::string>();
  } else if (valid) {
    valid = is_timestamp(j.value("timestamp", nlohmann::json())) && j.contains("moment_type") && j["moment_type"].is_string();
    if (valid)
      key = j["stream_id"].get<std::string>() + '\n' + j["timestamp"].get<std::string>() + '\n' +
            j["moment_type"].get<std::string>();
  }
  if (!valid) {
    bad_records_->inc();
    spdlog::warn("skipping {} [{}] offset {}: not a valid {} row", m.topic(), m.partition(), m.offset(),
                 summary ? "chat_summary_minute" : "moments");
    return false;
  }
  (summary ? summaries_ : moments_)[key] = std::string(m.value());
  if (summary) {
    const auto z = j.find("z_score");
    if (z != j.end() && z->is_number()) z_scores_[key] = z->get<double>();
    else z_scores_.erase(key);  // a replayed copy without a z-score replaces one with it
  }
  return true;
}

bool PgSink::write_batch() {
  if (summaries_.empty() && moments_.empty() && next_offsets_.empty()) return true;
  if (!ensure_connected()) return false;
  auto as_array = [](const std::map<std::string, std::string>& rows) {
    std::string out = "[";
    for (const auto& [k, v] : rows) {
      if (out.size() > 1) out += ',';
      out += v;
    }
    return out + "]";
  };
  const auto started = Clock::now();
  try {
    pqxx::work tx(*db_);
    if (!summaries_.empty()) tx.exec_params(kUpsertSummary, as_array(summaries_));
    if (!moments_.empty()) tx.exec_params(kUpsertMoments, as_array(moments_));
    tx.commit();
  } catch (const std::exception& e) {
    db_errors_->inc();
    spdlog::warn("writing {} rows failed, will retry: {}", summaries_.size() + moments_.size(), e.what());
    db_ok_ = false;
    if (db_ && !db_->is_open()) db_.reset();
    update_ready();
    return false;
  }
  last_db_check_ = Clock::now();
  batches_->inc();
  rows_summary_->inc(summaries_.size());
  rows_moments_->inc(moments_.size());
  for (const auto& [key, z] : z_scores_) z_score_->observe(z);
  // Only now, with the rows durable in PostgreSQL, may the offsets move past them.
  for (const auto& [tp, next] : next_offsets_) owed_offsets_.owe({tp.first, tp.second, Offset::at(next), {}});
  commit_durable_offsets();
  sw_commit_seconds_->observe(std::chrono::duration<double>(Clock::now() - started).count());
  summaries_.clear();
  moments_.clear();
  z_scores_.clear();
  next_offsets_.clear();
  pending_gauge_->set(0);
  backoff_ = 0ms;
  return true;
}

void PgSink::commit_durable_offsets(bool now) {
  using When = kafka::OwedOffsets::When;
  const auto refused = owed_offsets_.commit(*consumer_, now ? When::now : When::settled);
  if (!refused) return;
  if (*refused) {
    if (!commit_refused_)
      spdlog::warn("offset commit failed after the database commit (retried once the group has settled; "
                   "a replay would write the same rows again, harmlessly): {}",
                   refused->message());
    commit_refused_ = true;
    return;
  }
  if (commit_refused_) spdlog::info("offset commit succeeded after the group settled");
  commit_refused_ = false;
  sw_commits_->inc();
}

void PgSink::on_partitions_assigned(std::vector<kafka::TopicPartition>& partitions) {
  sw_rebalances_->inc();
  owed_offsets_.rebalance_ended();
  assigned_ += partitions.size();
  update_ready();
}

void PgSink::on_partitions_revoked(const std::vector<kafka::TopicPartition>& partitions) {
  // Write what we hold for them now; if the database is down the rows stay pending and are
  // written later, and the new owner replays these partitions from their committed offsets.
  write_batch();
  commit_durable_offsets(/*now=*/true);
  for (const auto& tp : partitions) owed_offsets_.forget(tp);
  owed_offsets_.rebalance_ended();
  sw_rebalances_->inc();
  assigned_ -= std::min(assigned_, partitions.size());
  update_ready();
}

void PgSink::on_partitions_lost(const std::vector<kafka::TopicPartition>& partitions) {
  for (const auto& tp : partitions) owed_offsets_.forget(tp);
  owed_offsets_.rebalance_ended();
  sw_rebalances_->inc();
  assigned_ -= std::min(assigned_, partitions.size());
  update_ready();
}

void PgSink::run() {
  if (auto ec = consumer_->subscribe({config_.summary_topic, config_.moments_topic}))
    throw std::runtime_error("subscribe: " + ec.message());
  spdlog::info("telemetra sink: {} and {} -> PostgreSQL (group {})", config_.summary_topic, config_.moments_topic,
               config_.group_id);
  while (!ensure_connected() && !stop_requested()) wait_backoff();
  kafka::MessageBatch batch(config_.batch_rows);
  while (!stop_requested()) {
    last_loop_ms_.store(steady_ms(), std::memory_order_relaxed);
    const std::size_t held = summaries_.size() + moments_.size();
    const auto want = config_.batch_rows > held ? config_.batch_rows - held : 0;
    std::size_t n = 0;
    if (want > 0) n = consumer_->poll(batch, want, 50ms);
    for (std::size_t i = 0; i < n; ++i) {
      const auto m = batch[i];
      if (m.error()) {
        if (!kafka::is(m.error(), kafka::Errc::partition_eof))
          spdlog::warn("consume error on {} [{}]: {}", m.topic(), m.partition(), m.error().message());
        continue;
      }
      consumed_->inc();
      (m.topic() == config_.summary_topic ? sw_consumed_summary_ : sw_consumed_moments_)->inc();
      if (next_offsets_.empty()) first_pending_ = Clock::now();
      add(m);
      next_offsets_[{std::string(m.topic()), m.partition()}] = m.offset() + 1;
    }
    batch.clear();
    pending_gauge_->set(static_cast<double>(summaries_.size() + moments_.size()));
    if (next_offsets_.empty()) {
      commit_durable_offsets();
      check_database();
      continue;
    }
    const bool full = summaries_.size() + moments_.size() >= config_.batch_rows;
    if (!full && n > 0 && Clock::now() - first_pending_ < config_.batch_linger) continue;
    // Retry the held batch until it is written: nothing new is consumed meanwhile.
    while (!write_batch() && !stop_requested()) wait_backoff();
  }
  if (!next_offsets_.empty() && !write_batch())
    spdlog::warn("stopping with {} rows not written; they will be read again from Kafka",
                 summaries_.size() + moments_.size());
  commit_durable_offsets(/*now=*/true);
  consumer_->close();
  ready_.store(false);
  ready_gauge_->set(0);
  sw_ready_->set(0);
}

}  // namespace sw::telemetra
