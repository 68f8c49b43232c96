// The POSIX file layer: data files and checkpoints are written under a hidden temporary name and
// renamed into place after fsync; commits are link(2)ed into place, which fails if the target
// exists (renameat2(RENAME_NOREPLACE) where links are not supported).
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <random>
#include <stdexcept>

#include "lake/crash_points.h"
#include "lake/fs/file_layer.h"

namespace sw::lake::fs {

namespace {

std::error_code last_error() { return {errno, std::generic_category()}; }

std::string random_suffix() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

std::string parent_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

std::string base_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::error_code write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return last_error();
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

std::error_code fsync_dir(const std::string& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return last_error();
  const int rc = ::fsync(fd);
  const auto ec = rc < 0 ? last_error() : std::error_code{};
  ::close(fd);
  return ec;
}

std::error_code make_dirs(const std::string& dir) {
  if (dir.empty()) return {};
  struct stat st{};
  if (::stat(dir.c_str(), &st) == 0) return S_ISDIR(st.st_mode) ? std::error_code{} : std::make_error_code(std::errc::not_a_directory);
  if (auto ec = make_dirs(parent_of(dir))) return ec;
  if (::mkdir(dir.c_str(), 0755) < 0 && errno != EEXIST) return last_error();
  return {};
}

std::int64_t mtime_ms(const struct stat& st) {
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
}

class PosixOutputFile final : public OutputFile {
 public:
  PosixOutputFile(std::string final_path, std::string rel, std::string temp_path, int fd)
      : final_(std::move(final_path)), rel_(std::move(rel)), temp_(std::move(temp_path)), fd_(fd) {}
  ~PosixOutputFile() override { abort(); }

  std::error_code append(std::string_view data) override {
    if (fd_ < 0) return std::make_error_code(std::errc::bad_file_descriptor);
    if (auto ec = write_all(fd_, data)) return ec;
    size_ += data.size();
    return {};
  }
  std::uint64_t size() const noexcept override { return size_; }
  const std::string& path() const noexcept override { return rel_; }

  std::error_code finish() override {
    if (fd_ < 0) return std::make_error_code(std::errc::bad_file_descriptor);
    if (::fsync(fd_) < 0) return last_error();
    if (::close(fd_) < 0) {
      fd_ = -1;
      return last_error();
    }
    fd_ = -1;
    if (::rename(temp_.c_str(), final_.c_str()) < 0) return last_error();
    temp_.clear();
    return fsync_dir(parent_of(final_));
  }

  void abort() noexcept override {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    if (!temp_.empty()) ::unlink(temp_.c_str());
    temp_.clear();
  }

 private:
  std::string final_, rel_, temp_;
  int fd_;
  std::uint64_t size_ = 0;
};

class PosixFileLayer final : public FileLayer {
 public:
  explicit PosixFileLayer(std::string root) : root_(std::move(root)) {
    while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
  }

  const std::string& root() const noexcept override { return root_; }

  std::unique_ptr<OutputFile> create(const std::string& path, std::error_code& ec) override {
    ec = {};
    if (!is_safe_relative_path(path)) {
      ec = std::make_error_code(std::errc::invalid_argument);
      return nullptr;
    }
    const std::string full = abs(path);
    if ((ec = make_dirs(parent_of(full)))) return nullptr;
    std::string temp = temp_for(full);
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
      ec = last_error();
      return nullptr;
    }
    return std::make_unique<PosixOutputFile>(full, path, std::move(temp), fd);
  }

  std::error_code put_if_absent(const std::string& path, std::string_view data) override {
    if (!is_safe_relative_path(path)) return std::make_error_code(std::errc::invalid_argument);
    const std::string full = abs(path);
    if (auto ec = make_dirs(parent_of(full))) return ec;
    std::string temp;
    if (auto ec = write_temp(full, data, temp)) return ec;
    crash::point(crash::kDuringCommit);
    std::error_code result;
    if (::link(temp.c_str(), full.c_str()) < 0) {
      if (errno == EEXIST) {
        result = std::make_error_code(std::errc::file_exists);
      } else if (errno == EPERM || errno == ENOTSUP || errno == EOPNOTSUPP || errno == ENOSYS) {
        // Filesystems without hard links: an exclusive rename does the same.
        if (::renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, full.c_str(), RENAME_NOREPLACE) < 0)
          result = errno == EEXIST ? std::make_error_code(std::errc::file_exists) : last_error();
        else
          temp.clear();
      } else {
        result = last_error();
      }
    }
    if (!temp.empty()) ::unlink(temp.c_str());
    if (result) return result;
    return fsync_dir(parent_of(full));
  }

  std::error_code put(const std::string& path, std::string_view data) override {
    if (!is_safe_relative_path(path)) return std::make_error_code(std::errc::invalid_argument);
    const std::string full = abs(path);
    if (auto ec = make_dirs(parent_of(full))) return ec;
    std::string temp;
    if (auto ec = write_temp(full, data, temp)) return ec;
    if (::rename(temp.c_str(), full.c_str()) < 0) {
      const auto ec = last_error();
      ::unlink(temp.c_str());
      return ec;
    }
    return fsync_dir(parent_of(full));
  }

  std::error_code read(const std::string& path, std::string& out) override {
    out.clear();
    if (!is_safe_relative_path(path)) return std::make_error_code(std::errc::invalid_argument);
    const int fd = ::open(abs(path).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return last_error();
    struct stat st{};
    if (::fstat(fd, &st) == 0 && st.st_size > 0) out.reserve(static_cast<std::size_t>(st.st_size));
    char buf[1 << 16];
    for (;;) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0) {
        if (errno == EINTR) continue;
        const auto ec = last_error();
        ::close(fd);
        return ec;
      }
      if (n == 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return {};
  }

  std::error_code read_range(const std::string& path, std::uint64_t offset, std::size_t length,
                             std::string& out) override {
    out.clear();
    if (!is_safe_relative_path(path)) return std::make_error_code(std::errc::invalid_argument);
    const int fd = ::open(abs(path).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return last_error();
    out.resize(length);
    std::size_t done = 0;
    while (done < length) {
      const ssize_t n = ::pread(fd, out.data() + done, length - done, static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        const auto ec = last_error();
        ::close(fd);
        return ec;
      }
      if (n == 0) break;
      done += static_cast<std::size_t>(n);
    }
    ::close(fd);
    if (done < length) {
      out.resize(done);
      return std::make_error_code(std::errc::result_out_of_range);
    }
    return {};
  }

  std::error_code stat(const std::string& path, FileInfo& info) override {
    if (!is_safe_relative_path(path)) return std::make_error_code(std::errc::invalid_argument);
    struct stat st{};
    if (::stat(abs(path).c_str(), &st) < 0) return last_error();
    info.path = path;
    info.size = static_cast<std::uint64_t>(st.st_size);
    info.modified_ms = mtime_ms(st);
    return {};
  }

  std::error_code list(const std::string& dir, bool recursive, std::vector<FileInfo>& out) override {
    out.clear();
    if (!dir.empty() && !is_safe_relative_path(dir)) return std::make_error_code(std::errc::invalid_argument);
    auto ec = list_into(dir, recursive, out);
    std::sort(out.begin(), out.end(), [](const FileInfo& a, const FileInfo& b) { return a.path < b.path; });
    return ec;
  }

  std::error_code remove(const std::string& path) override {
    if (!is_safe_relative_path(path)) return std::make_error_code(std::errc::invalid_argument);
    if (::unlink(abs(path).c_str()) < 0) return last_error();
    // Empty partition directories go too (best effort).
    for (std::string d = parent_of(path); !d.empty(); d = parent_of(d))
      if (::rmdir(abs(d).c_str()) < 0) break;
    return {};
  }

 private:
  std::string abs(const std::string& rel) const { return rel.empty() ? root_ : root_ + "/" + rel; }

  static std::string temp_for(const std::string& full) {
    const auto dir = parent_of(full);
    return (dir.empty() ? "" : dir + "/") + "." + base_of(full) + "." + random_suffix() + ".tmp";
  }

  static std::error_code write_temp(const std::string& full, std::string_view data, std::string& temp) {
    temp = temp_for(full);
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return last_error();
    auto ec = write_all(fd, data);
    if (!ec && ::fsync(fd) < 0) ec = last_error();
    if (::close(fd) < 0 && !ec) ec = last_error();
    if (ec) {
      ::unlink(temp.c_str());
      temp.clear();
    }
    return ec;
  }

  std::error_code list_into(const std::string& dir, bool recursive, std::vector<FileInfo>& out) {
    DIR* d = ::opendir(abs(dir).c_str());
    if (!d) return errno == ENOENT ? std::error_code{} : last_error();
    std::error_code ec;
    while (dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      const std::string rel = dir.empty() ? name : dir + "/" + name;
      struct stat st{};
      if (::lstat(abs(rel).c_str(), &st) < 0) continue;  // removed meanwhile
      if (S_ISDIR(st.st_mode)) {
        if (recursive && (ec = list_into(rel, true, out))) break;
      } else if (S_ISREG(st.st_mode)) {
        out.push_back({rel, static_cast<std::uint64_t>(st.st_size), mtime_ms(st)});
      }
    }
    ::closedir(d);
    return ec;
  }

  std::string root_;
};

}  // namespace

bool is_safe_relative_path(std::string_view path) noexcept {
  if (path.empty() || path.front() == '/' || path.back() == '/') return false;
  std::size_t i = 0;
  while (i <= path.size()) {
    const auto j = std::min(path.find('/', i), path.size());
    const auto part = path.substr(i, j - i);
    if (part.empty() || part == "." || part == "..") return false;
    if (part.find('\0') != std::string_view::npos) return false;
    i = j + 1;
  }
  return true;
}

std::unique_ptr<FileLayer> open_posix(const std::string& root) {
  if (root.empty()) throw std::invalid_argument("empty table path");
  return std::make_unique<PosixFileLayer>(root);
}

std::unique_ptr<FileLayer> open(const std::string& location) {
  static constexpr const char* kObjectStores[] = {"s3://", "s3a://", "s3n://", "gs://", "gcs://", "abfs://",
                                                  "abfss://", "az://", "azure://", "wasbs://", "r2://"};
  for (const char* scheme : kObjectStores)
    if (location.rfind(scheme, 0) == 0)
      throw std::invalid_argument("'" + location +
                                  "': object stores are not supported by this build (no object-store client is "
                                  "available); use a path on a local or shared POSIX filesystem");
  if (location.rfind("file://", 0) == 0) return open_posix(location.substr(7));
  if (location.find("://") != std::string::npos)
    throw std::invalid_argument("'" + location + "': unknown scheme (a path or file:// URI)");
  return open_posix(location);
}

}  // namespace sw::lake::fs
