#include "services/loadgen/run.h"

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "common/time.h"
#include "kafka/client.h"

namespace sw::loadgen {

namespace {

using Clock = std::chrono::steady_clock;

struct Pacer {
  double rate;  // records per second; 0 = as fast as possible
  Clock::time_point start = Clock::now();
  // How many records may have been sent by now.
  std::uint64_t allowed() const {
    if (rate <= 0) return UINT64_MAX;
    return static_cast<std::uint64_t>(std::chrono::duration<double>(Clock::now() - start).count() * rate) + 1;
  }
};

// The progress line ("sent N (R/s now, A/s average, ...)"; benchmarks read it), every second
// unless quiet, and at the end.
class Progress {
 public:
  Progress(const Pacer& pacer, bool quiet) : pacer_(pacer), quiet_(quiet), last_(Clock::now()) {}
  void maybe(std::uint64_t sent, std::uint64_t errors, const std::string& extra = {}) {
    if (Clock::now() - last_ >= std::chrono::seconds(1)) print(false, sent, errors, extra);
  }
  void print(bool final, std::uint64_t sent, std::uint64_t errors, const std::string& extra = {}) {
    const auto now = Clock::now();
    const double dt = std::chrono::duration<double>(now - last_).count();
    const double total = std::chrono::duration<double>(now - pacer_.start).count();
    if (!quiet_ || final)
      std::fprintf(stderr, "loadgen: %.1fs sent %llu (%.0f/s now, %.0f/s average, target %s), %llu errors%s\n", total,
                   static_cast<unsigned long long>(sent), dt > 0 ? static_cast<double>(sent - last_sent_) / dt : 0.0,
                   total > 0 ? static_cast<double>(sent) / total : 0.0,
                   pacer_.rate > 0 ? std::to_string(static_cast<long long>(pacer_.rate)).c_str() : "max",
                   static_cast<unsigned long long>(errors), extra.c_str());
    last_ = now;
    last_sent_ = sent;
  }

 private:
  const Pacer& pacer_;
  bool quiet_;
  Clock::time_point last_;
  std::uint64_t last_sent_ = 0;
};

}  // namespace

int run_generator(const Settings& s, const volatile std::sig_atomic_t& stop) {
  try {
    sw::kafka::Producer producer(s.kafka);
    const bool chat = s.mode == "telemetra";
    const bool render = s.mode == "render-farm";
    const bool sales = s.mode == "join-stats";
    const auto topic = producer.topic(s.topic);
    std::unique_ptr<sw::telemetra::ChatGenerator> chat_gen;
    sw::kafka::Producer::TopicId viewer_topic = topic;
    if (chat) {
      chat_gen = std::make_unique<sw::telemetra::ChatGenerator>(s.chat);
      viewer_topic = producer.topic(s.viewer_topic);
    }
    sw::crash_monitor::LogGenerator gen(s.logs);
    sw::render_farm::RenderEventGenerator render_gen(s.frames);
    sw::join_stats::SalesEventGenerator sales_gen(s.sales);
    if (!s.quiet) {
      std::fprintf(stderr, "loadgen: %s events to %s, %s records/s from this process, instance %08x (%s)\n",
                   s.mode.c_str(), s.topic.c_str(),
                   s.rate > 0 ? std::to_string(static_cast<long long>(s.rate)).c_str() : "as many",
                   static_cast<unsigned>(s.instance), s.instance_origin.c_str());
    }

    Pacer pacer{s.rate};
    Progress progress(pacer, s.quiet);
    std::uint64_t sent = 0, errors = 0;
    const auto deadline = s.duration.count() > 0 ? Clock::now() + s.duration : Clock::time_point::max();
    std::string key, value;
    const auto span_ms = s.event_time_span.count();
    const sw::TimestampMs span_start = sw::wall_clock_ms() - span_ms - s.event_time_end.count();
    const double span_step = span_ms > 0 ? static_cast<double>(span_ms) / static_cast<double>(s.count) : 0.0;

    while (!stop && (s.count == 0 || sent < s.count) && Clock::now() < deadline) {
      const auto allowed = std::min<std::uint64_t>(pacer.allowed(), s.count ? s.count : UINT64_MAX);
      if (sent >= allowed) {
        producer.poll_events(std::chrono::milliseconds(1));
      } else {
        const auto wall_ms = sw::wall_clock_ms();
        const std::uint64_t burst = std::min<std::uint64_t>(allowed - sent, 10000);
        for (std::uint64_t i = 0; i < burst; ++i) {
          const sw::TimestampMs now_ms =
              span_ms > 0 ? span_start + static_cast<sw::TimestampMs>(static_cast<double>(sent) * span_step) : wall_ms;
          if (chat_gen) {
            if (chat_gen->next_event(now_ms, key, value)) {
              if (producer.send(viewer_topic, sw::kafka::kAnyPartition, key, value, 0)) ++errors;
              continue;  // viewer counts are extra: the rate counts chat events
            }
          } else if (render) {
            render_gen.next(now_ms, key, value);
          } else if (sales) {
            sales_gen.next(now_ms, key, value);
          } else {
            gen.next(now_ms, key, value);
          }
          if (producer.send(topic, sw::kafka::kAnyPartition, key, value, 0)) ++errors;
          ++sent;
        }
        producer.poll_events(std::chrono::milliseconds(0));
      }
      progress.maybe(sent, errors);
    }
    if (auto ec = producer.flush(std::chrono::seconds(60))) {
      std::cerr << "streamwright-loadgen: flush failed: " << ec.message() << "\n";
      return 1;
    }
    progress.print(true, sent, errors);
    return errors ? 1 : 0;
  } catch (const std::exception& e) {
    std::cerr << "streamwright-loadgen: " << e.what() << "\n";
    return 1;
  }
}

int run_replay(const Settings& s, const volatile std::sig_atomic_t& stop) {
  const auto& path = s.replay->path;
  std::uint64_t sent = 0, errors = 0, bad = 0, without_key = 0, sent_in_pass = 0;
  int rc = 0;
  try {
    Replay replay(*s.replay);
    sw::kafka::Producer producer(s.kafka);
    const auto topic = producer.topic(s.topic);
    if (!s.quiet)
      std::fprintf(stderr, "loadgen: replaying %s%s to %s, %s records/s%s\n", path.c_str(),
                   replay.gzip() ? " (gzip)" : "", s.topic.c_str(),
                   s.rate > 0 ? std::to_string(static_cast<long long>(s.rate)).c_str() : "as many",
                   s.loop ? ", looping" : "");
    Pacer pacer{s.rate};
    Progress progress(pacer, s.quiet);
    const auto deadline = s.duration.count() > 0 ? Clock::now() + s.duration : Clock::time_point::max();
    auto extra = [&] {
      std::string e = ", " + std::to_string(bad) + " bad records skipped";
      if (s.loop) e += ", pass " + std::to_string(replay.pass() + 1);
      return e;
    };
    constexpr std::uint64_t kReportedBad = 100;
    ReplayRecord rec;
    bool done = false;
    while (!done && !stop && (s.count == 0 || sent < s.count) && Clock::now() < deadline) {
      const auto allowed = std::min<std::uint64_t>(pacer.allowed(), s.count ? s.count : UINT64_MAX);
      if (sent >= allowed) {
        producer.poll_events(std::chrono::milliseconds(1));
      } else {
        const std::uint64_t burst = std::min<std::uint64_t>(allowed - sent, 10000);
        for (std::uint64_t i = 0; i < burst && !done; ++i) {
          bool more = false;
          try {
            more = replay.next(rec);
          } catch (const std::exception& e) {  // unreadable input: what was sent before stays sent
            std::fprintf(stderr, "streamwright-loadgen: %s\n", e.what());
            rc = 1;
            done = true;
            break;
          }
          if (!more) {  // the end of a pass
            if (!s.loop || sent_in_pass == 0) {
              if (s.loop) std::fprintf(stderr, "loadgen: %s: no record to send; not looping\n", path.c_str());
              done = true;
              break;
            }
            replay.next_pass(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - pacer.start).count());
            sent_in_pass = 0;
            if (replay.pass() == 1 && !replay.options().shift_fields.empty() && replay.time_stats().records == 0)
              std::fprintf(stderr, "loadgen: %s: no timestamps in the --shift-timestamps fields; passes are not moved\n",
                           path.c_str());
            if (!s.quiet && !replay.options().shift_fields.empty())
              std::fprintf(stderr, "loadgen: pass %llu, timestamps moved by %lld ms\n",
                           static_cast<unsigned long long>(replay.pass() + 1), static_cast<long long>(replay.shift_ms()));
            continue;
          }
          if (!rec.ok) {
            ++bad;
            if (s.strict) {
              std::fprintf(stderr, "loadgen: %s: %s: bad record: %s; stopping (--strict)\n", path.c_str(),
                           rec.where().c_str(), rec.problem.c_str());
              rc = 1;
              done = true;
              break;
            }
            if (replay.pass() == 0 && bad <= kReportedBad)
              std::fprintf(stderr, "loadgen: %s: %s: bad record skipped: %s%s\n", path.c_str(), rec.where().c_str(),
                           rec.problem.c_str(),
                           bad == kReportedBad ? " (further bad records are counted, not shown)" : "");
            continue;
          }
          if (!rec.has_key) ++without_key;
          if (producer.send(topic, sw::kafka::kAnyPartition, rec.has_key ? rec.key : std::string_view{}, rec.value, 0)) ++errors;
          ++sent;
          ++sent_in_pass;
        }
        producer.poll_events(std::chrono::milliseconds(0));
      }
      progress.maybe(sent, errors, extra());
    }
    if (auto ec = producer.flush(std::chrono::seconds(60))) {
      std::cerr << "streamwright-loadgen: flush failed: " << ec.message() << "\n";
      return 1;
    }
    progress.print(true, sent, errors, extra());
    const double secs = std::chrono::duration<double>(Clock::now() - pacer.start).count();
    std::fprintf(stderr,
                 "loadgen: replayed %s (%s%s): %llu records in %.1fs (%.0f rows/s), %llu bad records skipped, %llu "
                 "without a key, %llu pass%s\n",
                 path.c_str(), replay.gzip() ? "gzip, " : "", replay.layout().c_str(),
                 static_cast<unsigned long long>(sent), secs, secs > 0 ? static_cast<double>(sent) / secs : 0.0,
                 static_cast<unsigned long long>(bad), static_cast<unsigned long long>(without_key),
                 static_cast<unsigned long long>(replay.pass() + 1), replay.pass() == 0 ? "" : "es");
    return rc ? rc : errors ? 1 : 0;
  } catch (const std::exception& e) {
    std::cerr << "streamwright-loadgen: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace sw::loadgen
