// An in-memory FileLayer: the same contract as the POSIX one, for tests.
#include <chrono>
#include <map>
#include <mutex>

#include "lake/fs/file_layer.h"

namespace sw::lake::fs {

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Store {
  std::mutex mu;
  std::map<std::string, std::pair<std::string, std::int64_t>> files;  // path -> (data, mtime)
};

class MemoryOutputFile final : public OutputFile {
 public:
  MemoryOutputFile(std::shared_ptr<Store> store, std::string path) : store_(std::move(store)), path_(std::move(path)) {}
  std::error_code append(std::string_view data) override {
    if (done_) return std::make_error_code(std::errc::bad_file_descriptor);
    data_.append(data);
    return {};
  }
  std::uint64_t size() const noexcept override { return data_.size(); }
  const std::string& path() const noexcept override { return path_; }
  std::error_code finish() override {
    if (done_) return std::make_error_code(std::errc::bad_file_descriptor);
    done_ = true;
    std::lock_guard lock(store_->mu);
    store_->files[path_] = {std::move(data_), now_ms()};
    return {};
  }
  void abort() noexcept override { done_ = true; }

 private:
  std::shared_ptr<Store> store_;
  std::string path_;
  std::string data_;
  bool done_ = false;
};

class MemoryFileLayer final : public FileLayer {
 public:
  const std::string& root() const noexcept override { return root_; }
  std::unique_ptr<OutputFile> create(const std::string& path, std::error_code& ec) override {
    ec = is_safe_relative_path(path) ? std::error_code{} : std::make_error_code(std::errc::invalid_argument);
    if (ec) return nullptr;
    return std::make_unique<MemoryOutputFile>(store_, path);
  }
  std::error_code put_if_absent(const std::string& path, std::string_view data) override {
    if (!is_safe_relative_path(path)) return std::make_error_code(std::errc::invalid_argument);
    std::lock_guard lock(store_->mu);
    if (store_->files.count(path)) return std::make_error_code(std::errc::file_exists);
    store_->files[path] = {std::string(data), now_ms()};
    return {};
  }
  std::error_code put(const std::string& path, std::string_view data) override {
    if (!is_safe_relative_path(path)) return std::make_error_code(std::errc::invalid_argument);
    std::lock_guard lock(store_->mu);
    store_->files[path] = {std::string(data), now_ms()};
    return {};
  }
  std::error_code read(const std::string& path, std::string& out) override {
    std::lock_guard lock(store_->mu);
    const auto it = store_->files.find(path);
    if (it == store_->files.end()) return std::make_error_code(std::errc::no_such_file_or_directory);
    out = it->second.first;
    return {};
  }
  std::error_code read_range(const std::string& path, std::uint64_t offset, std::size_t length,
                             std::string& out) override {
    std::lock_guard lock(store_->mu);
    const auto it = store_->files.find(path);
    if (it == store_->files.end()) return std::make_error_code(std::errc::no_such_file_or_directory);
    const auto& d = it->second.first;
    if (offset + length > d.size()) return std::make_error_code(std::errc::result_out_of_range);
    out.assign(d, static_cast<std::size_t>(offset), length);
    return {};
  }
  std::error_code stat(const std::string& path, FileInfo& info) override {
    std::lock_guard lock(store_->mu);
    const auto it = store_->files.find(path);
    if (it == store_->files.end()) return std::make_error_code(std::errc::no_such_file_or_directory);
    info = {path, it->second.first.size(), it->second.second};
    return {};
  }
  std::error_code list(const std::string& dir, bool recursive, std::vector<FileInfo>& out) override {
    out.clear();
    const std::string prefix = dir.empty() ? "" : dir + "/";
    std::lock_guard lock(store_->mu);
    for (auto it = store_->files.lower_bound(prefix); it != store_->files.end(); ++it) {
      if (it->first.compare(0, prefix.size(), prefix) != 0) break;
      if (!recursive && it->first.find('/', prefix.size()) != std::string::npos) continue;
      out.push_back({it->first, it->second.first.size(), it->second.second});
    }
    return {};
  }
  std::error_code remove(const std::string& path) override {
    std::lock_guard lock(store_->mu);
    return store_->files.erase(path) ? std::error_code{} : std::make_error_code(std::errc::no_such_file_or_directory);
  }

 private:
  std::string root_ = "memory:";
  std::shared_ptr<Store> store_ = std::make_shared<Store>();
};

}  // namespace

std::unique_ptr<FileLayer> open_memory() { return std::make_unique<MemoryFileLayer>(); }

}  // namespace sw::lake::fs
