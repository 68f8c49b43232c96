#!/usr/bin/env bash
# The benchmark suite: every pipeline measured the same way, on one machine, in one command.
#
# Usage: bench/suite.sh [--quick] [--runs R] [--pipelines crash-monitor,render-farm,telemetra]
#                       [--no-restore] [--keep-logs] [--report-only]
#
# For each pipeline, reusing the per-pipeline scripts:
#   - pre-filled throughput and its ratio to the raw consume rate of the same topic in the same
#     run, CPU per stage, peak RSS per process (crash_monitor_bench.sh, render_farm_bench.sh,
#     telemetra_bench.sh); the crash monitor also at 2 replicas of each stage and under
#     exactly-once;
#   - an offered-load sweep and latency percentiles at 50% and 90% of the highest sustainable
#     rate (load_bench.sh): the stateless (entry) stage, and alerts/aggregates with early
#     emission; the crash monitor also under exactly-once at 50%;
#   - the render farm's before/after table (render_farm_bench.sh);
#   - the crash monitor at the stages' defaults (2x the events, 128 partitions) beside the Python
#     peer (crash_monitor_bench.sh --peer), and the failover of a two-replica aggregate
#     (failover_bench.sh);
# and once: changelog restore rate and recovery time after SIGKILL for 1 M keys
# (restore_bench.sh).
#
# Repeated runs (--runs R) report the median and the spread (min-max). --quick: 1 run, 500 k
# pre-filled events, shorter sweep steps (about 10 minutes on 2 cores). Results:
# bench/results/suite-latest.md, bench/results/suite-latest/*.tsv and PNG plots
# (gnuplot: scripts/install-deps.sh installs gnuplot-nox). --report-only redraws the report and
# plots from the last results (same options).
set -euo pipefail
BENCH_NAME=suite
BENCH_LOG_TAG=suite
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

QUICK=0
RUNS=
PIPELINES=crash-monitor,render-farm,telemetra
RESTORE=1
REPORT_ONLY=0
KEEP=()
ORIGINAL_ARGS=("$@")
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) QUICK=1; shift ;;
    --runs) RUNS=${2:?}; shift 2 ;;
    --pipelines) PIPELINES=${2:?}; shift 2 ;;
    --no-restore) RESTORE=0; shift ;;
    --keep-logs) KEEP=(--keep-logs); shift ;;
    --report-only) REPORT_ONLY=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1'" ;;
  esac
done
if [[ $QUICK -eq 1 ]]; then RUNS=${RUNS:-1} EVENTS=500000 QUICKARG=(--quick); else RUNS=${RUNS:-3} EVENTS=1000000 QUICKARG=(); fi
DEFAULTS_EVENTS=$((EVENTS * 2))
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "--runs must be a positive integer"
IFS=, read -r -a PIPES <<<"$PIPELINES"
for p in "${PIPES[@]}"; do [[ $p =~ ^(crash-monitor|render-farm|telemetra)$ ]] || die "unknown pipeline '$p'"; done
has() { [[ ",$PIPELINES," == *",$1,"* ]]; }

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
command -v gnuplot >/dev/null || die "gnuplot is required (scripts/install-deps.sh installs gnuplot-nox)"
command -v curl >/dev/null || die "curl is required"
RES=${SW_SUITE_RESULTS:-$ROOT/bench/results/suite-latest}
REPORT=$RES.md
[[ $REPORT_ONLY -eq 1 ]] || rm -rf "$RES"
mkdir -p "$RES"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sw-suite.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# A snapshot of the binaries: other builds may replace build/bin while the suite runs.
TARGETS=(streamwright-devbroker streamwright-loadgen streamwright-crash-monitor streamwright-render-farm
  streamwright-telemetra streamwright-bench-tool streamwright-passthrough)
BENCH_BUILD_LOCK=/tmp/sw-build.lock build_missing_targets build/bin "${TARGETS[@]}"
mkdir -p "$WORK/bin"
for t in "${TARGETS[@]}"; do cp "build/bin/$t" "$WORK/bin/"; done
export SW_BENCH_BIN=$WORK/bin
BUILT=$(date -u -d "@$(stat -c %Y build/bin/streamwright-crash-monitor)" +%Y-%m-%dT%H:%M:%SZ)

T_START=$EPOCHREALTIME
FAILED=()
chaos_running() { pgrep -f 'tests/chaos' >/dev/null 2>&1 && echo yes || echo no; }
CHAOS_AT_START=$(chaos_running)
CHAOS_SEEN=$CHAOS_AT_START
bench() {  # bench NAME COMMAND...: one heavy run under the machine-wide benchmark lock
  local name=$1
  shift
  [[ $(chaos_running) == yes ]] && CHAOS_SEEN=yes
  log "$name"
  if ! flock /tmp/sw-bench.lock "$@" >"$RES/$name.log" 2>&1; then
    tail -n 5 "$RES/$name.log" >&2
    log "warning: $name failed (log: ${RES#"$ROOT"/}/$name.log); the report marks what is missing"
    FAILED+=("$name")
  fi
}

# --- measurements -------------------------------------------------------------------------------
if [[ $REPORT_ONLY -eq 1 ]]; then
  T_START=$(sed -n 's/^start\t//p' "$RES/times.tsv" 2>/dev/null || echo "$EPOCHREALTIME")
  T_END=$(sed -n 's/^end\t//p' "$RES/times.tsv" 2>/dev/null || echo "$EPOCHREALTIME")
  CHAOS_SEEN=$(sed -n 's/^chaos\t//p' "$RES/times.tsv" 2>/dev/null || echo unknown)
  read -r -a FAILED <<<"$(sed -n 's/^failed\t//p' "$RES/times.tsv" 2>/dev/null)"
else
if has crash-monitor; then
  bench cm-prefill bash bench/crash_monitor_bench.sh --events "$EVENTS" --runs "$RUNS" "${KEEP[@]}" \
    --summary "$RES/cm-prefill.tsv" --report "$RES/crash-monitor-prefill.md"
  bench cm-prefill-2replicas bash bench/crash_monitor_bench.sh --events "$EVENTS" --runs "$RUNS" --replicas 2 \
    "${KEEP[@]}" --summary "$RES/cm-prefill-r2.tsv" --report "$RES/crash-monitor-prefill-2replicas.md"
  bench cm-prefill-eos bash bench/crash_monitor_bench.sh --events "$EVENTS" --runs "$RUNS" \
    --service-arg --processing-guarantee=exactly_once "${KEEP[@]}" --summary "$RES/cm-prefill-eos.tsv" \
    --report "$RES/crash-monitor-prefill-exactly-once.md"
  # Issue 16's setting: the stages' defaults, 2 M events on 128 partitions, beside the Python peer
  # on the same topic in the same run. The dev broker cannot create topics, so the bench creates
  # the internal ones as the stages would on Kafka: as wide as the input, at most 32
  # (kDefaultMaxInternalPartitions in shared/runtime/topic_setup.h).
  bench cm-defaults-peer bash bench/crash_monitor_bench.sh --events "$DEFAULTS_EVENTS" --partitions 128 \
    --internal-partitions 32 --runs "$RUNS" --peer "${KEEP[@]}" --summary "$RES/cm-defaults-peer.tsv" \
    --report "$RES/crash-monitor-defaults-peer.md"
  bench failover bash bench/failover_bench.sh --runs "$RUNS" "${KEEP[@]}" --summary "$RES/failover.tsv" \
    --report "$RES/failover.md"
fi
if has render-farm; then
  bench rf-prefill bash bench/render_farm_bench.sh --events "$EVENTS" --runs "$RUNS" "${KEEP[@]}" \
    --summary "$RES/rf-prefill.tsv" --report "$RES/render-farm-before-after.md"
fi
if has telemetra; then
  bench tel-prefill bash bench/telemetra_bench.sh --events "$EVENTS" --runs "$RUNS" "${KEEP[@]}" \
    --summary "$RES/tel-prefill.tsv" --report "$RES/telemetra-prefill.md"
fi
for p in "${PIPES[@]}"; do
  g=at_least_once
  [[ $p == crash-monitor ]] && g=at_least_once,exactly_once
  for ((run = 1; run <= RUNS; run++)); do
    bench "load-$p-$run" bash bench/load_bench.sh --pipeline "$p" --out "$RES/load-$p-$run" --guarantees "$g" \
      "${QUICKARG[@]}" "${KEEP[@]}"
  done
done
if [[ $RESTORE -eq 1 ]]; then
  RRUNS=$RUNS
  [[ $QUICK -eq 1 ]] && RRUNS=1
  bench restore bash bench/restore_bench.sh --keys 1000000 --runs "$RRUNS" --out "$RES/restore" "${KEEP[@]}"
fi
T_END=$EPOCHREALTIME
printf 'start\t%s\nend\t%s\nchaos\t%s\nfailed\t%s\n' "$T_START" "$T_END" "$CHAOS_SEEN" "${FAILED[*]+"${FAILED[*]}"}" >"$RES/times.tsv"
fi

# --- reading the results ------------------------------------------------------------------------
sv() {  # sv FILE KEY: the value of KEY in a summary file ("median min max" or a single value)
  [[ -f $1 ]] || { echo "-"; return; }
  awk -F'\t' -v k="$2" '$1 == k { print $2; found = 1; exit } END { if (!found) print "-" }' "$1"
}
med() { local v; v=$(sv "$1" "$2"); echo "${v%% *}"; }
# fmt_spread "MED MIN MAX" SCALE FORMAT: "med (min-max)" scaled, or just med when all equal
fmt_spread() { stats format-spread "$1" --scale "$2" --format "$3"; }
# Load results over runs: "median min max" of a key over load-P-1..R.
lv() {
  local p=$1 k=$2 run vals=() v
  for ((run = 1; run <= RUNS; run++)); do
    v=$(sv "$RES/load-$p-$run/summary.tsv" "$k")
    [[ $v != - ]] && vals+=("${v%% *}")
  done
  [[ ${#vals[@]} -gt 0 ]] || { echo "-"; return; }
  stats_of "${vals[@]}"
}
lvf() {  # lvf P KEY [SCALE] [FORMAT]: lv, formatted as fmt_spread does
  local p=$1 k=$2 run vals=() v
  for ((run = 1; run <= RUNS; run++)); do
    v=$(sv "$RES/load-$p-$run/summary.tsv" "$k")
    [[ $v != - ]] && vals+=("${v%% *}")
  done
  stats format-spread --values --scale "${3:-1}" --format "${4:-%.1f}" -- "${vals[@]}"
}
verdict() { stats verdict "$1" "$2" "$3"; }  # verdict VALUE OP TARGET: met/missed
med_of_runs() { local v; v=$(lv "$1" "$2"); echo "${v%% *}"; }  # med_of_runs P KEY: the median over the load runs
name_of() { case "$1" in crash-monitor) echo "crash monitor" ;; render-farm) echo "render farm" ;; telemetra) echo Telemetra ;; esac; }
prefill_file() { case "$1" in crash-monitor) echo "$RES/cm-prefill.tsv" ;; render-farm) echo "$RES/rf-prefill.tsv" ;; telemetra) echo "$RES/tel-prefill.tsv" ;; esac; }
prefill_rate_key() { [[ $1 == render-farm ]] && echo optimized_rate || echo e2e_rate; }
prefill_ratio_key() { [[ $1 == render-farm ]] && echo optimized_ratio || echo ratio; }
target_rate() { case "$1" in crash-monitor) echo 1000000 ;; render-farm) echo 800000 ;; telemetra) echo 300000 ;; esac; }

# --- plots --------------------------------------------------------------------------------------
PLOTS=()
{
  for p in "${PIPES[@]}"; do
    [[ -f $RES/load-$p-1/sweep.tsv ]] || continue
    echo "# $p"
    tail -n +2 "$RES/load-$p-1/sweep.tsv" | sort -g | awk -F'\t' '{ print $1 / 1e6, $2 / 1e6, $3 / 1e6, $5 }'
    echo
    echo
  done
} >"$RES/sweep-plot.dat"
if [[ -s $RES/sweep-plot.dat ]]; then
  {
    echo "set terminal pngcairo size 900,560 font ',10'"
    echo "set output '$RES/throughput-vs-offered.png'"
    echo "set title 'Processed rate against offered load (dev broker and load generator on the same 2 cores)'"
    echo "set xlabel 'offered load (M events/s)'; set ylabel 'processed by the entry stage (M events/s)'"
    echo "set key top left; set grid"
    printf "plot x title 'processed = offered' dt 2 lc rgb 'gray'"
    i=0
    for p in "${PIPES[@]}"; do
      [[ -f $RES/load-$p-1/sweep.tsv ]] || continue
      printf ", '%s' index %d using 1:3 with linespoints lw 2 pt 7 title '%s'" "$RES/sweep-plot.dat" "$i" "$(name_of "$p")"
      i=$((i + 1))
    done
    echo
  } >"$WORK/sweep.gp"
  gnuplot "$WORK/sweep.gp" && PLOTS+=(throughput-vs-offered.png)
fi
{
  echo "set terminal pngcairo size 900,560 font ',10'"
  echo "set output '$RES/latency-cdf.png'"
  echo "set title 'Latency CDF at 50% of the highest sustainable rate'"
  echo "set xlabel 'latency (ms, log scale)'; set ylabel 'fraction of records'; set logscale x; set grid; set key bottom right"
  printf "plot"
  sep=""
  for p in "${PIPES[@]}"; do
    f=$RES/load-$p-1/cdf-half-entry.tsv
    [[ -s $f ]] && { printf "%s '%s' using (\$1 > 0.1 ? \$1 : 0.1):2 with lines lw 2 title '%s: stateless stage'" "$sep" "$f" "$(name_of "$p")"; sep=","; }
    f=$RES/load-$p-1/cdf-half-agg.tsv
    [[ -s $f ]] && { printf "%s '%s' using (\$1 > 0.1 ? \$1 : 0.1):2 with lines lw 2 dt 2 title '%s: alerts/aggregates (early emission)'" "$sep" "$f" "$(name_of "$p")"; sep=","; }
  done
  f=$RES/load-crash-monitor-1/cdf-eos_half-entry.tsv
  [[ -s $f ]] && printf "%s '%s' using (\$1 > 0.1 ? \$1 : 0.1):2 with lines lw 2 dt 3 title 'crash monitor: stateless stage, exactly-once'" "$sep" "$f"
  echo
} >"$WORK/cdf.gp"
if grep -q "using" "$WORK/cdf.gp"; then gnuplot "$WORK/cdf.gp" && PLOTS+=(latency-cdf.png); fi
if [[ -f $RES/rf-prefill.tsv ]]; then
  {
    echo "baseline $(med "$RES/rf-prefill.tsv" baseline_rate) $(med "$RES/rf-prefill.tsv" baseline_cpu) $(med "$RES/rf-prefill.tsv" baseline_rep_bytes)"
    echo "optimized $(med "$RES/rf-prefill.tsv" optimized_rate) $(med "$RES/rf-prefill.tsv" optimized_cpu) $(med "$RES/rf-prefill.tsv" optimized_rep_bytes)"
  } >"$RES/render-farm-bars.dat"
  cat >"$WORK/bars.gp" <<EOF
set terminal pngcairo size 1000,420 font ',10'
set output '$RES/render-farm-before-after.png'
set multiplot layout 1,3 title 'Render farm, $EVENTS pre-filled frame events: baseline (seed) against optimized'
set style fill solid 0.8 border -1
set boxwidth 0.6
set grid ytics
unset key
set yrange [0:*]
set title 'throughput (M events/s, higher is better)'
plot '$RES/render-farm-bars.dat' using 0:(\$2/1e6):xtic(1) with boxes lc rgb '#4477aa'
set title 'CPU s, all stages (lower is better)'
plot '$RES/render-farm-bars.dat' using 0:3:xtic(1) with boxes lc rgb '#cc6677'
set title 'repartition MiB written (lower is better)'
plot '$RES/render-farm-bars.dat' using 0:(\$4/1048576):xtic(1) with boxes lc rgb '#228833'
unset multiplot
EOF
  gnuplot "$WORK/bars.gp" && PLOTS+=(render-farm-before-after.png)
fi

# --- report -------------------------------------------------------------------------------------
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git -C "$ROOT" status --porcelain -- bench shared services topologies 2>/dev/null) ]]; then COMMIT="$COMMIT (with uncommitted changes)"; fi
COMMAND="bash bench/suite.sh"
for arg in "${ORIGINAL_ARGS[@]+"${ORIGINAL_ARGS[@]}"}"; do [[ $arg == --report-only ]] || COMMAND+=$(printf ' %q' "$arg"); done
MINUTES=$(awk -v a="$T_START" -v b="$T_END" 'BEGIN { printf "%.1f", (b - a) / 60 }')
M3() { fmt_spread "$1" 1e6 %.3f; }
MiB() { fmt_spread "$1" 1024 %.0f; }
{
  echo "# Benchmark suite (embedded dev broker)"
  echo
  echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $COMMIT, binaries built $BUILT (copied before the first run)"
  echo "- machine: $(machine_line)"
  echo "- command: \`$COMMAND\` ($MINUTES minutes); $RUNS run(s) of each measurement" \
    "(restore: $([[ $QUICK -eq 1 ]] && echo 1 || echo "$RUNS")); with several runs: median (min-max)"
  echo "- pre-filled input: $EVENTS events per pipeline; the dev broker, the load generator and every stage share the $(nproc) CPUs"
  [[ ${#FAILED[@]} -gt 0 ]] && echo "- **failed measurements (see their logs in bench/results/suite-latest/): ${FAILED[*]}**"
  echo "- chaos suite (another agent's load) running during the suite: $CHAOS_SEEN; the \"other processes\" columns show" \
    "the CPU that processes outside the benchmark used while it measured"
  echo
  echo "## Targets (issue 7)"
  echo
  echo "| target | measured | verdict |"
  echo "| --- | ---: | --- |"
  for p in "${PIPES[@]}"; do
    f=$(prefill_file "$p")
    v=$(med "$f" "$(prefill_rate_key "$p")")
    echo "| $(name_of "$p"): at least $(awk -v t="$(target_rate "$p")" 'BEGIN { printf "%.1f", t / 1e6 }') M events/s end to end (pre-filled) | $(M3 "$(sv "$f" "$(prefill_rate_key "$p")")") M/s | $(verdict "$v" ">=" "$(target_rate "$p")") |"
  done
  for p in "${PIPES[@]}"; do
    v=$(lv "$p" half.entry.match_p99_ms)
    echo "| $(name_of "$p"): stateless stage p99 <= 20 ms at half the max rate | $(fmt_spread "$v" 1 %.1f) ms | $(verdict "${v%% *}" "<=" 20) |"
  done
  v=$(lv crash-monitor half.agg.e2e_p99_ms)
  has crash-monitor && echo "| crash monitor: early alert p99 <= 50 ms at half the max rate | $(fmt_spread "$v" 1 %.1f) ms | $(verdict "${v%% *}" "<=" 50) |"
  # RSS: the largest service (stage) process seen anywhere in the suite.
  maxrss=0 where=""
  for f in "$RES"/*.tsv "$RES"/load-*/summary.tsv "$RES"/restore/summary.tsv; do
    [[ -f $f ]] || continue
    while IFS=$'\t' read -r k v; do
      [[ $k =~ ^(rss_(parse|aggregate|state|restored)|optimized_rss_(enrich|aggregate|nodeagg)|rss_kb\.(parse|aggregate|enrich|node-aggregate))$ ]] || continue
      v=${v%% *}
      [[ $v =~ ^[0-9]+$ ]] || continue
      if [[ $v -gt $maxrss ]]; then maxrss=$v where="$(basename "$(dirname "$f")")/$(basename "$f") $k"; fi
    done <"$f"
  done
  echo "| RSS <= 200 MB per service (largest stage process in any measurement) | $((maxrss / 1024)) MiB ($where) | $(verdict "$((maxrss * 1024))" "<=" 200000000) |"
  if [[ $RESTORE -eq 1 ]]; then
    v=$(sv "$RES/restore/summary.tsv" restore_rate)
    echo "| restore at least 0.5 M records/s (1 M keys) | $(M3 "$v") M records/s | $(verdict "${v%% *}" ">=" 500000) |"
  fi
  echo
  echo "## Pre-filled throughput, against the raw consume rate of the same topic in the same run"
  echo
  echo "| pipeline | end to end (M events/s) | raw consume (M records/s) | end to end / raw consume | CPU s per stage | peak RSS per process (MiB) | other processes (cores) |"
  echo "| --- | ---: | ---: | ---: | --- | --- | ---: |"
  if has crash-monitor; then
    f=$RES/cm-prefill.tsv
    echo "| crash monitor | $(M3 "$(sv "$f" e2e_rate)") | $(M3 "$(sv "$f" raw)") | $(fmt_spread "$(sv "$f" ratio)" 1 %.2f) | parse $(fmt_spread "$(sv "$f" cpu_parse)" 1 %.2f), aggregate $(fmt_spread "$(sv "$f" cpu_aggregate)" 1 %.2f), broker $(fmt_spread "$(sv "$f" cpu_broker)" 1 %.2f) | parse $(MiB "$(sv "$f" rss_parse)"), aggregate $(MiB "$(sv "$f" rss_aggregate)"), broker $(MiB "$(sv "$f" rss_broker)") | $(fmt_spread "$(sv "$f" other_cores)" 1 %.2f) |"
  fi
  if has render-farm; then
    f=$RES/rf-prefill.tsv
    echo "| render farm (optimized) | $(M3 "$(sv "$f" optimized_rate)") | $(M3 "$(sv "$f" raw)") | $(fmt_spread "$(sv "$f" optimized_ratio)" 1 %.2f) | enrich $(fmt_spread "$(sv "$f" optimized_cpu_enrich)" 1 %.2f), aggregate $(fmt_spread "$(sv "$f" optimized_cpu_aggregate)" 1 %.2f), node-aggregate $(fmt_spread "$(sv "$f" optimized_cpu_nodeagg)" 1 %.2f) | enrich $(MiB "$(sv "$f" optimized_rss_enrich)"), aggregate $(MiB "$(sv "$f" optimized_rss_aggregate)"), node-aggregate $(MiB "$(sv "$f" optimized_rss_nodeagg)") | - |"
  fi
  if has telemetra; then
    f=$RES/tel-prefill.tsv
    echo "| Telemetra | $(M3 "$(sv "$f" e2e_rate)") | $(M3 "$(sv "$f" raw)") | $(fmt_spread "$(sv "$f" ratio)" 1 %.2f) | parse $(fmt_spread "$(sv "$f" cpu_parse)" 1 %.2f), aggregate $(fmt_spread "$(sv "$f" cpu_aggregate)" 1 %.2f), broker $(fmt_spread "$(sv "$f" cpu_broker)" 1 %.2f) | parse $(MiB "$(sv "$f" rss_parse)"), aggregate $(MiB "$(sv "$f" rss_aggregate)"), broker $(MiB "$(sv "$f" rss_broker)") | $(fmt_spread "$(sv "$f" other_cores)" 1 %.2f) |"
  fi
  echo
  echo "Details per run: \`crash-monitor-prefill.md\`, \`render-farm-before-after.md\`, \`telemetra-prefill.md\` in" \
    "\`bench/results/suite-latest/\`."
  if has crash-monitor; then
    echo
    echo "## Scaling: crash monitor, 1 and 2 replicas of each stage (pre-filled)"
    echo
    echo "| replicas per stage | end to end (M events/s) | end to end / raw consume | CPU s parse (all replicas) | CPU s aggregate | largest parse replica RSS (MiB) | other processes (cores) | records redelivered (rebalance during the run) |"
    echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    for r in 1 2; do
      f=$RES/cm-prefill.tsv
      [[ $r -eq 2 ]] && f=$RES/cm-prefill-r2.tsv
      echo "| $r | $(M3 "$(sv "$f" e2e_rate)") | $(fmt_spread "$(sv "$f" ratio)" 1 %.2f) | $(fmt_spread "$(sv "$f" cpu_parse)" 1 %.2f) | $(fmt_spread "$(sv "$f" cpu_aggregate)" 1 %.2f) | $(MiB "$(sv "$f" rss_parse)") | $(fmt_spread "$(sv "$f" other_cores)" 1 %.2f) | $(fmt_spread "$(sv "$f" redelivered)" 1 %.0f) |"
    done
    echo
    echo "Two cores run the broker, the stages and (in the sweep) the load generator: a second replica adds" \
      "parallelism only where a core is idle, so this measures the cost of scaling out (group coordination," \
      "more fetchers) rather than a speed-up; on more cores each replica gets its own."
  fi
  if has crash-monitor; then
    f=$RES/cm-defaults-peer.tsv
    echo
    echo "## Crash monitor at the stages' defaults, beside a Python peer (same topic, same run)"
    echo
    echo "$DEFAULTS_EVENTS events on 128 partitions, internal topics as wide (what \`up\` creates), no tuning flags;" \
      "the peer is \`bench/peers/crash_monitor_peer.py\` (details: \`crash-monitor-defaults-peer.md\`)."
    echo
    echo "| | measured | goal | |"
    echo "| --- | ---: | ---: | --- |"
    echo "| end to end / raw consume | $(fmt_spread "$(sv "$f" ratio)" 1 %.2f) | >= 0.8 | $(verdict "$(med "$f" ratio)" ">=" 0.8) |"
    echo "| CPU per event, both stages (us) | $(fmt_spread "$(sv "$f" us_event)" 1 %.2f) | - | |"
    echo "| rate: Streamwright / peer | $(fmt_spread "$(sv "$f" rate_vs_peer)" 1 %.2f) | >= 5 | $(verdict "$(med "$f" rate_vs_peer)" ">=" 5) |"
    echo "| CPU per event: Streamwright / peer | $(fmt_spread "$(sv "$f" cpu_vs_peer)" 1 %.3f) | <= 0.167 | $(verdict "$(med "$f" cpu_vs_peer)" "<=" 0.167) |"
    echo "| peak RSS, parse (MiB) | $(MiB "$(sv "$f" rss_parse)") | <= 200 | $(verdict "$(stats ratio "$(med "$f" rss_parse)" 1024 --format %.0f)" "<=" 200) |"
    echo "| peak RSS, peer (MiB) | $(MiB "$(sv "$f" peer_rss)") | | |"
    f=$RES/failover.tsv
    echo "| failover: SIGKILL of one of two aggregate replicas to its partitions committed again (s) | $(fmt_spread "$(sv "$f" failover_s)" 1 %.1f) | < 5 | $(verdict "$(med "$f" failover_s)" "<=" 5) |"
    echo
    echo "Failover on the dev broker is the session timeout plus two of the mock coordinator's rebalance" \
      "rounds (details: \`failover.md\`, docs/performance.md)."
  fi
  echo
  echo "## Offered-load sweep: highest sustainable rate"
  echo
  echo "\`streamwright-loadgen --rate R\` (its default batching, linger.ms=50) while the stages run; a rate is sustained when the entry stage" \
    "processes at least 95% of the input rate over the middle of the step and every stage has caught up within 1 s" \
    "after the generator stops (lag bounded)."
  echo
  echo "| pipeline | highest sustainable input rate (M events/s) | first unsustained offered rate | what limited it |"
  echo "| --- | ---: | ---: | --- |"
  for p in "${PIPES[@]}"; do
    ff=$(sv "$RES/load-$p-1/summary.tsv" first_fail)
    [[ $ff == 0 ]] && ff=-
    echo "| $(name_of "$p") | $(fmt_spread "$(lv "$p" max_rate)" 1e6 %.3f) | $ff | $(sv "$RES/load-$p-1/summary.tsv" limit) |"
  done
  for p in "${PIPES[@]}"; do
    [[ -f $RES/load-$p-1/sweep.tsv ]] || continue
    echo
    echo "$(name_of "$p") (run 1):"
    echo
    stats table "$RES/load-$p-1/sweep.tsv" --skip-header --yes-no 5,6 --align r,r,r,r,l,l,r,r,r,r \
      --header "offered /s|input /s|processed /s|drain s|sustained|generator reached the rate|entry stage cores|broker cores|load generator cores|other processes (cores)"
  done
  echo
  echo "## Latency (ms): input append to output append"
  echo
  echo "| pipeline | load | offered rate (achieved) /s | stateless stage p50 | p99 | p99.9 | samples | alerts/aggregates from input append: p50 | p99 | p99.9 | aggregate stage alone (from its input append): p50 / p99 (samples, unmatched) | generator CreateTime to input visible p50 / p99 | CPU cores: entry stage / downstream / broker | commit s (entry stage): mean, p99 bucket |"
  echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | --- | --- |"
  for p in "${PIPES[@]}"; do
    for tag in half ninety eos_half; do
      [[ $(lv "$p" "$tag.rate") == - ]] && continue
      label="50%"
      [[ $tag == ninety ]] && label="90%"
      [[ $tag == eos_half ]] && label="50%, exactly-once"
      f=$RES/load-$p-1/summary.tsv
      ent=$(sv "$f" "$tag.cores.$( [[ $p == render-farm ]] && echo enrich || echo parse)")
      down=$(sv "$f" "$tag.cores.aggregate")
      cm=$(sv "$f" "$tag.commit_entry")
      read -r _ cmean cp99 <<<"$cm"
      echo "| $(name_of "$p") | $label | $(lvf "$p" "$tag.rate" 1 %.0f) (input $(lvf "$p" "$tag.input_rate" 1 %.0f)) | $(lvf "$p" "$tag.entry.match_p50_ms") | $(lvf "$p" "$tag.entry.match_p99_ms") | $(lvf "$p" "$tag.entry.match_p999_ms") | $(lvf "$p" "$tag.entry.match_samples" 1 %.0f) | $(lvf "$p" "$tag.agg.e2e_p50_ms") | $(lvf "$p" "$tag.agg.e2e_p99_ms") | $(lvf "$p" "$tag.agg.e2e_p999_ms") | $(lvf "$p" "$tag.agg.stage2_p50_ms") / $(lvf "$p" "$tag.agg.stage2_p99_ms") ($(lvf "$p" "$tag.agg.stage2_samples" 1 %.0f), $(lvf "$p" "$tag.agg.match_topic_unmatched" 1 %.0f) unmatched) | $(lvf "$p" "$tag.entry.input_delay_p50_ms") / $(lvf "$p" "$tag.entry.input_delay_p99_ms") | $ent / $down / $(sv "$f" "$tag.cores.broker") | $(printf '%.3f' "${cmean:-0}"), <= ${cp99:--} |"
    done
  done
  echo
  echo "### Against the transport floor (50%, same run, same offered rate)"
  echo
  echo "A pass-through (\`bench/passthrough.cpp\`: consume and produce again with the stages' client settings" \
    "and loop, no processing) reads the same input beside the stages; its output is timed the same way."
  echo
  echo "| pipeline | pass-through p50 / p99 / p99.9 | stateless stage p99 / pass-through p99 (goal <= 1.5) | | alerts/aggregates p99 - pass-through p99 (goal <= 30 ms) | |"
  echo "| --- | --- | ---: | --- | ---: | --- |"
  for p in "${PIPES[@]}"; do
    [[ $(lv "$p" half.passthrough.match_p99_ms) == - ]] && continue
    pt=$(med_of_runs "$p" half.passthrough.match_p99_ms)
    st=$(med_of_runs "$p" half.entry.match_p99_ms)
    ag=$(med_of_runs "$p" half.agg.e2e_p99_ms)
    r=$(stats ratio "$st" "$pt" --format %.2f)
    d=$(awk -v a="$ag" -v b="$pt" 'BEGIN { if (a == "-" || b == "-") print "-"; else printf "%.1f", a - b }')
    echo "| $(name_of "$p") | $(lvf "$p" half.passthrough.match_p50_ms) / $(lvf "$p" half.passthrough.match_p99_ms) / $(lvf "$p" half.passthrough.match_p999_ms) | $r | $(verdict "$r" "<=" 1.5) | $d | $(verdict "$d" "<=" 30) |"
  done
  echo
  echo "How latency is measured (\`streamwright-bench-tool latency\`): one group-less consumer tails the entry stage's" \
    "repartition topic from its end and 8 of the input topic's partitions (fetch.wait.max.ms=2, 1 ms batch polls)," \
    "and stamps every record with the wall clock when it becomes visible. Each repartition data record carries" \
    "its source partition and offset (the envelope, shared/topology/envelope.h), so the stateless stage's latency" \
    "is output visible minus input visible, record by record, both seen by the same consumer: append to append," \
    "with the stage's fetch, processing, produce batching and commits inside. Alerts and aggregates carry the" \
    "trigger's key and record timestamp (the stages carry the input's timestamp through), so each alert is matched" \
    "on (key, timestamp) to its trigger on the repartition topic: the aggregate stage alone is alert visible minus" \
    "trigger visible, and the whole path is alert visible minus the input record's visibility (through the" \
    "trigger's envelope; only triggers from the 8 sampled input partitions). Unmatched alerts are those whose" \
    "trigger was seen before the warm-up ended (or, for the render farm, outputs that carry no trigger" \
    "timestamp). The \"CreateTime to input visible\" column is the load generator's own queueing and batching" \
    "(linger.ms=5 in the latency runs), not part of any figure. The render farm's enrich stage pre-aggregates" \
    "(one partial per scene/node and window per commit interval), so its \"stateless\" figure is the time from" \
    "the chunk's last input record to the partial; Telemetra emits on window close only (no early emission), so" \
    "it has no aggregate figures." \
    "Under exactly-once the tail reads read_committed, but the dev broker does not hold back uncommitted" \
    "transactional records (tests/integration/dev_broker_transactions_test.cpp): the exactly-once row is append to" \
    "append, not append to visible-after-commit; against a real broker add up to the commit interval plus the" \
    "commit duration (streamwright_commit_seconds, in the last column)."
  if has crash-monitor; then
    echo
    echo "## Processing guarantees: crash monitor"
    echo
    echo "| | at-least-once | exactly-once |"
    echo "| --- | ---: | ---: |"
    echo "| pre-filled end to end (M events/s) | $(M3 "$(sv "$RES/cm-prefill.tsv" e2e_rate)") | $(M3 "$(sv "$RES/cm-prefill-eos.tsv" e2e_rate)") |"
    echo "| end to end / raw consume | $(fmt_spread "$(sv "$RES/cm-prefill.tsv" ratio)" 1 %.2f) | $(fmt_spread "$(sv "$RES/cm-prefill-eos.tsv" ratio)" 1 %.2f) |"
    echo "| CPU s parse / aggregate | $(fmt_spread "$(sv "$RES/cm-prefill.tsv" cpu_parse)" 1 %.2f) / $(fmt_spread "$(sv "$RES/cm-prefill.tsv" cpu_aggregate)" 1 %.2f) | $(fmt_spread "$(sv "$RES/cm-prefill-eos.tsv" cpu_parse)" 1 %.2f) / $(fmt_spread "$(sv "$RES/cm-prefill-eos.tsv" cpu_aggregate)" 1 %.2f) |"
    echo "| stateless stage p50 / p99 / p99.9 at 50% of the at-least-once max rate (ms) | $(lvf crash-monitor half.entry.match_p50_ms) / $(lvf crash-monitor half.entry.match_p99_ms) / $(lvf crash-monitor half.entry.match_p999_ms) | $(lvf crash-monitor eos_half.entry.match_p50_ms) / $(lvf crash-monitor eos_half.entry.match_p99_ms) / $(lvf crash-monitor eos_half.entry.match_p999_ms) (append to append, see above) |"
    f=$RES/load-crash-monitor-1/summary.tsv
    read -r c1 m1 q1 <<<"$(sv "$f" half.commit_entry)"
    read -r c2 m2 q2 <<<"$(sv "$f" eos_half.commit_entry)"
    read -r c3 m3 q3 <<<"$(sv "$f" half.commit_down)"
    read -r c4 m4 q4 <<<"$(sv "$f" eos_half.commit_down)"
    echo "| commit duration, parse: mean s, p99 bucket (commits) | ${m1:-} , <= ${q1:-} ($c1) | ${m2:-} , <= ${q2:-} ($c2) |"
    echo "| commit duration, aggregate: mean s, p99 bucket (commits) | ${m3:-} , <= ${q3:-} ($c3) | ${m4:-} , <= ${q4:-} ($c4) |"
  fi
  if [[ $RESTORE -eq 1 ]]; then
    f=$RES/restore/summary.tsv
    echo
    echo "## Restore: crash monitor aggregate, 1 M keys, SIGKILL"
    echo
    echo "| | value |"
    echo "| --- | ---: |"
    echo "| changelog records written for the state (1 M user windows) | $(fmt_spread "$(sv "$f" changelog_written)" 1 %.0f) |"
    echo "| restored on an empty replica (records; log lines / streamwright_restored_records_total) | $(fmt_spread "$(sv "$f" restored)" 1 %.0f) / $(fmt_spread "$(sv "$f" restored_metric)" 1 %.0f) |"
    echo "| restore time (s, sum over changelog partitions) | $(fmt_spread "$(sv "$f" restore_s)" 1 %.2f) |"
    echo "| **restore rate (M records/s)** | $(M3 "$(sv "$f" restore_rate)") |"
    echo "| recovery: SIGKILL to the replacement ready, empty state (s) | $(fmt_spread "$(sv "$f" recovery_s)" 1 %.1f) |"
    echo "| recovery: SIGKILL to ready, same state directory (local checkpoint; records restored) (s) | $(fmt_spread "$(sv "$f" ckpt_recovery_s)" 1 %.1f) ($(fmt_spread "$(sv "$f" ckpt_restored)" 1 %.0f)) |"
    echo "| peak RSS of the aggregate holding the state / of the restored replica (MiB) | $(MiB "$(sv "$f" rss_state)") / $(MiB "$(sv "$f" rss_restored)") |"
    echo
    echo "Recovery includes the consumer group noticing the killed member (session.timeout.ms=6000 in the stages)" \
      "and the rebalance; the restore itself is the \"restore time\" row."
  fi
  if has render-farm && [[ -f $RES/render-farm-before-after.md ]]; then
    echo
    echo "## Render farm: before/after (render_farm_bench.sh)"
    echo
    sed -n '/^| metric/,/^$/p' "$RES/render-farm-before-after.md"
    grep -m1 'outputs identical' "$RES/render-farm-before-after.md" || true
  fi
  if [[ ${#PLOTS[@]} -gt 0 ]]; then
    echo
    echo "## Plots"
    echo
    for png in "${PLOTS[@]}"; do echo "![${png%.png}]($(basename "$RES")/$png)"; echo; done
  fi
} >"$REPORT"
cat "$REPORT"
log "report written to ${REPORT#"$ROOT"/}, plots and summaries in ${RES#"$ROOT"/}/"
