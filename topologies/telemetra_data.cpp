#include "topologies/telemetra_data.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "serde/json.h"

namespace sw::telemetra {

namespace {
// Positive and negative words come from the shipped lexicons; neutral words match neither.
constexpr std::array<const char*, 8> kPositive{"love", "great", "awesome", "pog", "lol", "hype", "nice", "gg"};
constexpr std::array<const char*, 6> kNegative{"hate", "bad", "cringe", "fail", "boring", "lag"};
constexpr std::array<const char*, 12> kNeutral{"that", "play", "was", "the", "stream", "chat",
                                               "when", "next", "round", "is", "this", "boss"};
constexpr std::array<const char*, 10> kEmotes{"Kappa", "PogChamp", "LUL", "KEKW", "monkaS",
                                              "PepeHands", "OMEGALUL", "Kreygasm", "BibleThump", "ResidentSleeper"};
}  // namespace

ChatGenerator::ChatGenerator(const GeneratorConfig& config) : config_(config), state_(config.seed * 0x9E3779B97F4A7C15ULL + 1) {
  if (config_.streams == 0) throw std::invalid_argument("streams must be positive");
  if (config_.chatters_per_stream == 0) throw std::invalid_argument("chatters per stream must be positive");
  for (std::uint32_t s = 0; s < config_.streams; ++s) base_viewers_.push_back(100.0 + 10000.0 * uniform() * uniform());
}

std::uint64_t ChatGenerator::rand() {
  // xorshift64*: cheap and good enough for synthetic load.
  state_ ^= state_ >> 12;
  state_ ^= state_ << 25;
  state_ ^= state_ >> 27;
  return state_ * 0x2545F4914F6CDD1DULL;
}

std::string ChatGenerator::stream_id(std::uint32_t stream) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "stream-%04u", stream);
  return buf;
}

std::uint32_t ChatGenerator::pick_stream() {
  if (sequence_ < spike_until_ && uniform() < (config_.spike_factor - 1) / config_.spike_factor) return spiking_stream_;
  if (sequence_ >= spike_until_ && uniform() < config_.spike_probability) {
    spiking_stream_ = static_cast<std::uint32_t>(rand() % config_.streams);
    spike_until_ = sequence_ + config_.spike_events;
  }
  // Skewed popularity (low stream numbers get more chat), half of the chat spread evenly, so
  // that no single stream dominates a partition.
  const double u = uniform();
  const double x = uniform() < 0.5 ? u : u * std::sqrt(u);
  return static_cast<std::uint32_t>(static_cast<double>(config_.streams) * x) % config_.streams;
}

void ChatGenerator::next_chat(TimestampMs now, std::string& key, std::string& value) {
  ++sequence_;
  const std::uint32_t stream = pick_stream();
  key = stream_id(stream);
  value.clear();
  value += "{\"stream_id\":\"";
  value += key;
  value += "\",\"user_id\":\"user-";
  value += std::to_string(rand() % config_.chatters_per_stream);
  value += "\",\"message\":\"";
  const int words = 2 + static_cast<int>(rand() % 7);
  for (int w = 0; w < words; ++w) {
    if (w) value += ' ';
    const double u = uniform();
    if (u < 0.15)
      value += kPositive[rand() % kPositive.size()];
    else if (u < 0.22)
      value += kNegative[rand() % kNegative.size()];
    else
      value += kNeutral[rand() % kNeutral.size()];
  }
  value += "\",\"emotes\":[";
  const int emotes = static_cast<int>(rand() % 4);  // 0-3, sometimes repeated
  for (int e = 0; e < emotes; ++e) {
    if (e) value += ',';
    value += '"';
    value += kEmotes[static_cast<std::size_t>(std::min<double>(kEmotes.size() - 1, uniform() * uniform() * kEmotes.size()))];
    value += '"';
  }
  value += "],\"timestamp\":\"";
  format_rfc3339(now, value);
  value += "\"}";
}

bool ChatGenerator::next_event(TimestampMs now, std::string& key, std::string& value) {
  if (next_viewer_due_ == kNoTimestamp) next_viewer_due_ = now;
  if (now >= next_viewer_due_) {
    viewer(viewer_cursor_, now, key, value);
    viewer_cursor_ = (viewer_cursor_ + 1) % config_.streams;
    next_viewer_due_ += std::max<TimestampMs>(1, config_.viewer_interval_ms / config_.streams);
    if (next_viewer_due_ < now - config_.viewer_interval_ms) next_viewer_due_ = now;  // fell behind: skip, do not flood
    return true;
  }
  next_chat(now, key, value);
  return false;
}

void ChatGenerator::viewer(std::uint32_t stream, TimestampMs now, std::string& key, std::string& value) {
  key = stream_id(stream);
  // A slow daily-ish curve per stream plus noise.
  const double base = base_viewers_[stream % base_viewers_.size()];
  const double phase = static_cast<double>(now % 3'600'000) / 3'600'000.0 * 6.283185307179586 + stream;
  const auto count = static_cast<std::int64_t>(base * (1.0 + 0.3 * std::sin(phase)) * (0.95 + 0.1 * uniform()));
  value.clear();
  value += "{\"stream_id\":\"";
  value += key;
  value += "\",\"viewer_count\":";
  value += std::to_string(count);
  value += ",\"timestamp\":\"";
  format_rfc3339(now, value);
  value += "\"}";
}

}  // namespace sw::telemetra
