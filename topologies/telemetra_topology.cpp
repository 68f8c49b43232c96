// The Telemetra topology (parsers, serdes, lexicon and summaries are in telemetra.cpp).
#include <memory>
#include <stdexcept>

#include "topologies/telemetra.h"
#include "topology/dsl_ext.h"

namespace sw::telemetra {

// ---------------------------------------------------------------- topology

Topology build(const Config& c, const std::string& application_id) {
  if (!(c.anomaly_threshold == c.anomaly_threshold)) throw std::invalid_argument("anomaly threshold is not a number");
  if (c.history_windows == 0) throw std::invalid_argument("history windows must be positive");
  if (c.min_history_windows > c.history_windows)
    throw std::invalid_argument("min history windows must not exceed history windows");
  if (c.top_emotes == 0) throw std::invalid_argument("top emotes must be positive");
  if (c.chatter_chunk == 0) throw std::invalid_argument("chatter chunk must be positive");
  for (const auto* t : {&c.chat_topic, &c.viewer_topic, &c.chat_dead_letter_topic, &c.viewer_dead_letter_topic,
                        &c.summary_topic, &c.moments_topic})
    if (t->empty()) throw std::invalid_argument("topic names must not be empty");
  // Validates size, advance and grace as hopping windows.
  const auto windows = TimeWindows::hopping(c.window_size, c.window_advance, c.grace);
  if (windows.size_ms() % windows.advance_ms() != 0)
    throw std::invalid_argument("window size must be a multiple of the window advance (" + windows.describe() + ")");
  const std::int64_t slices_per_window = windows.size_ms() / windows.advance_ms();
  if (slices_per_window > 64)
    throw std::invalid_argument("a window may span at most 64 advances (" + windows.describe() + ")");
  // Records are aggregated per slice (one advance); the history combines slices into windows.
  const auto slices = TimeWindows::tumbling(c.window_advance, c.grace);

  StreamsBuilder builder(application_id);
  const auto event_time = [](const std::string_view&, const InputEvent& e, const InputRecord&) { return e.timestamp; };
  Consumed<std::string_view, InputEvent> chat{
      serdes::string_view(),
      {[](const InputEvent&, std::string&) {}, [zone = c.default_time_zone](std::string_view in, InputEvent& e, std::string& err) {
         return parse_chat_event(in, e, err, &zone);
       }},
      event_time, c.chat_dead_letter_topic, c.max_record_bytes};
  Consumed<std::string_view, InputEvent> viewers{
      serdes::string_view(),
      {[](const InputEvent&, std::string&) {}, [zone = c.default_time_zone](std::string_view in, InputEvent& e, std::string& err) {
         return parse_viewer_event(in, e, err, &zone);
       }},
      event_time, c.viewer_dead_letter_topic, c.max_record_bytes};

  auto lexicon = std::make_shared<const Lexicon>(c.lexicon);
  const auto threshold = c.anomaly_threshold;
  const auto history_windows = c.history_windows;
  const auto min_history = c.min_history_windows;
  const auto top_n = c.top_emotes;

  auto windowed =
      stream_topics<std::string_view, InputEvent>(builder, {{c.chat_topic, chat}, {c.viewer_topic, viewers}}, "parse")
          .map<std::string_view, Contribution>(
              [lexicon](const std::string_view&, const InputEvent& e) {
                std::pair<std::string_view, Contribution> kv;
                kv.first = e.stream_id;
                kv.second.chat = e.chat;
                if (e.chat) {
                  kv.second.user_id = e.user_id;
                  kv.second.sentiment = Lexicon::score(lexicon->match(e.message));
                  kv.second.emotes = e.emotes;
                } else {
                  kv.second.viewer_count = e.viewer_count;
                }
                return kv;
              },
              "score-sentiment")
          .group_by<std::string>([](const std::string_view& stream, const Contribution&) { return std::string(stream); },
                                 Grouped<std::string, Contribution>{"events-by-stream", "aggregate", serdes::string(),
                                                                    contribution_serde()})
          .window_by(slices);

  auto summaries =
      aggregate_with_history<Summary>(
          windowed, std::function<WindowState()>([] { return WindowState{}; }),
          std::function<void(const std::string&, const Contribution&, WindowState&)>(
              [](const std::string&, const Contribution& e, WindowState& s) {
                if (!e.chat) {
                  s.viewer_sum += e.viewer_count;
                  ++s.viewer_events;
                  return;
                }
                ++s.chat_count;
                s.sentiment_sum += e.sentiment;
                if (e.sentiment > 0) ++s.positive_count;
                if (e.sentiment < 0) ++s.negative_count;
                s.add_chatter(e.user_id);
                for (auto em : e.emotes) {
                  auto it = s.emotes.find(em);
                  if (it == s.emotes.end())
                    s.emotes.emplace(std::string(em), 1);
                  else
                    ++it->second;
                }
              }),
          [=](const std::string& stream, const Window& slice, const WindowState& s, History& h, Summary& out) {
            out.stream_id = stream;
            combine_slice(slice, slices_per_window, top_n, s, h, out);
            out.z = z_score(out.chat_count, h.counts, min_history);
            out.is_anomaly = out.z.z && *out.z.z > threshold;
            h.counts.push_back(out.chat_count);
            if (h.counts.size() > history_windows)
              h.counts.erase(h.counts.begin(), h.counts.end() - static_cast<std::ptrdiff_t>(history_windows));
          },
          MaterializedWithHistory<std::string, WindowState, History>{
              "stream-slices", serdes::string(), window_state_serde(), history_serde(),
              window_state_parts(c.chatter_chunk), c.max_cached_windows, c.max_cached_windows,
              static_cast<std::size_t>(slices_per_window - 1)})
          .to_stream();

  const Produced<std::string, std::string> json_out{serdes::string(), serdes::string()};
  summaries
      .map<std::string, std::string>(
          [](const Windowed<std::string>& k, const Summary& s) {
            std::pair<std::string, std::string> kv(k.key, {});
            summary_json(kv.second, s);
            return kv;
          },
          "summary-json")
      .to(c.summary_topic, json_out);
  summaries.filter([](const Windowed<std::string>&, const Summary& s) { return s.is_anomaly; }, "anomalies")
      .map<std::string, std::string>(
          [](const Windowed<std::string>& k, const Summary& s) {
            std::pair<std::string, std::string> kv(k.key, {});
            moment_json(kv.second, s);
            return kv;
          },
          "moment-json")
      .to(c.moments_topic, json_out);
  return builder.build();
}

}  // namespace sw::telemetra
