#!/usr/bin/env python3
"""Checks every alert rule and every dashboard query against a real Prometheus that scrapes the
real processes (tests/integration/ops_assets_test.cpp starts them and this Prometheus).

  selectors.py --prometheus URL --dashboard dashboard.json --alerts-tests alerts_test.yaml
               [--targets N] [--timeout S]
  selectors.py --self-test

What it checks, until everything holds or the timeout passes:
- every scrape target is up (N of them);
- every rule Prometheus loaded (from the chart's alerts.yaml) has been evaluated without error;
- every dashboard query evaluates without error (with its template variables filled in);
- every vector selector of every rule expression, dashboard query and template-variable query
  matches at least one scraped series: the metric name and every label matcher (=, !=, =~, !~),
  as Prometheus itself matches them (/api/v1/series), so a rule that can never fire fails;
- every input series of the promtool unit tests (tests/alerts) has the label names of a scraped
  series of its metric (apart from the labels the scrape adds), and the values of the labels the
  processes fix (stage, decided, table, le) are values they really export.

Dashboard template variables ($namespace, ${stage}, [[stage]]) are filled in with each value their
own query gives (label_values(...) against the same Prometheus), and with the All value where the
variable has one; a selector passes if one of these fillings matches. $__rate_interval and the
other interval variables become 1m.

Prints one line per problem and ends with "selectors: N passed, M failed"; exits 1 on a failure.
Only the Python standard library is used.
"""
import argparse
import itertools
import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

# ---- PromQL: vector selectors ------------------------------------------------------------------

KEYWORDS_WITH_LABEL_LIST = {"by", "without", "on", "ignoring", "group_left", "group_right"}
BINARY_KEYWORDS = {"and", "or", "unless", "bool", "atan2"}
AGGREGATIONS = {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
                "bottomk", "topk", "quantile", "limitk", "limit_ratio"}

_TOKEN = re.compile(r"""
    (?P<ws>\s+|\#[^\n]*)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<number>(?:0[xX][0-9a-fA-F]+|[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)(?:ms|[smhdwy])?(?:[0-9]+(?:ms|[smhdwy]))*)
  | (?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)
  | (?P<op>=~|!~|==|!=|<=|>=|[-+*/%^<>=(),{}\[\]:@])
""", re.VERBOSE)


def tokenize(expr):
    out = []
    pos = 0
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if not m:
            raise ValueError(f"cannot read {expr[pos:pos + 20]!r} in {expr!r}")
        kind = m.lastgroup
        if kind != "ws":
            out.append((kind, m.group(), m.start(), m.end()))
        pos = m.end()
    return out


def unquote(s):
    if s[0] == "`":
        return s[1:-1]
    body = s[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


class Selector:
    """A vector selector: a metric name (or None) and its label matchers (label, op, value)."""

    def __init__(self, name, matchers, text):
        self.name = name
        self.matchers = matchers
        self.text = text  # as written in the expression

    def promql(self):
        """The selector as /api/v1/series takes it."""
        parts = [f'{label}{op}{json.dumps(value)}' for label, op, value in self.matchers]
        return (self.name or "") + "{" + ",".join(parts) + "}"

    def __repr__(self):
        return self.promql()


def selectors(expr):
    """Every vector selector of a PromQL expression, in order."""
    toks = tokenize(expr)
    found = []
    i = 0
    n = len(toks)

    def skip_balanced(i, open_, close):
        depth = 0
        while i < n:
            if toks[i][1] == open_:
                depth += 1
            elif toks[i][1] == close:
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        raise ValueError(f"unbalanced {open_} in {expr!r}")

    def matchers_at(i):
        # toks[i] is '{'; returns (matchers, index after '}').
        assert toks[i][1] == "{"
        i += 1
        ms = []
        while toks[i][1] != "}":
            kind, label = toks[i][0], toks[i][1]
            if kind == "string":
                label = unquote(label)
            elif kind != "ident":
                raise ValueError(f"a label name expected, not {toks[i][1]!r} in {expr!r}")
            op = toks[i + 1][1]
            if op not in ("=", "!=", "=~", "!~"):
                raise ValueError(f"a matcher operator expected after {label}, not {op!r} in {expr!r}")
            if toks[i + 2][0] != "string":
                raise ValueError(f"a string expected after {label}{op} in {expr!r}")
            ms.append((label, op, unquote(toks[i + 2][1])))
            i += 3
            if toks[i][1] == ",":
                i += 1
        return ms, i + 1

    while i < n:
        kind, text, start, _ = toks[i]
        nxt = toks[i + 1][1] if i + 1 < n else None
        if text == "[":
            i = skip_balanced(i, "[", "]")  # a range or subquery: durations only
            continue
        if kind == "ident" and text in KEYWORDS_WITH_LABEL_LIST:
            i = skip_balanced(i + 1, "(", ")") if nxt == "(" else i + 1
            continue
        if kind == "ident" and text == "offset":
            i += 2 if i + 1 < n and toks[i + 1][1] != "-" else 3
            continue
        if kind == "ident" and text in BINARY_KEYWORDS:
            i += 1
            continue
        if kind == "ident" and (nxt == "(" or (text in AGGREGATIONS and nxt in ("by", "without"))):
            i += 1  # a function or an aggregation: its arguments follow
            continue
        if kind == "ident" and text.lower() in ("inf", "nan"):
            i += 1
            continue
        if kind == "ident":
            if nxt == "{":
                ms, j = matchers_at(i + 1)
            else:
                ms, j = [], i + 1
            found.append(Selector(text, ms, expr[start:toks[j - 1][3]]))
            i = j
            continue
        if text == "{":
            ms, j = matchers_at(i)
            name = next((v for label, op, v in ms if label == "__name__" and op == "="), None)
            ms = [m for m in ms if not (m[0] == "__name__" and m[1] == "=")]
            found.append(Selector(name, ms, expr[start:toks[j - 1][3]]))
            i = j
            continue
        i += 1
    return found


# ---- Grafana --------------------------------------------------------------------------------------

INTERVAL_VARIABLES = ("__rate_interval", "__interval", "__range", "__range_s", "__interval_ms")


def variables_in(text):
    return {m.group(1) or m.group(2) or m.group(3)
            for m in re.finditer(r"\$\{([A-Za-z0-9_]+)(?::[a-z]+)?\}|\$([A-Za-z0-9_]+)|\[\[([A-Za-z0-9_]+)\]\]", text)}


def fill(text, values):
    """Replaces $var, ${var}, ${var:fmt} and [[var]] by values[var]; interval variables by 1m."""
    def sub(m):
        var = m.group(1) or m.group(2) or m.group(3)
        if var in INTERVAL_VARIABLES:
            return "60" if var.endswith("_s") else "60000" if var.endswith("_ms") else "1m"
        return values.get(var, m.group(0))
    return re.sub(r"\$\{([A-Za-z0-9_]+)(?::[a-z]+)?\}|\$([A-Za-z0-9_]+)|\[\[([A-Za-z0-9_]+)\]\]", sub, text)


def label_values_query(q):
    """label_values(SELECTOR, label) -> (SELECTOR, label); label_values(label) -> (None, label)."""
    m = re.fullmatch(r"\s*label_values\(\s*(.*?)\s*,\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*", q, re.S)
    if m:
        return m.group(1), m.group(2)
    m = re.fullmatch(r"\s*label_values\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*", q)
    if m:
        return None, m.group(1)
    raise ValueError(f"unsupported variable query {q!r} (only label_values is used)")


# ---- Prometheus -----------------------------------------------------------------------------------

class Prometheus:
    def __init__(self, url):
        self.url = url.rstrip("/")

    def get(self, path, params=()):
        q = urllib.parse.urlencode(list(params))
        with urllib.request.urlopen(f"{self.url}{path}{'?' + q if q else ''}", timeout=10) as r:
            body = json.load(r)
        if body.get("status") != "success":
            raise RuntimeError(f"{path}: {body}")
        return body["data"]

    def get_or_error(self, path, params=()):
        try:
            return self.get(path, params), None
        except urllib.error.HTTPError as e:
            try:
                return None, json.load(e).get("error", str(e))
            except Exception:  # noqa: BLE001 - any unreadable error body
                return None, str(e)

    def series(self, match):
        now = time.time()
        return self.get("/api/v1/series", [("match[]", match), ("start", f"{now - 600:.3f}"), ("end", f"{now:.3f}")])

    def label_values(self, label, match=None):
        params = [("match[]", match)] if match else []
        return self.get(f"/api/v1/label/{label}/values", params)


# ---- the checks -----------------------------------------------------------------------------------

SCRAPE_LABELS = {"job", "instance", "namespace", "pod", "service", "container", "endpoint"}
FIXED_VALUE_LABELS = {"stage", "decided", "table", "le"}


def dashboard_queries(dashboard):
    out = []
    def walk(panels):
        for p in panels:
            for t in p.get("targets", []):
                if t.get("expr"):
                    out.append((f"panel {p.get('title')!r} {t.get('refId', '')}", t["expr"]))
            walk(p.get("panels", []))
    walk(dashboard.get("panels", []))
    return out


def promtool_input_series(path):
    """input_series of a promtool test file (the `- series: '...'` lines)."""
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            m = re.match(r"""\s*-\s*series:\s*(['"])(.*)\1\s*$""", line)
            if m:
                out.append((n, m.group(2).replace("''", "'") if m.group(1) == "'" else m.group(2)))
    return out


def resolve_variables(prom, dashboard):
    """Each query variable -> (its values, its All value or None), in dependency order."""
    resolved = {}
    for v in dashboard.get("templating", {}).get("list", []):
        if v.get("type") != "query":
            continue
        query = v["query"] if isinstance(v["query"], str) else v["query"].get("query")
        match, label = label_values_query(query)
        # Variables the query uses take their All value (or every value).
        fills = {}
        for dep in variables_in(match or ""):
            if dep in resolved:
                vals, all_value = resolved[dep]
                fills[dep] = all_value if all_value is not None else "|".join(map(promql_regex_escape, vals)) or ".*"
        values = prom.label_values(label, fill(match, fills) if match else None)
        all_value = None
        if v.get("includeAll"):
            all_value = v.get("allValue") or ("(" + "|".join(map(promql_regex_escape, values)) + ")" if values else None)
        resolved[v["name"]] = (values, all_value)
    return resolved


def fillings(text, resolved):
    """Every way of filling the variables of text (each value, and the All value)."""
    names = sorted(n for n in variables_in(text) if n not in INTERVAL_VARIABLES and n != "datasource")
    choices = []
    for n in names:
        if n not in resolved:
            raise ValueError(f"variable ${n} is not a query variable of the dashboard")
        vals, all_value = resolved[n]
        options = [promql_regex_escape(x) if _in_regex_matcher(text, n) else x for x in vals]
        if all_value is not None and _in_regex_matcher(text, n):
            options.append(all_value)
        choices.append(options)
    for combo in itertools.islice(itertools.product(*choices), 200):
        yield fill(text, dict(zip(names, combo)))


def promql_regex_escape(value):
    """A value as a regular expression inside a PromQL string (Grafana's regex format)."""
    return "".join("\\\\" + c if c in ".+*?()|[]{}^$\\" else c for c in value)


def _in_regex_matcher(text, var):
    return re.search(r"[=!]~\s*\"[^\"]*(\$\{?" + var + r"\b|\[\[" + var + r"\]\])", text) is not None


def check(args):
    prom = Prometheus(args.prometheus)
    with open(args.dashboard, encoding="utf-8") as f:
        dashboard = json.load(f)
    deadline = time.monotonic() + args.timeout
    problems = []
    passed = 0

    def wait(what, condition):
        last = None
        while True:
            try:
                last = condition()
            except (urllib.error.URLError, RuntimeError, ConnectionError) as e:
                last = [f"{what}: {e}"]
            if not last or time.monotonic() >= deadline:
                return last or []
            time.sleep(0.5)

    # 1. Every target scraped.
    def targets():
        active = prom.get("/api/v1/targets", [("state", "active")])["activeTargets"]
        bad = [f"target {t['labels'].get('job')} {t['scrapeUrl']}: {t['health']} {t.get('lastError', '')}"
               for t in active if t["health"] != "up"]
        if len(active) < args.targets:
            bad.append(f"{len(active)} scrape targets, not {args.targets}")
        return bad
    p = wait("targets", targets)
    problems += p
    passed += not p

    # 2. Every rule loaded and evaluated without error.
    def rules():
        groups = prom.get("/api/v1/rules")["groups"]
        rs = [r for g in groups for r in g["rules"]]
        if not rs:
            return ["Prometheus loaded no rules"]
        bad = []
        for r in rs:
            if r.get("lastEvaluation", "").startswith("0001-"):
                bad.append(f"rule {r['name']}: not evaluated yet")
            elif r.get("health") != "ok":
                bad.append(f"rule {r['name']}: {r.get('health')} {r.get('lastError', '')}")
        return bad
    p = wait("rules", rules)
    problems += p
    passed += not p
    rule_exprs = [(f"rule {r['name']}", r["query"]) for g in prom.get("/api/v1/rules")["groups"] for r in g["rules"]]

    # 3. The dashboard's variables, then its queries evaluate.
    resolved = {}
    def variables():
        nonlocal resolved
        resolved = resolve_variables(prom, dashboard)
        return [f"dashboard variable ${k}: its query gives no value" for k, (vals, _) in resolved.items() if not vals]
    p = wait("dashboard variables", variables)
    problems += p
    passed += not p
    panels = dashboard_queries(dashboard)
    for where, expr in panels:
        errors = []
        for text in fillings(expr, resolved):
            _, err = prom.get_or_error("/api/v1/query", [("query", text)])
            if err:
                errors.append(f"{where}: {text}: {err}")
                break
        problems += errors
        passed += not errors

    # 4. Every selector matches a scraped series.
    var_queries = []
    for v in dashboard.get("templating", {}).get("list", []):
        if v.get("type") == "query":
            match, _ = label_values_query(v["query"] if isinstance(v["query"], str) else v["query"].get("query"))
            if match:
                var_queries.append((f"variable ${v['name']}", match))
    cases = []  # (where, selector text before filling)
    for where, expr in rule_exprs + panels + var_queries:
        for sel in selectors(fill(expr, {})):  # parse with interval variables filled, others kept
            cases.append((where, sel))

    def unmatched():
        bad = []
        for where, sel in cases:
            if not any(prom.series(s.promql()) for text in fillings(sel.text, resolved) for s in selectors(text)):
                names = prom.series(sel.name) if sel.name else []
                seen = sorted({json.dumps({k: v for k, v in s.items() if k != '__name__'}, sort_keys=True) for s in names})[:4]
                bad.append(f"{where}: {sel.text} matches no scraped series"
                           + (f" (series of {sel.name}: {', '.join(seen)})" if seen else f" (no series named {sel.name})"))
        return bad
    p = wait("selectors", unmatched)
    problems += p
    passed += len(cases) - len(p)
    print(f"checked {len(cases)} selectors of {len(rule_exprs)} rules, {len(panels)} dashboard queries and "
          f"{len(var_queries)} variable queries")

    # 5. The promtool tests feed series shaped like the real ones.
    if args.alerts_tests:
        for line, text in promtool_input_series(args.alerts_tests):
            sel = selectors(text)
            if len(sel) != 1 or not sel[0].name:
                problems.append(f"{args.alerts_tests}:{line}: cannot read series {text!r}")
                continue
            s = sel[0]
            real = prom.series(s.name)
            if not real:
                problems.append(f"{args.alerts_tests}:{line}: no scraped series named {s.name}")
                continue
            mine = {label for label, _, _ in s.matchers} - SCRAPE_LABELS
            shapes = [set(r) - {"__name__"} - SCRAPE_LABELS for r in real]
            errs = []
            if mine not in shapes:
                errs.append(f"{args.alerts_tests}:{line}: {text} has labels {sorted(mine)}; {s.name} is scraped with "
                            + " or ".join(str(sorted(x)) for x in {tuple(sorted(x)): x for x in shapes}.values()))
            for label, _, value in s.matchers:
                if label in FIXED_VALUE_LABELS and not any(r.get(label) == value for r in real):
                    errs.append(f"{args.alerts_tests}:{line}: {label}=\"{value}\" is not a value {s.name} has "
                                f"({', '.join(sorted({r.get(label, '') for r in real}))})")
            problems += errs
            passed += not errs

    for p in problems:
        print(f"FAIL  {p}")
    print(f"selectors: {passed} passed, {len(problems)} failed")
    return 1 if problems else 0


# ---- self-test of the parser ------------------------------------------------------------------------

def self_test():
    cases = {
        'sum by (job, stage) (rate(a_total{x="1"}[5m])) / clamp_min(sum by (job, stage) (rate(b_total[5m])), 1e-9) > 0.01':
            ['a_total{x="1"}', "b_total{}"],
        'max by (c, t) (max by (c, t, partition) (lag)) > 1000 and delta(sum by (c) (lag)[15m:1m]) > 0':
            ["lag{}", "lag{}"],
        'x unless on (job, instance) y offset 5m':
            ["x{}", "y{}"],
        'a{l!~".*sink.*", m=~"a|b",} * on(job) group_left(stage) b':
            ['a{l!~".*sink.*",m=~"a|b"}', "b{}"],
        '{__name__="up", job!=""}':
            ['up{job!=""}'],
        'histogram_quantile(0.99, sum by (le) (rate(h_bucket{namespace=~"$namespace"}[$__rate_interval])))':
            ['h_bucket{namespace=~"$namespace"}'],
        'count(streamwright_ready{stage="telemetra-sink"} == 0) + sum(x) without (pod) - vector(1) + inf':
            ['streamwright_ready{stage="telemetra-sink"}', "x{}"],
        'label_replace(up, "dst", "$1", "src", "(.*)") # a comment with foo{bar="x"}':
            ["up{}"],
        'topk(3, sum by (instance) (rate(c_total[1m]))) and bool d':
            ["c_total{}", "d{}"],
    }
    failures = 0
    for expr, want in cases.items():
        got = [s.promql() for s in selectors(fill(expr, {}))]
        if got != want:
            failures += 1
            print(f"FAIL  {expr}\n      got  {got}\n      want {want}")
    assert fill("a[$__rate_interval]", {}) == "a[1m]"
    assert fill('x{s="$stage",n=~"${namespace}"}', {"stage": "p", "namespace": ".*"}) == 'x{s="p",n=~".*"}'
    assert label_values_query('label_values(x{a="b"}, stage)') == ('x{a="b"}', "stage")
    assert promql_regex_escape("a.b-c") == "a\\\\.b-c"
    assert _in_regex_matcher('x{n=~"$namespace"}', "namespace") and not _in_regex_matcher('x{s="$stage"}', "stage")
    print(f"selectors self-test: {len(cases) - failures} passed, {failures} failed")
    return 1 if failures else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prometheus")
    ap.add_argument("--dashboard")
    ap.add_argument("--alerts-tests")
    ap.add_argument("--targets", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args()
    if args.self_test:
        return self_test()
    if not args.prometheus or not args.dashboard:
        ap.error("--prometheus and --dashboard are required")
    return check(args)


if __name__ == "__main__":
    sys.exit(main())
