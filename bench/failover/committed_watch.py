#!/usr/bin/env python3
"""Watches a consumer group's committed offsets from outside, as an operator would.

Prints one line per sample: seconds since the epoch, then partition=offset for every partition
of the topic (-1: nothing committed). The consumer never subscribes, so it does not join the
group it watches: committed() is an OffsetFetch request.
"""
import argparse
import sys
import time

from confluent_kafka import Consumer, TopicPartition


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bootstrap-servers", required=True)
    ap.add_argument("--group", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--partitions", type=int, required=True)
    ap.add_argument("--interval-ms", type=int, default=100)
    ap.add_argument("--duration-s", type=float, default=120)
    a = ap.parse_args()
    c = Consumer({"bootstrap.servers": a.bootstrap_servers, "group.id": a.group, "enable.auto.commit": False})
    parts = [TopicPartition(a.topic, p) for p in range(a.partitions)]
    end = time.time() + a.duration_s
    try:
        while time.time() < end:
            t = time.time()
            try:
                got = c.committed(parts, timeout=5)
            except Exception as e:  # the broker may be restarting: keep watching
                print(f"# {t:.3f} {e}", file=sys.stderr, flush=True)
                time.sleep(a.interval_ms / 1000)
                continue
            print(f"{t:.3f} " + " ".join(f"{tp.partition}={tp.offset if tp.offset >= 0 else -1}" for tp in got), flush=True)
            time.sleep(max(0.0, a.interval_ms / 1000 - (time.time() - t)))
    finally:
        c.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
