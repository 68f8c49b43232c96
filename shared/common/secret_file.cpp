#include "common/secret_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include <sys/stat.h>

namespace sw {

std::string read_secret_file(const std::string& path, const std::string& what) {
  auto fail = [&](const std::string& why) -> std::invalid_argument {
    return std::invalid_argument(what + ": cannot read '" + path + "': " + why);
  };
  if (path.empty()) throw std::invalid_argument(what + ": the file name is empty");
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) throw fail(std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw fail("not a regular file");
  if (st.st_size > (1 << 20)) throw fail("larger than 1 MiB");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw fail(std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw fail("read error");
  std::string value = ss.str();
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
  return value;
}

}  // namespace sw
