#!/usr/bin/env bash
# join-stats benchmark: throughput of the pipeline (sales events joined with the sample product
# catalogue, per-category statistics of price and quantity in 1-minute windows), two-phase
# aggregation against one phase, on the same pre-filled input, on the embedded dev broker.
#
# Usage: bench/join_stats_bench.sh [--events N] [--partitions P] [--internal-partitions Q]
#                                  [--runs R] [--span DURATION] [--zipf X] [--commit-interval D]
#                                  [--keep-logs] [--summary FILE] [--report FILE]
#
# Each run starts a fresh dev broker, pre-fills `events` once with N sales (the load generator's
# --mode join-stats: Zipf-skewed products of topologies/data/join-stats/products.json, 1% unknown
# products, 1% null quantities) whose event times span --span of history, checks that the broker
# kept them all and measures the raw consume rate. Then, for each variant, it starts the aggregate
# stage and then enrich under their own application id, and times the pipeline from the first
# record enrich consumes until enrich has consumed all N and the aggregate has consumed everything
# enrich sent it (streamwright-bench-tool watch). It then waits for every window to close and
# compares the variants' outputs.
#
#   two-phase: the default: enrich pre-aggregates per (category, window) and sends one partial
#              per category, window and input partition at each commit
#   one-phase: --pre-aggregate false: every event crosses the repartition topic
#
# Prints a Markdown report and writes it to bench/results/join-stats-latest.md.
set -euo pipefail
BENCH_NAME=join_stats_bench
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

EVENTS=1000000
PARTITIONS=16
INTERNAL=16
RUNS=1
SPAN=1m
ZIPF=1.1
COMMIT_INTERVAL=2s
COMPRESSION=lz4
INTERVAL_MS=20

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'
  cat <<'EOF'

Options (defaults in brackets):
  --events N               sales pre-filled into `events` [1000000]
  --partitions P           partitions of `events` [16] (the dev broker keeps at most 5 MiB of
                           batches per partition)
  --internal-partitions Q  partitions of the repartition and changelog topics [16]
  --runs R                 runs; the report gives the medians [1]
  --span D                 event time covered by the input [1m]
  --zipf X                 Zipf exponent of product popularity [1.1]
  --commit-interval D      of both stages [2s]; for enrich it is the pre-aggregation interval
  --compression C          producer compression of the input [lz4]
  --keep-logs              keep the logs of every run
  --summary FILE           also write medians and min/max as KEY<TAB>VALUE lines
  --report FILE            where to write the Markdown report [bench/results/join-stats-latest.md]
EOF
}

ORIGINAL_ARGS=("$@")
KEEP_WORK=0
SUMMARY=
REPORT=
while [[ $# -gt 0 ]]; do
  case "$1" in
    --events) EVENTS=${2:?--events needs a value}; shift 2 ;;
    --partitions) PARTITIONS=${2:?--partitions needs a value}; shift 2 ;;
    --internal-partitions) INTERNAL=${2:?--internal-partitions needs a value}; shift 2 ;;
    --runs) RUNS=${2:?--runs needs a value}; shift 2 ;;
    --span) SPAN=${2:?--span needs a value}; shift 2 ;;
    --zipf) ZIPF=${2:?--zipf needs a value}; shift 2 ;;
    --commit-interval) COMMIT_INTERVAL=${2:?--commit-interval needs a value}; shift 2 ;;
    --compression) COMPRESSION=${2:?--compression needs a value}; shift 2 ;;
    --keep-logs) KEEP_WORK=1; shift ;;
    --summary) SUMMARY=${2:?--summary needs a value}; shift 2 ;;
    --report) REPORT=${2:?--report needs a value}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done
require_positive_ints events=EVENTS partitions=PARTITIONS internal-partitions=INTERNAL runs=RUNS

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BIN=${SW_BENCH_BIN:-$ROOT/build/bin}
REPORT=${REPORT:-$ROOT/bench/results/join-stats-latest.md}
DATASET=$ROOT/topologies/data/join-stats/products.json
command -v curl >/dev/null || die "curl is required"

TARGETS=(streamwright-devbroker streamwright-loadgen streamwright-join-stats streamwright-bench-tool)
build_missing_targets "$BIN" "${TARGETS[@]}"

make_workdir sw-join-stats-bench

VARIANTS=(two-phase one-phase)
variant_args() {  # the service options of a variant
  case "$1" in
    two-phase) echo "--application-id js-two-phase --output-topic event-stats-two-phase" ;;
    one-phase) echo "--application-id js-one-phase --output-topic event-stats-one-phase --pre-aggregate false" ;;
  esac
}

# Topics of both variants, from the service itself.
BROKER_TOPICS=()
declare -A SEEN_TOPIC
for variant in "${VARIANTS[@]}"; do
  # shellcheck disable=SC2046
  while read -r name role; do
    [[ -n ${SEEN_TOPIC[$name]:-} ]] && continue
    SEEN_TOPIC[$name]=1
    if [[ $role == input ]]; then BROKER_TOPICS+=(--topic "$name:$PARTITIONS"); else BROKER_TOPICS+=(--topic "$name:$INTERNAL"); fi
  done < <("$BIN/streamwright-join-stats" --list-topics $(variant_args "$variant") --dataset "$DATASET")
done

CLK_TCK=$(getconf CLK_TCK)
declare -A R  # R[metric,run]

run_variant() {  # run_variant RUN VARIANT BOOTSTRAP DIR BROKER_PID
  local run=$1 variant=$2 bootstrap=$3 dir=$4 broker_pid=$5 v=$2
  local app="js-$variant"
  # shellcheck disable=SC2207
  local vargs=($(variant_args "$variant"))
  local common=(--bootstrap-servers "$bootstrap" --metrics-address 127.0.0.1 --metrics-port 0 --idle-timeout 1s
    --commit-interval "$COMMIT_INTERVAL" --internal-partitions "$INTERNAL" --dataset "$DATASET" "${vargs[@]}")
  start "$v-aggregate" "$dir" "$BIN/streamwright-join-stats" --stage aggregate "${common[@]}" --state-dir "$dir/state-$v"
  local agg_pid=$STARTED_PID agg_port
  agg_port=$(wait_line "$agg_pid" "$dir" "$v-aggregate" '^metrics-port \K[0-9]+' 30)
  wait_ready "$agg_pid" "$dir" "$v-aggregate" "$agg_port" 30
  log "run $run: $variant: starting enrich and measuring"
  start "$v-enrich" "$dir" "$BIN/streamwright-join-stats" --stage enrich "${common[@]}" --state-dir "$dir/state-$v"
  local enrich_pid=$STARTED_PID enrich_port
  enrich_port=$(wait_line "$enrich_pid" "$dir" "$v-enrich" '^metrics-port \K[0-9]+' 30)
  local topic="$app-samples-by-group-repartition"
  if ! run_fg "$dir" "$v-watch" "$BIN/streamwright-bench-tool" watch --parse-stage enrich --parse-port "$enrich_port" \
    --aggregate-stage aggregate --aggregate-port "$agg_port" --expect "$EVENTS" --input-topic events \
    --repartition-topic "$topic" --pid "enrich=$enrich_pid" --pid "aggregate=$agg_pid" --pid "broker=$broker_pid" \
    --interval-ms "$INTERVAL_MS" --timeout-s 600 --lag-tolerance "$INTERNAL"; then
    cat "$dir/$v-watch.err" >&2
    die "$variant did not process all $EVENTS events (run $run)"
  fi
  R[${v}_e2e_s,$run]=$(kv e2e_seconds "$dir/$v-watch.out")
  R[${v}_enrich_s,$run]=$(kv parse_seconds "$dir/$v-watch.out")
  local consumed
  consumed=$(kv parse_consumed_final "$dir/$v-watch.out")
  [[ $consumed -eq $EVENTS ]] || die "$variant: enrich consumed $consumed records, expected $EVENTS"
  R[${v}_dlq,$run]=$(kv parse_dead_letters "$dir/$v-watch.out")
  for stage in enrich aggregate; do
    R[${v}_cpu_$stage,$run]=$(awk -v t="$(kv "cpu_ticks_$stage" "$dir/$v-watch.out")" -v hz="$CLK_TCK" \
      'BEGIN { printf "%.2f", t / hz }')
  done

  # Every window closes once idle partitions follow the wall clock past the input's end + grace.
  log "run $run: $variant: waiting for every window to close"
  local last=-1 same=0 out i open
  for ((i = 0; i < 600; i++)); do
    out=$(metric_sum "$agg_port" streamwright_output_records_total)
    open=$(metric_sum "$agg_port" streamwright_cached_windows)
    if [[ $out -eq $last && $open -eq 0 ]]; then ((same++)) || true; else same=0; fi
    [[ $same -ge 6 ]] && break
    last=$out
    sleep 0.5
  done
  [[ $same -ge 6 ]] || die "$variant: the outputs did not settle"

  R[${v}_rep_bytes,$run]=$(metric_sum "$enrich_port" streamwright_bytes_produced_total "topic=\"$topic\"")
  R[${v}_rep_records,$run]=$(metric_sum "$enrich_port" streamwright_records_produced_total "topic=\"$topic\"")
  R[${v}_misses,$run]=$(metric_sum "$enrich_port" streamwright_table_lookup_misses_total)
  R[${v}_changelog,$run]=$(metric_sum "$agg_port" streamwright_bytes_produced_total "changelog")
  R[${v}_rss_enrich,$run]=$(vmhwm_kb "$enrich_pid")
  R[${v}_rss_aggregate,$run]=$(vmhwm_kb "$agg_pid")
  run_fg "$dir" "$v-scan" "$BIN/streamwright-bench-tool" scan --bootstrap-servers "$bootstrap" \
    --topic "event-stats-$variant" --values-out "$dir/$v-event-stats.txt" ||
    fail_with_log "$dir" "$v-scan" "cannot read event-stats-$variant"
  R[${v}_outputs,$run]=$(kv records "$dir/$v-scan.out")
  # Every event is counted once: the outputs' counts add up to the input.
  R[${v}_counted,$run]=$(grep -oP '"count":\K[0-9]+(?=,"unmatched")' "$dir/$v-event-stats.txt" | stats sum --field 1 --format %.0f)
  for pid in "$enrich_pid" "$agg_pid"; do stop_pid "$pid" "$variant stage" 30; done
  rm -rf "$dir/state-$v"
  log "run $run: $variant: ${R[${v}_e2e_s,$run]}s end to end, ${R[${v}_rep_records,$run]} repartition records," \
    "${R[${v}_outputs,$run]} outputs counting ${R[${v}_counted,$run]} events"
}

run_once() {
  local run=$1 dir=$WORK/run$1
  mkdir -p "$dir"
  log "run $run/$RUNS: starting the dev broker"
  start broker "$dir" "$BIN/streamwright-devbroker" "${BROKER_TOPICS[@]}"
  local broker_pid=$STARTED_PID bootstrap
  bootstrap=$(wait_line "$broker_pid" "$dir" broker '^\S+:[0-9]+' 15)

  log "run $run/$RUNS: pre-filling events with $EVENTS sales over $SPAN of event time"
  run_fg "$dir" loadgen "$BIN/streamwright-loadgen" --mode join-stats --bootstrap-servers "$bootstrap" \
    --topic events --rate 0 --count "$EVENTS" --event-time-span "$SPAN" --event-time-end 15m \
    --zipf "$ZIPF" --unknown-rate 0.01 --out-of-order 0.05 --max-disorder 30s --quiet \
    --kafka-property "compression.type=$COMPRESSION" ||
    fail_with_log "$dir" loadgen "the load generator failed"
  local rc=0
  run_fg "$dir" offsets "$BIN/streamwright-bench-tool" offsets --bootstrap-servers "$bootstrap" --topic events || rc=$?
  [[ $rc -eq 0 ]] || die "the dev broker dropped input (run $run): use more --partitions or fewer --events"
  [[ $(kv records "$dir/offsets.out") -eq $EVENTS ]] || die "events holds the wrong number of records"
  run_fg "$dir" consume "$BIN/streamwright-bench-tool" consume --bootstrap-servers "$bootstrap" \
    --topic events --expect "$EVENTS" --timeout-s 30 || fail_with_log "$dir" consume "the raw consume failed"
  R[raw,$run]=$(kv records_per_s "$dir/consume.out")
  R[input_bytes,$run]=$(kv bytes "$dir/consume.out")

  local variant
  for variant in "${VARIANTS[@]}"; do run_variant "$run" "$variant" "$bootstrap" "$dir" "$broker_pid"; done
  if cmp -s "$dir/two-phase-event-stats.txt" "$dir/one-phase-event-stats.txt"; then
    R[identical,$run]=1
  else
    R[identical,$run]=0
    log "warning: run $run: the variants' outputs differ (kept in $dir)"
    KEEP_WORK=1
  fi
  stop_pid "$broker_pid" broker 10
}

for ((run = 1; run <= RUNS; run++)); do run_once "$run"; done

# --- report -------------------------------------------------------------------------------------
for ((run = 1; run <= RUNS; run++)); do
  for v in "${VARIANTS[@]}"; do
    R[${v}_per_m,$run]=$(stats ratio "${R[${v}_e2e_s,$run]}" "$EVENTS" --multiply 1e6 --format %.3f)
    R[${v}_rate,$run]=$(stats ratio "$EVENTS" "${R[${v}_e2e_s,$run]}" --format %.0f)
    R[${v}_cpu,$run]=$(awk -v a="${R[${v}_cpu_enrich,$run]}" -v b="${R[${v}_cpu_aggregate,$run]}" 'BEGIN { printf "%.2f", a + b }')
    R[${v}_us_per_event,$run]=$(stats ratio "${R[${v}_cpu_enrich,$run]}" "$EVENTS" --multiply 1e6 --format %.2f)
  done
done
MiB() { stats ratio "$1" 1048576 --format %.2f; }
X() { stats ratio "$1" "$2" --format %.1fx; }
M() { stats ratio "$1" 1e6 --format %.3f; }
KB_MiB() { stats ratio "$1" 1024 --format %.0f; }
id() { echo "$1"; }

COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git -C "$ROOT" status --porcelain 2>/dev/null) ]]; then COMMIT="$COMMIT (with uncommitted changes)"; fi
COMMAND="bench/join_stats_bench.sh"
[[ ${#ORIGINAL_ARGS[@]} -gt 0 ]] && COMMAND+=$(printf ' %q' "${ORIGINAL_ARGS[@]}")
IDENTICAL=yes
COMPLETE=yes
for ((run = 1; run <= RUNS; run++)); do
  [[ ${R[identical,$run]} -eq 1 ]] || IDENTICAL=no
  for v in "${VARIANTS[@]}"; do [[ ${R[${v}_counted,$run]} -eq $EVENTS ]] || COMPLETE=no; done
done

row() {  # row LABEL METRIC FORMATTER
  local o t
  o=$(median "one-phase_$2")
  t=$(median "two-phase_$2")
  printf '| %s | %s | %s | %s |\n' "$1" "$($3 "$o")" "$($3 "$t")" "$(X "$o" "$t")"
}
{
  echo "# join-stats benchmark: one phase against two phases (embedded dev broker)"
  echo
  echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $COMMIT"
  echo "- machine: $(machine_line)"
  echo "- command: \`$COMMAND\`"
  echo "- workload: $EVENTS sales ($(MiB "$(median input_bytes)") MiB) pre-filled into \`events\`" \
    "($PARTITIONS partitions, $COMPRESSION-compressed batches), event time spread over $SPAN, the 200 sample" \
    "products (Zipf $ZIPF, 1% unknown, 1% null quantities), 5% out of order by up to 30 s; joined with" \
    "topologies/data/join-stats/products.json and grouped by dataset.category, statistics of price and quantity;" \
    "internal topics have $INTERNAL partitions; 1-minute tumbling windows, 1 minute of grace; commit" \
    "(pre-aggregation) interval $COMMIT_INTERVAL; medians of $RUNS run(s); raw consume of the input $(M "$(median raw)") M records/s"
  echo "- outputs identical (event-stats, as sorted multisets): **$IDENTICAL**; every event counted once: **$COMPLETE**"
  echo
  echo "| metric | one phase | two phases | one / two |"
  echo "| --- | ---: | ---: | ---: |"
  row "processing time per 1 M events (s)" per_m id
  row "throughput (events/s)" rate id
  row "enrich alone: seconds to consume the input" enrich_s id
  row "enrich CPU per event (µs)" us_per_event id
  row "repartition topic (MiB written)" rep_bytes MiB
  row "repartition records" rep_records id
  row "changelog written (MiB)" changelog MiB
  row "CPU s, both stages" cpu id
  row "peak RSS enrich (MiB)" rss_enrich KB_MiB
  row "peak RSS aggregate (MiB)" rss_aggregate KB_MiB
  row "unknown products (table lookup misses)" misses id
  row "output records" outputs id
  echo
  echo "How to read it: processing time is from the first record enrich consumed until the aggregate had" \
    "consumed everything enrich sent it (the last chunk's partials go out at the next commit, so the" \
    "final windows' results come up to one commit interval later: latency, not throughput); repartition" \
    "bytes are key and value bytes of the data records enrich wrote."
} >"$WORK/report.md"
mkdir -p "$(dirname "$REPORT")"
cp "$WORK/report.md" "$REPORT"
cat "$WORK/report.md"
log "report written to ${REPORT#"$ROOT"/}"
if [[ -n $SUMMARY ]]; then
  : >"$SUMMARY"
  for m in raw two-phase_rate two-phase_cpu two-phase_rss_enrich two-phase_rep_bytes one-phase_rate one-phase_cpu \
    one-phase_rep_bytes; do
    vals=()
    for ((run = 1; run <= RUNS; run++)); do vals+=("${R[$m,$run]}"); done
    summary_put "$SUMMARY" "$m" "$(stats_of "${vals[@]}")"
  done
  summary_put "$SUMMARY" identical "$IDENTICAL"
  summary_put "$SUMMARY" runs "$RUNS"
fi
[[ $IDENTICAL == yes ]] || die "the variants' outputs differ"
[[ $COMPLETE == yes ]] || die "the outputs do not count every event once"
