#pragma once
// The one interface through which the lake reads and writes: data files, the Delta log and its
// checkpoints. A POSIX filesystem (a local disk or a shared one mounted by every replica)
// implements it now; an object store (S3, GCS, Azure) would implement the same calls:
//   create + finish   -> a multipart upload completed at once (atomic visibility),
//   put_if_absent     -> a conditional PUT (If-None-Match: *), the Delta commit,
//   put               -> a plain PUT (replaces atomically),
//   read/read_range   -> GET with a byte range, list -> LIST under a prefix, remove -> DELETE.
//
// Paths are relative to the table's root, '/'-separated, without "." or ".." parts. Errors are
// std::error_code (std::errc values for the common cases: no_such_file_or_directory,
// file_exists); nothing here throws after start-up.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace sw::lake::fs {

struct FileInfo {
  std::string path;  // relative to the root
  std::uint64_t size = 0;
  std::int64_t modified_ms = 0;  // last modification, epoch milliseconds
};

// A file being written. Nothing is visible at its path until finish() succeeds; a crash or
// abort() before that leaves at most a hidden temporary (a name starting with '.') that no
// reader lists as data and `vacuum` removes once it is older than the retention.
class OutputFile {
 public:
  virtual ~OutputFile() = default;
  virtual std::error_code append(std::string_view data) = 0;
  virtual std::uint64_t size() const noexcept = 0;  // bytes appended so far
  // Makes the whole file durable and visible at its path in one step (replacing a file there).
  virtual std::error_code finish() = 0;
  // Gives the file up; nothing becomes visible. Idempotent.
  virtual void abort() noexcept = 0;
  virtual const std::string& path() const noexcept = 0;
};

class FileLayer {
 public:
  virtual ~FileLayer() = default;
  // Where the root is, for messages ("/data/lake/render_metrics").
  virtual const std::string& root() const noexcept = 0;

  virtual std::unique_ptr<OutputFile> create(const std::string& path, std::error_code& ec) = 0;
  // Creates `path` holding `data` only if nothing exists there (errc::file_exists otherwise).
  // Atomic and exclusive: readers see all of the data or no file, and of any number of
  // concurrent callers for one path exactly one succeeds. This is the Delta commit.
  virtual std::error_code put_if_absent(const std::string& path, std::string_view data) = 0;
  // Writes `path` (replacing it atomically if it exists).
  virtual std::error_code put(const std::string& path, std::string_view data) = 0;
  virtual std::error_code read(const std::string& path, std::string& out) = 0;
  virtual std::error_code read_range(const std::string& path, std::uint64_t offset, std::size_t length,
                                     std::string& out) = 0;
  virtual std::error_code stat(const std::string& path, FileInfo& info) = 0;
  // The files (not directories) under `dir` ("" for the root), recursively if asked, sorted by
  // path. A missing directory is an empty list.
  virtual std::error_code list(const std::string& dir, bool recursive, std::vector<FileInfo>& out) = 0;
  virtual std::error_code remove(const std::string& path) = 0;
};

// A table root on a POSIX filesystem (created if missing when written to).
std::unique_ptr<FileLayer> open_posix(const std::string& root);

// A table location: a path or file:// URI opens the POSIX layer. Object-store URIs (s3://,
// s3a://, gs://, abfss://, az://) throw std::invalid_argument: this build has no object-store
// client (none is installable here); a client implementing FileLayer is the only piece needed.
std::unique_ptr<FileLayer> open(const std::string& location);

// True for relative paths that stay inside the root ("a/b.parquet"; not "/x", "../x", "a//b").
bool is_safe_relative_path(std::string_view path) noexcept;

// An in-memory FileLayer, for tests (and a second implementation that keeps the interface honest).
std::unique_ptr<FileLayer> open_memory();

}  // namespace sw::lake::fs
