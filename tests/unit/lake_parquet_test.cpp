// The Parquet writer's parts: the Thrift compact encoder (known bytes from the protocol's
// specification), the RLE / bit-packed hybrid (the format's own example), dictionary encoding and
// its fallback, statistics, and a writer-reader round trip over nested columns.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "lake/fs/file_layer.h"
#include "lake/json_shredder.h"
#include "lake/parquet/encoding.h"
#include "lake/parquet/metadata.h"
#include "lake/parquet/reader.h"
#include "lake/parquet/thrift.h"
#include "lake/parquet/writer.h"

namespace {

using namespace sw::lake;
using namespace sw::lake::parquet;
using thrift::CompactReader;
using thrift::CompactWriter;

std::string hex(const std::string& s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}

TEST(LakeThrift, FieldHeadersUseShortDeltasAndLongFormsAsTheSpecSays) {
  std::string out;
  CompactWriter w(out);
  w.field_i32(1, 1);       // delta 1, type i32 (5): 0x15, zigzag(1) = 2
  w.field_bool(2, true);   // delta 1, type true (1): 0x11
  w.field_i64(20, 5);      // delta 18 > 15: type byte 0x06, zigzag(20) = 40 = 0x28, value zigzag(5) = 0x0a
  w.field_binary(21, "ab");  // delta 1, type binary (8): 0x18, length 2, bytes
  w.field_i32(22, -1);     // zigzag(-1) = 1
  w.end();
  EXPECT_EQ(hex(out), "1502" "11" "06280a" "18026162" "1501" "00");
}

TEST(LakeThrift, ListsAndNestedStructs) {
  std::string out;
  CompactWriter w(out);
  w.field_list_begin(1, thrift::Type::i32, 3);  // 0x19, then (3 << 4) | 5 = 0x35
  w.i32(1);
  w.i32(2);
  w.i32(300);  // zigzag 600 = 0xd8 0x04
  w.field_struct_begin(2);  // 0x1c
  w.field_i32(5, 7);        // nested ids restart: delta 5 -> 0x55, 0x0e
  w.struct_end();           // 0x00
  w.field_list_begin(3, thrift::Type::binary, 20);  // long form: 0x19, 0xf8, 20
  for (int i = 0; i < 20; ++i) w.binary("");
  w.end();
  std::string expect = "19" "35" "02" "04" "d804" "1c" "550e" "00" "19" "f814" + std::string(40, '0') + "00";
  EXPECT_EQ(hex(out), expect);

  CompactReader r(out.data(), out.size());
  ASSERT_TRUE(r.struct_begin());
  thrift::Type t;
  std::int16_t id;
  ASSERT_TRUE(r.field(t, id));
  EXPECT_EQ(id, 1);
  EXPECT_EQ(t, thrift::Type::list);
  thrift::Type et;
  std::uint32_t n;
  ASSERT_TRUE(r.list_begin(et, n));
  EXPECT_EQ(n, 3u);
  std::int32_t v;
  ASSERT_TRUE(r.i32(v) && r.i32(v) && r.i32(v));
  EXPECT_EQ(v, 300);
  ASSERT_TRUE(r.field(t, id));
  EXPECT_EQ(id, 2);
  ASSERT_TRUE(r.skip(t));  // the nested struct
  ASSERT_TRUE(r.field(t, id));
  EXPECT_EQ(id, 3);
  ASSERT_TRUE(r.skip(t));
  ASSERT_TRUE(r.field(t, id));
  EXPECT_EQ(t, thrift::Type::stop);
}

TEST(LakeThrift, ReaderRejectsTruncatedAndOversizedInput) {
  std::string out;
  CompactWriter w(out);
  w.field_binary(1, "hello");
  w.end();
  for (std::size_t cut = 0; cut + 1 < out.size(); ++cut) {
    CompactReader r(out.data(), cut);
    thrift::Type t;
    std::int16_t id;
    std::string_view s;
    const bool ok = r.struct_begin() && r.field(t, id) && r.binary(s) && r.field(t, id);
    EXPECT_FALSE(ok) << "cut at " << cut;
  }
  const std::string huge_list = "\xf5\xff\xff\xff\x0f";  // 2^32-1 i32 elements in 5 bytes
  CompactReader r(huge_list.data(), huge_list.size());
  thrift::Type et;
  std::uint32_t n;
  EXPECT_FALSE(r.list_begin(et, n));
}

TEST(LakeThrift, FooterRoundTrip) {
  FileMetaData m;
  m.schema.push_back(SchemaElement{});
  m.schema[0].name = "schema";
  m.schema[0].num_children = 1;
  SchemaElement ts;
  ts.name = "t";
  ts.type = PhysicalType::int64;
  ts.repetition = Repetition::optional;
  ts.converted_type = ConvertedType::timestamp_millis;
  ts.logical.kind = LogicalType::Kind::timestamp;
  m.schema.push_back(ts);
  m.num_rows = 3;
  RowGroup g;
  g.num_rows = 3;
  g.total_byte_size = 100;
  ColumnChunk c;
  c.file_offset = 4;
  ColumnMetaData cm;
  cm.path_in_schema = {"t"};
  cm.encodings = {Encoding::plain, Encoding::rle};
  cm.codec = Codec::zstd;
  cm.num_values = 3;
  cm.data_page_offset = 4;
  cm.statistics = Statistics{};
  cm.statistics->null_count = 1;
  cm.statistics->min_value = std::string("\x01\0\0\0\0\0\0\0", 8);
  c.meta_data = cm;
  g.columns.push_back(c);
  m.row_groups.push_back(g);
  m.created_by = "test";
  m.type_defined_column_orders = 1;
  std::string bytes;
  serialize(m, bytes);
  FileMetaData back;
  std::string error;
  ASSERT_TRUE(parse(bytes, back, error)) << error;
  ASSERT_EQ(back.schema.size(), 2u);
  EXPECT_EQ(back.schema[1].logical.kind, LogicalType::Kind::timestamp);
  EXPECT_TRUE(back.schema[1].logical.adjusted_to_utc);
  EXPECT_EQ(back.schema[1].logical.unit, TimeUnit::millis);
  EXPECT_EQ(back.row_groups[0].columns[0].meta_data->statistics->null_count, 1);
  EXPECT_EQ(back.row_groups[0].columns[0].meta_data->codec, Codec::zstd);
  EXPECT_EQ(*back.created_by, "test");
  EXPECT_EQ(back.type_defined_column_orders, 1u);
  // Without a required field the footer is rejected.
  FileMetaData bad;
  bytes.clear();
  CompactWriter w(bytes);
  w.field_i32(1, 1);
  w.end();
  EXPECT_FALSE(parse(bytes, bad, error));
}

TEST(LakeRle, BitPackedExampleFromTheFormatSpecification) {
  // The format's example: 0..7 with bit width 3 packs to 10001000 11000110 11111010.
  const std::uint32_t values[] = {0, 1, 2, 3, 4, 5, 6, 7};
  std::string out;
  rle_encode(values, 8, 3, out);
  EXPECT_EQ(hex(out), "03" "88c6fa");  // header: 1 group, bit-packed
}

TEST(LakeRle, RunsBecomeRleRuns) {
  std::vector<std::uint16_t> v(100, 5);
  std::string out;
  rle_encode(v.data(), v.size(), 3, out);
  EXPECT_EQ(hex(out), "c801" "05");  // 100 << 1 = 200 as a varint, then the value in one byte
}

TEST(LakeRle, RandomRoundTripsAtEveryWidth) {
  std::mt19937 rng(7);
  for (int width = 1; width <= 20; ++width) {
    for (int trial = 0; trial < 20; ++trial) {
      const std::size_t n = rng() % 3000;
      std::vector<std::uint32_t> v(n);
      const std::uint32_t mask = width == 32 ? 0xffffffffu : ((1u << width) - 1);
      for (std::size_t i = 0; i < n; ++i) {
        // Mix runs and noise.
        v[i] = (rng() % 4 == 0 && i > 0) ? v[i - 1] : (rng() & mask);
        if (rng() % 50 == 0)
          for (std::size_t k = 0; k < 30 && i + 1 < n; ++k, ++i) v[i + 1] = v[i];
      }
      std::string out;
      rle_encode(v.data(), n, width, out);
      RleDecoder dec(reinterpret_cast<const std::uint8_t*>(out.data()), out.size(), width);
      std::vector<std::uint32_t> back(n);
      ASSERT_TRUE(dec.get(back.data(), n)) << "width " << width << " n " << n;
      ASSERT_EQ(back, v) << "width " << width;
    }
  }
}

Schema nested_schema() {
  Schema s;
  s.fields.push_back(Field::primitive("id", Kind::string, false));
  s.fields.push_back(Field::primitive("n", Kind::int64));
  s.fields.push_back(Field::primitive("x", Kind::float64));
  s.fields.push_back(Field::primitive("ok", Kind::boolean));
  s.fields.push_back(Field::primitive("at", Kind::timestamp_ms));
  s.fields.push_back(Field::list_of("tags", Field::primitive("element", Kind::string, false)));
  s.fields.push_back(Field::struct_of("meta", {Field::primitive("a", Kind::int64, false),
                                               Field::list_of("b", Field::primitive("element", Kind::string, true), false)}));
  s.fields.push_back(Field::map_of("kv", Field::primitive("value", Kind::string, true)));
  return s;
}

struct Written {
  std::unique_ptr<fs::FileLayer> layer = fs::open_memory();
  FileSummary summary;
};

Written write_json_rows(const Schema& schema, const std::vector<std::string>& rows, WriterOptions options = {}) {
  Written w;
  auto ps = std::make_shared<ParquetSchema>(schema);
  std::error_code ec;
  auto out = w.layer->create("f.parquet", ec);
  EXPECT_FALSE(ec);
  ParquetWriter writer(ps, options, std::move(out));
  JsonShredder shredder(ps);
  std::vector<ColumnData> cols(ps->leaves().size());
  for (const auto& r : rows) {
    std::string error;
    for (auto& c : cols) c.clear();
    EXPECT_TRUE(shredder.shred(r, cols, error)) << r << ": " << error;
    for (std::size_t i = 0; i < cols.size(); ++i) writer.column(i).append(cols[i]);
    writer.row_added();
    EXPECT_FALSE(writer.maybe_flush());
  }
  EXPECT_FALSE(writer.finish(w.summary));
  return w;
}

std::vector<nlohmann::ordered_json> read_all(fs::FileLayer& layer, const std::string& path = "f.parquet") {
  ParquetReader r;
  std::string error;
  EXPECT_TRUE(r.open(layer, path, error)) << error;
  std::vector<nlohmann::ordered_json> rows;
  for (std::size_t g = 0; g < r.metadata().row_groups.size(); ++g) EXPECT_TRUE(r.read_rows(g, rows, error)) << error;
  return rows;
}

TEST(LakeParquet, NestedRowsRoundTripThroughWriterAndReader) {
  const std::vector<std::string> rows = {
      R"({"id":"a","n":1,"x":1.5,"ok":true,"at":"2026-01-01T00:00:00.123Z","tags":["x","y"],"meta":{"a":7,"b":["p",null]},"kv":{"k":"v","z":null}})",
      R"({"id":"b","n":null,"tags":[],"meta":null,"kv":{}})",
      R"({"id":"c","tags":null,"meta":{"a":-3,"b":[]},"extra":{"ignored":[1,2]}})",
  };
  auto w = write_json_rows(nested_schema(), rows);
  EXPECT_EQ(w.summary.rows, 3);
  const auto back = read_all(*w.layer);
  ASSERT_EQ(back.size(), 3u);
  EXPECT_EQ(back[0].dump(),
            R"({"id":"a","n":1,"x":1.5,"ok":true,"at":1767225600123,"tags":["x","y"],"meta":{"a":7,"b":["p",null]},"kv":{"k":"v","z":null}})");
  EXPECT_EQ(back[1].dump(),
            R"({"id":"b","n":null,"x":null,"ok":null,"at":null,"tags":[],"meta":null,"kv":{}})");
  EXPECT_EQ(back[2].dump(),
            R"({"id":"c","n":null,"x":null,"ok":null,"at":null,"tags":null,"meta":{"a":-3,"b":[]},"kv":null})");
}

TEST(LakeParquet, ShredderRejectsRecordsThatDoNotFitAndLeavesNoTrace) {
  auto ps = std::make_shared<ParquetSchema>(nested_schema());
  JsonShredder shredder(ps);
  std::vector<ColumnData> cols(ps->leaves().size());
  std::string error;
  ASSERT_TRUE(shredder.shred(R"({"id":"ok","tags":["a"]})", cols, error)) << error;
  std::vector<std::size_t> entries;
  for (const auto& c : cols) entries.push_back(c.entries);
  const std::pair<const char*, const char*> bad[] = {
      {R"({"n":1})", "missing field id"},
      {R"({"id":"a","n":"1"})", "field n is not an integer"},
      {R"({"id":"a","n":1.5})", "field n is not an integer"},
      {R"({"id":"a","id":"b"})", "duplicate field id"},
      {R"({"id":null})", "field id is null"},
      {R"({"id":"a","tags":["x",1]})", "field tags[] is not a string"},
      {R"({"id":"a","meta":{"a":1,"b":["x"],"c":2}, "tags":["y"]})", ""},  // extra nested field: allowed
      {R"({"id":"a","meta":{"b":[]}})", "missing field meta.a"},
      {R"({"id":"a","at":"yesterday"})", "bad timestamp: field at: timestamp is not RFC 3339"},
      {R"({"id":"a"} x)", "malformed JSON"},
      {R"([1,2])", "not a JSON object"},
      {R"({"id":"a","x":1e999})", "field x"},
  };
  for (const auto& [json, reason] : bad) {
    error.clear();
    const bool ok = shredder.shred(json, cols, error);
    if (std::string(reason).empty()) {
      EXPECT_TRUE(ok) << json << ": " << error;
      for (std::size_t i = 0; i < cols.size(); ++i) entries[i] = cols[i].entries;
      continue;
    }
    EXPECT_FALSE(ok) << json;
    EXPECT_NE(error.find(reason), std::string::npos) << json << " -> " << error;
    for (std::size_t i = 0; i < cols.size(); ++i) EXPECT_EQ(cols[i].entries, entries[i]) << json;
  }
}

TEST(LakeParquet, LowCardinalityStringsAreDictionaryEncodedAndHighCardinalityFallsBackToPlain) {
  Schema s;
  s.fields.push_back(Field::primitive("status", Kind::string, false));
  s.fields.push_back(Field::primitive("frame_id", Kind::string, false));
  std::vector<std::string> rows;
  const char* statuses[] = {"ok", "failed", "retry"};
  for (int i = 0; i < 5000; ++i)
    rows.push_back(std::string(R"({"status":")") + statuses[i % 7 == 0 ? 1 : (i % 13 == 0 ? 2 : 0)] +
                   R"(","frame_id":"frame-)" + std::to_string(i * 7919) + "\"}");
  WriterOptions o;
  o.codec = Codec::uncompressed;
  auto w = write_json_rows(s, rows, o);
  ParquetReader r;
  std::string error;
  ASSERT_TRUE(r.open(*w.layer, "f.parquet", error)) << error;
  const auto& cols = r.metadata().row_groups.at(0).columns;
  const auto& status = *cols[0].meta_data;
  const auto& frame = *cols[1].meta_data;
  EXPECT_TRUE(status.dictionary_page_offset.has_value());
  EXPECT_NE(std::find(status.encodings.begin(), status.encodings.end(), Encoding::rle_dictionary), status.encodings.end());
  EXPECT_FALSE(frame.dictionary_page_offset.has_value());
  EXPECT_EQ(std::find(frame.encodings.begin(), frame.encodings.end(), Encoding::rle_dictionary), frame.encodings.end());
  // 5000 two-bit indices, mostly runs: far below the PLAIN size of the strings.
  EXPECT_LT(status.total_uncompressed_size, 2000);
  EXPECT_GT(frame.total_uncompressed_size, 5000 * 10);
  // Statistics: min and max by byte order, no nulls.
  EXPECT_EQ(*status.statistics->min_value, "failed");
  EXPECT_EQ(*status.statistics->max_value, "retry");
  EXPECT_EQ(*status.statistics->null_count, 0);
  const auto back = read_all(*w.layer);
  ASSERT_EQ(back.size(), rows.size());
  for (std::size_t i = 0; i < rows.size(); i += 97) EXPECT_EQ(back[i].dump(), nlohmann::ordered_json::parse(rows[i]).dump());
}

TEST(LakeParquet, StatisticsPerColumnAndFile) {
  Schema s;
  s.fields.push_back(Field::primitive("n", Kind::int64));
  s.fields.push_back(Field::primitive("x", Kind::float64));
  s.fields.push_back(Field::primitive("at", Kind::timestamp_ms));
  s.fields.push_back(Field::primitive("b", Kind::boolean));
  s.fields.push_back(Field::primitive("long", Kind::string));
  const std::string long_text(300, 'z');
  auto w = write_json_rows(s, {R"({"n":5,"x":0,"at":"2026-01-01T00:00:00Z","b":false,"long":"a"})",
                               R"({"n":-2,"x":2.5,"at":"2026-01-02T00:00:00Z","b":false,"long":")" + long_text + "\"}",
                               R"({"n":null,"x":-1})"});
  const auto& c = w.summary.columns;
  EXPECT_EQ(c[0].min_i, -2);
  EXPECT_EQ(c[0].max_i, 5);
  EXPECT_EQ(c[0].null_count, 1);
  EXPECT_EQ(c[1].min_f, -1);
  EXPECT_EQ(c[1].max_f, 2.5);
  EXPECT_EQ(c[2].min_i, 1767225600000);
  EXPECT_EQ(c[2].max_i, 1767312000000);
  EXPECT_EQ(c[2].null_count, 1);
  EXPECT_EQ(c[3].max_i, 0);
  EXPECT_FALSE(c[4].has_min_max);  // a value beyond 256 bytes: no string min/max
  EXPECT_EQ(c[4].null_count, 1);
  ParquetReader r;
  std::string error;
  ASSERT_TRUE(r.open(*w.layer, "f.parquet", error));
  const auto& st = *r.metadata().row_groups[0].columns[1].meta_data->statistics;
  double mn, mx;
  std::memcpy(&mn, st.min_value->data(), 8);
  std::memcpy(&mx, st.max_value->data(), 8);
  EXPECT_EQ(mn, -1);
  EXPECT_EQ(mx, 2.5);
  EXPECT_FALSE(r.metadata().row_groups[0].columns[4].meta_data->statistics->min_value.has_value());
}

TEST(LakeParquet, RowGroupsAndPagesAreSizedByBytes) {
  Schema s;
  s.fields.push_back(Field::primitive("text", Kind::string, false));
  s.fields.push_back(Field::list_of("l", Field::primitive("element", Kind::string, false)));
  std::vector<std::string> rows;
  std::mt19937 rng(3);
  for (int i = 0; i < 20000; ++i)
    rows.push_back(R"({"text":"row )" + std::to_string(rng()) + R"( and some padding text","l":["a","b)" +
                   std::to_string(i % 5) + "\"]}");
  WriterOptions o;
  o.row_group_bytes = 200 * 1024;
  o.page_bytes = 16 * 1024;
  auto w = write_json_rows(s, rows, o);
  EXPECT_GT(w.summary.row_groups, 3u);
  EXPECT_LT(w.summary.row_groups, 12u);
  const auto back = read_all(*w.layer);
  ASSERT_EQ(back.size(), rows.size());
  for (std::size_t i = 0; i < rows.size(); i += 1013) EXPECT_EQ(back[i].dump(), nlohmann::ordered_json::parse(rows[i]).dump());
}

TEST(LakeParquet, SnappyAndUncompressedFilesReadBack) {
  for (auto codec : {Codec::snappy, Codec::uncompressed, Codec::zstd}) {
    WriterOptions o;
    o.codec = codec;
    auto w = write_json_rows(nested_schema(), {R"({"id":"a","tags":["x"]})", R"({"id":"b","n":3})"}, o);
    const auto back = read_all(*w.layer);
    ASSERT_EQ(back.size(), 2u) << to_string(codec);
    EXPECT_EQ(back[1]["n"], 3);
  }
}

TEST(LakeParquet, CorruptFilesAreErrorsNotCrashes) {
  auto w = write_json_rows(nested_schema(), {R"({"id":"a","n":1,"tags":["x"],"meta":{"a":1,"b":["q"]}})"});
  std::string data;
  ASSERT_FALSE(w.layer->read("f.parquet", data));
  std::mt19937 rng(11);
  int rejected = 0;
  for (int trial = 0; trial < 400; ++trial) {
    std::string bad = data;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k) bad[rng() % bad.size()] = static_cast<char>(rng());
    if (trial % 5 == 0) bad.resize(rng() % bad.size());
    ParquetReader r;
    std::string error;
    if (!r.open_bytes(bad, error)) {
      ++rejected;
      continue;
    }
    std::vector<nlohmann::ordered_json> rows;
    for (std::size_t g = 0; g < r.metadata().row_groups.size(); ++g)
      if (!r.read_rows(g, rows, error)) ++rejected;
  }
  EXPECT_GT(rejected, 100);
}

}  // namespace
