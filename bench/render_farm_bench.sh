#!/usr/bin/env bash
# Render-farm benchmark: the seed's baseline against the optimized pipeline, on the same
# pre-filled input, on the embedded dev broker.
#
# Usage: bench/render_farm_bench.sh [--events N] [--partitions P] [--internal-partitions Q]
#                                   [--runs R] [--span DURATION] [--scenes S] [--nodes K]
#                                   [--zipf X] [--commit-interval D] [--keep-logs]
#                                   [--summary FILE] [--report FILE]
#
# Each run starts a fresh dev broker, pre-fills `render-events` once with N frame events whose
# event times span --span of history (Zipf-skewed scenes, failures, retries), checks that the
# broker kept them all and measures the raw consume rate. Then, for each variant, it starts the
# three stages (aggregate and node-aggregate first, assigned before enrich starts) under their
# own application id, so each has its own groups and internal topics, and times the pipeline
# from the first record enrich consumes until enrich has consumed all N and both aggregators
# have consumed everything enrich sent them (streamwright-bench-tool watch). It then waits for
# every window to close and compares the variants' outputs.
#
#   optimized: broadcast joins in enrich, two-phase aggregation (partials per scene/node and
#              window), state kept for window + grace, dimension files cached
#   baseline:  the scenes joined after the shuffle (in the aggregator), every frame through the
#              repartition topics, 24 h state retention, dimension files re-read every batch
#
# Prints a Markdown report and writes it to bench/results/render-farm-latest.md.
set -euo pipefail
BENCH_NAME=render_farm_bench
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

EVENTS=1000000
PARTITIONS=16
INTERNAL=16
RUNS=1
SPAN=1m
SCENES=200
NODES=120
ZIPF=1.1
COMMIT_INTERVAL=2s
COMPRESSION=lz4
INTERVAL_MS=20

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'
  cat <<'EOF'

Options (defaults in brackets):
  --events N               frame events pre-filled into `render-events` [1000000]
  --partitions P           partitions of `render-events` [16] (the dev broker keeps at most
                           5 MiB of batches per partition: 16 hold about 1.5 M lz4-compressed
                           frame events, 64 about 1.3 M uncompressed ones)
  --internal-partitions Q  partitions of the repartition and changelog topics [16]
  --runs R                 runs; the report gives each run and the medians [1]
  --span D                 event time covered by the input [1m]: a stream of N/60 events/s
  --scenes S / --nodes K   distinct scenes [200] and render nodes [120]
  --zipf X                 Zipf exponent of scene popularity [1.1]
  --commit-interval D      of every stage [2s]; for enrich it is the pre-aggregation interval
                           (one partial per key and window per input partition and interval)
  --compression C          producer compression of the input (none, lz4, zstd, ...) [lz4]; the dev
                           broker keeps 5 MiB of batches per partition, so compressed input fits
                           in fewer partitions
  --keep-logs              keep the logs of every run
  --summary FILE           also write medians and min/max as KEY<TAB>VALUE lines
  --report FILE            where to write the Markdown report [bench/results/render-farm-latest.md]
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
    --scenes) SCENES=${2:?--scenes needs a value}; shift 2 ;;
    --nodes) NODES=${2:?--nodes needs a value}; shift 2 ;;
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
require_positive_ints events=EVENTS partitions=PARTITIONS internal-partitions=INTERNAL runs=RUNS scenes=SCENES nodes=NODES

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BIN=${SW_BENCH_BIN:-$ROOT/build/bin}  # the suite runs a snapshot of the binaries
REPORT=${REPORT:-$ROOT/bench/results/render-farm-latest.md}
command -v curl >/dev/null || die "curl is required"

TARGETS=(streamwright-devbroker streamwright-loadgen streamwright-render-farm streamwright-bench-tool)
build_missing_targets "$BIN" "${TARGETS[@]}"

make_workdir sw-render-bench

# Sample dimension tables matching the generated ids.
"$BIN/streamwright-loadgen" --mode render-farm --write-dimensions "$WORK/dims" --scenes "$SCENES" --nodes "$NODES"
DIMS=(--scenes "$WORK/dims/scenes.json" --nodes "$WORK/dims/hardware_nodes.jsonl")
VARIANTS=(optimized baseline)
variant_args() {  # the service options of a variant
  case "$1" in
    optimized) echo "--application-id rf-optimized --metrics-topic render-metrics-optimized --node-metrics-topic node-metrics-optimized" ;;
    baseline) echo "--application-id rf-baseline --metrics-topic render-metrics-baseline --node-metrics-topic node-metrics-baseline --baseline" ;;
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
  done < <("$BIN/streamwright-render-farm" --list-topics $(variant_args "$variant") "${DIMS[@]}")
done

CLK_TCK=$(getconf CLK_TCK)
declare -A R  # R[metric,run]

run_variant() {  # run_variant RUN VARIANT BOOTSTRAP DIR BROKER_PID
  local run=$1 variant=$2 bootstrap=$3 dir=$4 broker_pid=$5 v=$2
  local app="rf-$variant"
  # shellcheck disable=SC2207
  local vargs=($(variant_args "$variant"))
  local common=(--bootstrap-servers "$bootstrap" --metrics-address 127.0.0.1 --metrics-port 0 --idle-timeout 1s
    --commit-interval "$COMMIT_INTERVAL"
    --internal-partitions "$INTERNAL" "${vargs[@]}" "${DIMS[@]}")
  local pids=() ports=() stage
  for stage in aggregate node-aggregate; do
    start "$v-$stage" "$dir" "$BIN/streamwright-render-farm" --stage "$stage" "${common[@]}" --state-dir "$dir/state-$v"
    pids+=("$STARTED_PID")
    ports+=("$(wait_line "$STARTED_PID" "$dir" "$v-$stage" '^metrics-port \K[0-9]+' 30)")
    wait_ready "$STARTED_PID" "$dir" "$v-$stage" "${ports[-1]}" 30
  done
  log "run $run: $variant: starting enrich and measuring"
  start "$v-enrich" "$dir" "$BIN/streamwright-render-farm" --stage enrich "${common[@]}" --state-dir "$dir/state-$v"
  local enrich_pid=$STARTED_PID enrich_port
  enrich_port=$(wait_line "$enrich_pid" "$dir" "$v-enrich" '^metrics-port \K[0-9]+' 30)
  local scene_topic="$app-frames-by-scene-repartition" node_topic="$app-frames-by-node-repartition"
  if ! run_fg "$dir" "$v-watch" "$BIN/streamwright-bench-tool" watch --parse-stage enrich --parse-port "$enrich_port" \
    --aggregate-stage aggregate --aggregate-port "${ports[0]}" --expect "$EVENTS" --input-topic render-events \
    --repartition-topic "$scene_topic" --also "${ports[1]}:node-aggregate:$node_topic" \
    --pid "enrich=$enrich_pid" --pid "aggregate=${pids[0]}" --pid "nodeagg=${pids[1]}" --pid "broker=$broker_pid" \
    --interval-ms "$INTERVAL_MS" --timeout-s 600; then
    cat "$dir/$v-watch.err" >&2
    die "$variant did not process all $EVENTS events (run $run)"
  fi
  R[${v}_e2e_s,$run]=$(kv e2e_seconds "$dir/$v-watch.out")
  local consumed
  consumed=$(kv parse_consumed_final "$dir/$v-watch.out")
  [[ $consumed -eq $EVENTS ]] || die "$variant: enrich consumed $consumed records, expected $EVENTS"
  for stage in enrich aggregate nodeagg; do
    R[${v}_cpu_$stage,$run]=$(awk -v t="$(kv "cpu_ticks_$stage" "$dir/$v-watch.out")" -v hz="$CLK_TCK" \
      'BEGIN { printf "%.2f", t / hz }')
  done

  # Every window closes once idle partitions follow the wall clock past the input's end + grace.
  log "run $run: $variant: waiting for every window to close"
  local last=-1 same=0 out i
  for ((i = 0; i < 600; i++)); do
    out=$(metric_sum "${ports[0]}" streamwright_output_records_total)
    out=$((out + $(metric_sum "${ports[1]}" streamwright_output_records_total)))
    local open
    open=$(metric_sum "${ports[0]}" streamwright_event_time_lag_seconds)
    if [[ $out -eq $last && $open -lt 5 ]]; then ((same++)) || true; else same=0; fi
    [[ $same -ge 6 ]] && break
    last=$out
    sleep 0.5
  done
  [[ $same -ge 6 ]] || die "$variant: the outputs did not settle"

  # Repartition traffic: key + value bytes enrich wrote (data records; watermarks are the same
  # few per partition in both variants and not counted).
  R[${v}_rep_bytes,$run]=$(( $(metric_sum "$enrich_port" streamwright_bytes_produced_total "topic=\"$scene_topic\"") +
    $(metric_sum "$enrich_port" streamwright_bytes_produced_total "topic=\"$node_topic\"") ))
  R[${v}_rep_records,$run]=$(( $(metric_sum "$enrich_port" streamwright_records_produced_total "topic=\"$scene_topic\"") +
    $(metric_sum "$enrich_port" streamwright_records_produced_total "topic=\"$node_topic\"") ))
  # State: windows the aggregators still hold, their RocksDB directories on disk once stopped,
  # and what they wrote to their changelogs.
  R[${v}_windows,$run]=$(( $(metric_sum "${ports[0]}" streamwright_cached_windows) +
    $(metric_sum "${ports[1]}" streamwright_cached_windows) ))
  R[${v}_changelog,$run]=$(( $(metric_sum "${ports[0]}" streamwright_bytes_produced_total "changelog") +
    $(metric_sum "${ports[1]}" streamwright_bytes_produced_total "changelog") ))
  # Skew: the largest share of the scene aggregator's data records on one partition. Its
  # positions count data and watermark records; enrich sends every partition the same number of
  # watermarks, so those are subtracted evenly.
  local data
  data=$(metric_sum "$enrich_port" streamwright_records_produced_total "topic=\"$scene_topic\"")
  curl -fsS "http://127.0.0.1:${ports[0]}/metrics" >"$dir/$v-aggregate.metrics"
  curl -fsS "http://127.0.0.1:$enrich_port/metrics" >"$dir/$v-enrich.metrics"
  R[${v}_skew,$run]=$(grep -E "^kafka_consumergroup_current_offset\{[^}]*topic=\"$scene_topic\"" "$dir/$v-aggregate.metrics" |
    awk '{ print $NF }' | stats skew "$data" --stdin --format %.3f)
  R[${v}_rss_enrich,$run]=$(vmhwm_kb "$enrich_pid")
  R[${v}_rss_aggregate,$run]=$(vmhwm_kb "${pids[0]}")
  R[${v}_rss_nodeagg,$run]=$(vmhwm_kb "${pids[1]}")

  run_fg "$dir" "$v-scan-scenes" "$BIN/streamwright-bench-tool" scan --bootstrap-servers "$bootstrap" \
    --topic "render-metrics-$variant" --values-out "$dir/$v-render-metrics.txt" ||
    fail_with_log "$dir" "$v-scan-scenes" "cannot read render-metrics-$variant"
  run_fg "$dir" "$v-scan-nodes" "$BIN/streamwright-bench-tool" scan --bootstrap-servers "$bootstrap" \
    --topic "node-metrics-$variant" --values-out "$dir/$v-node-metrics.txt" ||
    fail_with_log "$dir" "$v-scan-nodes" "cannot read node-metrics-$variant"
  R[${v}_outputs,$run]=$(( $(kv records "$dir/$v-scan-scenes.out") + $(kv records "$dir/$v-scan-nodes.out") ))

  for pid in "$enrich_pid" "${pids[@]}"; do stop_pid "$pid" "$variant stage" 30; done
  R[${v}_rocksdb,$run]=$(du -sb "$dir/state-$v" | cut -f1)
  rm -rf "$dir/state-$v"
  log "run $run: $variant: ${R[${v}_e2e_s,$run]}s end to end, repartition ${R[${v}_rep_bytes,$run]} bytes," \
    "${R[${v}_outputs,$run]} outputs"
}

run_once() {
  local run=$1 dir=$WORK/run$1
  mkdir -p "$dir"
  log "run $run/$RUNS: starting the dev broker"
  start broker "$dir" "$BIN/streamwright-devbroker" "${BROKER_TOPICS[@]}"
  local broker_pid=$STARTED_PID bootstrap
  bootstrap=$(wait_line "$broker_pid" "$dir" broker '^\S+:[0-9]+' 15)

  log "run $run/$RUNS: pre-filling render-events with $EVENTS frames over $SPAN of event time"
  run_fg "$dir" loadgen "$BIN/streamwright-loadgen" --mode render-farm --bootstrap-servers "$bootstrap" \
    --topic render-events --rate 0 --count "$EVENTS" --event-time-span "$SPAN" --event-time-end 15m \
    --scenes "$SCENES" --nodes "$NODES" --zipf "$ZIPF" --out-of-order 0.05 --max-disorder 30s --quiet \
    --kafka-property "compression.type=$COMPRESSION" ||
    fail_with_log "$dir" loadgen "the load generator failed"
  local rc=0
  run_fg "$dir" offsets "$BIN/streamwright-bench-tool" offsets --bootstrap-servers "$bootstrap" --topic render-events || rc=$?
  [[ $rc -eq 0 ]] || die "the dev broker dropped input (run $run): use more --partitions or fewer --events"
  [[ $(kv records "$dir/offsets.out") -eq $EVENTS ]] || die "render-events holds the wrong number of records"
  R[input_bytes,$run]=$(grep -oP '^bytes=\K[0-9]+' "$dir/offsets.out" || echo 0)
  run_fg "$dir" consume "$BIN/streamwright-bench-tool" consume --bootstrap-servers "$bootstrap" \
    --topic render-events --expect "$EVENTS" --timeout-s 30 || fail_with_log "$dir" consume "the raw consume failed"
  R[raw,$run]=$(kv records_per_s "$dir/consume.out")
  R[input_bytes,$run]=$(kv bytes "$dir/consume.out")

  local variant
  for variant in "${VARIANTS[@]}"; do run_variant "$run" "$variant" "$bootstrap" "$dir" "$broker_pid"; done
  if cmp -s "$dir/optimized-render-metrics.txt" "$dir/baseline-render-metrics.txt" &&
    cmp -s "$dir/optimized-node-metrics.txt" "$dir/baseline-node-metrics.txt"; then
    R[identical,$run]=1
  else
    R[identical,$run]=0
    log "warning: run $run: baseline and optimized outputs differ (kept in $dir)"
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
    R[${v}_state,$run]=$(( R[${v}_rocksdb,$run] + R[${v}_changelog,$run] ))
    R[${v}_cpu,$run]=$(awk -v a="${R[${v}_cpu_enrich,$run]}" -v b="${R[${v}_cpu_aggregate,$run]}" \
      -v c="${R[${v}_cpu_nodeagg,$run]}" 'BEGIN { printf "%.2f", a + b + c }')
  done
done
MiB() { stats ratio "$1" 1048576 --format %.2f; }
X() { stats ratio "$1" "$2" --format %.1fx; }
M() { stats ratio "$1" 1e6 --format %.3f; }
KB_MiB() { stats ratio "$1" 1024 --format %.0f; }

CPU_MODEL=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') || CPU_MODEL=unknown
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git -C "$ROOT" status --porcelain 2>/dev/null) ]]; then COMMIT="$COMMIT (with uncommitted changes)"; fi
COMMAND="bench/render_farm_bench.sh"
[[ ${#ORIGINAL_ARGS[@]} -gt 0 ]] && COMMAND+=$(printf ' %q' "${ORIGINAL_ARGS[@]}")
IDENTICAL=yes
for ((run = 1; run <= RUNS; run++)); do [[ ${R[identical,$run]} -eq 1 ]] || IDENTICAL=no; done

row() {  # row LABEL METRIC FORMATTER
  local b o
  b=$(median "baseline_$2")
  o=$(median "optimized_$2")
  printf '| %s | %s | %s | %s |\n' "$1" "$($3 "$b")" "$($3 "$o")" "$(X "$b" "$o")"
}
id() { echo "$1"; }
{
  echo "# Render-farm benchmark: baseline against optimized (embedded dev broker)"
  echo
  echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $COMMIT"
  echo "- machine: $(nproc) CPUs ($CPU_MODEL), $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
  echo "- command: \`$COMMAND\`"
  echo "- workload: $EVENTS frame events ($(MiB "$(median input_bytes)") MiB) pre-filled into \`render-events\`" \
    "($PARTITIONS partitions, $COMPRESSION-compressed batches), event time spread over $SPAN, $SCENES scenes (Zipf $ZIPF), $NODES nodes," \
    "5% out of order by up to 30 s; internal topics have $INTERNAL partitions; 1-minute tumbling windows," \
    "10 minutes of grace; commit (pre-aggregation) interval $COMMIT_INTERVAL; medians of $RUNS run(s);" \
    "raw consume of the input $(M "$(median raw)") M records/s"
  echo "- outputs identical (render-metrics and node-metrics, as sorted multisets): **$IDENTICAL**"
  echo
  echo "| metric | baseline | optimized | baseline / optimized |"
  echo "| --- | ---: | ---: | ---: |"
  row "processing time per 1 M events (s)" per_m id
  row "throughput (events/s)" rate id
  row "repartition topics (MiB written)" rep_bytes MiB
  row "repartition records" rep_records id
  row "state: windows held when all have closed" windows id
  row "state: RocksDB on disk at the end (MiB)" rocksdb MiB
  row "state: changelog written (MiB)" changelog MiB
  row "state: RocksDB + changelog (MiB)" state MiB
  row "largest partition's share of the scene aggregator's records" skew id
  row "CPU s, all three stages" cpu id
  row "peak RSS enrich (MiB)" rss_enrich KB_MiB
  row "peak RSS scene aggregator (MiB)" rss_aggregate KB_MiB
  row "output records (scene + node metrics)" outputs id
  echo
  echo "How to read it: processing time is the seed's batch duration, measured from the first record" \
    "enrich consumed until both aggregators had consumed everything enrich sent them; repartition bytes" \
    "are the seed's shuffle size (key and value bytes of the data records enrich wrote to both" \
    "repartition topics); state is what the aggregators keep once every window has closed (windows held," \
    "RocksDB directories on disk after a clean stop) and what they wrote to their changelogs; skew is the largest share of the scene" \
    "aggregator's input records on one partition (1/$INTERNAL would be perfectly even)."
} >"$WORK/report.md"
mkdir -p "$(dirname "$REPORT")"
cp "$WORK/report.md" "$REPORT"
cat "$WORK/report.md"
log "report written to ${REPORT#"$ROOT"/}"
if [[ -n $SUMMARY ]]; then
  : >"$SUMMARY"
  for ((run = 1; run <= RUNS; run++)); do
    for v in "${VARIANTS[@]}"; do
      R[${v}_ratio,$run]=$(stats ratio "${R[${v}_rate,$run]}" "${R[raw,$run]}" --format %.2f)
    done
  done
  for m in raw optimized_rate optimized_ratio optimized_cpu optimized_cpu_enrich optimized_cpu_aggregate optimized_cpu_nodeagg \
    optimized_rss_enrich optimized_rss_aggregate optimized_rss_nodeagg optimized_rep_bytes optimized_state baseline_rate \
    baseline_ratio baseline_cpu baseline_rep_bytes baseline_state baseline_rss_enrich; do
    vals=()
    for ((run = 1; run <= RUNS; run++)); do vals+=("${R[$m,$run]}"); done
    summary_put "$SUMMARY" "$m" "$(stats_of "${vals[@]}")"
  done
  summary_put "$SUMMARY" identical "$IDENTICAL"
  summary_put "$SUMMARY" runs "$RUNS"
fi
[[ $IDENTICAL == yes ]] || die "baseline and optimized outputs differ"
