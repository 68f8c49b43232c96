"""The chaos suite's oracles: independent offline re-implementations of each pipeline's semantics
(none of the project's code), and the comparison of observed results with expected ones.

Each oracle takes the input topics' records (partition and offset order, as read back after the
run) and returns {output name: {result key: expected value}}. Lateness, as the pipelines define
it: each input partition's stream time is the largest event time of the valid records read from
it so far (the record itself included); a record counts in window w only if
w.end + grace > that time (Telemetra, which aggregates per slice of one advance: in all of its
windows only if its slice's end + grace > that time, else in none).

Adding a pipeline to the suite: one oracle function here and one Pipeline subclass in
pipelines.py.
"""
import collections
import json
import math
import os
import re

from harness import ROOT, fmt_rfc3339, parse_rfc3339

def window_starts(ts, size, advance):
    """Start times of the hopping windows [start, start + size) that contain ts."""
    last = ts - ts % advance
    out = []
    start = last
    while start > ts - size:
        out.append(start)
        start -= advance
    return out


def llround(x):
    return int(math.floor(abs(x) + 0.5)) * (1 if x >= 0 else -1)


# ----------------------------------------------------------------------------- oracles


def crash_monitor_oracle(inputs, cfg):
    size, grace, threshold = cfg["window_ms"], cfg["grace_ms"], cfg["threshold"]
    stream_time, counts = {}, collections.Counter()
    for (p, _o, _k, v) in inputs["logs"]:
        try:
            e = json.loads(v)
        except ValueError:
            continue
        if not isinstance(e, dict):
            continue
        if not all(isinstance(e.get(f), str) for f in ("user_id", "severity", "content", "timestamp")):
            continue
        if not e["user_id"]:
            continue
        ts = parse_rfc3339(e["timestamp"])
        if ts is None:
            continue
        st = stream_time[p] = max(stream_time.get(p, ts), ts)
        start = ts - ts % size
        if start + size + grace <= st:
            continue
        if "crash" not in e["content"].lower() or e["severity"] not in ("High", "Critical"):
            continue
        counts[(e["user_id"], start)] += 1
    alerts = {}
    for (user, start), n in counts.items():
        if n > threshold:
            alerts[(user, fmt_rfc3339(start))] = {"user_id": user, "window_start": fmt_rfc3339(start),
                                                  "window_end": fmt_rfc3339(start + size), "crash_count": n}
    return {"crash-alerts": alerts}


def load_rows(path, key):
    with open(path) as f:
        text = f.read().strip()
    rows = json.loads(text) if text.startswith("[") else [json.loads(l) for l in text.splitlines() if l.strip()]
    return {r[key]: r for r in rows if isinstance(r.get(key), str) and r[key]}


def render_farm_oracle(inputs, cfg):
    size, advance, grace = cfg["window_ms"], cfg["advance_ms"], cfg["grace_ms"]
    scenes = load_rows(cfg["scenes"], "scene_id")
    nodes = load_rows(cfg["nodes"], "node_id")
    stream_time = {}
    scene_acc, node_acc = {}, {}
    for (p, _o, _k, v) in inputs["render-events"]:
        try:
            e = json.loads(v)
        except ValueError:
            continue
        ok = (isinstance(e, dict) and all(isinstance(e.get(f), str) for f in ("frame_id", "scene_id", "node_id", "timestamp"))
              and e["scene_id"] and e["node_id"]
              and isinstance(e.get("render_time_ms"), (int, float)) and 0 <= e["render_time_ms"] <= 1e9
              and isinstance(e.get("gpu_utilization"), (int, float)) and 0 <= e["gpu_utilization"] <= 1
              and e.get("status", "ok") in ("ok", "failed", "retry"))
        ts = parse_rfc3339(e["timestamp"]) if ok else None
        if ts is None:
            continue
        st = stream_time[p] = max(stream_time.get(p, ts), ts)
        render_us = llround(e["render_time_ms"] * 1000.0)
        gpu_ppm = llround(e["gpu_utilization"] * 1e6)
        status = e.get("status", "ok")
        scene = scenes.get(e["scene_id"])
        budget = scene.get("frame_budget_ms") if scene else None
        budget_us = llround(budget * 1000.0) if isinstance(budget, (int, float)) and budget >= 0 else -1
        project = (scene.get("project") or "") if scene else ""
        node = nodes.get(e["node_id"])
        gpu_model = (node.get("gpu_model") or "") if node else ""
        for start in window_starts(ts, size, advance):
            if start + size + grace <= st:
                continue
            s = scene_acc.setdefault((e["scene_id"], start), {"frames": 0, "failed": 0, "retried": 0, "over": 0,
                                                             "sum": 0, "max": 0, "gpu": 0, "project": "",
                                                             "nodes": set(), "times": []})
            s["frames"] += 1
            s["failed"] += status == "failed"
            s["retried"] += status == "retry"
            s["over"] += budget_us >= 0 and render_us > budget_us
            s["sum"] += render_us
            s["max"] = max(s["max"], render_us)
            s["gpu"] += gpu_ppm
            s["project"] = s["project"] or project
            s["nodes"].add(e["node_id"])
            s["times"].append(render_us / 1000.0)
            n = node_acc.setdefault((e["node_id"], start), {"frames": 0, "failed": 0, "gpu": 0, "model": ""})
            n["frames"] += 1
            n["failed"] += status == "failed"
            n["gpu"] += gpu_ppm
            n["model"] = n["model"] or gpu_model
    scene_out, node_out = {}, {}
    for (sid, start), s in scene_acc.items():
        times = sorted(s["times"])
        scene_out[(sid, fmt_rfc3339(start))] = {
            "scene_id": sid, "project": s["project"], "window_start": fmt_rfc3339(start),
            "window_end": fmt_rfc3339(start + size), "frames": s["frames"], "failed_frames": s["failed"],
            "retried_frames": s["retried"], "avg_render_time_ms": float("%.3f" % (s["sum"] / 1000.0 / s["frames"])),
            "max_render_time_ms": float("%.3f" % (s["max"] / 1000.0)),
            "p95_render_time_ms": times[max(1, math.ceil(0.95 * len(times))) - 1],  # Spark's percentile_approx rank; checked within 1%
            "avg_gpu_utilization": float("%.6f" % (s["gpu"] / 1e6 / s["frames"])),
            "over_budget_frames": s["over"], "nodes": len(s["nodes"])}
    for (nid, start), n in node_acc.items():
        node_out[(nid, fmt_rfc3339(start))] = {
            "node_id": nid, "gpu_model": n["model"], "window_start": fmt_rfc3339(start),
            "window_end": fmt_rfc3339(start + size), "frames": n["frames"], "failed_frames": n["failed"],
            "avg_gpu_utilization": float("%.6f" % (n["gpu"] / 1e6 / n["frames"]))}
    return {"render-metrics": scene_out, "node-metrics": node_out}


def read_lexicon(path):
    words = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip(" \t\r\n")
            if line and not line.startswith("#"):
                words.add(_ascii_lower(line))
    return words


def _ascii_lower(s):
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in s)


_WORD = re.compile(r"[A-Za-z0-9'\u0080-\U0010ffff]+")


def sentiment(message, pos, neg):
    p = n = 0
    for w in _WORD.findall(message):
        if len(w.encode("utf-8")) > 64:
            continue
        w = _ascii_lower(w)
        if w in pos:
            p += 1
        elif w in neg:
            n += 1
    return 0.0 if p + n == 0 else (p - n) / (p + n)


def telemetra_oracle(inputs, cfg):
    size, advance, grace = cfg["window_ms"], cfg["advance_ms"], cfg["grace_ms"]
    pos = read_lexicon(os.path.join(ROOT, "topologies", "data", "lexicon-positive.txt"))
    neg = read_lexicon(os.path.join(ROOT, "topologies", "data", "lexicon-negative.txt"))
    windows = {}  # (stream, start) -> state
    for topic, chat in (("chat-events", True), ("viewer-events", False)):
        stream_time = {}
        for (p, _o, _k, v) in inputs[topic]:
            try:
                e = json.loads(v)
            except ValueError:
                continue
            if not isinstance(e, dict) or not isinstance(e.get("stream_id"), str) or not e["stream_id"]:
                continue
            ts = e.get("timestamp")
            ts = parse_rfc3339(ts) if isinstance(ts, str) else (ts if isinstance(ts, int) and ts >= 0 else None)
            if ts is None:
                continue
            if chat:
                if not (isinstance(e.get("user_id"), str) and e["user_id"] and isinstance(e.get("message"), str)):
                    continue
                emotes = e.get("emotes") or []
                if not isinstance(emotes, list) or not all(isinstance(x, str) and x for x in emotes):
                    continue
            else:
                vc = e.get("viewer_count")
                if not isinstance(vc, int) or isinstance(vc, bool) or vc < 0:
                    continue
            st = stream_time[p] = max(stream_time.get(p, ts), ts)
            # Aggregated per slice (one advance): a record counts in all of its windows, or in none
            # when its slice had closed (slice end + grace <= stream time).
            if ts - ts % advance + advance + grace <= st:
                continue
            score = sentiment(e["message"], pos, neg) if chat else 0.0
            for start in window_starts(ts, size, advance):
                w = windows.setdefault((e["stream_id"], start), {"chat": 0, "sent": [], "pos": 0, "neg": 0,
                                                                 "users": set(), "emotes": collections.Counter(),
                                                                 "vsum": 0, "vn": 0})
                if chat:
                    w["chat"] += 1
                    w["sent"].append(score)
                    w["pos"] += score > 0
                    w["neg"] += score < 0
                    w["users"].add(e["user_id"])
                    w["emotes"].update(emotes)
                else:
                    w["vsum"] += e["viewer_count"]
                    w["vn"] += 1
    summaries, moments = {}, {}
    by_stream = collections.defaultdict(list)
    for (sid, start) in windows:
        by_stream[sid].append(start)
    hist_n, threshold = cfg["history_windows"], cfg["anomaly_threshold"]
    for sid, starts in by_stream.items():
        history = []
        for start in sorted(starts):
            w = windows[(sid, start)]
            prev = history[-hist_n:]
            z = mean = stddev = None
            if prev:
                mean = sum(float(c) for c in prev) / len(prev)
                stddev = math.sqrt(sum((c - mean) ** 2 for c in prev) / len(prev))
                if len(prev) >= 3 and stddev > 0:
                    z = (w["chat"] - mean) / stddev
            anomaly = z is not None and z > threshold
            top = sorted(w["emotes"].items(), key=lambda kv: (-kv[1], kv[0].encode("utf-8")))[:5]
            rec = {"stream_id": sid, "window_start": fmt_rfc3339(start), "window_end": fmt_rfc3339(start + size),
                   "chat_count": w["chat"], "unique_chatters": len(w["users"]),
                   "avg_sentiment": (math.fsum(w["sent"]) / w["chat"]) if w["chat"] else None,
                   "positive_count": w["pos"], "negative_count": w["neg"], "top_emotes": [k for k, _ in top],
                   "chat_rate": w["chat"] / (size / 1000.0),
                   "avg_viewers": (w["vsum"] / w["vn"]) if w["vn"] else None, "z_score": z, "is_anomaly": anomaly}
            summaries[(sid, fmt_rfc3339(start))] = rec
            if anomaly:
                moments[(sid, fmt_rfc3339(start))] = {
                    "stream_id": sid, "timestamp": fmt_rfc3339(start), "moment_type": "chat_spike", "intensity": z,
                    "metadata": {"window_start": fmt_rfc3339(start), "window_end": fmt_rfc3339(start + size),
                                 "chat_count": w["chat"], "unique_chatters": len(w["users"]),
                                 "positive_count": w["pos"], "negative_count": w["neg"], "baseline_mean": mean,
                                 "baseline_stddev": stddev, "baseline_windows": len(prev)}}
            history.append(w["chat"])
    return {"chat-summary": summaries, "moments": moments}


# ----------------------------------------------------------------------------- comparison


def close(a, b, rel=1e-9, abs_=1e-9):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= max(abs_, rel * max(abs(a), abs(b)))


def same(expected, observed, float_fields=(), p95=False):
    """Compares one result. float_fields: compared within 1e-9 relative (floating-point summation
    order may differ); p95: the DDSketch quantile within its documented 1% relative error."""
    if not isinstance(observed, dict):
        return False
    for k, v in expected.items():
        if k not in observed:
            return False
        o = observed[k]
        if p95 and k == "p95_render_time_ms":
            if not (isinstance(o, (int, float)) and abs(o - v) <= 0.01 * v + 0.0005 + 1e-9):
                return False
        elif k in float_fields:
            if not (o is None or isinstance(o, (int, float))) or not close(v, o):
                return False
        elif isinstance(v, dict):
            if not same(v, o, float_fields, p95):
                return False
        elif isinstance(v, float) and isinstance(o, (int, float)) and not isinstance(o, bool):
            if v != float(o):
                return False
        elif v != o:
            return False
    return True


def compare(expected, observed_records, key_of, **kw):
    """expected: {key: value}; observed_records: [(key, value)] in read order."""
    seen = collections.defaultdict(list)
    for k, v in observed_records:
        seen[k].append(v)
    matched = wrong = dups = 0
    wrong_examples = []
    for k, values in seen.items():
        exp = expected.get(k)
        good = [v for v in values if exp is not None and same(exp, v, **kw)]
        bad = len(values) - len(good)
        if good:
            matched += 1
            dups += len(good) - 1
        wrong += bad
        if bad and len(wrong_examples) < 5:
            wrong_examples.append({"key": list(k), "expected": exp, "observed": [v for v in values if v not in good][:2]})
    lost_keys = [k for k in expected if k not in seen]
    return {"expected": len(expected), "observed": len(observed_records), "matched": matched, "wrong": wrong,
            "lost": len(lost_keys), "duplicates": dups, "wrong_examples": wrong_examples,
            "lost_examples": [list(k) for k in lost_keys[:5]]}

