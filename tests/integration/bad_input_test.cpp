// The malformed-input corpus (tests/data/bad-input/) through the real entry stages: each
// pipeline's parse/enrich stage runs as a process against the dev broker, gets the whole corpus
// and then a few valid records on its input topic, and must
// - dead-letter every corpus record, with the corpus's reason (header streamwright.error), its
//   original key and bytes, and its provenance headers;
// - keep running (same process, /healthz 200) and count exactly the corpus in
//   streamwright_dead_letter_records_total;
// - still process the valid records after it (data records on the repartition topic whose
//   provenance is the valid records' offsets; nothing from a corpus record).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <set>
#include <thread>

#include "../support/bad_input_corpus.h"
#include "harness.h"
#include "topologies/render_farm_data.h"
#include "topology/envelope.h"

namespace sw::test {
namespace {

using namespace std::chrono_literals;
namespace bad = testing::bad_input;

std::vector<bad::Row> corpus(const std::string& name) {
  return bad::load(std::string(SW_SOURCE_DIR) + "/tests/data/bad-input/" + name + ".tsv");
}

struct Valid {
  std::string key;
  std::string value;
  std::string repartition_key;  // the key the stage gives it on the repartition topic
};

struct Pipeline {
  std::string corpus;
  std::string program;
  std::string stage;
  std::vector<std::string> topics;  // all single-partition: offsets on the input are row indexes
  std::string input, dlq, repartition;
  std::vector<Valid> valid;
  bool needs_dimensions = false;
  std::vector<std::string> args;  // further stage options
};

void PrintTo(const Pipeline& p, std::ostream* os) { *os << p.corpus; }

std::vector<Pipeline> pipelines() {
  std::vector<Pipeline> out;
  {
    Pipeline p{"crash-monitor", "streamwright-crash-monitor", "parse", {}, "logs", "logs-dlq",
               "crash-monitor-crashes-by-user-repartition", {}, false, {}};
    p.topics = {"logs:1", "logs-dlq:1", p.repartition + ":1", "crash-monitor-crash-counts-changelog:1", "crash-alerts:1"};
    for (int i = 0; i < 3; ++i) {
      const std::string user = "user-0000" + std::to_string(i + 1);
      p.valid.push_back({user,
                         R"({"timestamp":"2026-01-01T10:00:0)" + std::to_string(i + 1) + R"(Z","user_id":")" + user +
                             R"(","severity":"High","content":"Application crash detected in module auth"})",
                         user});
    }
    out.push_back(std::move(p));
  }
  {
    Pipeline p{"render-farm", "streamwright-render-farm", "enrich", {}, "render-events", "render-events-dlq",
               "render-farm-frames-by-scene-repartition", {}, true, {}};
    p.topics = {"render-events:1", "render-events-dlq:1", "render-metrics:1", "node-metrics:1", p.repartition + ":1",
                "render-farm-frames-by-node-repartition:1", "render-farm-scene-metrics-changelog:1",
                "render-farm-node-metrics-changelog:1"};
    for (int i = 0; i < 3; ++i) {
      const std::string scene = "scene-000" + std::to_string(i + 1);
      const std::string frame = "f" + std::to_string(i + 1);
      p.valid.push_back({frame,
                         R"({"frame_id":")" + frame + R"(","scene_id":")" + scene +
                             R"(","node_id":"node-001","render_time_ms":1500.5,"gpu_utilization":0.5,"timestamp":"2026-01-01T10:00:0)" +
                             std::to_string(i + 5) + R"(Z","status":"ok"})",
                         scene});
    }
    out.push_back(std::move(p));
  }
  {
    Pipeline p{"telemetra-chat", "streamwright-telemetra", "parse", {}, "chat-events", "chat-events-dlq",
               "telemetra-events-by-stream-repartition", {}, false, {}};
    p.topics = {"chat-events:1", "viewer-events:1", "chat-events-dlq:1", "viewer-events-dlq:1", "chat-summary:1",
                "moments:1", p.repartition + ":1", "telemetra-stream-slices-changelog:1"};
    for (int i = 0; i < 3; ++i) {
      const std::string stream = "s" + std::to_string(i + 1);
      p.valid.push_back({stream,
                         R"({"stream_id":")" + stream + R"(","user_id":"u1","message":"gg","emotes":["Kappa"],"timestamp":"2026-01-01T10:00:0)" +
                             std::to_string(i + 5) + R"(Z"})",
                         stream});
    }
    out.push_back(std::move(p));
  }
  {
    Pipeline p{"join-stats", "streamwright-join-stats", "enrich", {}, "events", "events-dlq",
               "join-stats-samples-by-group-repartition", {}, false,
               {"--dataset", std::string(SW_SOURCE_DIR) + "/topologies/data/join-stats/products.json"}};
    p.topics = {"events:1", "events-dlq:1", "event-stats:1", p.repartition + ":1", "join-stats-group-stats-changelog:1"};
    // Products of three categories (the shipped dataset's), each the key of its partials.
    for (const auto& [product, category] : std::vector<std::pair<std::string, std::string>>{
             {"p-0000", "books"}, {"p-0001", "toys"}, {"p-0002", "garden"}})
      p.valid.push_back({product,
                         R"({"order_id":"o-)" + product + R"(","product_id":")" + product +
                             R"(","price":19.99,"quantity":2,"timestamp":"2026-01-01T10:00:05Z"})",
                         category});
    out.push_back(std::move(p));
  }
  return out;
}

class BadInputStageTest : public ::testing::TestWithParam<Pipeline> {
 protected:
  void TearDown() override {
    if (HasFailure() && service_) dump_log(service_->log());
    if (service_) service_->process().stop(30s);
  }

  Service& start(const Pipeline& p, const DevBroker& broker, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--stage", p.stage, "--bootstrap-servers", broker.bootstrap(), "--metrics-port", "0",
                                  "--state-dir", (dir_.path() / "state").string(), "--commit-interval", "200ms",
                                  "--idle-timeout", "1h"};
    if (p.needs_dimensions) {
      render_farm::write_dimension_files(dir_.path() / "dims", 10, 5);
      args.insert(args.end(), {"--scenes", (dir_.path() / "dims" / "scenes.json").string(), "--nodes",
                               (dir_.path() / "dims" / "hardware_nodes.jsonl").string()});
    }
    args.insert(args.end(), p.args.begin(), p.args.end());
    args.insert(args.end(), extra.begin(), extra.end());
    service_ = std::make_unique<Service>(p.program, args, dir_.path() / (p.stage + ".log"));
    return *service_;
  }

  TempDir dir_;
  std::unique_ptr<Service> service_;
};

// Data records of a repartition topic (watermark records skipped), with their provenance.
struct DataRecord {
  std::string key;
  RecordContext ctx;
};
std::vector<DataRecord> data_records(const std::vector<Record>& records) {
  std::vector<DataRecord> out;
  for (const auto& r : records) {
    DataRecord d{r.key, {}};
    std::string_view payload;
    if (envelope::decode_data(r.value, d.ctx, payload)) out.push_back(std::move(d));
  }
  return out;
}

TEST_P(BadInputStageTest, EveryCorpusRecordIsDeadLetteredAndTheStageKeepsProcessing) {
  const auto& p = GetParam();
  const auto rows = corpus(p.corpus);
  ASSERT_GE(rows.size(), 40u);
  DevBroker broker(p.topics);
  auto& stage = start(p, broker);
  ASSERT_TRUE(stage.wait_ready(60s));
  const auto pid = stage.process().pid();

  {
    TestProducer producer(broker.bootstrap());
    for (const auto& row : rows) producer.send(p.input, 0, "bad-" + std::to_string(row.line), row.value);
    for (const auto& v : p.valid) producer.send(p.input, 0, v.key, v.value);
    producer.flush();
  }
  const auto corpus_size = static_cast<std::int64_t>(rows.size());

  // Dead letters: exactly one per corpus row, none for the valid records.
  TopicReader dlq(broker.bootstrap(), p.dlq);
  const auto& dead = dlq.read_until([&](const auto& r) { return r.size() >= rows.size(); }, 90s, 1000ms);
  EXPECT_EQ(dead.size(), rows.size());
  std::map<std::int64_t, const Record*> by_offset;
  for (const auto& r : dead) {
    ASSERT_EQ(r.headers.count("streamwright.offset"), 1u) << r.key;
    const auto offset = std::stoll(r.headers.at("streamwright.offset"));
    EXPECT_TRUE(by_offset.emplace(offset, &r).second) << "offset " << offset << " dead-lettered twice";
    EXPECT_EQ(r.headers.count("streamwright.topic") ? r.headers.at("streamwright.topic") : "", p.input);
  }
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& row = rows[i];
    const auto it = by_offset.find(static_cast<std::int64_t>(i));
    if (it == by_offset.end()) {
      ADD_FAILURE() << p.corpus << ".tsv line " << row.line << ": not dead-lettered (expected \"" << row.reason << "\")";
      continue;
    }
    const Record& r = *it->second;
    const auto reason = r.headers.count("streamwright.error") ? r.headers.at("streamwright.error") : "<no header>";
    EXPECT_TRUE(row.matches(reason)) << p.corpus << ".tsv line " << row.line << ": reason \"" << reason
                                     << "\", expected " << (row.prefix ? "prefix " : "") << "\"" << row.reason << "\"";
    EXPECT_EQ(r.key, "bad-" + std::to_string(row.line));
    EXPECT_TRUE(r.value == row.value) << p.corpus << ".tsv line " << row.line << ": the dead letter carries "
                                      << r.value.size() << " bytes, not the original " << row.value.size();
  }
  for (const auto& [offset, r] : by_offset)
    EXPECT_LT(offset, corpus_size) << "a valid record (key " << r->key << ") was dead-lettered: "
                                   << r->headers.at("streamwright.error");

  // The valid records after the corpus were processed: data records for their keys, all with
  // provenance after the corpus (no corpus record produced anything downstream).
  std::set<std::string> expected_keys;
  for (const auto& v : p.valid) expected_keys.insert(v.repartition_key);
  TopicReader repartition(broker.bootstrap(), p.repartition);
  const auto& out = repartition.read_until(
      [&](const auto& r) {
        std::set<std::string> keys;
        for (const auto& d : data_records(r)) keys.insert(d.key);
        return keys == expected_keys;
      },
      60s, 1000ms);
  const auto data = data_records(out);
  std::set<std::string> keys;
  for (const auto& d : data) {
    keys.insert(d.key);
    EXPECT_GE(d.ctx.source_offset, corpus_size) << "a repartition record from a corpus record (key " << d.key << ")";
    EXPECT_LT(d.ctx.source_offset, corpus_size + static_cast<std::int64_t>(p.valid.size()));
    EXPECT_EQ(d.ctx.source_partition, 0);
  }
  EXPECT_EQ(keys, expected_keys);

  // Still the same process, alive and healthy, and the metrics count exactly the corpus.
  EXPECT_TRUE(stage.process().running());
  EXPECT_EQ(stage.process().pid(), pid);
  int status = 0;
  http_get(stage.port(), "/healthz", &status);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(stage.metric("streamwright_dead_letter_records_total"), static_cast<double>(rows.size()));
  EXPECT_EQ(stage.metric("streamwright_records_consumed_total"), static_cast<double>(rows.size() + p.valid.size()));
  EXPECT_EQ(stage.metric("streamwright_records_produced_total{stage=\"" + p.stage + "\",topic=\"" + p.dlq + "\"}"),
            static_cast<double>(rows.size()));
}

// A record over the clients' default message.max.bytes (1,000,000): Kafka accepts it on a topic
// (the broker's default limit is 1,048,588, and topics may raise it), so a stage can receive it.
// It is over --max-record-bytes, so it must be dead-lettered like the corpus's 70 KB record.
// Its dead letter keeps the first 256 KiB, with the full size in streamwright.original-bytes:
// with the original bytes the send was refused ("Message size too large") and the stage stopped
// on the same record after every restart.
TEST_P(BadInputStageTest, RecordOverTheProducerLimitIsDeadLetteredWithoutStoppingTheStage) {
  const auto& p = GetParam();
  DevBroker broker(p.topics);
  auto& stage = start(p, broker);
  ASSERT_TRUE(stage.wait_ready(60s));
  const auto pid = stage.process().pid();
  constexpr std::size_t kSize = 1'040'000;
  const std::string huge = std::string(kSize - 2, 'x');
  {
    kafka::Config c;
    c.set(kafka::keys::bootstrap_servers, broker.bootstrap());
    c.set_raw("message.max.bytes", "4000000");
    kafka::Producer producer(c);
    const auto topic = producer.topic(p.input);
    ASSERT_FALSE(producer.send(topic, 0, "huge", "\"" + huge + "\""));
    for (const auto& v : p.valid) ASSERT_FALSE(producer.send(topic, 0, v.key, v.value));
    ASSERT_FALSE(producer.flush(30s));
  }
  TopicReader dlq(broker.bootstrap(), p.dlq);
  const auto& dead = dlq.read_until([](const auto& r) { return !r.empty(); }, 20s, 1000ms);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].key, "huge");
  EXPECT_EQ(dead[0].value.size(), 256u * 1024 - 4);
  EXPECT_EQ(dead[0].value, ("\"" + huge).substr(0, 256 * 1024 - 4));
  EXPECT_EQ(dead[0].headers.count("streamwright.original-bytes") ? dead[0].headers.at("streamwright.original-bytes") : "",
            std::to_string(kSize + 4));
  EXPECT_EQ(dead[0].headers.count("streamwright.error") ? dead[0].headers.at("streamwright.error") : "",
            "record too large: " + std::to_string(kSize) + " bytes (limit 65536)");
  std::set<std::string> expected_keys;
  for (const auto& v : p.valid) expected_keys.insert(v.repartition_key);
  TopicReader repartition(broker.bootstrap(), p.repartition);
  const auto& out = repartition.read_until(
      [&](const auto& r) {
        std::set<std::string> keys;
        for (const auto& d : data_records(r)) keys.insert(d.key);
        return keys == expected_keys;
      },
      30s, 1000ms);
  std::set<std::string> keys;
  for (const auto& d : data_records(out)) keys.insert(d.key);
  EXPECT_EQ(keys, expected_keys);
  EXPECT_TRUE(stage.process().running());
  EXPECT_EQ(stage.process().pid(), pid);
  EXPECT_EQ(stage.metric("streamwright_dead_letter_records_total"), 1);
}

INSTANTIATE_TEST_SUITE_P(Corpus, BadInputStageTest, ::testing::ValuesIn(pipelines()),
                         [](const ::testing::TestParamInfo<Pipeline>& param_info) {
                           std::string name;
                           for (char c : param_info.param.corpus) name += c == '-' ? '_' : c;
                           return name;
                         });

}  // namespace
}  // namespace sw::test
