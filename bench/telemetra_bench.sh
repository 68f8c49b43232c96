#!/usr/bin/env bash
# Telemetra throughput benchmark on the embedded dev broker: chat events per second through the
# whole pipeline (parse: JSON, validation, sentiment; aggregate: each event folded into its 10 s
# slice, slices combined into 6 hopping windows with exact distinct chatters, emote counts and
# viewer averages, changelog, window closing).
#
# Usage: bench/telemetra_bench.sh [--events N] [--partitions P] [--internal-partitions Q]
#                                 [--streams S] [--runs R] [--keep-logs] [--service-arg ARG ...]
#                                 [--summary FILE] [--report FILE]
#
# Each run starts a fresh dev broker, pre-fills `chat-events` with N chat events
# (streamwright-loadgen --mode telemetra; viewer counts go to `viewer-events` as they fall due),
# checks that the broker dropped nothing, measures the raw consume rate of `chat-events`
# (streamwright-bench-tool consume), starts the aggregate stage (and waits until it is assigned)
# and then the parse stage, and times from the first record parse consumes until parse has
# consumed all N and the aggregate has consumed everything parse sent it
# (streamwright-bench-tool watch). Prints a Markdown report and writes it to
# bench/results/telemetra-latest.md.
set -euo pipefail
BENCH_NAME=telemetra_bench
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

EVENTS=1000000
PARTITIONS=64
INTERNAL=8
STREAMS=2000
RUNS=1
KEEP_WORK=0
SUMMARY=
REPORT=
SERVICE_ARGS=()
ORIGINAL_ARGS=("$@")
while [[ $# -gt 0 ]]; do
  case "$1" in
    --events) EVENTS=${2:?}; shift 2 ;;
    --partitions) PARTITIONS=${2:?}; shift 2 ;;
    --internal-partitions) INTERNAL=${2:?}; shift 2 ;;
    --streams) STREAMS=${2:?}; shift 2 ;;
    --runs) RUNS=${2:?}; shift 2 ;;
    --keep-logs) KEEP_WORK=1; shift ;;
    --service-arg) SERVICE_ARGS+=("${2:?}"); shift 2 ;;
    --summary) SUMMARY=${2:?}; shift 2 ;;
    --report) REPORT=${2:?}; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "telemetra_bench: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
require_positive_ints events=EVENTS partitions=PARTITIONS internal-partitions=INTERNAL streams=STREAMS runs=RUNS

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${SW_BENCH_BIN:-$ROOT/build/bin}  # the suite runs a snapshot of the binaries
REPORT=${REPORT:-$ROOT/bench/results/telemetra-latest.md}
for t in streamwright-devbroker streamwright-loadgen streamwright-telemetra streamwright-bench-tool; do
  [[ -x $BIN/$t ]] || die "build $t first (cmake --build build --target $t)"
done
command -v curl >/dev/null || die "curl is required"

make_workdir sw-telemetra-bench

TOPICS=()
while read -r name role; do
  case "$role" in
    input) TOPICS+=(--topic "$name:$PARTITIONS") ;;
    repartition) REPARTITION=$name; TOPICS+=(--topic "$name:$INTERNAL") ;;
    *) TOPICS+=(--topic "$name:$INTERNAL") ;;
  esac
done < <("$BIN/streamwright-telemetra" --list-topics)
CLK_TCK=$(getconf CLK_TCK)
declare -A R

run_once() {
  local run=$1 dir=$WORK/run$1
  mkdir -p "$dir"
  log "run $run/$RUNS: starting the dev broker"
  start broker "$dir" "$BIN/streamwright-devbroker" "${TOPICS[@]}"
  local broker_pid=$STARTED_PID boot
  boot=$(wait_line "$broker_pid" "$dir" broker '^\S+:[0-9]+' 15)

  log "run $run/$RUNS: pre-filling chat-events with $EVENTS chat events ($STREAMS streams)"
  run_fg "$dir" loadgen "$BIN/streamwright-loadgen" --mode telemetra --bootstrap-servers "$boot" --rate 0 \
    --count "$EVENTS" --streams "$STREAMS" --quiet || fail_with_log "$dir" loadgen "the load generator failed"
  R[produce,$run]=$(grep -oP '[0-9.]+(?=/s average)' "$dir/loadgen.err" | tail -n1)
  run_fg "$dir" offsets "$BIN/streamwright-bench-tool" offsets --bootstrap-servers "$boot" --topic chat-events ||
    die "the dev broker dropped chat events: use more --partitions or fewer --events"
  [[ $(kv records "$dir/offsets.out") -eq $EVENTS ]] || die "chat-events does not hold $EVENTS records"
  run_fg "$dir" voffsets "$BIN/streamwright-bench-tool" offsets --bootstrap-servers "$boot" --topic viewer-events ||
    die "the dev broker dropped viewer events"
  R[viewers,$run]=$(kv records "$dir/voffsets.out")

  log "run $run/$RUNS: raw consume of chat-events"
  run_fg "$dir" consume "$BIN/streamwright-bench-tool" consume --bootstrap-servers "$boot" \
    --topic chat-events --expect "$EVENTS" --timeout-s 30 || fail_with_log "$dir" consume "the raw consume failed"
  R[raw,$run]=$(kv records_per_s "$dir/consume.out")

  local common=(--bootstrap-servers "$boot" --metrics-address 127.0.0.1 --metrics-port 0 --internal-partitions "$INTERNAL"
    "${SERVICE_ARGS[@]+"${SERVICE_ARGS[@]}"}")
  log "run $run/$RUNS: starting the aggregate stage"
  start aggregate "$dir" "$BIN/streamwright-telemetra" --stage aggregate "${common[@]}" --state-dir "$dir/state-aggregate"
  local agg_pid=$STARTED_PID agg_port
  agg_port=$(wait_line "$agg_pid" "$dir" aggregate '^metrics-port \K[0-9]+' 30)
  wait_ready "$agg_pid" "$dir" aggregate "$agg_port" 30
  log "run $run/$RUNS: starting the parse stage and measuring"
  start parse "$dir" "$BIN/streamwright-telemetra" --stage parse "${common[@]}" --state-dir "$dir/state-parse"
  local parse_pid=$STARTED_PID parse_port
  parse_port=$(wait_line "$parse_pid" "$dir" parse '^metrics-port \K[0-9]+' 30)
  # The watch tool also insists that the aggregate's lag be 0 at its next refresh; parse's
  # watermark heartbeats (8 partitions, every second) can leave a few records in flight then.
  run_fg "$dir" watch "$BIN/streamwright-bench-tool" watch --parse-port "$parse_port" --aggregate-port "$agg_port" \
    --expect "$EVENTS" --input-topic chat-events --repartition-topic "$REPARTITION" --pid "parse=$parse_pid" \
    --pid "aggregate=$agg_pid" --pid "broker=$broker_pid" --interval-ms 20 --timeout-s 300 || true
  [[ $(kv complete "$dir/watch.out" 2>/dev/null) == 1 ]] ||
    die "the pipeline did not process all events: $(tail -5 "$dir/watch.err")"
  [[ $(kv parse_consumed_final "$dir/watch.out") -eq $EVENTS ]] || die "parse did not consume exactly $EVENTS"
  R[lag_note,$run]=$(grep -oP "lag on \S+ was \K[0-9.]+" "$dir/watch.err" || echo 0)
  R[e2e_s,$run]=$(kv e2e_seconds "$dir/watch.out")
  R[parse_s,$run]=$(kv parse_seconds "$dir/watch.out")
  local stage
  for stage in parse aggregate broker watch machine; do
    R[cpu_$stage,$run]=$(awk -v t="$(kv "cpu_ticks_$stage" "$dir/watch.out")" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", t / hz }')
  done
  R[other_cores,$run]=$(awk -v m="${R[cpu_machine,$run]}" -v a="${R[cpu_parse,$run]}" -v b="${R[cpu_aggregate,$run]}" \
    -v c="${R[cpu_broker,$run]}" -v d="${R[cpu_watch,$run]}" -v s="${R[e2e_s,$run]}" \
    'BEGIN { o = (m - a - b - c - d) / s; printf "%.2f", o < 0 ? 0 : o }')
  R[rss_parse,$run]=$(vmhwm_kb "$parse_pid")
  R[rss_aggregate,$run]=$(vmhwm_kb "$agg_pid")
  R[rss_broker,$run]=$(vmhwm_kb "$broker_pid")
  R[e2e_rate,$run]=$(stats ratio "$EVENTS" "${R[e2e_s,$run]}" --format %.0f)
  R[parse_rate,$run]=$(stats ratio "$EVENTS" "${R[parse_s,$run]}" --format %.0f)
  R[ratio,$run]=$(stats ratio "${R[e2e_rate,$run]}" "${R[raw,$run]}" --format %.2f)
  stop_pid "$parse_pid" parse 30
  stop_pid "$agg_pid" aggregate 30
  stop_pid "$broker_pid" broker 10
  log "run $run: raw consume ${R[raw,$run]}/s, whole pipeline ${R[e2e_rate,$run]}/s (ratio ${R[ratio,$run]})"
}
for ((run = 1; run <= RUNS; run++)); do run_once "$run"; done

M() { stats ratio "$1" 1e6 --format %.3f; }
row() {  # row LABEL GETTER
  local g=$2
  printf '| %s | %s | %s | %s | **%s** | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$(M "$($g produce)")" \
    "$(M "$($g raw)")" "$(M "$($g parse_rate)")" "$(M "$($g e2e_rate)")" "$($g ratio)" "$($g e2e_s)" "$($g cpu_parse)" \
    "$($g cpu_aggregate)" "$($g cpu_broker)" "$($g other_cores)" "$(($($g rss_parse) / 1024))" "$(($($g rss_aggregate) / 1024))"
}
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
COMMAND="bench/telemetra_bench.sh"
[[ ${#ORIGINAL_ARGS[@]} -gt 0 ]] && COMMAND+=$(printf ' %q' "${ORIGINAL_ARGS[@]}")
{
  echo "# Telemetra benchmark (embedded dev broker)"
  echo
  echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $COMMIT, machine: $(machine_line)"
  echo "- workload: $EVENTS chat events pre-filled into \`chat-events\` ($PARTITIONS partitions, $STREAMS streams) plus about $(median viewers) viewer events;"
  echo "  hopping windows 1 min / 10 s (each chat event updates its 10 s slice; slices combine into 6 windows); \`$REPARTITION\` and the changelog have $INTERNAL partitions; $RUNS run(s)"
  echo "- command: \`$COMMAND\`"
  echo
  echo "| run | produce (loadgen) M/s | raw consume M/s | parse stage M/s | whole pipeline M/s | pipeline / raw consume | whole pipeline s | CPU s parse | CPU s aggregate | CPU s broker | other processes (cores) | peak RSS parse MiB | peak RSS aggregate MiB |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  for ((run = 1; run <= RUNS; run++)); do
    get() { echo "${R[$1,$run]}"; }
    row "$run" get
  done
  [[ $RUNS -gt 1 ]] && row "**median**" median
  echo
  echo "Raw consume: \`streamwright-bench-tool consume\` of \`chat-events\` in the same run (one group-less consumer, tuned" \
    "read-ahead). The aggregate's lag at the watch tool's check after the end (watermark heartbeats in flight):" \
    "$(median lag_note) records."
} >"$WORK/report.md"
mkdir -p "$(dirname "$REPORT")"
cp "$WORK/report.md" "$REPORT"
cat "$WORK/report.md"
if [[ -n $SUMMARY ]]; then
  : >"$SUMMARY"
  for m in produce raw parse_rate e2e_rate ratio cpu_parse cpu_aggregate cpu_broker other_cores rss_parse rss_aggregate rss_broker; do
    vals=()
    for ((run = 1; run <= RUNS; run++)); do vals+=("${R[$m,$run]}"); done
    summary_put "$SUMMARY" "$m" "$(stats_of "${vals[@]}")"
  done
  summary_put "$SUMMARY" runs "$RUNS"
fi
