"""The chaos suite's harness: child processes, the dev broker, a throwaway PostgreSQL, reading
topics back with kcat, HTTP metrics, and RFC 3339 time helpers.

Only the Python standard library, kcat, psql/pg_ctl and the project's binaries (found in
$SW_BIN_DIR, default build/bin).
"""
import calendar
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("SW_BIN_DIR", os.path.join(ROOT, "build", "bin"))
PG_BIN = "/usr/lib/postgresql/15/bin"


def log(msg):
    print(f"[chaos {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- time


_RFC3339 = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def parse_rfc3339(s):
    """Epoch milliseconds (fractions truncated to milliseconds), or None."""
    if not isinstance(s, str):
        return None
    m = _RFC3339.match(s)
    if not m:
        return None
    y, mo, d, h, mi, sec = (int(m.group(i)) for i in range(1, 7))
    if not (1 <= mo <= 12 and 1 <= d <= calendar.monthrange(y, mo)[1] and h < 24 and mi < 60 and sec < 60):
        return None
    ms = int((m.group(7) or ".0")[1:4].ljust(3, "0"))
    off = 0
    tz = m.group(8)
    if tz not in ("Z", "z"):
        sign = 1 if tz[0] == "+" else -1
        off = sign * (int(tz[1:3]) * 60 + int(tz[4:6])) * 60000
    return calendar.timegm((y, mo, d, h, mi, sec, 0, 0, 0)) * 1000 + ms - off


def fmt_rfc3339(ms):
    sec, rem = divmod(ms, 1000)
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
    return base + (f".{rem:03d}Z" if rem else "Z")



# ----------------------------------------------------------------------------- processes


class Proc:
    """One child process with its log; stdout lines are kept for 'metrics-port N'."""

    def __init__(self, args, log_path, env=None):
        self.args, self.log_path, self.env = args, log_path, env
        self.p = None
        self.stdout_path = log_path + ".out"

    def start(self):
        env = dict(os.environ)
        env.update(self.env or {})
        self.p = subprocess.Popen(self.args, stdout=open(self.stdout_path, "a"), stderr=open(self.log_path, "a"),
                                  env=env, start_new_session=True)
        return self

    def running(self):
        return self.p is not None and self.p.poll() is None

    def kill9(self):
        if self.running():
            self.p.send_signal(signal.SIGKILL)
        if self.p:
            self.p.wait()

    def term(self, timeout=40):
        if self.running():
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.send_signal(signal.SIGKILL)
                self.p.wait()

    def metrics_port(self):
        try:
            with open(self.stdout_path) as f:
                ports = re.findall(r"metrics-port (\d+)", f.read())
            return int(ports[-1]) if ports else None
        except OSError:
            return None


def http_get(port, path, timeout=5):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
        return r.read().decode()


def metric(proc, name):
    port = proc.metrics_port()
    if not port:
        return None
    try:
        text = http_get(port, "/metrics", 2)
    except Exception:
        return None
    total, seen = 0.0, False
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total += float(line.rsplit(" ", 1)[1])
            seen = True
    return total if seen else None


def catalogue(bin_dir=BIN):
    """The pipeline catalogue (`streamwright list --json`): every pipeline with its executable,
    stages, consumer groups, topics and their roles, and sinks."""
    r = subprocess.run([os.path.join(bin_dir, "streamwright"), "list", "--json"], capture_output=True, text=True,
                       timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"streamwright list --json failed: {r.stderr[-500:]}")
    return json.loads(r.stdout)


def snapshot_binaries(workdir, names):
    """Copies the executables into the work directory: other builds may relink build/bin while a
    run is restarting processes."""
    dest = os.path.join(workdir, "bin")
    os.makedirs(dest, exist_ok=True)
    for n in names:
        src = os.path.join(BIN, n)
        for attempt in range(60):
            try:
                shutil.copy2(src, os.path.join(dest, n))
                if os.access(os.path.join(dest, n), os.X_OK):
                    break
            except OSError:
                pass
            time.sleep(2)
        else:
            raise RuntimeError(f"cannot copy {src}")
    return dest


class DevBroker:
    def __init__(self, workdir, topics, brokers=3, bin_dir=BIN):
        args = [os.path.join(bin_dir, "streamwright-devbroker"), "--brokers", str(brokers), "--control-port", "0"]
        for t in topics:
            args += ["--topic", t]
        self.proc = Proc(args, os.path.join(workdir, "devbroker.log")).start()
        deadline = time.time() + 20
        lines = []
        while time.time() < deadline and len(lines) < 2:
            time.sleep(0.1)
            with open(self.proc.stdout_path) as f:
                lines = f.read().splitlines()
        if len(lines) < 2:
            raise RuntimeError("dev broker did not start")
        self.bootstrap = lines[0].strip()
        self.control_port = int(lines[1].split()[1])
        self.brokers = brokers

    def control(self, path):
        return http_get(self.control_port, path)

    def stop(self):
        self.proc.term(10)


class Postgres:
    """A throwaway PostgreSQL 15 (as tests/integration/telemetra_test.cpp starts one)."""

    def __init__(self, workdir):
        import socket
        self.dir = os.path.join(workdir, "pg")
        os.makedirs(self.dir)
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.as_ = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        with open(os.path.join(self.dir, "pw"), "w") as f:
            f.write("chaos-super\n")
        if self.as_:
            subprocess.run(["chown", "-R", "postgres:postgres", self.dir], check=True)
        subprocess.run(self.as_ + [f"{PG_BIN}/initdb", "-D", self.dir + "/data", "-U", "postgres", "--auth-local=trust",
                                   "--auth-host=scram-sha-256", "--pwfile=" + self.dir + "/pw", "-E", "UTF8",
                                   "--no-locale"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.start()
        self.sql("postgres", "CREATE ROLE telemetra LOGIN PASSWORD 'chaos-sink'")
        self.sql("postgres", "CREATE DATABASE telemetra OWNER telemetra")
        self.url = f"postgresql://127.0.0.1:{self.port}/telemetra"

    def start(self):
        subprocess.run(self.as_ + [f"{PG_BIN}/pg_ctl", "-D", self.dir + "/data", "-l", self.dir + "/pg.log", "-w", "-t",
                                   "60", "-o", f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir}", "start"],
                       check=True, stdout=subprocess.DEVNULL)

    def stop(self, mode="fast"):
        subprocess.run(self.as_ + [f"{PG_BIN}/pg_ctl", "-D", self.dir + "/data", "-m", mode, "-w", "stop"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def sql(self, db, query):
        env = dict(os.environ, PGPASSWORD="chaos-super")
        r = subprocess.run(["psql", "-X", "-q", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", db,
                            "-v", "ON_ERROR_STOP=1", "-At", "-c", query], env=env, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("psql: " + r.stderr)
        return r.stdout


# ----------------------------------------------------------------------------- topics


def read_topic(bootstrap, topic, committed=True):
    """Every record of a topic as (partition, offset, key, value), in partition and offset order."""
    args = ["kcat", "-C", "-b", bootstrap, "-t", topic, "-e", "-q", "-o", "beginning", "-f", "%p\\t%o\\t%k\\t%s\\n",
            "-X", "isolation.level=" + ("read_committed" if committed else "read_uncommitted")]
    for attempt in range(5):
        r = subprocess.run(args, capture_output=True, text=True, timeout=300)
        if r.returncode == 0:
            break
        time.sleep(2)
    else:
        raise RuntimeError(f"kcat failed on {topic}: {r.stderr[-500:]}")
    out = []
    for line in r.stdout.splitlines():
        parts = line.split("\t", 3)
        if len(parts) == 4:
            out.append((int(parts[0]), int(parts[1]), parts[2], parts[3]))
    out.sort(key=lambda x: (x[0], x[1]))
    return out


def first_offsets(bootstrap, topic, partitions):
    """The first readable offset of each partition (0 unless the dev broker dropped old data: each
    mock partition keeps at most 5 MiB or 100,000 batches)."""
    out = {}
    for p in range(partitions):
        r = subprocess.run(["kcat", "-C", "-b", bootstrap, "-t", topic, "-p", str(p), "-o", "beginning", "-c", "1", "-e",
                            "-q", "-f", "%o\\n"], capture_output=True, text=True, timeout=60)
        first = r.stdout.split()
        out[p] = int(first[0]) if first else 0
    return out


def topic_count(bootstrap, topic):
    r = subprocess.run(["kcat", "-C", "-b", bootstrap, "-t", topic, "-e", "-q", "-o", "beginning", "-f", "x\\n",
                        "-X", "isolation.level=read_committed"], capture_output=True, text=True, timeout=120)
    return r.stdout.count("\n") if r.returncode == 0 else -1



def topic_count_uncommitted(bootstrap, topic):
    return len(read_topic(bootstrap, topic, committed=False))



def output_records(bootstrap, topic, key_fields, committed=True):
    out = []
    for (_p, _o, _k, v) in read_topic(bootstrap, topic, committed):
        try:
            j = json.loads(v)
            out.append((tuple(j.get(f) for f in key_fields), j))
        except ValueError:
            out.append((("<unparsable>", v), None))
    return out

