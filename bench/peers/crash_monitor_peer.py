#!/usr/bin/env python3
"""The crash monitor written as a plain Python consumer (confluent-kafka), for comparison.

One consumer group member reads the log events, keeps those whose content mentions "crash" (any
letter case) with severity High or Critical, counts them per user in tumbling 10 s event-time
windows, and when a window closes (event time has passed its end plus the 30 s grace) publishes
an alert for it if its count is above 2:

    {"user_id": ..., "window_start": "...Z", "window_end": "...Z", "crash_count": n}

keyed by the user id, to --alerts-topic. Event time is the largest timestamp of the valid events
read so far; an event whose window has already closed is late and dropped. Offsets are committed
every --commit-interval-s, after the producer has delivered the alerts emitted so far.

With --expect N it stops once N records have been consumed and prints a summary as key=value
lines (consumed, crashes, alerts_emitted, seconds from the first record to the N-th,
records_per_s, CPU seconds over that interval, ...). See bench/peers/README.md.
"""

import argparse
import json
import os
import re
import resource
import signal
import sys
import time
from datetime import datetime, timedelta, timezone

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer

MIN_EVENT_MS = 946_684_800_000  # 2000-01-01T00:00:00Z
MAX_EVENT_MS = 4_102_444_800_000  # 2100-01-01T00:00:00Z (exclusive)
UTC_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
NAIVE_EPOCH = datetime(1970, 1, 1)
ONE_MS = timedelta(milliseconds=1)

# The forms datetime.fromisoformat rejects but the crash monitor takes: "t"/"z" in lower case,
# a " UTC"/"GMT" suffix (optionally with an offset) and a leap second.
_FALLBACK = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:\.(\d+))?"
    r"(?:([Zz])| ?(?:UTC|GMT)(?:([+-])(\d\d)(?::?(\d\d))?)?|([+-])(\d\d)(?::?(\d\d))?)?"
)


def _fallback_ms(text):
    m = _FALLBACK.fullmatch(text)
    if not m:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.group(1, 2, 3, 4, 5, 6))
    second = min(second, 59)  # a leap second folds into the second before it
    try:
        dt = datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None
    ms = (dt - NAIVE_EPOCH) // ONE_MS + int((m.group(7) or "0")[:3].ljust(3, "0"))
    sign, oh, om = m.group(9, 10, 11) if m.group(9) else m.group(12, 13, 14)
    if sign:
        oh, om = int(oh), int(om or 0)
        if oh > 23 or om > 59:
            return None
        ms -= (1 if sign == "+" else -1) * (oh * 60 + om) * 60_000
    return ms


def event_time_ms(value):
    """Epoch milliseconds of a timestamp field, or None if it is not a valid event time.

    A string in RFC 3339 or "YYYY-MM-DD HH:MM:SS[.fff][zone]" (no zone: UTC), or an integer of
    epoch seconds or milliseconds (told apart by magnitude); within [2000-01-01, 2100-01-01).
    """
    if type(value) is str:
        # fromisoformat also takes a date alone, minutes without seconds and the basic format:
        # require the date-time shape first.
        if len(value) < 19 or value[10] not in "Tt " or value[13] != ":" or value[16] != ":":
            return None
        try:
            dt = datetime.fromisoformat(value)
        except ValueError:
            ms = _fallback_ms(value)
        else:
            ms = (dt - (NAIVE_EPOCH if dt.tzinfo is None else UTC_EPOCH)) // ONE_MS
    elif type(value) is int:
        ms = value * 1000 if MIN_EVENT_MS // 1000 <= value < MAX_EVENT_MS // 1000 else value
    else:
        return None
    if ms is None or not MIN_EVENT_MS <= ms < MAX_EVENT_MS:
        return None
    return ms


def rfc3339(ms):
    s, frac = divmod(ms, 1000)
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s))
    return f"{text}.{frac:03d}Z" if frac else text + "Z"


def parse_args():
    p = argparse.ArgumentParser(description="The crash monitor as a plain Python confluent-kafka consumer.")
    p.add_argument("--bootstrap-servers", required=True)
    p.add_argument("--topic", default="logs", help="log events (JSON) [logs]")
    p.add_argument("--group", default="crash-monitor-peer", help="consumer group [crash-monitor-peer]")
    p.add_argument("--alerts-topic", default="crash-alerts-peer", help="where alerts go [crash-alerts-peer]")
    p.add_argument("--window-s", type=float, default=10.0, help="tumbling window size [10]")
    p.add_argument("--grace-s", type=float, default=30.0, help="how long a window accepts late events [30]")
    p.add_argument("--threshold", type=int, default=2, help="alert when a window's count exceeds this [2]")
    p.add_argument("--severities", default="High,Critical", help="severities that count [High,Critical]")
    p.add_argument("--max-record-bytes", type=int, default=65536, help="larger records are invalid [65536]")
    p.add_argument("--batch-size", type=int, default=10000, help="records per consume() call [10000]")
    p.add_argument("--commit-interval-s", type=float, default=1.0, help="how often offsets are committed [1]")
    p.add_argument("--expect", type=int, default=0, help="exit once this many records are consumed (0: run until SIGTERM)")
    p.add_argument("--timeout-s", type=float, default=0, help="with --expect: give up after this long (0: never)")
    p.add_argument("--consumer-property", action="append", default=[], metavar="KEY=VALUE",
                   help="extra librdkafka property of the consumer (repeatable)")
    p.add_argument("--producer-property", action="append", default=[], metavar="KEY=VALUE",
                   help="extra librdkafka property of the producer (repeatable)")
    args = p.parse_args()
    if args.window_s <= 0 or args.grace_s < 0 or args.threshold < 0 or args.batch_size <= 0 or args.expect < 0:
        p.error("--window-s and --batch-size must be positive, --grace-s, --threshold and --expect not negative")
    for kv in args.consumer_property + args.producer_property:
        if "=" not in kv:
            p.error(f"'{kv}' is not KEY=VALUE")
    return args


def main():
    args = parse_args()
    window_ms = round(args.window_s * 1000)
    grace_ms = round(args.grace_s * 1000)
    threshold = args.threshold
    severities = frozenset(s for s in args.severities.split(",") if s)
    max_bytes = args.max_record_bytes
    consumer_extra = dict(kv.split("=", 1) for kv in args.consumer_property)
    producer_extra = dict(kv.split("=", 1) for kv in args.producer_property)

    consumer = Consumer({
        "bootstrap.servers": args.bootstrap_servers,
        "group.id": args.group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        **consumer_extra,
    })
    producer = Producer({"bootstrap.servers": args.bootstrap_servers, **producer_extra})
    delivery_errors = []

    def on_delivery(err, _msg):
        if err is not None:
            delivery_errors.append(err)

    stopping = False

    def on_signal(_signum, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    # windows[start][user] = crash count of the window [start, start + window_ms).
    windows = {}
    max_event_ms = None  # event time: the largest timestamp of the valid events so far
    consumed = invalid = crashes = late = alerts = 0

    def close_windows():
        nonlocal alerts
        bound = max_event_ms - grace_ms  # windows ending at or before it are closed
        for start in sorted(s for s in windows if s + window_ms <= bound):
            users = windows.pop(start)
            window_start, window_end = rfc3339(start), rfc3339(start + window_ms)
            for user, n in users.items():
                if n > threshold:
                    alert = json.dumps({"user_id": user, "window_start": window_start,
                                        "window_end": window_end, "crash_count": n}, separators=(",", ":"))
                    while True:
                        try:
                            producer.produce(args.alerts_topic, alert, user, on_delivery=on_delivery)
                            break
                        except BufferError:
                            producer.poll(0.1)
                    alerts += 1

    def commit():
        if producer.flush(30) > 0:
            raise RuntimeError("alerts were not delivered within 30 s")
        if delivery_errors:
            raise RuntimeError(f"alert delivery failed: {delivery_errors[0]}")
        try:
            consumer.commit(asynchronous=False)
        except KafkaException as e:
            # Nothing consumed since the last commit is not an error.
            if e.args[0].code() != KafkaError._NO_OFFSET:
                raise

    consumer.subscribe([args.topic])
    started = time.monotonic()
    first = cpu_first = None
    last_commit = started
    done = False
    while not done and not stopping:
        # consume() waits for a full batch or the timeout: with --expect, ask for no more than remain.
        n = min(args.batch_size, args.expect - consumed) if args.expect else args.batch_size
        msgs = consumer.consume(num_messages=n, timeout=0.5)
        now = time.monotonic()
        if msgs and first is None:
            first, cpu_first = now, os.times()
        for msg in msgs:
            err = msg.error()
            if err is not None:
                if err.fatal():
                    raise KafkaException(err)
                print(f"consumer error: {err}", file=sys.stderr)
                continue
            consumed += 1
            value = msg.value()
            if value is None or len(value) > max_bytes:
                invalid += 1
                continue
            try:
                event = json.loads(value)
                user = event["user_id"]
                severity = event["severity"]
                content = event["content"]
                ts = event_time_ms(event["timestamp"])
            except (ValueError, KeyError, TypeError):  # not JSON, not an object, a field missing
                invalid += 1
                continue
            if type(user) is int:
                user = str(user)
            if (type(user) is not str or not user or type(severity) is not str or type(content) is not str
                    or ts is None):
                invalid += 1
                continue
            if max_event_ms is None or ts > max_event_ms:
                max_event_ms = ts
            if severity not in severities or "crash" not in content.lower():
                continue
            crashes += 1
            start = ts - ts % window_ms
            if start + window_ms + grace_ms <= max_event_ms:
                late += 1
                continue
            users = windows.get(start)
            if users is None:
                users = windows[start] = {}
            users[user] = users.get(user, 0) + 1
        if max_event_ms is not None and windows:
            close_windows()
        producer.poll(0)
        if args.expect and consumed >= args.expect:
            done = True
            break
        if now - last_commit >= args.commit_interval_s:
            commit()
            last_commit = now
        if args.expect and args.timeout_s and now - started > args.timeout_s:
            break

    end, cpu_end = time.monotonic(), os.times()
    commit()
    consumer.close()

    open_windows = sum(len(u) for u in windows.values())
    pending = sum(1 for u in windows.values() for n in u.values() if n > threshold)
    seconds = end - first if first is not None else 0.0
    cpu = (cpu_end.user + cpu_end.system - cpu_first.user - cpu_first.system) if first is not None else 0.0
    total = os.times()
    summary = {
        "complete": 1 if done or not args.expect else 0,
        "consumed": consumed,
        "invalid": invalid,
        "crashes": crashes,
        "late_dropped": late,
        "alerts_emitted": alerts,
        "windows_open": open_windows,  # (user, window) counts still open at the end
        "alerts_pending": pending,  # of those, over the threshold: alerts once their windows close
        "seconds": f"{seconds:.6f}",
        "records_per_s": f"{consumed / seconds:.0f}" if seconds > 0 else "0",
        "cpu_seconds": f"{cpu:.3f}",  # utime+stime of the process (all threads), same interval
        "cpu_us_per_record": f"{1e6 * cpu / consumed:.3f}" if consumed else "0",
        "cpu_seconds_total": f"{total.user + total.system:.3f}",  # since the process started
        "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }
    for key, value in summary.items():
        print(f"{key}={value}")
    sys.stdout.flush()
    if args.expect and not done:
        print(f"crash_monitor_peer: consumed {consumed} of {args.expect} records", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
