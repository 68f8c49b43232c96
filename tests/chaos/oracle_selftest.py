#!/usr/bin/env python3
"""Self-test of the chaos suite's oracles and comparison (no broker needed).

- The crash-monitor oracle on the hand-made input of tests/integration/crash_monitor_test.cpp
  (out of order, late, mixed case, non-qualifying and malformed records) gives exactly that
  test's hand-computed alerts.
- Hopping-window assignment, RFC 3339 parsing and formatting, llround.
- The render-farm and Telemetra oracles on tiny inputs with values worked out by hand.
- compare() counts matched, lost, wrong and duplicates, and the p95 and float tolerances hold
  exactly at their documented bounds and no further.
- Every pipeline of the suite builds from the pipeline catalogue (`streamwright list --json`, when
  $SW_BIN_DIR or build/bin has it): its outputs are the ones the suite has key fields for.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import oracles  # noqa: E402
import pipelines  # noqa: E402

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL " + what)


BASE = harness.parse_rfc3339("2026-01-01T10:00:00Z")


def event(user, severity, content, second):
    return json.dumps({"user_id": user, "severity": severity, "content": content,
                       "timestamp": harness.fmt_rfc3339(BASE + second * 1000), "host": "node-1"})


def crash_monitor_fixed_input():
    recs = []

    def send(p, k, v):
        recs.append((p, len(recs), k, v))
    for s in (1, 2, 3, 4):
        send(0, "A", event("A", "High", "app crash", s))
    for s in (61, 62, 63, 64, 65):
        send(0, "G", event("G", "Critical", "Crash!", s))
    send(1, "B", event("B", "High", "crash in checkout", 5))
    send(1, "B", event("B", "High", "crash in checkout", 7))
    send(1, "B", event("B", "Critical", "crash again", 2))
    send(1, "C", event("C", "High", "crash", 1))
    send(1, "C", event("C", "Low", "crash", 2))
    send(1, "C", event("C", "Critical", "all good", 3))
    send(1, "C", event("C", "Medium", "crash", 4))
    send(1, "E", event("E", "High", "crash", 3))
    send(1, "E", event("E", "High", "crash", 4))
    send(1, "X", event("X", "High", "crash", 300))
    send(1, "E", event("E", "High", "crash", 5))
    send(2, "D", event("D", "High", "CrAsH report", 1))
    send(2, "D", event("D", "Critical", "it crashed", 2))
    send(2, "D", event("D", "High", "CRASH", 3))
    send(2, "F", event("F", "High", "crash", 3))
    send(3, "F", event("F", "High", "crash", 4))
    send(3, "Y", event("Y", "High", "crash", 120))
    send(2, "F", event("F", "High", "crash", 5))
    send(0, "m0", "not json")
    send(0, "m1", '{"user_id":"m1","severity":"High","content":"crash"}')
    send(1, "m2", '{"user_id":"m2","severity":"High","content":"crash","timestamp":"2026-02-30T00:00:00Z"}')
    send(2, "m3", '{"user_id":42,"severity":"High","content":"crash","timestamp":"2026-01-01T10:00:01Z"}')
    send(3, "m5", '{"user_id":"m5","severity":"High","content":"crash","timestamp":"2026-01-01T10:00:01Z"')
    return sorted(recs, key=lambda r: (r[0], r[1]))


def main():
    out = oracles.crash_monitor_oracle({"logs": crash_monitor_fixed_input()},
                                     {"window_ms": 10000, "grace_ms": 30000, "threshold": 2})["crash-alerts"]
    got = sorted((k[0], k[1], v["crash_count"]) for k, v in out.items())
    want = [("A", "2026-01-01T10:00:00Z", 4), ("B", "2026-01-01T10:00:00Z", 3), ("D", "2026-01-01T10:00:00Z", 3),
            ("F", "2026-01-01T10:00:00Z", 3), ("G", "2026-01-01T10:01:00Z", 5)]
    check(got == want, f"crash-monitor oracle on the integration test's fixed input: {got}")
    check(out[("A", "2026-01-01T10:00:00Z")]["window_end"] == "2026-01-01T10:00:10Z", "window_end")

    check(oracles.window_starts(12000, 10000, 5000) == [10000, 5000], "hopping windows of t=12 s")
    check(oracles.window_starts(10000, 10000, 5000) == [10000, 5000], "hopping windows at a boundary")
    check(oracles.window_starts(10000, 10000, 10000) == [10000], "tumbling window at a boundary")
    check(harness.parse_rfc3339("2026-01-01T10:15:30.123+01:00") == BASE + 15 * 60000 + 30123 - 3600000, "offset")
    check(harness.parse_rfc3339("2026-02-30T00:00:00Z") is None, "bad date")
    check(harness.fmt_rfc3339(BASE + 5) == "2026-01-01T10:00:00.005Z" and harness.fmt_rfc3339(BASE) == "2026-01-01T10:00:00Z",
          "formatting")
    check(oracles.llround(2.5) == 3 and oracles.llround(-2.5) == -3 and oracles.llround(2.4999) == 2, "llround")

    # Render farm: two frames of scene-0000 (budget 2500 ms) on two nodes, one late frame.
    def frame(scene, node, ms, gpu, second, status="ok"):
        return json.dumps({"frame_id": "f", "scene_id": scene, "node_id": node, "render_time_ms": ms,
                           "gpu_utilization": gpu, "timestamp": harness.fmt_rfc3339(BASE + second * 1000),
                           "status": status})
    rf = pipelines.RenderFarm.cfg
    res = oracles.render_farm_oracle({"render-events": [
        (0, 0, "k", frame("scene-0000", "node-000", 3000.0004, 0.5, 1)),
        (0, 1, "k", frame("scene-0000", "node-001", 1000, 0.25, 2, "failed")),
        (0, 2, "k", frame("scene-0000", "node-001", 1000, 0.25, 40)),
        (0, 3, "k", frame("scene-0000", "node-001", 99, 0.25, 3)),  # late: 5 s + 6 s grace <= 40 s
    ]}, {"window_ms": 5000, "advance_ms": 5000, "grace_ms": 6000, "scenes": rf["scenes"], "nodes": rf["nodes"]})
    s = res["render-metrics"][("scene-0000", "2026-01-01T10:00:00Z")]
    check(s["frames"] == 2 and s["failed_frames"] == 1 and s["over_budget_frames"] == 1 and s["nodes"] == 2 and
          s["avg_render_time_ms"] == 2000.0 and s["max_render_time_ms"] == 3000.0 and
          s["avg_gpu_utilization"] == 0.375 and s["project"] == "aurora" and s["p95_render_time_ms"] == 3000.0,
          f"render-farm scene metrics {s}")
    n = res["node-metrics"][("node-001", "2026-01-01T10:00:00Z")]
    check(n["frames"] == 1 and n["failed_frames"] == 1 and n["gpu_model"] == "NVIDIA L40S", f"node metrics {n}")

    # Telemetra: sentiment, distinct chatters, emotes, viewers, hopping windows.
    def chat(user, msg, second, emotes=None):
        return json.dumps({"stream_id": "s1", "user_id": user, "message": msg, "emotes": emotes,
                           "timestamp": harness.fmt_rfc3339(BASE + second * 1000)})
    tm = oracles.telemetra_oracle({"chat-events": [
        (0, 0, "s1", chat("u1", "love this GG", 6, ["Kappa", "LUL"])),
        (0, 1, "s1", chat("u1", "this is terrible", 7, ["LUL"])),
        (0, 2, "s1", chat("u2", "hello", 8)),
    ], "viewer-events": [(0, 0, "s1", json.dumps({"stream_id": "s1", "viewer_count": 10,
                                                   "timestamp": harness.fmt_rfc3339(BASE + 9000)}))]},
        pipelines.Telemetra.cfg)["chat-summary"]
    check(set(tm) == {("s1", "2026-01-01T10:00:00Z"), ("s1", "2026-01-01T10:00:05Z")}, f"telemetra windows {set(tm)}")
    w = tm[("s1", "2026-01-01T10:00:05Z")]
    pos = oracles.read_lexicon(os.path.join(harness.ROOT, "topologies", "data", "lexicon-positive.txt"))
    neg = oracles.read_lexicon(os.path.join(harness.ROOT, "topologies", "data", "lexicon-negative.txt"))
    check("love" in pos and "terrible" in neg, "lexicon words")
    check(w["chat_count"] == 3 and w["unique_chatters"] == 2 and w["top_emotes"] == ["LUL", "Kappa"] and
          w["avg_viewers"] == 10.0 and w["positive_count"] == 1 and w["negative_count"] == 1 and
          w["chat_rate"] == 0.3 and w["z_score"] is None, f"telemetra summary {w}")

    # compare(): matched, lost, wrong, duplicates and the tolerances.
    exp = {("a", 1): {"v": 1}, ("b", 1): {"v": 2}, ("c", 1): {"v": 3}}
    r = oracles.compare(exp, [(("a", 1), {"v": 1}), (("a", 1), {"v": 1}), (("b", 1), {"v": 9}), (("z", 1), {"v": 1})], None)
    check((r["matched"], r["lost"], r["wrong"], r["duplicates"]) == (1, 1, 2, 1), f"compare counts {r}")
    e = {"p95_render_time_ms": 1000.0}
    check(oracles.same(e, {"p95_render_time_ms": 1010.0}, p95=True), "p95 at +1%")
    check(not oracles.same(e, {"p95_render_time_ms": 1010.6}, p95=True), "p95 beyond 1%")
    check(not oracles.same(e, {"p95_render_time_ms": 1010.0}), "p95 exact without the tolerance")
    check(oracles.same({"x": 0.1 + 0.2}, {"x": 0.3}, float_fields=("x",)) and
          not oracles.same({"x": 0.3}, {"x": 0.3000001}, float_fields=("x",)), "float tolerance 1e-9")
    check(not oracles.same({"x": None}, {"x": 0.0}, float_fields=("x",)), "null is not 0")

    # The suite's pipelines against the pipeline catalogue (when the binaries are built).
    if os.access(os.path.join(harness.BIN, "streamwright"), os.X_OK):
        for problem in pipelines.catalogue_check():
            check(False, f"catalogue: {problem}")
    else:
        print(f"catalogue check skipped: no {harness.BIN}/streamwright")
    print("oracle self-test: " + ("ok" if not failures else f"{len(failures)} failure(s)"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
