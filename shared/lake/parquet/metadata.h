#pragma once
// Parquet's footer and page headers (the parts of parquet.thrift this writer and reader use),
// with their Thrift compact encoding. Field ids follow the format's specification; fields a
// reader does not know are skipped.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sw::lake::parquet {

enum class PhysicalType : std::int32_t {
  boolean = 0,
  int32 = 1,
  int64 = 2,
  int96 = 3,
  float32 = 4,
  float64 = 5,
  byte_array = 6,
  fixed_len_byte_array = 7,
};

enum class Repetition : std::int32_t { required = 0, optional = 1, repeated = 2 };

// The legacy annotations (written next to the logical types, for older readers).
enum class ConvertedType : std::int32_t {
  utf8 = 0,
  map = 1,
  map_key_value = 2,
  list = 3,
  date = 6,
  timestamp_millis = 9,
  timestamp_micros = 10,
  int_32 = 17,
  int_64 = 18,
  json = 19,
};

enum class Codec : std::int32_t {
  uncompressed = 0,
  snappy = 1,
  gzip = 2,
  lzo = 3,
  brotli = 4,
  lz4 = 5,
  zstd = 6,
  lz4_raw = 7,
};
const char* to_string(Codec c) noexcept;

enum class Encoding : std::int32_t {
  plain = 0,
  plain_dictionary = 2,
  rle = 3,
  bit_packed = 4,
  delta_binary_packed = 5,
  delta_length_byte_array = 6,
  delta_byte_array = 7,
  rle_dictionary = 8,
  byte_stream_split = 9,
};
const char* to_string(Encoding e) noexcept;

enum class PageType : std::int32_t { data_page = 0, index_page = 1, dictionary_page = 2, data_page_v2 = 3 };

enum class TimeUnit : std::uint8_t { millis = 1, micros = 2, nanos = 3 };

// The LogicalType union (only the members that carry no parameters, plus timestamps, integers
// and decimals).
struct LogicalType {
  enum class Kind : std::uint8_t {
    none = 0,
    string = 1,
    map = 2,
    list = 3,
    enumeration = 4,
    decimal = 5,
    date = 6,
    time = 7,
    timestamp = 8,
    integer = 10,
    unknown = 11,
    json = 12,
    bson = 13,
    uuid = 14,
  };
  Kind kind = Kind::none;
  bool adjusted_to_utc = true;  // timestamp, time
  TimeUnit unit = TimeUnit::millis;
  std::int8_t bit_width = 64;  // integer
  bool is_signed = true;       // integer
  std::int32_t scale = 0, precision = 0;  // decimal
  bool operator==(const LogicalType&) const = default;
};

struct SchemaElement {
  std::optional<PhysicalType> type;
  std::optional<std::int32_t> type_length;
  std::optional<Repetition> repetition;
  std::string name;
  std::optional<std::int32_t> num_children;
  std::optional<ConvertedType> converted_type;
  LogicalType logical;
};

struct Statistics {
  std::optional<std::string> max_legacy, min_legacy;  // fields 1, 2 (signed order; not written)
  std::optional<std::int64_t> null_count;
  std::optional<std::int64_t> distinct_count;
  std::optional<std::string> max_value, min_value;  // PLAIN encoding of the value, byte arrays bare
};

struct ColumnMetaData {
  PhysicalType type = PhysicalType::int64;
  std::vector<Encoding> encodings;
  std::vector<std::string> path_in_schema;
  Codec codec = Codec::uncompressed;
  std::int64_t num_values = 0;
  std::int64_t total_uncompressed_size = 0;
  std::int64_t total_compressed_size = 0;
  std::int64_t data_page_offset = 0;
  std::optional<std::int64_t> dictionary_page_offset;
  std::optional<Statistics> statistics;
};

struct ColumnChunk {
  std::optional<std::string> file_path;  // set only by writers of "external" chunks (unsupported)
  std::int64_t file_offset = 0;
  std::optional<ColumnMetaData> meta_data;
};

struct RowGroup {
  std::vector<ColumnChunk> columns;
  std::int64_t total_byte_size = 0;
  std::int64_t num_rows = 0;
  std::optional<std::int64_t> file_offset;
  std::optional<std::int64_t> total_compressed_size;
  std::optional<std::int16_t> ordinal;
};

struct KeyValue {
  std::string key;
  std::optional<std::string> value;
};

struct FileMetaData {
  std::int32_t version = 1;
  std::vector<SchemaElement> schema;  // depth-first, the root first
  std::int64_t num_rows = 0;
  std::vector<RowGroup> row_groups;
  std::vector<KeyValue> key_value_metadata;
  std::optional<std::string> created_by;
  // TYPE_ORDER for each leaf column (min_value/max_value use the type's order); 0 when absent.
  std::size_t type_defined_column_orders = 0;
  bool encrypted = false;  // an encryption_algorithm field was present (unsupported)
};

struct DataPageHeader {
  std::int32_t num_values = 0;
  Encoding encoding = Encoding::plain;
  Encoding definition_level_encoding = Encoding::rle;
  Encoding repetition_level_encoding = Encoding::rle;
};

struct DictionaryPageHeader {
  std::int32_t num_values = 0;
  Encoding encoding = Encoding::plain;
  std::optional<bool> is_sorted;
};

struct DataPageHeaderV2 {
  std::int32_t num_values = 0;
  std::int32_t num_nulls = 0;
  std::int32_t num_rows = 0;
  Encoding encoding = Encoding::plain;
  std::int32_t definition_levels_byte_length = 0;
  std::int32_t repetition_levels_byte_length = 0;
  bool is_compressed = true;
};

struct PageHeader {
  PageType type = PageType::data_page;
  std::int32_t uncompressed_page_size = 0;
  std::int32_t compressed_page_size = 0;
  std::optional<std::int32_t> crc;
  std::optional<DataPageHeader> data_page_header;
  std::optional<DictionaryPageHeader> dictionary_page_header;
  std::optional<DataPageHeaderV2> data_page_header_v2;
};

// Serialization (appends) and parsing. Parsers return false with `error` set on malformed input;
// they check every required field is present.
void serialize(const FileMetaData& m, std::string& out);
void serialize(const PageHeader& h, std::string& out);
bool parse(std::string_view bytes, FileMetaData& m, std::string& error);
// Parses a page header at the start of `bytes`; `used` gets its length.
bool parse(std::string_view bytes, PageHeader& h, std::size_t& used, std::string& error);

}  // namespace sw::lake::parquet
