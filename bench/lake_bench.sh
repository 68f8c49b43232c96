#!/usr/bin/env bash
# The lake sink's throughput on the embedded dev broker: render-events (the render farm's input,
# written as the raw_events table, partitioned by date and hour) from topic to Delta table,
# against the raw consume rate of the same topic in the same run; CPU per row; and Parquet bytes
# per row against JSON bytes per row.
#
# Usage: bench/lake_bench.sh [--events N] [--partitions P] [--runs R] [--compression zstd|snappy|none]
#                            [--span 1h] [--keep-logs] [--report FILE] [--sink-arg ARG ...]
#
# Each run starts a fresh dev broker, pre-fills render-events with N frame events
# (streamwright-loadgen --mode render-farm, event times spread over --span), checks that the
# broker dropped nothing, measures the raw consume rate (streamwright-bench-tool consume), then
# starts streamwright-lake-sink and measures from the first record it consumes until every
# record is in a committed Delta version: consumption and writing, then SIGTERM and the final
# roll (finishing the files and committing). The group join (about 3 s) is not part of it. CPU
# is the sink's user + system time over the same interval. streamwright-lake validate checks the
# table holds exactly N rows. Prints a Markdown report and writes it to bench/results/lake-latest.md.
set -euo pipefail
BENCH_NAME=lake_bench
BENCH_LOG_TAG=lake-bench
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

EVENTS=1000000
PARTITIONS=64
RUNS=3
COMPRESSION=zstd
SPAN=1h

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'
  cat <<'EOF'

Options (defaults in brackets):
  --events N          events pre-filled into render-events [1000000]
  --partitions P      partitions of render-events [64] (the dev broker keeps 5 MiB per partition)
  --runs R            runs; the report gives the median and the range [3]
  --compression C     the sink's Parquet compression [zstd]
  --span D            event-time span of the events, i.e. how many hour partitions [1h]
  --keep-logs         keep every run's logs and table
  --report FILE       where to write the Markdown report [bench/results/lake-latest.md]
  --sink-arg ARG      extra argument for the sink (repeatable), e.g. --sink-arg --zstd-level=1
EOF
}

KEEP_WORK=0
REPORT=
SINK_ARGS=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --events) EVENTS=${2:?--events needs a value}; shift 2 ;;
    --partitions) PARTITIONS=${2:?--partitions needs a value}; shift 2 ;;
    --runs) RUNS=${2:?--runs needs a value}; shift 2 ;;
    --compression) COMPRESSION=${2:?--compression needs a value}; shift 2 ;;
    --span) SPAN=${2:?--span needs a value}; shift 2 ;;
    --keep-logs) KEEP_WORK=1; shift ;;
    --report) REPORT=${2:?--report needs a value}; shift 2 ;;
    --sink-arg) SINK_ARGS+=("${2:?--sink-arg needs a value}"); shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done
require_positive_ints events=EVENTS partitions=PARTITIONS runs=RUNS

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BIN=${SW_BENCH_BIN:-$ROOT/build/bin}
REPORT=${REPORT:-$ROOT/bench/results/lake-latest.md}
command -v curl >/dev/null || die "curl is required"

TARGETS=(streamwright-devbroker streamwright-loadgen streamwright-lake-sink streamwright-lake streamwright-bench-tool)
build_missing_targets "$BIN" "${TARGETS[@]}"

make_workdir sw-lake-bench

CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null; }
declare -A R

run_once() {
  local run=$1 dir=$WORK/run$1
  mkdir -p "$dir"
  log "run $run/$RUNS: dev broker, render-events:$PARTITIONS"
  start broker "$dir" "$BIN/streamwright-devbroker" --topic "render-events:$PARTITIONS" --topic render-events-lake-dlq:1
  local broker_pid=$STARTED_PID bootstrap
  bootstrap=$(wait_line "$broker_pid" "$dir" broker '^\S+:[0-9]+' 15)

  log "run $run/$RUNS: pre-filling render-events with $EVENTS frame events over $SPAN of event time"
  run_fg "$dir" loadgen "$BIN/streamwright-loadgen" --mode render-farm --bootstrap-servers "$bootstrap" \
    --topic render-events --rate 0 --count "$EVENTS" --event-time-span "$SPAN" --quiet ||
    fail_with_log "$dir" loadgen "the load generator failed"
  local rc=0
  run_fg "$dir" offsets "$BIN/streamwright-bench-tool" offsets --bootstrap-servers "$bootstrap" --topic render-events || rc=$?
  [[ $rc -eq 0 ]] || die "the dev broker dropped data of render-events (run $run): use more --partitions or fewer --events"
  [[ $(kv records "$dir/offsets.out") -eq $EVENTS ]] || die "render-events does not hold $EVENTS records"

  log "run $run/$RUNS: raw consume of render-events"
  run_fg "$dir" consume "$BIN/streamwright-bench-tool" consume --bootstrap-servers "$bootstrap" --topic render-events \
    --expect "$EVENTS" --timeout-s 60 || fail_with_log "$dir" consume "the raw consume failed"
  R[raw,$run]=$(kv records_per_s "$dir/consume.out")

  log "run $run/$RUNS: the lake sink"
  start sink "$dir" "$BIN/streamwright-lake-sink" --bootstrap-servers "$bootstrap" --metrics-address 127.0.0.1 \
    --metrics-port 0 --table "render-events=$dir/lake/raw_events" \
    --partition-by render-events=date:timestamp,hour:timestamp --compression "$COMPRESSION" \
    "${SINK_ARGS[@]+"${SINK_ARGS[@]}"}"
  local sink_pid=$STARTED_PID port
  port=$(wait_line "$sink_pid" "$dir" sink '^metrics-port \K[0-9]+' 30)
  # Sample until the first record is consumed (t0), then until all are (t1).
  local consumed=0 t0= c0= t1= c1= now ticks last_ticks=0
  local deadline=$((SECONDS + 180))
  while ((SECONDS < deadline)); do
    consumed=$(metric_sum "$port" streamwright_records_consumed_total)
    now=$EPOCHREALTIME
    ticks=$(cpu_ticks "$sink_pid") || die "the sink exited: $(tail -n 5 "$dir/sink.err")"
    if [[ -z $t0 && $consumed -gt 0 ]]; then t0=$now c0=$ticks; fi
    if [[ $consumed -ge $EVENTS ]]; then t1=$now c1=$ticks; break; fi
    sleep 0.01
  done
  [[ -n $t1 ]] || die "the sink consumed $consumed of $EVENTS records in 180 s (run $run)"
  R[rss,$run]=$(vmhwm_kb "$sink_pid")
  R[input_bytes,$run]=$(metric_sum "$port" lake_sink_input_bytes_total)
  # The final roll: files finished and committed, then the sink leaves.
  kill -TERM "$sink_pid"
  last_ticks=$c1
  while alive "$sink_pid"; do
    ticks=$(cpu_ticks "$sink_pid") && last_ticks=$ticks
    sleep 0.005
  done
  local t2=$EPOCHREALTIME
  stop_pid "$sink_pid" sink 30
  [[ $STOP_RC -eq 0 ]] || die "the sink exited with $STOP_RC (run $run): $(tail -n 5 "$dir/sink.err")"

  run_fg "$dir" validate "$BIN/streamwright-lake" validate "$dir/lake/raw_events" --json ||
    fail_with_log "$dir" validate "validate found problems"
  local rows bytes files
  rows=$(grep -oP '"rows": \K[0-9]+' "$dir/validate.out")
  bytes=$(grep -oP '"bytes": \K[0-9]+' "$dir/validate.out")
  files=$(grep -oP '"files": \K[0-9]+' "$dir/validate.out")
  [[ $rows -eq $EVENTS ]] || die "the table holds $rows rows, expected $EVENTS (run $run)"
  R[files,$run]=$files
  R[versions,$run]=$(grep -oP '"version": \K[0-9]+' "$dir/validate.out")
  R[parquet_bytes,$run]=$bytes
  R[consume_s,$run]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
  R[commit_s,$run]=$(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.3f", b - a }')
  R[total_s,$run]=$(awk -v a="$t0" -v b="$t2" 'BEGIN { printf "%.3f", b - a }')
  R[rate,$run]=$(stats ratio "$EVENTS" "${R[total_s,$run]}" --format %.0f)
  R[mbps,$run]=$(awk -v b="${R[input_bytes,$run]}" -v s="${R[total_s,$run]}" 'BEGIN { printf "%.1f", b / s / 1e6 }')
  R[ratio,$run]=$(stats ratio "${R[rate,$run]}" "${R[raw,$run]}" --format %.2f)
  R[cpu_s,$run]=$(stats ratio "$((last_ticks - c0))" "$CLK_TCK" --format %.2f)
  R[cpu_us_row,$run]=$(stats ratio "${R[cpu_s,$run]}" "$EVENTS" --multiply 1e6 --format %.2f)
  R[json_row,$run]=$(stats ratio "${R[input_bytes,$run]}" "$EVENTS" --format %.1f)
  R[parquet_row,$run]=$(stats ratio "$bytes" "$EVENTS" --format %.1f)
  log "run $run/$RUNS: ${R[rate,$run]} rows/s (raw consume ${R[raw,$run]}/s), ${R[cpu_us_row,$run]} us CPU per row," \
    "${R[json_row,$run]} JSON B/row -> ${R[parquet_row,$run]} Parquet B/row, $files files"
  stop_all
}

for ((run = 1; run <= RUNS; run++)); do run_once "$run"; done

cpu_us=$(median cpu_us_row)
share() { stats ratio "$cpu_us" 1e4 --multiply "$1" --format %.1f%%; }
mkdir -p "$(dirname "$REPORT")"
{
  echo "# Lake sink benchmark"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo ?), $(machine_line)"
  echo
  echo "render-events (the render farm's frame events) into raw_events, partitioned by date and hour;"
  echo "$EVENTS events over $SPAN of event time, $PARTITIONS partitions, compression $COMPRESSION, sink defaults"
  echo "otherwise${SINK_ARGS[*]:+ and ${SINK_ARGS[*]}}; median of $RUNS runs (range in parentheses)."
  echo
  echo "| metric | value |"
  echo "| --- | ---: |"
  echo "| raw consume of the topic (records/s) | $(spread raw %s) |"
  echo "| topic to committed table (rows/s) | $(spread rate %s) |"
  echo "| topic to committed table (MB/s of JSON) | $(spread mbps %s) |"
  echo "| sink rate / raw consume rate | $(spread ratio %s) |"
  echo "| time to consume and write (s) | $(spread consume_s %s) |"
  echo "| final roll: finish files and commit (s) | $(spread commit_s %s) |"
  echo "| sink CPU (s) | $(spread cpu_s %s) |"
  echo "| sink CPU per row (us) | $(spread cpu_us_row %s) |"
  echo "| JSON bytes per row (record values) | $(spread json_row %s) |"
  echo "| Parquet bytes per row | $(spread parquet_row %s) |"
  echo "| files / table version | $(median files) / $(median versions) |"
  echo "| sink peak RSS (KiB) | $(spread rss %s) |"
  echo
  echo "Share of one core the sink needs at a given rate (CPU per row x rate):"
  echo
  echo "| rate | share of one core |"
  echo "| --- | ---: |"
  echo "| 20,000 events/s (\`streamwright demo render-farm\`) | $(share 20000) |"
  echo "| 100,000 events/s | $(share 100000) |"
  echo "| 746,000 events/s (the render farm's measured maximum, docs/render-farm.md) | $(share 746000) |"
  echo "| render-metrics and node-metrics (a few hundred records per window) | < 0.1% |"
} | tee "$REPORT"
log "report written to $REPORT"
