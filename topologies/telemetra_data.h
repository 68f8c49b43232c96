#pragma once
// Realistic Telemetra input (the seed's mock Twitch producer): many streams, each with its own
// audience and a slowly moving viewer curve, emote use, lexicon words in messages, and injected
// chat spikes (a stream's chat rate multiplied for a while). Deterministic for a given seed.
#include <cstdint>
#include <string>
#include <vector>

#include "common/time.h"

namespace sw::telemetra {

struct GeneratorConfig {
  std::uint64_t seed = 1;
  std::uint32_t streams = 100;
  std::uint32_t chatters_per_stream = 500;
  double spike_probability = 0.001;  // per chat event: start a spike on its stream
  double spike_factor = 8.0;         // a spiking stream gets this many times its share of chat
  std::uint32_t spike_events = 2000;  // chat events a spike lasts (across all streams)
  TimestampMs viewer_interval_ms = 5000;  // each stream reports its viewer count this often
};

class ChatGenerator {
 public:
  explicit ChatGenerator(const GeneratorConfig& config);
  // One chat event at event time `now`; key is the stream id.
  void next_chat(TimestampMs now, std::string& key, std::string& value);
  // One viewer-count event for stream `stream` (0-based) at `now`.
  void viewer(std::uint32_t stream, TimestampMs now, std::string& key, std::string& value);
  static std::string stream_id(std::uint32_t stream);
  // The live mix for a load generator: viewer events as they fall due (every stream every
  // viewer_interval_ms of `now`), chat events otherwise. Returns true for a viewer event.
  bool next_event(TimestampMs now, std::string& key, std::string& value);

 private:
  std::uint64_t rand();
  double uniform() { return static_cast<double>(rand() >> 11) * 0x1.0p-53; }
  std::uint32_t pick_stream();
  GeneratorConfig config_;
  std::uint64_t state_;
  std::uint64_t sequence_ = 0;
  std::uint32_t spiking_stream_ = 0;
  std::uint64_t spike_until_ = 0;
  std::vector<double> base_viewers_;
  TimestampMs next_viewer_due_ = kNoTimestamp;
  std::uint32_t viewer_cursor_ = 0;
};

}  // namespace sw::telemetra
