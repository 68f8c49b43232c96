#include "services/loadgen/json_splitter.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace sw::loadgen {

// ---------------------------------------------------------------------------------- sources

struct FileSource::Inflater {
  z_stream z{};
  std::vector<char> in = std::vector<char>(256 * 1024);
  bool input_eof = false;
  bool member_ended = false;
  ~Inflater() { inflateEnd(&z); }
};

FileSource::FileSource(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw std::runtime_error("cannot read '" + path + "': " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd_, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd_);
    fd_ = -1;
    throw std::runtime_error("'" + path + "' is a directory");
  }
  unsigned char magic[2] = {0, 0};
  const auto n = ::pread(fd_, magic, 2, 0);
  gzip_ = n == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
  if (gzip_) {
    z_ = std::make_unique<Inflater>();
    if (inflateInit2(&z_->z, 15 + 16) != Z_OK) throw std::runtime_error("cannot start gzip decompression");
  }
}

FileSource::~FileSource() {
  if (fd_ >= 0) ::close(fd_);
}

std::size_t FileSource::read_raw(char* buf, std::size_t n) {
  for (;;) {
    const auto r = ::read(fd_, buf, n);
    if (r >= 0) return static_cast<std::size_t>(r);
    if (errno != EINTR) throw std::runtime_error("cannot read '" + path_ + "': " + std::strerror(errno));
  }
}

std::size_t FileSource::read(char* buf, std::size_t n) {
  if (!gzip_) return read_raw(buf, n);
  auto& s = *z_;
  for (;;) {
    if (s.z.avail_in == 0 && !s.input_eof) {
      const auto r = read_raw(s.in.data(), s.in.size());
      s.input_eof = r == 0;
      s.z.next_in = reinterpret_cast<Bytef*>(s.in.data());
      s.z.avail_in = static_cast<uInt>(r);
    }
    if (s.member_ended) {  // another gzip member follows, or the end
      if (s.z.avail_in == 0) return 0;
      inflateReset(&s.z);
      s.member_ended = false;
    }
    s.z.next_out = reinterpret_cast<Bytef*>(buf);
    s.z.avail_out = static_cast<uInt>(std::min<std::size_t>(n, 1u << 30));
    const auto before = s.z.avail_out;
    const int ret = inflate(&s.z, Z_NO_FLUSH);
    const std::size_t produced = before - s.z.avail_out;
    if (ret == Z_STREAM_END) {
      s.member_ended = true;
    } else if (ret != Z_OK && ret != Z_BUF_ERROR) {
      throw std::runtime_error("'" + path_ + "': the gzip data is corrupt (" + (s.z.msg ? s.z.msg : "inflate failed") + ")");
    }
    if (produced > 0) return produced;
    if (!s.member_ended && s.z.avail_in == 0 && s.input_eof)
      throw std::runtime_error("'" + path_ + "': the gzip data is truncated");
  }
}

std::size_t StringSource::read(char* buf, std::size_t n) {
  const std::size_t k = std::min({n, max_chunk_, data_.size() - pos_});
  std::memcpy(buf, data_.data() + pos_, k);
  pos_ += k;
  return k;
}

// ---------------------------------------------------------------------------------- splitter

JsonSplitter::JsonSplitter(ByteSource& source, std::size_t max_record_bytes, std::size_t buffer_bytes)
    : source_(source), max_record_bytes_(max_record_bytes), buf_(std::max<std::size_t>(buffer_bytes, 16)) {}

bool JsonSplitter::refill() {
  if (eof_) return false;
  const std::size_t n = source_.read(buf_.data(), buf_.size());
  pos_ = 0;
  end_ = n;
  if (n == 0) {
    eof_ = true;
    return false;
  }
  return true;
}

std::string JsonSplitter::layout() const {
  if (saw_array_) return "JSON array";
  if (values_ == 0) return "empty";
  return multi_line_values_ == 0 ? "JSON lines" : "JSON objects";
}

void JsonSplitter::emit(RawRecord& out, std::size_t end, std::string problem) {
  out.line = start_line_;
  out.array_index = index_;
  out.object = object_;
  if (oversize_) {
    out.text = {};
    out.problem = "larger than --max-record-bytes (" + std::to_string(max_record_bytes_) + " bytes)";
  } else {
    if (acc_.empty()) {
      out.text = std::string_view(buf_.data() + seg_start_, end - seg_start_);
    } else {
      acc_.append(buf_.data() + seg_start_, end - seg_start_);
      out.text = acc_;
    }
    while (!out.text.empty() && (out.text.back() == ' ' || out.text.back() == '\t' || out.text.back() == '\r'))
      out.text.remove_suffix(1);
    out.problem = std::move(problem);
  }
  ++values_;
  if (line_ != start_line_) ++multi_line_values_;
  active_ = false;
}

bool JsonSplitter::next(RawRecord& out) {
  static constexpr unsigned char kBom[3] = {0xEF, 0xBB, 0xBF};
  for (;;) {
    if (pos_ == end_) {
      if (active_ && !oversize_) acc_.append(buf_.data() + seg_start_, end_ - seg_start_);
      seg_start_ = 0;
      if (!refill()) {
        if (!active_) return false;
        end_ = pos_ = 0;
        emit(out, 0, in_string_ || bracketed_ ? "the input ends inside this value" : "");
        return true;
      }
      continue;
    }
    if (!active_) {
      const char c = buf_[pos_];
      if (first_read_) {  // a UTF-8 byte order mark is not part of the JSON
        if (bom_matched_ < 3 && static_cast<unsigned char>(c) == kBom[bom_matched_]) {
          ++bom_matched_;
          ++pos_;
          continue;
        }
        first_read_ = false;
      }
      if (c == '\n') {
        ++line_;
        at_line_start_ = true;
        ++pos_;
        continue;
      }
      if (c == ' ' || c == '\t' || c == '\r' || c == ',') {
        at_line_start_ = false;
        ++pos_;
        continue;
      }
      if (in_array_ && c == ']') {
        in_array_ = false;
        at_line_start_ = false;
        ++pos_;
        continue;
      }
      if (!in_array_ && c == '[' && values_ == 0 && !saw_array_) {  // the input is one JSON array
        in_array_ = saw_array_ = true;
        at_line_start_ = false;
        ++pos_;
        continue;
      }
      active_ = true;
      object_ = c == '{';
      bracketed_ = c == '{' || c == '[';
      started_in_first_column_ = at_line_start_;
      in_string_ = escape_ = oversize_ = false;
      depth_ = 0;
      stack_.clear();
      last_ = 0;
      start_line_ = line_;
      index_ = in_array_ ? next_index_++ : -1;
      bytes_ = 0;
      seg_start_ = pos_;
      acc_.clear();
    }
    while (pos_ < end_) {
      const char c = buf_[pos_];
      if (c == '\n') {
        if (in_string_) {
          emit(out, pos_, "a line ends inside a string");
          return true;
        }
        if (!bracketed_ || depth_ == 0) {  // a scalar (or stray text) ends with its line
          emit(out, pos_, "");
          return true;
        }
        ++line_;
        at_line_start_ = true;
      } else {
        if (in_string_) {
          if (escape_)
            escape_ = false;
          else if (c == '\\')
            escape_ = true;
          else if (c == '"')
            in_string_ = false;
        } else if (c == '"') {
          in_string_ = true;
          last_ = c;
        } else if (bracketed_) {
          if (c == '{' || c == '[') {
            // A '{' that cannot continue the open value, at the start of a line, where the
            // open value started too (JSON lines): the open value was cut short.
            if (c == '{' && depth_ > 0 && at_line_start_ && started_in_first_column_ &&
                !(stack_.back() == '[' ? last_ == '[' || last_ == ',' : last_ == ':')) {
              emit(out, pos_,
                   "not closed before line " + std::to_string(line_) + ", where a '{' in the first column starts the next value");
              return true;
            }
            ++depth_;
            stack_.push_back(c);
            last_ = c;
          } else if (c == '}' || c == ']') {
            if (!stack_.empty()) stack_.pop_back();
            last_ = c;
            if (--depth_ == 0) {
              ++pos_;
              if (++bytes_ > max_record_bytes_) oversize_ = true;
              at_line_start_ = false;
              emit(out, pos_, "");
              return true;
            }
          } else if (c != ' ' && c != '\t' && c != '\r') {
            last_ = c;
          }
        } else if (in_array_ && (c == ',' || c == ']')) {  // the end of a scalar element
          emit(out, pos_, "");
          return true;
        }
        at_line_start_ = false;
      }
      ++pos_;
      if (++bytes_ > max_record_bytes_ && !oversize_) {
        oversize_ = true;
        acc_.clear();
        acc_.shrink_to_fit();
      }
    }
  }
}

}  // namespace sw::loadgen
