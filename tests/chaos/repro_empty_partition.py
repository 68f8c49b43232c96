#!/usr/bin/env python3
"""Reproduction for tests/chaos/FINDINGS.md #1: records of an input partition that was idle and
empty (never carried a record) when the entry stage last committed, written while the stage was
down, must still count after it restarts on the backlog.

Telemetra: parse and aggregate run; chat events flow on every chat-events partition, viewer
events on viewer-events partitions 1..N-1 only, until partition 0 is reported empty (idle
timeout). parse is SIGKILLed; while it is down, chat and viewer events (now also on viewer-events
partition 0, for stream 'stream-p0') keep coming; parse restarts and reads the backlog. The
windows of 'stream-p0' must have avg_viewers (its viewer events are on time at entry: each is
the newest record of its partition). Exit 0: correct, 1: viewer events of the empty partition
missing (the finding), 2: setup problem.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import oracles  # noqa: E402
import pipelines  # noqa: E402

N = 3


def produce(bootstrap, topic, partition, lines):
    subprocess.run(["kcat", "-P", "-b", bootstrap, "-t", topic, "-p", str(partition), "-K", "\t"],
                   input="".join(l + "\n" for l in lines), text=True, check=True, timeout=60)


def chat(stream, user, ts):
    return f'{stream}\t{{"stream_id":"{stream}","user_id":"{user}","message":"hello","timestamp":"{harness.fmt_rfc3339(ts)}"}}'


def viewer(stream, n, ts):
    return f'{stream}\t{{"stream_id":"{stream}","viewer_count":{n},"timestamp":"{harness.fmt_rfc3339(ts)}"}}'


def main():
    work = tempfile.mkdtemp(prefix="sw-repro-empty-")
    topics = [f"chat-events:{N}", f"viewer-events:{N}", "chat-events-dlq:1", "viewer-events-dlq:1", f"chat-summary:{N}",
              f"moments:{N}", f"telemetra-events-by-stream-repartition:{N}", f"telemetra-stream-slices-changelog:{N}"]
    bin_dir = harness.snapshot_binaries(work, ["streamwright-devbroker", "streamwright-telemetra"])
    broker = harness.DevBroker(work, topics, brokers=1, bin_dir=bin_dir)
    b = broker.bootstrap
    common = ["--bootstrap-servers", b, "--metrics-port", "0", "--idle-timeout", "2s", "--commit-interval", "200ms",
              "--window-size", "10s", "--window-advance", "5s", "--grace", "5s"]
    prog = os.path.join(bin_dir, "streamwright-telemetra")

    def stage(name, i):
        return harness.Proc([prog, "--stage", name, "--state-dir", os.path.join(work, f"state-{name}")] + common,
                          os.path.join(work, f"{name}-{i}.log")).start()

    parse, agg = stage("parse", 0), stage("aggregate", 0)
    procs = [parse, agg]
    try:
        time.sleep(6)  # both joined
        # Phase 1 (live, 6 s): chat on every partition, viewers on partitions 1..N-1 only.
        for sec in range(6):
            now = int(time.time() * 1000)
            for p in range(N):
                produce(b, "chat-events", p, [chat(f"stream-p{p}", f"u{k}", now) for k in range(5)])
            for p in range(1, N):
                produce(b, "viewer-events", p, [viewer(f"stream-p{p}", 100, now)])
            time.sleep(1)
        time.sleep(1)
        parse.kill9()
        # Phase 2 (parse down, 20 s): everything, viewer-events partition 0 included.
        for sec in range(20):
            now = int(time.time() * 1000)
            for p in range(N):
                produce(b, "chat-events", p, [chat(f"stream-p{p}", f"u{k}", now) for k in range(5)])
                produce(b, "viewer-events", p, [viewer(f"stream-p{p}", 1000 + p, now)])
            time.sleep(1)
        procs.append(stage("parse", 1))
        inputs = {t: harness.read_topic(b, t) for t in ("chat-events", "viewer-events")}
        expected = oracles.telemetra_oracle(inputs, {"window_ms": 10000, "advance_ms": 5000, "grace_ms": 5000,
                                                   "history_windows": 10, "anomaly_threshold": 3.0})["chat-summary"]
        # The backlog, then idle partitions close every window: wait until every expected window is
        # out (or a deadline), then check. Lost or wrong windows stay so; waiting longer only
        # rules out a slow machine.
        deadline = time.monotonic() + 120
        while True:
            observed = harness.output_records(b, "chat-summary", ("stream_id", "window_start"))
            res = oracles.compare(expected, observed, None, float_fields=pipelines.Telemetra.floats)
            if res["lost"] == 0 or time.monotonic() > deadline:
                break
            time.sleep(2)
        for name, proc in (("parse", procs[2]), ("aggregate", agg)):
            port = proc.metrics_port()
            text = harness.http_get(port, "/metrics") if port else ""
            print(name, [l for l in text.splitlines() if l.startswith("streamwright_late_records_dropped_total")])
        print(json.dumps({k: v for k, v in res.items() if k != "wrong_examples"}))
        for ex in res["wrong_examples"]:
            e, o = ex["expected"], ex["observed"][0] if ex["observed"] else {}
            print("wrong", ex["key"], {k: (e[k], o.get(k)) for k in e if e[k] != o.get(k)})
        if res["expected"] == 0:
            return 2
        ok = res["lost"] == 0 and res["wrong"] == 0
        print("correct" if ok else f"REPRODUCED; work directory: {work}")
        return 0 if ok else 1
    finally:
        for p in procs:
            p.kill9()
        broker.stop()


def run():
    work_dirs_before = set(os.listdir(tempfile.gettempdir()))
    rc = main()
    if rc == 0:
        import shutil
        for d in set(os.listdir(tempfile.gettempdir())) - work_dirs_before:
            if d.startswith("sw-repro-empty-"):
                shutil.rmtree(os.path.join(tempfile.gettempdir(), d), ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(run())
