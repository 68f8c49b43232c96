#!/usr/bin/env python3
"""Streamwright chaos suite: every pipeline under faults, checked against an offline oracle.

For each (pipeline, processing guarantee) the runner starts the dev broker (3 brokers, with its
control interface), the pipeline's stages as supervised processes (restarted when they exit, like
a container supervisor), and the load generator at a fixed rate with a fixed seed. While the load
runs it injects faults from a schedule drawn from the seed: SIGKILLs of random replicas of every
stage, one stage scaled 1 -> 3 -> 1 replicas, a broker taken down and up (with and without moving
its partitions first), request errors pushed for Kafka APIs, a stateful replica restarted without
its RocksDB directory (it restores from the changelog only), and for Telemetra PostgreSQL
restarts. When the load is over and every window has closed, it reads the input topics back (the
exact records the pipeline consumed, in partition order) and computes the expected results with
an independent re-implementation of each pipeline's semantics (the oracles in oracles.py; none
of the project's code), reads the outputs with isolation.level=read_committed (and Telemetra's tables),
and reports records in, results expected, matched, lost, wrong and duplicates.

Only the Python standard library, kcat, psql/pg_ctl (Telemetra) and the project's binaries.

The pieces: harness.py (processes, the dev broker, PostgreSQL, reading topics), oracles.py (the
oracles and the comparison), pipelines.py (what each pipeline runs, from the pipeline catalogue
`streamwright list --json`), report.py (the verdict and the Markdown report). This file runs them:
the supervised replicas, the fault schedule and injection, and main().
"""
import argparse
import collections
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time

from harness import ROOT, DevBroker, Proc, first_offsets, log, metric, read_topic, snapshot_binaries, \
    topic_count, topic_count_uncommitted
from pipelines import PIPELINES
from report import report, verdict


class Replica:
    def __init__(self, run, stage, index):
        self.run, self.stage, self.index = run, stage, index
        self.state_dir = os.path.join(run.workdir, f"state-{stage}-{index}")
        self.proc = None
        self.wanted = False
        self.restarts = 0

    def argv(self):
        pl = self.run.pipeline
        if self.stage in pl.sinks:
            return ([os.path.join(self.run.bin, pl.sinks[self.stage]["executable"]), "--bootstrap-servers",
                     self.run.broker.bootstrap] + pl.sink_args(self.stage))
        argv = [os.path.join(self.run.bin, pl.program), "--stage", self.stage, "--bootstrap-servers", self.run.broker.bootstrap,
                "--metrics-port", "0", "--state-dir", self.state_dir, "--idle-timeout", self.run.args.idle_timeout,
                "--commit-interval", self.run.args.commit_interval, "--processing-guarantee", self.run.guarantee,
                "--shutdown-timeout", "20s", "--kafka-property", "fetch.wait.max.ms=50"]
        return argv + pl.stage_args(self.stage)

    def start(self):
        pl = self.run.pipeline
        env = pl.sink_env(self.stage) if self.stage in pl.sinks else {}
        self.wanted = True  # if starting fails, the supervisor tries again
        self.proc = None
        self.proc = Proc(self.argv(), os.path.join(self.run.workdir, f"{self.stage}-{self.index}.log"), env).start()


class Run:
    def __init__(self, pipeline_cls, guarantee, args, workdir):
        self.args, self.guarantee, self.workdir = args, guarantee, workdir
        self.pipeline = pipeline_cls(args, workdir, guarantee)
        self.rng = random.Random(f"{args.seed}-{pipeline_cls.name}-{guarantee}")
        self.lock = threading.RLock()
        self.replicas = {s: [] for s, _ in self.pipeline.stages}
        self.faults = collections.Counter()
        self.fault_log = []
        self.unexpected_exits = []
        self.stop_supervisor = False
        self.broker = None
        self.loadgen = None

    # -- replicas

    def scale(self, stage, n):
        with self.lock:
            reps = self.replicas[stage]
            while len([r for r in reps if r.wanted]) < n:
                r = Replica(self, stage, len(reps))
                reps.append(r)
                r.start()
            live = [r for r in reps if r.wanted]
            for r in live[n:]:
                r.wanted = False
        for r in live[n:]:
            r.proc.term()

    def kill(self, stage, lose_state=False):
        with self.lock:
            live = [r for r in self.replicas[stage] if r.wanted]
            r = self.rng.choice(live)
            r.wanted = False
        r.proc.kill9()
        if lose_state:
            shutil.rmtree(r.state_dir, ignore_errors=True)
        time.sleep(self.rng.uniform(0.3, 1.5))
        with self.lock:
            r.restarts += 1
            r.start()
        return r

    def supervise(self):
        while not self.stop_supervisor:
            try:
                self.supervise_once()
            except Exception as e:
                log(f"supervisor: {e}")
            time.sleep(0.5)

    def supervise_once(self):
        if True:
            with self.lock:
                for reps in self.replicas.values():
                    for r in reps:
                        if r.wanted and (r.proc is None or not r.proc.running()):
                            rc = r.proc.p.returncode if r.proc else "not started"
                            self.unexpected_exits.append(f"{r.stage}-{r.index} exited with {rc}")
                            log(f"{r.stage}-{r.index} exited with status {rc}: restarting (see {r.proc.log_path})")
                            r.restarts += 1
                            r.start()

    # -- faults

    def note(self, kind, detail):
        self.faults[kind] += 1
        self.fault_log.append((round(time.time() - self.t0, 1), kind, detail))
        log(f"fault {kind}: {detail}")

    def schedule(self, duration):
        """A fault plan drawn from the seed: (time offset s, kind, argument)."""
        stages = [s for s, _ in self.pipeline.stages]
        stateful = [s for s, st in self.pipeline.stages if st]
        plan = []
        # Scaling: the stateful aggregate (and in the full run every stage, staggered) 1 -> 3 -> 1.
        to_scale = stages if not self.args.short else [stateful[0]]
        for i, s in enumerate(to_scale):
            if s in self.pipeline.sinks:
                continue
            a = duration * (0.12 + 0.5 * i / max(1, len(to_scale)))
            plan += [(a, "scale", (s, 3)), (a + duration * 0.25, "scale", (s, 1))]
        # Kills: every stage, round-robin, at random times.
        n_kills = self.args.kills if self.args.kills else max(len(stages), int(duration / 6))
        for i in range(n_kills):
            plan.append((self.rng.uniform(0.05, 0.9) * duration, "kill", stages[i % len(stages)]))
        for i in range(self.args.state_losses):
            plan.append((self.rng.uniform(0.2, 0.85) * duration, "state_loss", stateful[i % len(stateful)]))
        plan.append((self.rng.uniform(0.3, 0.45) * duration, "broker_down", self.rng.randint(1, self.broker.brokers)))
        if not self.args.short:
            plan.append((self.rng.uniform(0.6, 0.75) * duration, "broker_failover",
                         self.rng.randint(1, self.broker.brokers)))
        errors = [("Produce", "NOT_LEADER_FOR_PARTITION", 5), ("Fetch", "NOT_LEADER_FOR_PARTITION", 5),
                  ("OffsetCommit", "REQUEST_TIMED_OUT", 3), ("OffsetCommit", "NOT_COORDINATOR", 3),
                  ("Heartbeat", "NOT_COORDINATOR", 3), ("JoinGroup", "NOT_COORDINATOR", 2),
                  ("Produce", "REQUEST_TIMED_OUT", 3), ("Fetch", "_TRANSPORT", 2)]
        n_errors = 3 if self.args.short else len(errors)
        for e in self.rng.sample(errors, n_errors):
            plan.append((self.rng.uniform(0.1, 0.9) * duration, "request_errors", e))
        if self.pipeline.pg:
            for _ in range(1 if self.args.short else 2):
                plan.append((self.rng.uniform(0.2, 0.8) * duration, "postgres_restart", None))
        return sorted(plan, key=lambda x: x[0])

    def inject(self, kind, arg):
        if kind == "scale":
            stage, n = arg
            self.note("scale", f"{stage} to {n} replicas")
            self.scale(stage, n)
        elif kind == "kill":
            r = self.kill(arg)
            self.note("sigkill", f"{r.stage}-{r.index}")
        elif kind == "state_loss":
            r = self.kill(arg, lose_state=True)
            self.note("state_loss", f"{r.stage}-{r.index} restarted without {os.path.basename(r.state_dir)}")
        elif kind in ("broker_down", "broker_failover"):
            if kind == "broker_failover":
                self.broker.control(f"/broker/{arg}/drain")
            self.broker.control(f"/broker/{arg}/down")
            self.note(kind, f"broker {arg} down for {self.args.broker_down_s}s")
            time.sleep(self.args.broker_down_s)
            self.broker.control(f"/broker/{arg}/up")
        elif kind == "request_errors":
            api, err, n = arg
            self.broker.control(f"/errors/{api}/{err}/{n}")
            self.note("request_errors", f"{n} x {api} {err}")
        elif kind == "postgres_restart":
            self.pipeline.pg.stop("fast")
            self.note("postgres_restart", "PostgreSQL stopped for 3s")
            time.sleep(3)
            self.pipeline.pg.start()

    # -- the run

    def execute(self):
        pl, args = self.pipeline, self.args
        self.bin = snapshot_binaries(self.workdir, ["streamwright-devbroker", "streamwright-loadgen"] + pl.executables())
        self.broker = DevBroker(self.workdir, pl.topics(), bin_dir=self.bin)
        log(f"{pl.name} {self.guarantee}: dev broker {self.broker.bootstrap}, control port {self.broker.control_port}")
        pl.start_services()
        for s, _ in pl.stages:
            self.scale(s, 1)
        sup = threading.Thread(target=self.supervise, daemon=True)
        sup.start()
        time.sleep(args.warmup)
        duration = args.duration
        self.loadgen = loadgen = Proc([os.path.join(self.bin, "streamwright-loadgen"), "--bootstrap-servers", self.broker.bootstrap,
                        "--rate", str(int(args.rate * pl.rate_scale)), "--duration", f"{duration}s", "--seed", str(args.seed), "--quiet",
                        "--kafka-property", "message.timeout.ms=600000"] + pl.loadgen_args(),
                       os.path.join(self.workdir, "loadgen.log")).start()
        self.t0 = time.time()
        plan = self.schedule(duration)
        for (at, kind, arg) in plan:
            delay = self.t0 + at - time.time()
            if delay > 0:
                time.sleep(delay)
            try:
                self.inject(kind, arg)
            except Exception as e:  # a fault that could not be injected is reported, not counted
                log(f"could not inject {kind} {arg}: {e}")
        loadgen.p.wait()
        log(f"load done ({loadgen.p.returncode}); waiting for the last windows to close")
        # Quiet: outputs unchanged for a while, after the last windows can have closed.
        settle = time.time() + args.settle
        last, stable_since = None, time.time()
        deadline = time.time() + args.max_wait
        while time.time() < deadline:
            time.sleep(3)
            counts = tuple(topic_count(self.broker.bootstrap, t) for t in pl.output_topics) + pl.progress()
            if counts != last:
                last, stable_since = counts, time.time()
            elif time.time() > settle and time.time() - stable_since >= args.quiet:
                break
        log(f"outputs settled at {last}")
        inputs = {t: read_topic(self.broker.bootstrap, t) for t in pl.input_topics}
        truncated = {}
        for spec in pl.topics():
            name, n = spec.rsplit(":", 1)
            if name in pl.dead_letter_topics:
                continue
            firsts = first_offsets(self.broker.bootstrap, name, int(n))
            if any(firsts.values()):
                truncated[name] = {p: o for p, o in firsts.items() if o}
        if truncated:
            log(f"topics truncated by the dev broker's per-partition limit: {truncated}")
        expected = pl.oracle(inputs)
        results = pl.check(self.broker.bootstrap, expected)
        uncommitted = None
        if self.guarantee == "exactly_once":
            uncommitted = {t: topic_count_uncommitted(self.broker.bootstrap, t) for t in pl.output_topics}
        alive = all(r.proc.running() for reps in self.replicas.values() for r in reps if r.wanted)
        restored = []
        for s, st in pl.stages:
            if st:
                for r in self.replicas[s]:
                    if r.wanted:
                        restored.append((f"{s}-{r.index}", metric(r.proc, "streamwright_restored_records_total")))
        self.stop_supervisor = True
        sup.join()
        for reps in self.replicas.values():
            for r in reps:
                r.wanted = False
                r.proc.term(25)
        pl.stop_services("fast")
        self.broker.stop()
        return {"pipeline": pl.name, "guarantee": self.guarantee, "records_in": sum(len(v) for v in inputs.values()),
                "results": results, "faults": dict(self.faults), "fault_log": self.fault_log,
                "unexpected_exits": self.unexpected_exits, "alive": alive, "uncommitted_counts": uncommitted,
                "restored_records": restored, "workdir": self.workdir, "truncated": truncated}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pipeline", default="all", choices=["all"] + list(PIPELINES))
    ap.add_argument("--guarantee", default="both", choices=["at_least_once", "exactly_once", "both"])
    ap.add_argument("--duration", type=int, default=90, help="seconds of load (faults happen meanwhile)")
    ap.add_argument("--rate", type=int, default=1000, help="input records per second (Telemetra: half)")
    ap.add_argument("--partitions", type=int, default=16)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--short", action="store_true", help="the CI version: 25 s of load, fewer faults")
    ap.add_argument("--kills", type=int, default=0, help="SIGKILLs per run (0: one per 6 s, at least one per stage)")
    ap.add_argument("--state-losses", type=int, default=2)
    ap.add_argument("--broker-down-s", type=float, default=3.0)
    ap.add_argument("--commit-interval", default="300ms")
    ap.add_argument("--idle-timeout", default="5s")
    ap.add_argument("--warmup", type=float, default=6.0)
    ap.add_argument("--settle", type=float, default=25.0, help="wait at least this long after the load")
    ap.add_argument("--quiet", type=float, default=8.0, help="outputs unchanged this long: done")
    ap.add_argument("--max-wait", type=float, default=240.0)
    ap.add_argument("--output", default=os.path.join(ROOT, "bench", "results", "chaos-latest.md"))
    ap.add_argument("--keep", action="store_true", help="keep the work directories")
    args = ap.parse_args()
    args.argv = sys.argv[1:]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.short:
        if "--duration" not in sys.argv:
            args.duration = 25
        if "--state-losses" not in sys.argv:
            args.state_losses = 1
        if "--kills" not in sys.argv:
            args.kills = 4
    pipelines = list(PIPELINES) if args.pipeline == "all" else [args.pipeline]
    guarantees = ["at_least_once", "exactly_once"] if args.guarantee == "both" else [args.guarantee]
    results = []
    for g in guarantees:
        for name in pipelines:
            workdir = tempfile.mkdtemp(prefix=f"sw-chaos-{name}-{g}-")
            os.chmod(workdir, 0o755)
            log(f"=== {name} {g} in {workdir}")
            run = Run(PIPELINES[name], g, args, workdir)
            try:
                res = run.execute()
            except BaseException:
                for reps in run.replicas.values():
                    for r in reps:
                        r.wanted = False
                        if r.proc:
                            r.proc.kill9()
                if run.loadgen:
                    run.loadgen.kill9()
                if run.broker:
                    run.broker.stop()
                run.pipeline.stop_services("immediate")
                raise
            results.append(res)
            for n, r in res["results"].items():
                log(f"{name} {g} {n}: {json.dumps({k: v for k, v in r.items() if not k.endswith('examples')})}")
                for ex in r["wrong_examples"][:3]:
                    log(f"  wrong: {json.dumps(ex)[:600]}")
                if r["lost_examples"]:
                    log(f"  lost: {r['lost_examples']}")
            bad = verdict(res)
            if not bad and not args.keep:
                shutil.rmtree(workdir, ignore_errors=True)
            else:
                log(f"work directory kept: {workdir}")
    text = report(results, args)
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as f:
        f.write(text)
    with open(os.path.splitext(args.output)[0] + ".json", "w") as f:
        json.dump(results, f, indent=1, default=str)
    print(text)
    return 1 if any(verdict(r) for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
