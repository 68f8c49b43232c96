// The replay reader of streamwright-loadgen (services/loadgen/json_splitter.cpp, replay.cpp):
// any bytes, never a crash. The values found do not depend on how the input is cut into reads;
// lines only grow; a value the splitter accepted is within the size limit; a record the decoder
// accepted is valid JSON that means what the original text means.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "services/loadgen/json_splitter.h"
#include "services/loadgen/replay.h"

using namespace sw::loadgen;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::size_t chunk = 1 + data[0] % 17;
  const std::size_t max_record = 8 + std::size_t{data[1]} * 16;
  const std::string input(reinterpret_cast<const char*>(data + 2), size - 2);
  StringSource cut(input, chunk), whole(input);
  JsonSplitter splitter(cut, max_record, 16), reference(whole, max_record, 1 << 16);
  ReplayOptions options;
  options.key_field = "k";
  options.shift_fields = {"t", "u"};
  RecordDecoder decoder(options), shifting(options);
  RawRecord r, ref;
  ReplayRecord out, moved;
  std::uint64_t last_line = 0;
  while (splitter.next(r)) {
    FUZZ_CHECK(reference.next(ref));
    FUZZ_CHECK(r.text == ref.text && r.line == ref.line && r.array_index == ref.array_index && r.problem == ref.problem);
    FUZZ_CHECK(r.line >= last_line);
    last_line = r.line;
    FUZZ_CHECK(r.text.size() <= max_record);
    if (!decoder.decode(r, 0, true, out)) {
      FUZZ_CHECK(!out.problem.empty());
      continue;
    }
    FUZZ_CHECK(r.problem.empty() && r.object);
    FUZZ_CHECK(out.value.size() <= r.text.size());
    const auto original = nlohmann::json::parse(r.text.begin(), r.text.end());
    const auto sent = nlohmann::json::parse(out.value.begin(), out.value.end());
    FUZZ_CHECK(original.is_object() && sent == original);
    if (out.has_key) FUZZ_CHECK(!out.key.empty() && original.contains("k"));
    // Moved timestamps keep the record valid JSON with the same fields.
    if (shifting.decode(r, 86'400'000, false, moved)) {
      const auto shifted = nlohmann::json::parse(moved.value.begin(), moved.value.end());
      FUZZ_CHECK(shifted.size() == original.size());
    }
  }
  FUZZ_CHECK(!reference.next(ref));
  return 0;
}
