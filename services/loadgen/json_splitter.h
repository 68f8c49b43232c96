#pragma once
// Streaming input of the replay (`streamwright-loadgen --replay FILE`): the file's bytes
// (gunzipped when it starts with the gzip magic bytes), cut into top-level JSON values without
// reading the whole file. Works for a JSON array of objects, concatenated objects (pretty-printed
// or not) and JSON lines, and for a gzip of any of them. Memory: one read buffer plus the largest
// record (at most max_record_bytes; a larger record is skipped without being buffered).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sw::loadgen {

// A stream of bytes; read() returns 0 at the end and throws std::runtime_error on errors.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual std::size_t read(char* buf, std::size_t n) = 0;
};

// A file, gunzipped when its first two bytes are 1f 8b (concatenated gzip members are one
// stream, as gzip -d reads them), whatever its name.
class FileSource : public ByteSource {
 public:
  explicit FileSource(const std::string& path);  // throws std::runtime_error if it cannot be read
  ~FileSource() override;
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;
  std::size_t read(char* buf, std::size_t n) override;
  bool gzip() const noexcept { return gzip_; }

 private:
  std::size_t read_raw(char* buf, std::size_t n);
  std::string path_;
  int fd_ = -1;
  bool gzip_ = false;
  struct Inflater;
  std::unique_ptr<Inflater> z_;
};

// Bytes held in memory, handed out at most `max_chunk` at a time (tests cut records anywhere).
class StringSource : public ByteSource {
 public:
  explicit StringSource(std::string data, std::size_t max_chunk = SIZE_MAX)
      : data_(std::move(data)), max_chunk_(max_chunk) {}
  std::size_t read(char* buf, std::size_t n) override;

 private:
  std::string data_;
  std::size_t pos_ = 0;
  std::size_t max_chunk_;
};

struct RawRecord {
  std::string_view text;           // the value's bytes; valid until the next call to next()
  std::uint64_t line = 0;          // 1-based line where it starts
  std::int64_t array_index = -1;   // 0-based index in a top-level array; -1 outside one
  bool object = false;             // starts with '{'
  std::string problem;             // non-empty: the splitter rejected it (text may be partial)
};

// Cuts a byte stream into top-level JSON values. Values may be separated by whitespace and
// commas; a '[' that starts the input opens an array whose elements are the values. Structure is tracked
// (strings, escapes, nesting), nothing is validated beyond what is needed to find the ends; the
// caller validates each value. Broken input resynchronises where the next value surely starts:
// - a raw line break inside a string (never valid JSON) ends the value as broken;
// - a '{' in the first column that cannot continue the open value (a JSON lines record cut
//   short), while that value also began in the first column, ends it as broken and starts the
//   next one;
// - a value larger than max_record_bytes is scanned to its end without being kept and reported.
class JsonSplitter {
 public:
  JsonSplitter(ByteSource& source, std::size_t max_record_bytes, std::size_t buffer_bytes = 1 << 20);
  // The next value or broken value; false at the end of the input.
  bool next(RawRecord& out);
  // What the input looked like so far: "JSON array", "JSON lines" (every value on one line) or
  // "JSON objects" (values spanning lines), "empty".
  std::string layout() const;

 private:
  bool refill();
  void emit(RawRecord& out, std::size_t end, std::string problem);
  ByteSource& source_;
  std::size_t max_record_bytes_;
  std::vector<char> buf_;
  std::size_t pos_ = 0, end_ = 0;
  bool first_read_ = true;  // before the first value: a byte order mark may come
  int bom_matched_ = 0;
  bool eof_ = false;
  std::uint64_t line_ = 1;
  bool at_line_start_ = true;
  bool in_array_ = false;
  bool saw_array_ = false;
  std::int64_t next_index_ = 0;
  std::uint64_t values_ = 0, multi_line_values_ = 0;
  // The value being read.
  bool active_ = false;
  bool object_ = false;
  bool bracketed_ = false;  // starts with '{' or '[': ends where its nesting does
  bool started_in_first_column_ = false;
  bool in_string_ = false, escape_ = false, oversize_ = false;
  int depth_ = 0;
  std::vector<char> stack_;  // the open containers ('{' or '[')
  char last_ = 0;            // the last structural character or token end seen in the value
  std::uint64_t start_line_ = 0;
  std::int64_t index_ = -1;
  std::size_t bytes_ = 0;
  std::size_t seg_start_ = 0;  // start of the part of the value still in buf_
  std::string acc_;            // the part of the value from earlier buffers
};

}  // namespace sw::loadgen
