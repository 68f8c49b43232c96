#!/usr/bin/env python3
"""Statistics and Markdown tables of the benchmark scripts (bench/*.sh), standard library only.

As a module: median(), summary(), spread(), ratio(), hist_delta(), skew(), markdown_table(), ...
As a command (the scripts call it through stats() in bench/lib.sh):

  stats.py median [--empty TEXT] [--stdin] [VALUES...]
                                                    the median (of stdin's values with --stdin;
                                                    non-numbers such as n/a are skipped)
  stats.py summary [--stdin] [VALUES...]            "median min max" (0 0 0 when empty)
  stats.py summary FILE --column N [--skip-header]  the same over column N (1-based, tab-separated)
  stats.py spread [--format F] [--stdin] [VALUES...]
                                                    "med (min-max)" with printf format F, or just
                                                    med for a single value
  stats.py format-spread "MED MIN MAX" [--scale K] [--format F]
                                                    the same from a summary, divided by K; "-" when
                                                    not measured; just med when min == max
  stats.py format-spread --values [--scale K] [--format F] -- VALUES...
                                                    the same of the values' summary
  stats.py ratio A B [--multiply K] [--format F] [--zero TEXT]
                                                    A * K / B (TEXT when B is 0; K defaults to 1),
                                                    also for unit conversions (B = 1e6, 1024, ...)
  stats.py sum [--field N]... [--strip-suffix S] [--format F]
                                                    sums of whitespace-separated fields of stdin
                                                    (N may be negative: -1 is the last field)
  stats.py verdict VALUE OP TARGET                  **met** / **missed** / not measured (OP >= or <=)
  stats.py hist-delta NAME BEFORE AFTER             "count mean_s p99_s" of a Prometheus histogram
                                                    between two /metrics snapshots
  stats.py skew DATA [--stdin] [OFFSETS...]         the largest share of DATA records on one
                                                    partition, watermarks subtracted evenly
  stats.py table --header "a|b|c" [--align r,r,l] [--yes-no N,..] [--skip-header] [FILE]
                                                    a Markdown table from tab-separated rows
"""
import argparse
import math
import re
import sys


# ----------------------------------------------------------------------------- values


def number(text):
    """A float from text, or None for anything that is not a finite number (n/a, -, empty)."""
    try:
        v = float(text)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def numbers(texts):
    return [v for v in (number(t) for t in texts) if v is not None]


def fmt_num(v):
    """A number as the scripts print it: integers without a decimal point, others shortest."""
    if v is None:
        return "-"
    if float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    return "%.12g" % v


def cformat(fmt, *values):
    """printf-style formatting, accepting the scripts' formats ("%.2f", "%.0f", "%.1fx", "%s")."""
    return fmt % values if "%s" not in fmt else fmt % tuple(fmt_num(v) for v in values)


# ----------------------------------------------------------------------------- statistics


def median(values):
    """The median (the mean of the two middle values of an even count), or None for no values."""
    vals = sorted(values)
    if not vals:
        return None
    mid = len(vals) // 2
    return vals[mid] if len(vals) % 2 else (vals[mid - 1] + vals[mid]) / 2


def summary(values):
    """(median, min, max), or None when there are no values."""
    vals = sorted(values)
    if not vals:
        return None
    return median(vals), vals[0], vals[-1]


def summary_text(texts):
    """'median min max' of the numbers among texts ('0 0 0' when none); min, max and a middle
    value are printed as given (0.20 stays 0.20), a mean of two middle values shortest."""
    vals = sorted(((number(t), t.strip()) for t in texts if number(t) is not None), key=lambda x: x[0])
    if not vals:
        return "0 0 0"
    mid = len(vals) // 2
    med = vals[mid][1] if len(vals) % 2 else fmt_num((vals[mid - 1][0] + vals[mid][0]) / 2)
    return f"{med} {vals[0][1]} {vals[-1][1]}"


def spread(values, fmt="%s"):
    """'med (min-max)' with fmt for each, or just med for one value ('-' for none)."""
    s = summary(values)
    if s is None:
        return "-"
    if len(values) > 1:
        return f"{cformat(fmt, s[0])} ({cformat(fmt, s[1])}-{cformat(fmt, s[2])})"
    return cformat(fmt, s[0])


def format_spread(text, scale=1.0, fmt="%.1f"):
    """A 'MED MIN MAX' summary (or a single value) as 'med (min-max)' divided by scale; '-' when
    not measured; just med when min == max."""
    parts = text.split()
    if not parts or number(parts[0]) is None:
        return "-"
    vals = [number(p) for p in parts[:3]]
    if len(vals) < 3 or None in vals or vals[1] == vals[2]:
        return cformat(fmt, vals[0] / scale)
    return f"{cformat(fmt, vals[0] / scale)} ({cformat(fmt, vals[1] / scale)}-{cformat(fmt, vals[2] / scale)})"


def ratio(a, b, fmt="%.2f", zero="-", multiply=1.0):
    """a * multiply / b formatted, zero when b is 0 (or a or b not a number)."""
    a, b = number(a), number(b)
    if a is None or b is None or b == 0:
        return zero
    return cformat(fmt, a * multiply / b)


def verdict(value, op, target):
    v, t = number(value), number(target)
    if v is None:
        return "not measured"
    if op not in (">=", "<="):
        raise ValueError(f"unknown comparison {op}")
    ok = v >= t if op == ">=" else v <= t
    return "**met**" if ok else "**missed**"


def field_sums(lines, fields, strip_suffix=""):
    sums = [0.0] * len(fields)
    for line in lines:
        parts = line.split()
        if not parts:
            continue
        for i, f in enumerate(fields):
            idx = f - 1 if f > 0 else f
            if -len(parts) <= idx < len(parts):
                tok = parts[idx]
                if strip_suffix and tok.endswith(strip_suffix):
                    tok = tok[:-len(strip_suffix)]
                sums[i] += number(tok) or 0.0
    return sums


_SAMPLE = re.compile(r"^([A-Za-z_:][A-Za-z0-9_:]*)(\{.*\})?\s+(\S+)")
_LE = re.compile(r'le="([^"]*)"')


def histogram(text, name):
    """(buckets {le: cumulative count}, sum, count) of a histogram, all label sets summed."""
    buckets, total, count = {}, 0.0, 0.0
    for line in text.splitlines():
        m = _SAMPLE.match(line)
        if not m:
            continue
        metric, labels, value = m.group(1), m.group(2) or "", number(m.group(3)) or 0.0
        if metric == name + "_bucket":
            le = _LE.search(labels)
            if le:
                buckets[le.group(1)] = buckets.get(le.group(1), 0.0) + value
        elif metric == name + "_sum":
            total += value
        elif metric == name + "_count":
            count += value
    return buckets, total, count


def hist_delta(name, before, after, q=0.99):
    """(count, mean, quantile bound) of a histogram between two snapshots: the quantile is the
    upper bound (as written in the le label) of the smallest bucket that holds it, '+Inf' when
    none does; (0, 0, '0') when nothing was observed."""
    b1, s1, c1 = histogram(before, name)
    b2, s2, c2 = histogram(after, name)
    cnt = c2 - c1
    if cnt <= 0:
        return 0, 0.0, "0"
    best, bound = math.inf, "+Inf"
    for le, v in b2.items():
        if le == "+Inf" or number(le) is None:
            continue
        if v - b1.get(le, 0.0) >= q * cnt and number(le) < best:
            best, bound = number(le), le
    return cnt, (s2 - s1) / cnt, bound


def skew(data, offsets):
    """The largest share of data records on one partition, from the partitions' consumed offsets
    (data and watermark records; every partition got the same number of watermarks, so those are
    subtracted evenly)."""
    if not offsets:
        return 0.0
    wm = (sum(offsets) - data) / len(offsets)
    worst = max(0.0, max(o - wm for o in offsets))
    return worst / data if data > 0 else 0.0


def markdown_table(header, rows, align=None):
    """header: column titles; rows: lists of cells; align: 'l', 'r' or 'c' per column."""
    align = align or ["l"] * len(header)
    rule = {"l": "---", "r": "---:", "c": ":---:"}
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(rule[a] for a in align) + " |"]
    for r in rows:
        lines.append("| " + " | ".join(str(c) for c in r) + " |")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- command line


def _values(a, stdin):
    return stdin.read().split() if a.stdin else a.values


def _column(path, column, skip_header):
    vals = []
    with open(path) as f:
        lines = f.read().splitlines()
    for line in lines[1 if skip_header else 0:]:
        cells = line.split("\t")
        if len(cells) >= column:
            vals.append(cells[column - 1])
    return vals


def main(argv=None, stdin=sys.stdin, out=sys.stdout):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("median")
    p.add_argument("values", nargs="*")
    p.add_argument("--stdin", action="store_true", help="read the values from stdin")
    p.add_argument("--empty", default="0")
    p = sub.add_parser("summary")
    p.add_argument("values", nargs="*")
    p.add_argument("--stdin", action="store_true", help="read the values from stdin")
    p.add_argument("--column", type=int, help="read this column (1-based) of the tab-separated file given")
    p.add_argument("--skip-header", action="store_true")
    p = sub.add_parser("spread")
    p.add_argument("values", nargs="*")
    p.add_argument("--stdin", action="store_true", help="read the values from stdin")
    p.add_argument("--format", default="%s")
    p = sub.add_parser("format-spread")
    p.add_argument("summary", nargs="*")
    p.add_argument("--values", action="store_true", help="the arguments are values, not a summary")
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--format", default="%.1f")
    p = sub.add_parser("ratio")
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--format", default="%.2f")
    p.add_argument("--zero", default="-")
    p.add_argument("--multiply", type=float, default=1.0)
    p = sub.add_parser("sum")
    p.add_argument("--field", type=int, action="append")
    p.add_argument("--strip-suffix", default="")
    p.add_argument("--format")
    p = sub.add_parser("verdict")
    p.add_argument("value")
    p.add_argument("op", choices=[">=", "<="])
    p.add_argument("target")
    p = sub.add_parser("hist-delta")
    p.add_argument("name")
    p.add_argument("before")
    p.add_argument("after")
    p = sub.add_parser("skew")
    p.add_argument("data")
    p.add_argument("values", nargs="*", help="the partitions' consumed offsets")
    p.add_argument("--stdin", action="store_true")
    p.add_argument("--format", default="%.3f")
    p = sub.add_parser("table")
    p.add_argument("file", nargs="?")
    p.add_argument("--header", required=True, help="column titles separated by |")
    p.add_argument("--align", help="l, r or c per column, comma-separated (default: l)")
    p.add_argument("--yes-no", default="", help="columns (1-based, comma-separated) shown as yes/no")
    p.add_argument("--skip-header", action="store_true")
    a = ap.parse_args(argv)

    if a.cmd == "median":
        m = median(numbers(_values(a, stdin)))
        print(a.empty if m is None else fmt_num(m), file=out)
    elif a.cmd == "summary":
        vals = _column(a.values[0], a.column, a.skip_header) if a.column is not None else _values(a, stdin)
        print(summary_text(vals), file=out)
    elif a.cmd == "spread":
        print(spread(numbers(_values(a, stdin)), a.format), end="", file=out)
    elif a.cmd == "format-spread":
        if a.values:
            s = summary(numbers(a.summary))
            text = "-" if s is None else " ".join(fmt_num(v) for v in s)
        else:
            text = " ".join(a.summary)
        print(format_spread(text, a.scale, a.format), end="", file=out)
    elif a.cmd == "ratio":
        print(ratio(a.a, a.b, a.format, a.zero, a.multiply), file=out)
    elif a.cmd == "sum":
        fields = a.field or [-1]
        sums = field_sums(stdin.read().splitlines(), fields, a.strip_suffix)
        print(a.format % tuple(sums) if a.format else " ".join(fmt_num(s) for s in sums), file=out)
    elif a.cmd == "verdict":
        print(verdict(a.value, a.op, a.target), file=out)
    elif a.cmd == "hist-delta":
        with open(a.before) as f:
            before = f.read()
        with open(a.after) as f:
            after = f.read()
        cnt, mean, bound = hist_delta(a.name, before, after)
        print("0 0 0" if cnt <= 0 else "%d %.6f %s" % (cnt, mean, bound), file=out)
    elif a.cmd == "skew":
        offsets = numbers(_values(a, stdin))
        print(a.format % skew(number(a.data) or 0.0, offsets), file=out)
    elif a.cmd == "table":
        header = a.header.split("|")
        align = a.align.split(",") if a.align else None
        yes_no = {int(c) for c in a.yes_no.split(",") if c}
        text = open(a.file).read() if a.file else stdin.read()
        rows = []
        for line in text.splitlines()[1 if a.skip_header else 0:]:
            cells = line.split("\t")
            rows.append([("yes" if number(c) else "no") if i + 1 in yes_no else c for i, c in enumerate(cells)])
        print(markdown_table(header, rows, align), file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
