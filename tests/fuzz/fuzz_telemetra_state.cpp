// Telemetra's binary records as read back from the repartition and changelog topics
// (topologies/telemetra.cpp): contributions, window states and histories. The first byte picks
// the format. Any bytes: never a crash; what deserializes re-serializes stably.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "topologies/telemetra.h"

using namespace sw;
using namespace sw::telemetra;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string error, once, twice;
  switch (data[0] % 3) {
    case 0: {
      static const auto serde = contribution_serde();
      Contribution c;
      if (!serde.deserialize(in, c, error)) return 0;
      serde.serialize(c, once);
      Contribution again;
      FUZZ_CHECK(serde.deserialize(once, again, error));
      serde.serialize(again, twice);
      break;
    }
    case 1: {
      static const auto serde = window_state_serde();
      WindowState s;
      if (!serde.deserialize(in, s, error)) return 0;
      // Every stored chatter is found again, and each only once.
      for (std::size_t i = 0; i < s.chatters.size(); ++i) {
        FUZZ_CHECK(s.chatters.contains(s.chatters[i]));
        FUZZ_CHECK(!s.chatters.insert(s.chatters[i]));
      }
      serde.serialize(s, once);
      WindowState again;
      FUZZ_CHECK(serde.deserialize(once, again, error));
      FUZZ_CHECK(again.unique_chatters() == s.unique_chatters());
      (void)top_emotes(again.emotes, 5);
      return 0;  // emotes are an unordered map: byte order may differ
    }
    default: {
      static const auto serde = history_serde();
      History h;
      if (!serde.deserialize(in, h, error)) return 0;
      serde.serialize(h, once);
      History again;
      FUZZ_CHECK(serde.deserialize(once, again, error));
      serde.serialize(again, twice);
      if (!h.counts.empty()) (void)z_score(h.counts.back(), h.counts, 3);
      break;
    }
  }
  FUZZ_CHECK(once == twice);
  return 0;
}
