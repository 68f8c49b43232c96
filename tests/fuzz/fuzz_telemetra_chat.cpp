// Telemetra's event parsers (topologies/telemetra.cpp): the same bytes as a chat event and as a
// viewer event, then the chat message through the sentiment lexicon. Any bytes: never a crash;
// accepted events have ids, a plausible event time and valid UTF-8.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <simdjson.h>

#include "fuzz_check.h"
#include "topologies/telemetra.h"

using namespace sw;
using namespace sw::telemetra;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Lexicon lexicon = Lexicon::builtin();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  InputEvent e;
  std::string error;
  if (parse_chat_event(text, e, error)) {
    FUZZ_CHECK(e.chat && !e.stream_id.empty() && !e.user_id.empty());
    FUZZ_CHECK(check_event_time(e.timestamp) == TimeParseError::none);
    for (auto s : {e.stream_id, e.user_id, e.message}) FUZZ_CHECK(simdjson::validate_utf8(s.data(), s.size()));
    for (auto s : e.emotes) FUZZ_CHECK(!s.empty() && simdjson::validate_utf8(s.data(), s.size()));
    const double score = Lexicon::score(lexicon.match(e.message));
    FUZZ_CHECK(score >= -1 && score <= 1);
  } else {
    FUZZ_CHECK(!error.empty());
  }
  error.clear();
  if (parse_viewer_event(text, e, error)) {
    FUZZ_CHECK(!e.chat && !e.stream_id.empty() && e.viewer_count >= 0);
    FUZZ_CHECK(check_event_time(e.timestamp) == TimeParseError::none);
  } else {
    FUZZ_CHECK(!error.empty());
  }
  (void)lexicon.match(text);
  return 0;
}
