"""The chaos suite's verdict on a run and its Markdown report."""
import time


def verdict(res):
    bad = []
    for name, r in res["results"].items():
        if r["lost"] or r["wrong"]:
            bad.append(f"{name}: lost {r['lost']}, wrong {r['wrong']}")
        if res["guarantee"] == "exactly_once" and r["duplicates"]:
            bad.append(f"{name}: {r['duplicates']} duplicates in exactly-once mode")
        if name.startswith("postgres") and r["duplicates"]:
            bad.append(f"{name}: duplicates in an idempotent sink")
        if r["expected"] == 0:
            bad.append(f"{name}: the oracle expects no results (input too small?)")
    if res.get("truncated"):
        bad.append("INVALID RUN: the dev broker dropped old data of " + ", ".join(res["truncated"]) +
                   " (5 MiB per partition): use more --partitions or a lower --rate")
    if not res["alive"]:
        bad.append("a replica was not running at the end")
    return bad


def report(results, args):
    lines = [f"# Chaos suite: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", "",
             f"Command: `bash tests/chaos/run.sh {' '.join(args.argv)}` (seed {args.seed}, {args.duration} s of load at "
             f"{args.rate} records/s (Telemetra half), {args.partitions} partitions, dev broker with 3 brokers, commit interval "
             f"{args.commit_interval}).", "",
             "| pipeline | guarantee | output | records in | results expected | matched | lost | wrong | duplicates |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for res in results:
        for name, r in res["results"].items():
            lines.append(f"| {res['pipeline']} | {res['guarantee']} | {name} | {res['records_in']} | {r['expected']} | "
                         f"{r['matched']} | {r['lost']} | {r['wrong']} | {r['duplicates']} |")
    lines += ["", "| pipeline | guarantee | faults injected | survived | unexpected exits (restarted) | verdict |",
              "| --- | --- | --- | --- | ---: | --- |"]
    for res in results:
        bad = verdict(res)
        faults = ", ".join(f"{k} {v}" for k, v in sorted(res["faults"].items()))
        total = sum(res["faults"].values())
        lines.append(f"| {res['pipeline']} | {res['guarantee']} | {faults} | {0 if bad else total}/{total} | "
                     f"{len(res['unexpected_exits'])} | {'PASS' if not bad else 'FAIL: ' + '; '.join(bad)} |")
    notes = []
    for res in results:
        if res["pipeline"] == "render-farm":
            notes.append("render-farm `p95_render_time_ms` comes from a DDSketch: checked within its documented 1% "
                         "relative error of the exact ceil(0.95 n)-th smallest value (Spark's percentile_approx) (plus 0.0005 for the 3-decimal "
                         "rounding); every other field is compared exactly.")
        if res["pipeline"] == "telemetra":
            notes.append("telemetra floating-point fields (avg_sentiment, chat_rate, avg_viewers, z_score, the "
                         "moment's intensity and baseline) are compared within 1e-9 relative (the pipeline sums "
                         "sentiments in arrival order); every other field exactly. The PostgreSQL rows are checked "
                         "against the same oracle.")
        if res["guarantee"] == "exactly_once" and res["uncommitted_counts"] is not None:
            dups = sum(r["duplicates"] for n, r in res["results"].items() if not n.startswith("postgres"))
            notes.append(f"{res['pipeline']} exactly_once: records read with read_uncommitted "
                         f"{res['uncommitted_counts']}; duplicates with read_committed: {dups}. The dev broker "
                         "(librdkafka 2.0.2's mock) keeps no transaction markers: read_committed also returns "
                         "records of aborted and open transactions (tests/chaos/devbroker_control_test.py), so "
                         "any duplicate here may be visible from an aborted transaction on the dev broker; "
                         "a real Kafka would hide those.")
        if res["unexpected_exits"]:
            notes.append(f"{res['pipeline']} {res['guarantee']}: processes that exited on their own (the supervisor "
                         f"restarted them): {', '.join(res['unexpected_exits'][:10])}")
    lines += [""] + [f"- {n}" for n in dict.fromkeys(notes)]
    return "\n".join(lines) + "\n"
