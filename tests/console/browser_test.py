#!/usr/bin/env python3
"""The console's page in a real browser (headless Chromium) against a running demo.

Runs `streamwright demo crash-monitor`, loads the console's page and checks, in the DOM the
browser built, that the topology graph renders with every stage, that numbers appear and change
over time, and that a stopped stage (SIGSTOP: it no longer answers) is shown as down with the
time it was last seen. Saves screenshots (SW_CONSOLE_SCREENSHOTS, default build/console-screenshots):
console-overview.png and console-stage-down.png.

Exit 0: passed; 77: skipped because no Chromium is installed; anything else: failed.
"""
import html.parser
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

BIN = os.environ.get("SW_BIN_DIR", os.path.join(os.path.dirname(__file__), "../../build/bin"))
SHOTS = os.environ.get("SW_CONSOLE_SCREENSHOTS", os.path.join(BIN, "..", "console-screenshots"))


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Dom(html.parser.HTMLParser):
    """Elements with their attributes and text, enough to query the page's state."""

    def __init__(self, text):
        super().__init__()
        self.elements = []  # (tag, attrs dict, text)
        self.stack = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        e = [tag, dict(attrs), ""]
        self.elements.append(e)
        if tag not in ("meta", "link", "br", "img", "input", "path", "rect", "stop"):
            self.stack.append(e)

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        for e in self.stack:
            e[2] += data

    def find(self, pred):
        return [e for e in self.elements if pred(e[0], e[1])]


def api(port, path):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=5) as r:
        return json.loads(r.read())


def stage_status(status, name):
    return next((s for s in status["stages"] if s["name"] == name), None)


def wait_for(what, pred, timeout):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = pred()
            if last:
                return last
        except Exception as e:  # the console may not answer yet
            last = e
        time.sleep(1)
    fail("timed out waiting for %s (last: %r)" % (what, last))


class Browser:
    def __init__(self, chromium, profile):
        self.chromium = chromium
        self.profile = profile

    def args(self):
        return [self.chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--hide-scrollbars", "--user-data-dir=" + self.profile, "--window-size=1440,2600",
                # The page polls (no open event stream), so the virtual clock can run out.
                "--virtual-time-budget=10000"]

    def dom(self, url):
        p = subprocess.run(self.args() + ["--dump-dom", url], capture_output=True, text=True, timeout=90)
        if p.returncode != 0 or "<html" not in p.stdout:
            fail("chromium --dump-dom failed (%d): %s" % (p.returncode, p.stderr[-2000:]))
        return Dom(p.stdout)

    def screenshot(self, url, path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if os.path.exists(path):
            os.remove(path)
        p = subprocess.run(self.args() + ["--screenshot=" + path, url], capture_output=True, text=True, timeout=90)
        if p.returncode != 0 or not os.path.exists(path) or os.path.getsize(path) < 10000:
            fail("chromium --screenshot failed (%d): %s" % (p.returncode, p.stderr[-2000:]))
        print("saved " + os.path.abspath(path), flush=True)


def kpi_value(dom, stage, field):
    """The text of a stage card's KPI value, e.g. the records it consumed."""
    cards = dom.find(lambda t, a: t == "article" and a.get("data-stage") == stage)
    if not cards:
        return None
    # The KPI divs follow their card in document order: the first one after the card, and the
    # value inside it.
    start = dom.elements.index(cards[0])
    for i in range(start, len(dom.elements)):
        e = dom.elements[i]
        if e[0] == "div" and e[1].get("data-field") == field:
            for v in dom.elements[i + 1:i + 4]:
                if v[0] == "div" and "value" in v[1].get("class", "").split():
                    return v[2].strip()
            return None
    return None


def check_page(dom, stages, expect_down=None):
    svgs = dom.find(lambda t, a: t == "svg" and "topology" in a.get("class", ""))
    if not svgs:
        fail("no topology graph (svg.topology) in the page")
    for s in stages:
        nodes = dom.find(lambda t, a: t == "g" and a.get("data-node") == "stage:" + s)
        if not nodes:
            fail("the graph has no node for stage " + s)
        state = nodes[0][1].get("data-state")
        want = "down" if s == expect_down else "up"
        if state != want:
            fail("stage %s is %r in the graph, expected %r (text: %s)" % (s, state, want, nodes[0][2]))
        card = dom.find(lambda t, a: t == "article" and a.get("data-stage") == s)
        if not card or card[0][1].get("data-state") != want:
            fail("stage card of %s missing or not %s" % (s, want))
    topics = dom.find(lambda t, a: t == "g" and "topic" in a.get("class", "").split())
    if len(topics) < 3:
        fail("the graph shows %d topics, expected the pipeline's topics" % len(topics))


def main():
    chromium = find_chromium()
    if not chromium:
        print("SKIP: no chromium installed (Debian package chromium)")
        return 77
    work = tempfile.mkdtemp(prefix="sw-console-browser-")
    demo = subprocess.Popen([os.path.join(BIN, "streamwright"), "demo", "crash-monitor", "--rate", "2000", "--duration",
                             "240", "--max-alerts-shown", "0", "--work-dir", os.path.join(work, "demo")],
                            stdout=subprocess.PIPE, stderr=open(os.path.join(work, "demo.err"), "w"), text=True,
                            start_new_session=True)
    victim_pid = None
    try:
        first = demo.stdout.readline().strip()
        m = re.fullmatch(r"console (http://127\.0\.0\.1:(\d+)/)", first)
        if not m:
            fail("the demo's first line is not the console's URL: %r" % first)
        url, port = m.group(1), int(m.group(2))
        stages = {}
        for line in demo.stdout:
            s = re.match(r"stage (\S+) running \(pid (\d+)", line)
            if s:
                stages[s.group(1)] = int(s.group(2))
            if line.startswith("watching"):
                break
        if len(stages) != 2:
            fail("expected two stages, got %r" % stages)
        names = list(stages)

        def all_up():
            st = api(port, "/api/status")
            return st if st["kafka"]["state"] == "up" and all(
                stage_status(st, n)["state"] == "up" and (stage_status(st, n)["records_consumed_total"] or 0) > 0
                for n in names) else None
        wait_for("every stage up with records", all_up, 90)
        time.sleep(6)  # a few points for the charts

        browser = Browser(chromium, os.path.join(work, "profile"))
        page = url + "?updates=poll"
        dom1 = browser.dom(page)
        check_page(dom1, names)
        consumed1 = {n: kpi_value(dom1, n, "consumed_total") for n in names}
        for n, v in consumed1.items():
            if not v or not re.search(r"\d", v):
                fail("no consumed count shown for %s: %r" % (n, v))
        version1 = int(dom1.find(lambda t, a: t == "body")[0][1].get("data-version", "0"))
        print("first load: consumed %r, version %d" % (consumed1, version1), flush=True)
        time.sleep(8)
        dom2 = browser.dom(page)
        check_page(dom2, names)
        consumed2 = {n: kpi_value(dom2, n, "consumed_total") for n in names}
        version2 = int(dom2.find(lambda t, a: t == "body")[0][1].get("data-version", "0"))
        print("second load: consumed %r, version %d" % (consumed2, version2), flush=True)
        if consumed2[names[0]] == consumed1[names[0]]:
            fail("the numbers did not change over time: %r then %r" % (consumed1, consumed2))
        if version2 <= version1:
            fail("the snapshot version did not advance: %d then %d" % (version1, version2))
        charts = dom2.find(lambda t, a: t == "canvas")
        if not charts:
            fail("no charts were drawn")
        browser.screenshot(page, os.path.join(SHOTS, "console-overview.png"))

        # A stopped stage: down in the graph and its card, with when it was last seen.
        victim = names[-1]
        victim_pid = stages[victim]
        os.kill(victim_pid, signal.SIGSTOP)
        wait_for("the console to report %s down" % victim,
                 lambda: stage_status(api(port, "/api/status"), victim)["state"] == "down", 40)
        dom3 = browser.dom(page)
        check_page(dom3, names, expect_down=victim)
        node = dom3.find(lambda t, a: t == "g" and a.get("data-node") == "stage:" + victim)[0]
        if "DOWN" not in node[2] or "last seen" not in node[2]:
            fail("the graph's node for %s does not say DOWN with the last-seen time: %r" % (victim, node[2]))
        card = dom3.find(lambda t, a: t == "article" and a.get("data-stage") == victim)[0]
        if "last seen" not in card[2]:
            fail("the stage card of %s does not say when it was last seen: %r" % (victim, card[2][:500]))
        browser.screenshot(page, os.path.join(SHOTS, "console-stage-down.png"))
        os.kill(victim_pid, signal.SIGCONT)
        victim_pid = None
        print("PASS: graph, live numbers and a stopped stage in Chromium", flush=True)
        return 0
    finally:
        if victim_pid:
            os.kill(victim_pid, signal.SIGCONT)
        if demo.poll() is None:
            demo.send_signal(signal.SIGTERM)
            try:
                demo.wait(90)
            except subprocess.TimeoutExpired:
                os.killpg(demo.pid, signal.SIGKILL)
                demo.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
