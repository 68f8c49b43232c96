// Kafka client configuration from "key=value" assignments (shared/kafka/config.cpp), one per
// line as --kafka-property flags give them. Any bytes: never a crash; an accepted assignment is
// what get() returns for its key, later ones replacing earlier ones; redacted() hides secrets.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "kafka/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  sw::kafka::Config config;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    auto end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const auto line = text.substr(pos, end - pos);
    pos = end + 1;
    const auto eq = line.find('=');
    const bool ok = config.set_from_assignment(line);
    FUZZ_CHECK(ok == (eq != std::string_view::npos && eq > 0));
    if (ok) {
      const auto got = config.get(line.substr(0, eq));
      FUZZ_CHECK(got && *got == line.substr(eq + 1));
    }
  }
  const auto redacted = "\n" + config.redacted();
  for (const auto& [k, v] : config.entries()) {
    FUZZ_CHECK(!k.empty());
    if (sw::kafka::Config::is_secret_key(k) && v.size() >= 8 && v.find('\n') == std::string::npos &&
        v.find("***") == std::string::npos) {
      // A secret value never appears as a whole redacted line.
      FUZZ_CHECK(redacted.find("\n" + k + "=" + v + "\n") == std::string::npos);
    }
  }
  return 0;
}
