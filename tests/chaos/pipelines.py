"""The pipelines under chaos: for each one, what runs and how it is checked.

Names come from the pipeline catalogue (`streamwright list --json`, read from $SW_BIN_DIR): the
executable, the stages in order and which of them are stateful, every topic with its role (input,
output, dead-letter, repartition, changelog), the load generator's mode and the sinks. A Pipeline
subclass declares only its catalogue name and what the catalogue cannot know: the options of the
run (window sizes, load), the oracle, and the key fields of each output's results. Construction
fails if the catalogue lists an output the subclass has no key fields for (or the reverse).

Adding a pipeline to the suite (e.g. join-stats): one oracle in oracles.py, one subclass here, and
an entry in PIPELINES.
"""
import json
import os

from harness import BIN, ROOT, Postgres, catalogue, output_records
from oracles import compare, crash_monitor_oracle, render_farm_oracle, telemetra_oracle

_catalogue = {}


def pipeline_spec(name, bin_dir=BIN):
    """The catalogue's entry for one pipeline (the catalogue is read once per bin directory)."""
    if bin_dir not in _catalogue:
        _catalogue[bin_dir] = {p["name"]: p for p in catalogue(bin_dir)}
    spec = _catalogue[bin_dir].get(name)
    if spec is None:
        raise RuntimeError(f"pipeline {name} is not in the catalogue of {bin_dir}/streamwright "
                           f"(it has {', '.join(sorted(_catalogue[bin_dir]))})")
    return spec


class Pipeline:
    name = ""             # as in the catalogue
    cfg = {}              # the options the oracle needs (window size, grace, ...)
    output_keys = {}      # {output topic: the fields that identify a result}
    compare_options = {}  # {output topic: keyword arguments of oracles.compare()}
    rate_scale = 1.0  # keyed inputs with skewed keys get less, to stay under the mock's 5 MiB per partition
    pg = None

    def __init__(self, args, workdir, guarantee, spec=None):
        self.args, self.workdir, self.guarantee = args, workdir, guarantee
        self.spec = spec or pipeline_spec(self.name)
        self.program = self.spec["executable"]
        # Sinks are supervised like stages: "sink" (the first), "sink-2", ...
        self.sinks = {("sink" if i == 0 else f"sink-{i + 1}"): s for i, s in enumerate(self.spec.get("sinks", []))}
        self.stages = ([(s["name"], s["kind"] == "stateful") for s in self.spec["stages"]] +  # [(stage, stateful)]
                       [(name, False) for name in self.sinks])
        self.input_topics = self.topic_names("input")
        self.output_topics = self.topic_names("output")
        self.dead_letter_topics = self.topic_names("dead-letter")
        if set(self.output_keys) != set(self.output_topics):
            raise RuntimeError(f"{self.name}: the catalogue's outputs {self.output_topics} differ from the "
                               f"suite's {sorted(self.output_keys)}")

    def topic_names(self, role):
        return [t["name"] for t in self.spec["topics"] if t["role"] == role]

    def topics(self):
        """Every topic of the pipeline as NAME:PARTITIONS (dead-letter topics have one), inputs first,
        then dead-letter, output, repartition and changelog topics (the order they are created in)."""
        n = self.args.partitions
        order = ["input", "dead-letter", "output", "repartition", "changelog"]
        topics = sorted(self.spec["topics"], key=lambda t: order.index(t["role"]) if t["role"] in order else len(order))
        return [f"{t['name']}:{1 if t['role'] == 'dead-letter' else n}" for t in topics]

    def executables(self):
        return [self.program] + [s["executable"] for s in self.sinks.values()]

    def stage_args(self, stage):
        raise NotImplementedError

    def loadgen_args(self):
        return ["--mode", self.spec["loadgen_mode"]] + self.load_options()

    def load_options(self):
        return []

    def oracle(self, inputs):
        raise NotImplementedError

    # A pipeline with sinks: their options (after --bootstrap-servers) and environment.
    def sink_args(self, sink):
        raise NotImplementedError

    def sink_env(self, sink):
        return {}

    # Services outside Kafka (a database), and what of them shows progress while the outputs settle.
    def start_services(self):
        pass

    def stop_services(self, mode="fast"):
        pass

    def progress(self):
        return ()

    def check(self, bootstrap, expected, committed=True):
        return {t: compare(expected[t], output_records(bootstrap, t, self.output_keys[t], committed), None,
                           **self.compare_options.get(t, {}))
                for t in self.output_topics}


class CrashMonitor(Pipeline):
    name = "crash-monitor"
    cfg = {"window_ms": 5000, "grace_ms": 6000, "threshold": 2}
    output_keys = {"crash-alerts": ("user_id", "window_start")}

    def stage_args(self, stage):
        return ["--window-size", "5s", "--grace", "6s", "--threshold", "2"]

    def load_options(self):
        return ["--users", "200", "--crash-rate", "0.4", "--out-of-order", "0.1",
                "--max-disorder", "1500ms", "--late", "0.01", "--late-by", "20s"]

    def oracle(self, inputs):
        return crash_monitor_oracle(inputs, self.cfg)


class RenderFarm(Pipeline):
    name = "render-farm"
    data = os.path.join(ROOT, "topologies", "data", "render-farm")
    cfg = {"window_ms": 5000, "advance_ms": 5000, "grace_ms": 6000,
           "scenes": os.path.join(data, "scenes.json"), "nodes": os.path.join(data, "hardware_nodes.jsonl")}
    output_keys = {"render-metrics": ("scene_id", "window_start"), "node-metrics": ("node_id", "window_start")}
    compare_options = {"render-metrics": {"p95": True}}

    def stage_args(self, stage):
        return ["--window-size", "5s", "--grace", "6s", "--scenes", "file:" + self.cfg["scenes"],
                "--nodes", "file:" + self.cfg["nodes"]]

    def load_options(self):
        return ["--topic", self.input_topics[0], "--scenes", "200", "--nodes", "120"]

    def oracle(self, inputs):
        return render_farm_oracle(inputs, self.cfg)


class Telemetra(Pipeline):
    name = "telemetra"
    cfg = {"window_ms": 10000, "advance_ms": 5000, "grace_ms": 6000, "history_windows": 10, "anomaly_threshold": 3.0}
    rate_scale = 0.5
    floats = ("avg_sentiment", "chat_rate", "avg_viewers", "z_score", "intensity", "baseline_mean", "baseline_stddev")
    output_keys = {"chat-summary": ("stream_id", "window_start"), "moments": ("stream_id", "timestamp")}
    compare_options = {"chat-summary": {"float_fields": floats}, "moments": {"float_fields": floats}}

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.pg = None

    def stage_args(self, stage):
        return ["--window-size", "10s", "--window-advance", "5s", "--grace", "6s"]

    def load_options(self):
        return ["--streams", "40", "--chatters", "200", "--spike-probability", "0.002"]

    def oracle(self, inputs):
        return telemetra_oracle(inputs, self.cfg)

    def sink_args(self, sink):
        return ["--metrics-port", "0", "--batch-linger", "100ms", "--max-backoff", "2s",
                "--kafka-property", "fetch.wait.max.ms=50",
                # as the stages (runner.cpp): a SIGKILLed member leaves the group after 10 s
                "--kafka-property", "session.timeout.ms=10000"]

    def sink_env(self, sink):
        return {"POSTGRES_URL": self.pg.url, "POSTGRES_USER": "telemetra", "POSTGRES_PASSWORD": "chaos-sink"}

    def start_services(self):
        self.pg = Postgres(self.workdir)

    def stop_services(self, mode="fast"):
        if self.pg:
            self.pg.stop(mode)

    def progress(self):
        try:
            return (self.pg.sql("telemetra", "SELECT (SELECT count(*) FROM chat_summary_minute) || ' ' || "
                                             "(SELECT count(*) FROM moments)").strip(),)
        except RuntimeError:
            return ("?",)

    def check(self, bootstrap, expected, committed=True):
        res = super().check(bootstrap, expected, committed)
        if self.pg and committed:
            rows = self.pg.sql("telemetra", "SELECT coalesce(json_agg(t), '[]') FROM (SELECT stream_id, "
                               "to_char(window_start, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS window_start, "
                               "to_char(window_end, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS window_end, chat_count, "
                               "unique_chatters, avg_sentiment, positive_count, negative_count, chat_rate, avg_viewers, "
                               "top_emotes, z_score, is_anomaly FROM chat_summary_minute) t")
            obs = [((r["stream_id"], r["window_start"]), r) for r in json.loads(rows)]
            res["postgres chat_summary_minute"] = compare(expected["chat-summary"], obs, None, float_fields=self.floats)
            rows = self.pg.sql("telemetra", "SELECT coalesce(json_agg(t), '[]') FROM (SELECT stream_id, "
                               "to_char(timestamp, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS timestamp, moment_type, "
                               "intensity, metadata FROM moments) t")
            obs = [((r["stream_id"], r["timestamp"]), r) for r in json.loads(rows)]
            res["postgres moments"] = compare(expected["moments"], obs, None, float_fields=self.floats)
        return res


PIPELINES = {"crash-monitor": CrashMonitor, "render-farm": RenderFarm, "telemetra": Telemetra}


def catalogue_check(bin_dir=BIN):
    """Problems in building every pipeline of the suite from the catalogue (empty: none)."""
    problems = []
    for name, cls in PIPELINES.items():
        try:
            pl = cls(None, None, "at_least_once", spec=pipeline_spec(name, bin_dir))
            if not pl.input_topics or not any(st for _, st in pl.stages):
                problems.append(f"{name}: no input topic or no stateful stage in the catalogue")
        except RuntimeError as e:
            problems.append(str(e))
        except KeyError as e:
            problems.append(f"{name}: no {e} in the catalogue")
    return problems
