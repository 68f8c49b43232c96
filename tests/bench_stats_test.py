#!/usr/bin/env python3
"""Unit tests of bench/stats.py, the benchmark scripts' statistics and Markdown tables."""
import io
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench"))
import stats  # noqa: E402


def run(*argv, stdin=""):
    out = io.StringIO()
    rc = stats.main(list(argv), stdin=io.StringIO(stdin), out=out)
    return rc, out.getvalue()


HIST_BEFORE = """# TYPE x_seconds histogram
x_seconds_bucket{stage="a",le="0.001"} 1
x_seconds_bucket{stage="a",le="0.01"} 5
x_seconds_bucket{stage="a",le="0.1"} 9
x_seconds_bucket{stage="a",le="+Inf"} 10
x_seconds_sum{stage="a"} 0.5
x_seconds_count{stage="a"} 10
x_seconds_extra 99
"""
HIST_AFTER = """x_seconds_bucket{stage="a",le="0.001"} 51
x_seconds_bucket{stage="a",le="0.01"} 505
x_seconds_bucket{stage="a",le="0.1"} 1009
x_seconds_bucket{stage="a",le="+Inf"} 1010
x_seconds_sum{stage="a"} 12.5
x_seconds_count{stage="a"} 1010
x_seconds_bucket{stage="b",le="0.001"} 0
x_seconds_bucket{stage="b",le="0.01"} 100
x_seconds_bucket{stage="b",le="0.1"} 100
x_seconds_bucket{stage="b",le="+Inf"} 100
x_seconds_sum{stage="b"} 0.7
x_seconds_count{stage="b"} 100
"""


class Statistics(unittest.TestCase):
    def test_median(self):
        self.assertEqual(stats.median([3, 1, 2]), 2)
        self.assertEqual(stats.median([4, 1, 3, 2]), 2.5)
        self.assertEqual(stats.median([7]), 7)
        self.assertIsNone(stats.median([]))

    def test_summary(self):
        self.assertEqual(stats.summary([5, 1, 9, 3]), (4, 1, 9))
        self.assertIsNone(stats.summary([]))

    def test_summary_text_keeps_the_values_as_given(self):
        self.assertEqual(stats.summary_text(["0.20", "0.17", "0.21"]), "0.20 0.17 0.21")
        self.assertEqual(stats.summary_text(["0.20", "0.17"]), "0.185 0.17 0.20")
        self.assertEqual(stats.summary_text(["1405730", "n/a", "1080206", "1731251"]), "1405730 1080206 1731251")
        self.assertEqual(stats.summary_text(["1080206", "1731251"]), "1405728.5 1080206 1731251")
        self.assertEqual(stats.summary_text([]), "0 0 0")

    def test_numbers_skip_what_is_not_measured(self):
        self.assertEqual(stats.numbers(["1", "n/a", "-", "", "2.5", "nan", "-3"]), [1.0, 2.5, -3.0])

    def test_spread(self):
        self.assertEqual(stats.spread([1.5, 0.25, 7], "%.2f"), "1.50 (0.25-7.00)")
        self.assertEqual(stats.spread([5], "%.1f"), "5.0")
        self.assertEqual(stats.spread([], "%.1f"), "-")
        self.assertEqual(stats.spread([1, 2, 4]), "2 (1-4)")

    def test_format_spread(self):
        self.assertEqual(stats.format_spread("2000000 1000000 3000000", 1e6, "%.2f"), "2.00 (1.00-3.00)")
        self.assertEqual(stats.format_spread("5 5 5", 1, "%.1f"), "5.0")  # min == max: the median only
        self.assertEqual(stats.format_spread("7", 1, "%.0f"), "7")
        self.assertEqual(stats.format_spread("-", 1, "%.1f"), "-")
        self.assertEqual(stats.format_spread("", 1, "%.1f"), "-")

    def test_ratio(self):
        self.assertEqual(stats.ratio("3", "2", "%.1fx"), "1.5x")
        self.assertEqual(stats.ratio("1000000", "3", "%.0f"), "333333")
        self.assertEqual(stats.ratio("1", "0"), "-")
        self.assertEqual(stats.ratio("1", "0", zero="0.00x"), "0.00x")
        self.assertEqual(stats.ratio("-", "2"), "-")
        self.assertEqual(stats.ratio("2.5", "1e4", "%.1f%%", multiply=20000), "5.0%")

    def test_verdict(self):
        self.assertEqual(stats.verdict("5", ">=", "4"), "**met**")
        self.assertEqual(stats.verdict("3.9", ">=", "4"), "**missed**")
        self.assertEqual(stats.verdict("20", "<=", "20"), "**met**")
        self.assertEqual(stats.verdict("-", "<=", "20"), "not measured")
        self.assertEqual(stats.verdict("", ">=", "1"), "not measured")

    def test_field_sums(self):
        lines = ["12 records, 0 discarded, 1.5s", "30 records, 2 discarded, 0.25s", ""]
        self.assertEqual(stats.field_sums(lines, [1, -1], "s"), [42.0, 1.75])

    def test_hist_delta(self):
        # 1100 new observations (both label sets): 50 <= 1 ms, 600 <= 10 ms, 1100 <= 0.1 s; p99 (1089) is
        # in the 0.1 s bucket.
        cnt, mean, bound = stats.hist_delta("x_seconds", HIST_BEFORE, HIST_AFTER)
        self.assertEqual(cnt, 1100)
        self.assertAlmostEqual(mean, (12.5 + 0.7 - 0.5) / 1100)
        self.assertEqual(bound, "0.1")
        # The median (550) is in the 10 ms bucket.
        self.assertEqual(stats.hist_delta("x_seconds", HIST_BEFORE, HIST_AFTER, q=0.5)[2], "0.01")
        self.assertEqual(stats.hist_delta("x_seconds", HIST_BEFORE, HIST_BEFORE), (0, 0.0, "0"))

    def test_hist_delta_beyond_the_last_bucket(self):
        after = HIST_BEFORE.replace('le="+Inf"} 10', 'le="+Inf"} 1000').replace("_count{stage=\"a\"} 10",
                                                                               "_count{stage=\"a\"} 1000")
        self.assertEqual(stats.hist_delta("x_seconds", HIST_BEFORE, after)[2], "+Inf")

    def test_skew(self):
        # 300 data records; consumed 110, 150, 100 with 20 watermarks each: 130 of 300 on one partition.
        self.assertAlmostEqual(stats.skew(300, [110, 150, 100]), 130 / 300)
        self.assertEqual(stats.skew(0, [1, 2]), 0.0)
        self.assertEqual(stats.skew(10, []), 0.0)

    def test_markdown_table(self):
        self.assertEqual(stats.markdown_table(["a", "b"], [[1, "x"], [2, "y"]], ["r", "l"]),
                         "| a | b |\n| ---: | --- |\n| 1 | x |\n| 2 | y |")


class CommandLine(unittest.TestCase):
    def test_median_and_summary(self):
        self.assertEqual(run("median", "--", "3", "-1", "2"), (0, "2\n"))
        self.assertEqual(run("median", "--stdin", "--empty", "n/a", stdin="n/a\n"), (0, "n/a\n"))
        self.assertEqual(run("median", "--stdin", stdin="0.35\n0.45\n"), (0, "0.4\n"))
        self.assertEqual(run("summary", "--", "1.5", "-2", "10"), (0, "1.5 -2 10\n"))
        self.assertEqual(run("summary"), (0, "0 0 0\n"))

    def test_summary_of_a_column(self):
        with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False) as f:
            f.write("offered\tinput\n100\t90\n300\t280\n200\t210\n")
        try:
            self.assertEqual(run("summary", f.name, "--column", "2", "--skip-header"), (0, "210 90 280\n"))
        finally:
            os.unlink(f.name)

    def test_spread_and_format_spread(self):
        self.assertEqual(run("spread", "--format", "%.1f", "--", "1", "2", "3.33"), (0, "2.0 (1.0-3.3)"))
        self.assertEqual(run("format-spread", "1000 500 1500", "--scale", "1000", "--format", "%.1f"),
                         (0, "1.0 (0.5-1.5)"))
        self.assertEqual(run("format-spread", "--values", "--format", "%.0f", "--", "3", "1", "2"), (0, "2 (1-3)"))
        self.assertEqual(run("format-spread", "--values", "--"), (0, "-"))

    def test_ratio_sum_verdict(self):
        self.assertEqual(run("ratio", "3", "2", "--format", "%.1fx"), (0, "1.5x\n"))
        self.assertEqual(run("sum", "--field", "1", "--field", "-1", "--strip-suffix", "s", "--format", "%d %.3f",
                             stdin="12 records, 1.5s\n30 records, 0.25s\n"), (0, "42 1.750\n"))
        self.assertEqual(run("sum", "--format", "%.0f", stdin=""), (0, "0\n"))
        self.assertEqual(run("verdict", "1", ">=", "2"), (0, "**missed**\n"))

    def test_hist_delta_files(self):
        with tempfile.TemporaryDirectory() as d:
            a, b = os.path.join(d, "a"), os.path.join(d, "b")
            with open(a, "w") as f:
                f.write(HIST_BEFORE)
            with open(b, "w") as f:
                f.write(HIST_AFTER)
            self.assertEqual(run("hist-delta", "x_seconds", a, b), (0, "1100 0.011545 0.1\n"))
            self.assertEqual(run("hist-delta", "x_seconds", a, a), (0, "0 0 0\n"))

    def test_skew(self):
        self.assertEqual(run("skew", "300", "--stdin", stdin="110\n150\n100\n"), (0, "0.433\n"))

    def test_table(self):
        tsv = "offered\tsustained\tcores\n300000\t1\t0.18\n500000\t0\t0.28\n"
        self.assertEqual(run("table", "--header", "offered /s|sustained|cores", "--align", "r,l,r", "--yes-no", "2",
                             "--skip-header", stdin=tsv),
                         (0, "| offered /s | sustained | cores |\n| ---: | --- | ---: |\n"
                             "| 300000 | yes | 0.18 |\n| 500000 | no | 0.28 |\n"))


if __name__ == "__main__":
    unittest.main()
