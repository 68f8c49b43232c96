// The Parquet writer, fuzzed: random schemas (every column type, nullable or not, nested structs,
// lists and maps), random rows (Unicode, escapes, extreme numbers, long strings, repeated values
// for the dictionary path) and random writer settings (codecs, tiny row groups and pages,
// dictionary limits) are written through the JSON shredder, read back by this library's reader,
// and left in a directory with the expected rows for the independent readers
// (tests/lake/fuzz_check.mjs: hyparquet and DuckDB).
//
//   sw_lake_fuzz_roundtrip --out DIR [--cases N] [--seed S]
// Expected rows (DIR/case-NNNN.expected.jsonl) are built from the generator's own values, never
// from a reader: int64 and timestamps as decimal strings (readers.mjs's canonical form).
#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <map>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/time.h"
#include "lake/fs/file_layer.h"
#include "lake/json_shredder.h"
#include "lake/parquet/reader.h"
#include "lake/parquet/writer.h"

namespace {

using namespace sw::lake;
using J = nlohmann::ordered_json;

struct Gen {
  std::mt19937_64 rng;
  explicit Gen(std::uint64_t seed) : rng(seed) {}
  std::uint64_t u(std::uint64_t n) { return n == 0 ? 0 : rng() % n; }
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; }

  void put_utf8(std::string& s, std::uint32_t cp) {
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else if (cp < 0x800) {
      s += static_cast<char>(0xc0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      s += static_cast<char>(0xe0 | (cp >> 12));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      s += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      s += static_cast<char>(0xf0 | (cp >> 18));
      s += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      s += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }

  std::string text() {
    const auto len = chance(0.05) ? 200 + u(400) : u(24);
    std::string s;
    for (std::uint64_t i = 0; i < len; ++i) {
      const auto k = u(20);
      if (k < 12) s += static_cast<char>('a' + u(26));
      else if (k < 14) s += "\"\\/"[u(3)];
      else if (k < 15) s += static_cast<char>(1 + u(31));  // control characters
      else if (k < 17) put_utf8(s, 0xa0 + static_cast<std::uint32_t>(u(0x700)));
      else if (k < 19) put_utf8(s, 0x3040 + static_cast<std::uint32_t>(u(0x5000)));
      else put_utf8(s, 0x1f600 + static_cast<std::uint32_t>(u(0x50)));
    }
    return s;
  }

  std::int64_t int64() {
    switch (u(6)) {
      case 0: return INT64_MIN;
      case 1: return INT64_MAX;
      case 2: return static_cast<std::int64_t>(u(10)) - 5;
      case 3: return static_cast<std::int64_t>(rng());
      default: return static_cast<std::int64_t>(u(1000000)) - 500000;
    }
  }

  double number() {
    switch (u(8)) {
      case 0: return 0.0;
      case 1: return -0.0;
      case 2: return 1e-310;  // subnormal
      case 3: return -1.7976931348623157e308;
      case 4: return 0.1;
      case 5: return static_cast<double>(u(1000)) / 7.0;
      default: return std::ldexp(std::uniform_real_distribution<double>(-1, 1)(rng), static_cast<int>(u(200)) - 100);
    }
  }

  // 1900-01-01 .. 2200-01-01, milliseconds.
  std::int64_t timestamp() { return -2208988800000LL + static_cast<std::int64_t>(u(9467280000000ULL)); }
};

Field random_field(Gen& g, const std::string& name, int depth, bool allow_nested = true) {
  Field f;
  f.name = name;
  f.nullable = g.chance(0.6);
  f.required = !f.nullable || g.chance(0.3);
  const auto k = g.u(allow_nested && depth < 2 ? 9 : 5);
  switch (k) {
    case 0: f.kind = Kind::string; break;
    case 1: f.kind = Kind::int64; break;
    case 2: f.kind = Kind::float64; break;
    case 3: f.kind = Kind::boolean; break;
    case 4: f.kind = Kind::timestamp_ms; break;
    case 5:
    case 6: {
      Field e = random_field(g, "element", depth + 1, g.chance(0.3));
      if (e.kind == Kind::list || e.kind == Kind::map) {
        e.kind = Kind::string;
        e.children.clear();
      }
      e.required = false;
      f = Field::list_of(name, e, f.nullable);
      f.required = !f.nullable;
      break;
    }
    case 7: {
      Field v = random_field(g, "value", depth + 1, false);
      v.required = false;
      f = Field::map_of(name, v, f.nullable);
      f.required = !f.nullable;
      break;
    }
    default: {
      std::vector<Field> children;
      const auto n = 1 + g.u(4);
      for (std::uint64_t i = 0; i < n; ++i) children.push_back(random_field(g, "s" + std::to_string(i), depth + 1));
      const bool nullable = f.nullable, required = f.required;
      f = Field::struct_of(name, std::move(children), nullable);
      f.required = required;
      break;
    }
  }
  return f;
}

struct Pools {
  std::map<const Field*, std::vector<std::string>> strings;
};

// A value of `f`: `in` is the JSON the shredder reads, `out` the canonical expectation.
void random_value(Gen& g, const Field& f, Pools& pools, J& in, J& out) {
  switch (f.kind) {
    case Kind::string: {
      auto& pool = pools.strings[&f];
      if (pool.empty() || g.chance(0.2)) {
        std::string s = g.text();
        if (pool.size() < 4) pool.push_back(s);
        in = out = s;
      } else {
        in = out = pool[g.u(pool.size())];
      }
      return;
    }
    case Kind::int64: {
      const auto v = g.int64();
      in = v;
      out = std::to_string(v);
      return;
    }
    case Kind::float64: {
      const double v = g.number();
      in = out = v;
      return;
    }
    case Kind::boolean: in = out = g.chance(0.5); return;
    case Kind::timestamp_ms: {
      const auto ts = g.timestamp();
      in = sw::format_rfc3339(ts);
      out = std::to_string(ts);
      return;
    }
    case Kind::list: {
      in = J::array();
      out = J::array();
      const auto n = g.chance(0.2) ? 0 : 1 + g.u(5);
      for (std::uint64_t i = 0; i < n; ++i) {
        J a, b;
        if (f.children[0].nullable && g.chance(0.2)) {
          a = b = nullptr;
        } else {
          random_value(g, f.children[0], pools, a, b);
        }
        in.push_back(a);
        out.push_back(b);
      }
      return;
    }
    case Kind::map: {
      in = J::object();
      out = J::object();
      const auto n = g.chance(0.2) ? 0 : 1 + g.u(4);
      for (std::uint64_t i = 0; i < n; ++i) {
        // Keys that JavaScript would not reorder (no integer-like keys).
        const std::string key = "k" + std::to_string(g.u(1000)) + "_" + std::to_string(i);
        J a, b;
        if (f.children[0].nullable && g.chance(0.2)) {
          a = b = nullptr;
        } else {
          random_value(g, f.children[0], pools, a, b);
        }
        in[key] = a;
        out[key] = b;
      }
      return;
    }
    case Kind::structure: {
      // Values in schema order for the expectation; the input lists them shuffled, and a null
      // is either written or (for fields that may be absent) left out.
      std::vector<J> ins(f.children.size()), outs(f.children.size());
      std::vector<bool> absent(f.children.size(), false);
      for (std::size_t i = 0; i < f.children.size(); ++i) {
        const Field& c = f.children[i];
        if (c.nullable && g.chance(0.25)) {
          ins[i] = outs[i] = nullptr;
          absent[i] = !c.required && g.chance(0.5);
        } else {
          random_value(g, c, pools, ins[i], outs[i]);
        }
      }
      std::vector<std::size_t> order(f.children.size());
      for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
      std::shuffle(order.begin(), order.end(), g.rng);
      in = J::object();
      for (std::size_t i : order)
        if (!absent[i]) in[f.children[i].name] = ins[i];
      out = J::object();
      for (std::size_t i = 0; i < f.children.size(); ++i) out[f.children[i].name] = outs[i];
      return;
    }
    default: return;
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string out_dir;
  int cases = 300;
  std::uint64_t seed = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--out") out_dir = argv[i + 1];
    else if (a == "--cases") cases = std::atoi(argv[i + 1]);
    else if (a == "--seed") seed = std::strtoull(argv[i + 1], nullptr, 10);
  }
  if (out_dir.empty()) {
    std::cerr << "usage: sw_lake_fuzz_roundtrip --out DIR [--cases N] [--seed S]\n";
    return 2;
  }
  std::filesystem::create_directories(out_dir);
  auto layer = fs::open_posix(out_dir);
  int failures = 0;
  std::size_t total_rows = 0;
  for (int c = 0; c < cases; ++c) {
    Gen g(seed * 1000003 + static_cast<std::uint64_t>(c));
    // The root struct of the case.
    Field root;
    root.kind = Kind::structure;
    const auto nfields = 1 + g.u(8);
    for (std::uint64_t i = 0; i < nfields; ++i) root.children.push_back(random_field(g, "c" + std::to_string(i), 0));
    Schema schema;
    schema.fields = root.children;
    auto ps = std::make_shared<parquet::ParquetSchema>(schema);
    parquet::WriterOptions o;
    o.codec = std::array{parquet::Codec::zstd, parquet::Codec::snappy, parquet::Codec::uncompressed}[g.u(3)];
    o.zstd_level = 1 + static_cast<int>(g.u(5));
    o.row_group_bytes = 512 + g.u(64 * 1024);
    o.page_bytes = 64 + g.u(8192);
    o.dictionary_max_bytes = g.chance(0.5) ? (1u << 20) : 16 + g.u(256);
    o.stats_max_bytes = 8 + g.u(300);
    char name[32];
    std::snprintf(name, sizeof name, "case-%04d", c);
    std::error_code ec;
    auto file = layer->create(std::string(name) + ".parquet", ec);
    if (ec) {
      std::cerr << name << ": create: " << ec.message() << "\n";
      return 1;
    }
    parquet::ParquetWriter writer(ps, o, std::move(file));
    JsonShredder shredder(ps);
    std::vector<parquet::ColumnData> staging(ps->leaves().size());
    Pools pools;
    std::ofstream expected(out_dir + "/" + name + ".expected.jsonl");
    const auto rows = g.chance(0.05) ? 0 : g.u(250);
    std::vector<J> expect_rows;
    for (std::uint64_t r = 0; r < rows; ++r) {
      J in, out;
      random_value(g, root, pools, in, out);
      const std::string text = in.dump();
      std::string error;
      for (auto& col : staging) col.clear();
      if (!shredder.shred(text, staging, error)) {
        std::cerr << name << " row " << r << ": rejected: " << error << "\n  " << text << "\n";
        ++failures;
        continue;
      }
      for (std::size_t i = 0; i < staging.size(); ++i) writer.column(i).append(staging[i]);
      writer.row_added();
      if (auto e = writer.maybe_flush()) {
        std::cerr << name << ": write: " << e.message() << "\n";
        return 1;
      }
      expected << out.dump() << "\n";
      expect_rows.push_back(std::move(out));
    }
    parquet::FileSummary summary;
    if (auto e = writer.finish(summary)) {
      std::cerr << name << ": finish: " << e.message() << "\n";
      return 1;
    }
    total_rows += expect_rows.size();
    // Our own reader first (timestamps and int64 come back as numbers: canonicalize).
    parquet::ParquetReader reader;
    std::string error;
    if (!reader.open(*layer, std::string(name) + ".parquet", error)) {
      std::cerr << name << ": read: " << error << "\n";
      ++failures;
      continue;
    }
    std::vector<J> back;
    for (std::size_t rg = 0; rg < reader.metadata().row_groups.size(); ++rg)
      if (!reader.read_rows(rg, back, error)) {
        std::cerr << name << ": read rows: " << error << "\n";
        ++failures;
      }
    std::function<void(const Field&, J&)> canon = [&](const Field& f, J& v) {
      if (v.is_null()) return;
      switch (f.kind) {
        case Kind::int64:
        case Kind::timestamp_ms: v = std::to_string(v.get<std::int64_t>()); break;
        case Kind::list: for (auto& e : v) canon(f.children[0], e); break;
        case Kind::map: for (auto& [k, e] : v.items()) canon(f.children[0], e); break;
        case Kind::structure: for (const auto& child : f.children) canon(child, v[child.name]); break;
        default: break;
      }
    };
    if (back.size() != expect_rows.size()) {
      std::cerr << name << ": own reader: " << back.size() << " rows, expected " << expect_rows.size() << "\n";
      ++failures;
      continue;
    }
    for (std::size_t r = 0; r < back.size(); ++r) {
      canon(root, back[r]);
      if (back[r].dump() != expect_rows[r].dump()) {
        std::cerr << name << " row " << r << ": own reader differs\n  got      " << back[r].dump() << "\n  expected "
                  << expect_rows[r].dump() << "\n";
        ++failures;
        break;
      }
    }
  }
  std::cout << cases << " cases, " << total_rows << " rows written to " << out_dir << "; " << failures
            << " failures in the writer's own round trip\n";
  return failures ? 1 : 0;
}
