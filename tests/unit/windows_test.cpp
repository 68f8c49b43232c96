#include <gtest/gtest.h>

#include <chrono>
#include <ostream>
#include <stdexcept>
#include <vector>

#include "window/windows.h"

namespace sw {

// Readable failure output for Window (found by ADL; internal linkage keeps it local to this file).
[[maybe_unused]] static void PrintTo(const Window& w, std::ostream* os) {
  *os << "[" << w.start << ", " << w.end << ")";
}

namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

std::vector<Window> windows_of(const TimeWindows& w, TimestampMs ts) {
  std::vector<Window> out;
  w.for_each_window(ts, [&](const Window& win) { out.push_back(win); });
  return out;
}

// ---------------------------------------------------------------------------------------------
// tumbling

TEST(TumblingWindows, Accessors) {
  const auto w = TimeWindows::tumbling(seconds(10), seconds(30));
  EXPECT_TRUE(w.is_tumbling());
  EXPECT_EQ(w.size_ms(), 10'000);
  EXPECT_EQ(w.advance_ms(), 10'000);
  EXPECT_EQ(w.grace_ms(), 30'000);
}

TEST(TumblingWindows, OneWindowContainingTs) {
  const auto w = TimeWindows::tumbling(seconds(10), milliseconds(0));
  EXPECT_EQ(windows_of(w, 12'345), (std::vector<Window>{{10'000, 20'000}}));
  EXPECT_EQ(windows_of(w, 0), (std::vector<Window>{{0, 10'000}}));
  EXPECT_EQ(windows_of(w, 1'767'262'530'123), (std::vector<Window>{{1'767'262'530'000, 1'767'262'540'000}}));
}

TEST(TumblingWindows, StartIsInclusiveEndIsExclusive) {
  const auto w = TimeWindows::tumbling(seconds(10), milliseconds(0));
  EXPECT_EQ(windows_of(w, 10'000), (std::vector<Window>{{10'000, 20'000}}));
  EXPECT_EQ(windows_of(w, 19'999), (std::vector<Window>{{10'000, 20'000}}));
  EXPECT_EQ(windows_of(w, 20'000), (std::vector<Window>{{20'000, 30'000}}));
  EXPECT_EQ(windows_of(w, 9'999), (std::vector<Window>{{0, 10'000}}));
}

TEST(TumblingWindows, NegativeTimestampsUseFloorDivision) {
  const auto w = TimeWindows::tumbling(seconds(10), milliseconds(0));
  EXPECT_EQ(windows_of(w, -1), (std::vector<Window>{{-10'000, 0}}));
  EXPECT_EQ(windows_of(w, -10'000), (std::vector<Window>{{-10'000, 0}}));
  EXPECT_EQ(windows_of(w, -10'001), (std::vector<Window>{{-20'000, -10'000}}));
  EXPECT_EQ(windows_of(w, -9'999), (std::vector<Window>{{-10'000, 0}}));
}

TEST(TumblingWindows, SizeOfOneMillisecond) {
  const auto w = TimeWindows::tumbling(milliseconds(1), milliseconds(0));
  EXPECT_EQ(windows_of(w, 7), (std::vector<Window>{{7, 8}}));
  EXPECT_EQ(windows_of(w, -7), (std::vector<Window>{{-7, -6}}));
}

// ---------------------------------------------------------------------------------------------
// hopping

TEST(HoppingWindows, Accessors) {
  const auto w = TimeWindows::hopping(minutes(5), minutes(1), seconds(10));
  EXPECT_FALSE(w.is_tumbling());
  EXPECT_EQ(w.size_ms(), 300'000);
  EXPECT_EQ(w.advance_ms(), 60'000);
  EXPECT_EQ(w.grace_ms(), 10'000);
}

TEST(HoppingWindows, FiveWindowsEarliestFirstEachContainingTs) {
  const auto w = TimeWindows::hopping(minutes(5), minutes(1), milliseconds(0));
  for (TimestampMs ts : {TimestampMs{0}, TimestampMs{1}, TimestampMs{59'999}, TimestampMs{60'000},
                         TimestampMs{1'000'000}, TimestampMs{1'767'262'530'123}, TimestampMs{-1},
                         TimestampMs{-60'000}, TimestampMs{-123'456}}) {
    SCOPED_TRACE("ts=" + std::to_string(ts));
    const auto ws = windows_of(w, ts);
    ASSERT_EQ(ws.size(), 5u);
    for (std::size_t i = 0; i < ws.size(); ++i) {
      EXPECT_EQ(ws[i].end - ws[i].start, 300'000);
      EXPECT_LE(ws[i].start, ts);
      EXPECT_LT(ts, ws[i].end);
      EXPECT_EQ(((ws[i].start % 60'000) + 60'000) % 60'000, 0) << "start not aligned to advance";
      if (i > 0) {
        EXPECT_EQ(ws[i].start, ws[i - 1].start + 60'000);
      }
    }
  }
}

TEST(HoppingWindows, ExactListForTs) {
  const auto w = TimeWindows::hopping(minutes(5), minutes(1), milliseconds(0));
  // ts = 7m30s: windows start at 3m, 4m, 5m, 6m, 7m.
  EXPECT_EQ(windows_of(w, 450'000), (std::vector<Window>{{180'000, 480'000},
                                                         {240'000, 540'000},
                                                         {300'000, 600'000},
                                                         {360'000, 660'000},
                                                         {420'000, 720'000}}));
  // ts exactly on a boundary: the window starting at ts is the last one, the one ending at ts
  // is not included.
  EXPECT_EQ(windows_of(w, 420'000), (std::vector<Window>{{180'000, 480'000},
                                                         {240'000, 540'000},
                                                         {300'000, 600'000},
                                                         {360'000, 660'000},
                                                         {420'000, 720'000}}));
  // Negative: ts = -30s: windows start at -5m .. -1m.
  EXPECT_EQ(windows_of(w, -30'000), (std::vector<Window>{{-300'000, 0},
                                                         {-240'000, 60'000},
                                                         {-180'000, 120'000},
                                                         {-120'000, 180'000},
                                                         {-60'000, 240'000}}));
}

TEST(HoppingWindows, SizeNotAMultipleOfAdvance) {
  const auto w = TimeWindows::hopping(milliseconds(10), milliseconds(3), milliseconds(0));
  // Windows [s, s+10) with s a multiple of 3 that contain 10: s = 3, 6, 9.
  EXPECT_EQ(windows_of(w, 10), (std::vector<Window>{{3, 13}, {6, 16}, {9, 19}}));
  // Containing 11: s = 3, 6, 9 (s=0 ends at 10; s=12 starts after).
  EXPECT_EQ(windows_of(w, 11), (std::vector<Window>{{3, 13}, {6, 16}, {9, 19}}));
  // Containing 12: s = 3, 6, 9, 12.
  EXPECT_EQ(windows_of(w, 12), (std::vector<Window>{{3, 13}, {6, 16}, {9, 19}, {12, 22}}));
  // Brute force over a range, negative included.
  for (TimestampMs ts = -40; ts <= 40; ++ts) {
    SCOPED_TRACE("ts=" + std::to_string(ts));
    std::vector<Window> expected;
    for (TimestampMs s = -60; s <= 60; s += 3)
      if (s <= ts && ts < s + 10) expected.push_back({s, s + 10});
    EXPECT_EQ(windows_of(w, ts), expected);
  }
}

// ---------------------------------------------------------------------------------------------
// closing and lateness

TEST(WindowClosing, ClosedWhenStreamTimeReachesEndPlusGrace) {
  const auto w = TimeWindows::tumbling(seconds(10), seconds(5));
  const Window win{10'000, 20'000};
  EXPECT_FALSE(w.is_closed(win, 0));
  EXPECT_FALSE(w.is_closed(win, 20'000));
  EXPECT_FALSE(w.is_closed(win, 24'999));
  EXPECT_TRUE(w.is_closed(win, 25'000));
  EXPECT_TRUE(w.is_closed(win, 1'000'000));
}

TEST(WindowClosing, ZeroGraceClosesAtEnd) {
  const auto w = TimeWindows::tumbling(seconds(10), milliseconds(0));
  EXPECT_FALSE(w.is_closed({10'000, 20'000}, 19'999));
  EXPECT_TRUE(w.is_closed({10'000, 20'000}, 20'000));
}

TEST(WindowClosing, NoStreamTimeClosesNothing) {
  const auto w = TimeWindows::tumbling(seconds(10), milliseconds(0));
  EXPECT_FALSE(w.is_closed({-20'000, -10'000}, kNoTimestamp));
  EXPECT_FALSE(w.is_late(-15'000, kNoTimestamp));
}

TEST(WindowLateness, TumblingLateOnlyWhenItsWindowIsClosed) {
  const auto w = TimeWindows::tumbling(seconds(10), seconds(5));
  // ts=12s is in [10s, 20s), which closes at 25s.
  EXPECT_FALSE(w.is_late(12'000, 24'999));
  EXPECT_TRUE(w.is_late(12'000, 25'000));
  // ts exactly at the end belongs to the next window, which is still open.
  EXPECT_FALSE(w.is_late(20'000, 25'000));
  EXPECT_TRUE(w.is_late(19'999, 25'000));
  // Negative timestamps: -1 is in [-10s, 0), closing at 5s.
  EXPECT_FALSE(w.is_late(-1, 4'999));
  EXPECT_TRUE(w.is_late(-1, 5'000));
}

TEST(WindowLateness, HoppingLateOnlyWhenAllItsWindowsAreClosed) {
  const auto w = TimeWindows::hopping(minutes(5), minutes(1), seconds(10));
  const TimestampMs ts = 450'000;  // last window containing it: [7m, 12m)
  const TimestampMs last_close = 720'000 + 10'000;
  // Earlier windows are closed but the last one is not: not late.
  EXPECT_TRUE(w.is_closed({180'000, 480'000}, last_close - 1));
  EXPECT_FALSE(w.is_late(ts, last_close - 1));
  EXPECT_TRUE(w.is_late(ts, last_close));
}

TEST(WindowLateness, IsLateAgreesWithForEachWindow) {
  const auto w = TimeWindows::hopping(milliseconds(10), milliseconds(3), milliseconds(2));
  for (TimestampMs ts = -30; ts <= 30; ++ts) {
    for (TimestampMs st = -30; st <= 60; st += 1) {
      bool all_closed = true;
      w.for_each_window(ts, [&](const Window& win) { all_closed = all_closed && w.is_closed(win, st); });
      ASSERT_EQ(w.is_late(ts, st), all_closed) << "ts=" << ts << " stream_time=" << st;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// validation and describe()

TEST(WindowValidation, RejectsBadParameters) {
  EXPECT_THROW(TimeWindows::tumbling(milliseconds(0), milliseconds(0)), std::invalid_argument);
  EXPECT_THROW(TimeWindows::tumbling(milliseconds(-1), milliseconds(0)), std::invalid_argument);
  EXPECT_THROW(TimeWindows::hopping(milliseconds(0), milliseconds(0), milliseconds(0)), std::invalid_argument);
  EXPECT_THROW(TimeWindows::hopping(seconds(10), milliseconds(0), milliseconds(0)), std::invalid_argument);
  EXPECT_THROW(TimeWindows::hopping(seconds(10), milliseconds(-1), milliseconds(0)), std::invalid_argument);
  EXPECT_THROW(TimeWindows::hopping(seconds(10), milliseconds(10'001), milliseconds(0)), std::invalid_argument);
  EXPECT_THROW(TimeWindows::tumbling(seconds(10), milliseconds(-1)), std::invalid_argument);
  EXPECT_THROW(TimeWindows::hopping(seconds(10), seconds(1), milliseconds(-1)), std::invalid_argument);
}

TEST(WindowValidation, AcceptsBoundaryParameters) {
  EXPECT_NO_THROW(TimeWindows::tumbling(milliseconds(1), milliseconds(0)));
  EXPECT_NO_THROW(TimeWindows::hopping(seconds(10), seconds(10), milliseconds(0)));
  EXPECT_NO_THROW(TimeWindows::hopping(seconds(10), milliseconds(1), milliseconds(0)));
  // advance == size is tumbling, whichever factory made it.
  EXPECT_TRUE(TimeWindows::hopping(seconds(10), seconds(10), milliseconds(0)).is_tumbling());
}

TEST(WindowValidation, ErrorMessagesNameTheParameter) {
  try {
    (void)TimeWindows::tumbling(milliseconds(0), milliseconds(0));
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("size"), std::string::npos) << e.what();
  }
  try {
    (void)TimeWindows::hopping(seconds(1), seconds(2), milliseconds(0));
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("advance"), std::string::npos) << e.what();
  }
  try {
    (void)TimeWindows::tumbling(seconds(1), milliseconds(-5));
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("grace"), std::string::npos) << e.what();
  }
}

TEST(WindowDescribe, Tumbling) {
  EXPECT_EQ(TimeWindows::tumbling(seconds(10), seconds(30)).describe(), "tumbling(size=10000ms, grace=30000ms)");
  EXPECT_EQ(TimeWindows::tumbling(milliseconds(1), milliseconds(0)).describe(), "tumbling(size=1ms, grace=0ms)");
}

TEST(WindowDescribe, Hopping) {
  EXPECT_EQ(TimeWindows::hopping(minutes(5), minutes(1), seconds(10)).describe(),
            "hopping(size=300000ms, advance=60000ms, grace=10000ms)");
}

}  // namespace
}  // namespace sw
