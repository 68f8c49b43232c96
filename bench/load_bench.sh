#!/usr/bin/env bash
# Live-load benchmark of one pipeline on the embedded dev broker: an offered-load sweep with the
# load generator, then latency percentiles at 50% and 90% of the highest sustainable rate.
#
# Usage: bench/load_bench.sh --pipeline crash-monitor|render-farm|telemetra --out DIR
#                            [--quick] [--rates R1,R2,...] [--step-s S] [--latency-s S]
#                            [--guarantees at_least_once[,exactly_once]] [--keep-logs]
#                            [--service-arg ARG ...] (extra argument for every stage, for experiments)
#                            [--generator-rate R] (most one load generator process is asked to offer)
#
# One dev broker and one replica of every stage run for the whole benchmark (the stages join
# their groups once). Sweep: for each offered rate (ascending), `streamwright-loadgen --rate R`
# (its default batching, linger.ms=50, as a high-volume producer) runs for --step-s seconds, as
# several processes when R is above --generator-rate (default 400000/s; one process cannot offer
# much more with the stages running, see docs/load-generator.md), each with its share of R, as
# the seed's replicas do;
# over the middle of the step the entry stage's consumed count gives
# the processed rate; after the generator stops, the time until every stage has caught up is the
# drain time. A rate is sustainable when the generator reached it (>= 95%), the entry stage
# processed >= 95% of the input rate and the pipeline drained within 1 s (lag bounded: less than
# a second of input behind; input the broker trimmed before it was read, 5 MiB per partition,
# would never be consumed and fails the step). The
# sweep stops at the first unsustainable rate and tries the midpoint once.
#
# Latency: at 50% and 90% of the highest sustainable input rate, `streamwright-bench-tool latency`
# tails the entry stage's output (repartition) topic and 8 partitions of the input, and matches
# every output record to its input record through the envelope's source partition/offset: input
# visible -> output visible, both seen by the same consumer (append to append, plus the stage's
# own fetch and produce batching). Alerts/aggregates (early emission) carry the key and record
# timestamp of their trigger on the repartition topic: matched on those, they are timed from the
# trigger's repartition record (stage2_*) and, through its envelope, from the input record
# (e2e_*: input append to alert append).
#
# At 50%, a pass-through (bench/passthrough.cpp: the same records consumed and produced again with
# the stages' client settings and loop, no processing) runs beside the stages on the same input,
# and its output is timed the same way (half.passthrough.*): the transport's floor.
#
# With --guarantees at_least_once,exactly_once (crash monitor), the stages are restarted under
# exactly-once and the 50% latency run is repeated at the same offered rate.
#
# Writes DIR/summary.tsv (key, value), DIR/sweep.tsv and DIR/cdf-*.tsv.
set -euo pipefail
BENCH_NAME=load_bench
BENCH_LOG_TAG=load
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PIPE=
OUT=
QUICK=0
RATES=
STEP_S=
LAT_S=
GUARANTEES=at_least_once
KEEP_WORK=0
EXTRA_ARGS=()
GEN_RATE=400000
PARTITIONS=64
INTERNAL=8
LINGER_MS=5

while [[ $# -gt 0 ]]; do
  case "$1" in
    --pipeline) PIPE=${2:?}; shift 2 ;;
    --out) OUT=${2:?}; shift 2 ;;
    --quick) QUICK=1; shift ;;
    --rates) RATES=${2:?}; shift 2 ;;
    --step-s) STEP_S=${2:?}; shift 2 ;;
    --latency-s) LAT_S=${2:?}; shift 2 ;;
    --guarantees) GUARANTEES=${2:?}; shift 2 ;;
    --keep-logs) KEEP_WORK=1; shift ;;
    --service-arg) EXTRA_ARGS+=("${2:?}"); shift 2 ;;
    --generator-rate) GEN_RATE=${2:?}; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1'" ;;
  esac
done
[[ -n $PIPE && -n $OUT ]] || die "--pipeline and --out are required"
if [[ $QUICK -eq 1 ]]; then
  STEP_S=${STEP_S:-8}
  LAT_S=${LAT_S:-8}
else
  STEP_S=${STEP_S:-15}
  LAT_S=${LAT_S:-20}
fi

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${SW_BENCH_BIN:-$ROOT/build/bin}  # the suite runs a snapshot of the binaries
mkdir -p "$OUT"
: >"$OUT/summary.tsv"
make_workdir sw-load-bench
CLK_TCK=$(getconf CLK_TCK)

# --- the pipelines ------------------------------------------------------------------------------
SVC_ARGS=() LOADGEN=() DOWN=()
case "$PIPE" in
  crash-monitor)
    SVC=$BIN/streamwright-crash-monitor ENTRY=parse DOWN=(aggregate) INPUT=logs APP=crash-monitor
    REPART=crash-monitor-crashes-by-user-repartition AGG_OUT=crash-alerts
    SVC_ARGS=(--emit early)
    LOADGEN=(--mode crash-monitor --users 1000)
    DEFAULT_RATES=200000,400000,600000,800000,1000000,1200000
    QUICK_RATES=300000,500000,750000,1000000
    ;;
  render-farm)
    SVC=$BIN/streamwright-render-farm ENTRY=enrich DOWN=(aggregate node-aggregate) INPUT=render-events APP=render-farm
    REPART=render-farm-frames-by-scene-repartition AGG_OUT=render-metrics
    "$BIN/streamwright-loadgen" --mode render-farm --write-dimensions "$WORK/dims" >/dev/null
    SVC_ARGS=(--emit early --scenes "$WORK/dims/scenes.json" --nodes "$WORK/dims/hardware_nodes.jsonl")
    LOADGEN=(--mode render-farm --kafka-property compression.type=lz4)
    DEFAULT_RATES=200000,400000,600000,800000,1000000,1200000
    QUICK_RATES=300000,500000,750000,1000000
    ;;
  telemetra)
    SVC=$BIN/streamwright-telemetra ENTRY=parse DOWN=(aggregate) INPUT=chat-events APP=telemetra
    REPART=telemetra-events-by-stream-repartition AGG_OUT=
    LOADGEN=(--mode telemetra --streams 2000)
    DEFAULT_RATES=100000,200000,300000,400000,500000,600000
    QUICK_RATES=150000,300000,450000,600000
    ;;
  *) die "unknown pipeline '$PIPE'" ;;
esac
if [[ -z $RATES ]]; then if [[ $QUICK -eq 1 ]]; then RATES=$QUICK_RATES; else RATES=$DEFAULT_RATES; fi; fi
IFS=, read -r -a RATE_LIST <<<"$RATES"
[[ $GEN_RATE =~ ^[0-9]+$ && $GEN_RATE -gt 0 ]] || die "--generator-rate must be a positive number of records per second"

# --- load generators ----------------------------------------------------------------------------
# start_loadgens NAME RATE ARGS...: ceil(RATE / GEN_RATE) generator processes sharing RATE (each
# derives its own instance: no duplicate request ids, independent streams); sets LG_PIDS.
LG_PIDS=()
start_loadgens() {
  local name=$1 rate=$2 gens i share
  shift 2
  gens=$(((rate + GEN_RATE - 1) / GEN_RATE))
  [[ $gens -ge 1 ]] || gens=1
  LG_PIDS=()
  for ((i = 0; i < gens; i++)); do
    share=$((rate / gens + (i < rate % gens ? 1 : 0)))
    start "$name-$i" "$WORK" "$BIN/streamwright-loadgen" --bootstrap-servers "$BOOT" --topic "$INPUT" --rate "$share" "$@"
    LG_PIDS+=("$STARTED_PID")
  done
}
# wait_loadgens: waits for LG_PIDS and takes them off the children.
wait_loadgens() {
  local p rest=()
  for p in "${LG_PIDS[@]}"; do wait "$p" || true; done
  for p in "${CHILDREN[@]}"; do [[ " ${LG_PIDS[*]} " == *" $p "* ]] || rest+=("$p"); done
  CHILDREN=("${rest[@]+"${rest[@]}"}")
}
# loadgen_total NAME sent|average: summed over the generators of NAME
loadgen_total() {
  local f v total=0
  for f in "$WORK/$1"-[0-9]*.err; do
    if [[ $2 == sent ]]; then v=$(grep -oP 'sent \K[0-9]+' "$f" | tail -n1); else v=$(grep -oP '[0-9.]+(?=/s average)' "$f" | tail -n1); fi
    total=$(awk -v a="$total" -v b="${v:-0}" 'BEGIN { printf "%.1f", a + b }')
  done
  echo "$total"
}
loadgen_cpu() { local p t=0; for p in "${LG_PIDS[@]}"; do t=$((t + $(cpu_of "$p"))); done; echo "$t"; }

BROKER_TOPICS=()
declare -A SEEN
add_topics() {  # add_topics ARGS...: the topics of the pipeline under those service arguments
  local name role
  while read -r name role; do
    [[ -n ${SEEN[$name]:-} ]] && continue
    SEEN[$name]=1
    if [[ $role == input ]]; then BROKER_TOPICS+=(--topic "$name:$PARTITIONS"); else BROKER_TOPICS+=(--topic "$name:$INTERNAL"); fi
  done < <("$SVC" --list-topics "${SVC_ARGS[@]}" "$@")
}
add_topics
[[ $GUARANTEES == *exactly_once* ]] && add_topics --application-id "$APP-eos"
PASSTHROUGH_TOPIC=passthrough-out
BROKER_TOPICS+=(--topic "$PASSTHROUGH_TOPIC:$PARTITIONS")

# --- processes ----------------------------------------------------------------------------------
declare -A PORT PID
start_stages() {  # start_stages GUARANTEE: downstream stages first (assigned), then the entry stage
  local g=$1 app=$APP stage
  [[ $g == exactly_once ]] && app=$APP-eos
  REPART_TOPIC=${REPART/#$APP/$app}
  for stage in "${DOWN[@]}" "$ENTRY"; do
    mkdir -p "$WORK/state-$g-$stage"
    start "$g-$stage" "$WORK" "$SVC" --stage "$stage" --bootstrap-servers "$BOOT" --metrics-address 127.0.0.1 \
      --metrics-port 0 --internal-partitions "$INTERNAL" --application-id "$app" --processing-guarantee "$g" \
      --state-dir "$WORK/state-$g-$stage" "${SVC_ARGS[@]}" "${EXTRA_ARGS[@]+"${EXTRA_ARGS[@]}"}"
    PID[$stage]=$STARTED_PID
    PORT[$stage]=$(wait_line "$STARTED_PID" "$WORK" "$g-$stage" '^metrics-port \K[0-9]+' 30)
    wait_ready "$STARTED_PID" "$WORK" "$g-$stage" "${PORT[$stage]}" 60
  done
}
stop_stages() {
  local stage
  for stage in "$ENTRY" "${DOWN[@]}"; do
    stop_pid "${PID[$stage]}" "$stage" 30
  done
}
consumed() { metric_sum "${PORT[$ENTRY]}" streamwright_records_consumed_total "topic=\"$INPUT\""; }
caught_up() {  # every downstream stage has consumed (at least) what the entry stage sent it
  local stage topic prod cons
  for stage in "${DOWN[@]}"; do
    for topic in $({ curl -fsS "http://127.0.0.1:${PORT[$stage]}/metrics" || true; } |
      { grep -oP '^streamwright_records_consumed_total\{[^}]*topic="\K[^"]*-repartition' || true; } | sort -u); do
      prod=$(metric_sum "${PORT[$ENTRY]}" streamwright_records_produced_total "topic=\"$topic\"")
      cons=$(metric_sum "${PORT[$stage]}" streamwright_records_consumed_total "topic=\"$topic\"")
      [[ $cons -ge $prod ]] || return 1
    done
  done
}
cpu_of() { local s; s=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }; s=${s##*) }; awk '{ print $12 + $13 }' <<<"$s"; }
machine_busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
declare -A CPU0 CPU1
cpu_snapshot() {  # cpu_snapshot ARRAY
  local -n a=$1
  local stage
  for stage in "$ENTRY" "${DOWN[@]}"; do a[$stage]=$(cpu_of "${PID[$stage]}"); done
  a[broker]=$(cpu_of "$BROKER_PID")
  a[machine]=$(machine_busy)
  a[t]=$EPOCHREALTIME
}
cores() {  # cores NAME: cores used by NAME between CPU0 and CPU1
  awk -v a="${CPU0[$1]}" -v b="${CPU1[$1]}" -v t0="${CPU0[t]}" -v t1="${CPU1[t]}" -v hz="$CLK_TCK" \
    'BEGIN { printf "%.2f", (b - a) / hz / (t1 - t0) }'
}
other_cores() {  # machine minus the benchmark's processes (the load generator's own CPU included as ours: $1)
  local ours=0 stage
  for stage in "$ENTRY" "${DOWN[@]}" broker; do ours=$(awk -v a="$ours" -v b="$(cores "$stage")" 'BEGIN { print a + b }'); done
  awk -v m="$(cores machine)" -v o="$ours" -v g="${1:-0}" 'BEGIN { v = m - o - g; printf "%.2f", v < 0 ? 0 : v }'
}

log "$PIPE: starting the dev broker"
start broker "$WORK" "$BIN/streamwright-devbroker" "${BROKER_TOPICS[@]}"
BROKER_PID=$STARTED_PID
BOOT=$(wait_line "$BROKER_PID" "$WORK" broker '^\S+:[0-9]+' 15)
start_stages at_least_once
SENT_TOTAL=0

# --- sweep --------------------------------------------------------------------------------------
printf 'offered\tinput\tprocessed\tdrain_s\tsustainable\tgenerator_reached\tentry_cores\tbroker_cores\tloadgen_cores\tother_cores\tgenerators\n' >"$OUT/sweep.tsv"
MAX=0 MAX_OFFERED=0 FIRST_FAIL=0 LIMIT="not reached (highest offered rate sustained)"
step() {  # step RATE: sets STEP_OK
  local r=$1 n=$2
  local before c0 c1 t0 t1 sent input drain ok=1 i lg0 lg1
  before=$(consumed)
  start_loadgens "loadgen-$n" "$r" --duration "${STEP_S}s" "${LOADGEN[@]}"
  sleep "$(awk -v s="$STEP_S" 'BEGIN { print s * 0.3 }')"
  cpu_snapshot CPU0
  lg0=$(loadgen_cpu)
  c0=$(consumed)
  t0=$EPOCHREALTIME
  sleep "$(awk -v s="$STEP_S" 'BEGIN { print s * 0.6 }')"
  c1=$(consumed)
  t1=$EPOCHREALTIME
  cpu_snapshot CPU1
  lg1=$(loadgen_cpu)
  wait_loadgens
  local tend=$EPOCHREALTIME
  sent=$(loadgen_total "loadgen-$n" sent)
  sent=${sent%.*}
  input=$(loadgen_total "loadgen-$n" average)
  SENT_TOTAL=$((SENT_TOTAL + sent))
  drain=-1
  for ((i = 0; i < 200; i++)); do
    if [[ $(consumed) -ge $SENT_TOTAL ]] && caught_up; then
      drain=$(awk -v a="$tend" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
      break
    fi
    sleep 0.05
  done
  local processed lgc
  processed=$(awk -v a="$c0" -v b="$c1" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.0f", (b - a) / (t1 - t0) }')
  lgc=$(awk -v a="$lg0" -v b="$lg1" -v t0="${CPU0[t]}" -v t1="${CPU1[t]}" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", (b - a) / hz / (t1 - t0) }')
  GEN_OK=1
  awk -v r="$r" -v i="$input" 'BEGIN { exit !(i >= 0.95 * r) }' || GEN_OK=0
  awk -v p="$processed" -v i="$input" 'BEGIN { exit !(p >= 0.95 * i) }' || ok=0
  awk -v d="$drain" 'BEGIN { exit !(d >= 0 && d <= 1.0) }' || ok=0
  printf '%s\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$input" "$processed" "$drain" "$ok" "$GEN_OK" "$(cores "$ENTRY")" \
    "$(cores broker)" "$lgc" "$(other_cores "$lgc")" "${#LG_PIDS[@]}" >>"$OUT/sweep.tsv"
  log "$PIPE: offered $r/s by ${#LG_PIDS[@]} generator(s): input $input/s, processed $processed/s, drain ${drain}s, sustainable=$ok, generators reached the rate=$GEN_OK (other cores $(other_cores "$lgc"))"
  STEP_OK=$ok
  if [[ $ok -eq 1 ]]; then
    if awk -v a="$input" -v b="$MAX" 'BEGIN { exit !(a > b) }'; then MAX=$(printf '%.0f' "$input"); MAX_OFFERED=$r; fi
  fi
  # Let a failed step's backlog drain before anything else runs.
  [[ $ok -eq 1 ]] || for ((i = 0; i < 300; i++)); do [[ $(consumed) -ge $SENT_TOTAL ]] && break; sleep 0.1; done
}
n=0
LAST_OK=0
for r in "${RATE_LIST[@]}"; do
  n=$((n + 1))
  step "$r" "$n"
  if [[ $STEP_OK -eq 1 && $GEN_OK -eq 1 ]]; then LAST_OK=$r; continue; fi
  if [[ $STEP_OK -eq 1 ]]; then
    # The pipeline kept up but the generator (and the broker, on the same 2 cores) could not
    # offer more: the limit of this machine, not of the pipeline.
    LIMIT="the load generator and dev broker (input fell short of the offered rate)"
  else
    FIRST_FAIL=$r
    LIMIT="the pipeline (processed < 95% of the input, or not drained within 1 s)"
  fi
  break
done
if [[ $FIRST_FAIL -gt 0 ]]; then  # one refinement between the last good rate and the first bad one
  mid=$(( (LAST_OK + FIRST_FAIL) / 2 ))
  if [[ $LAST_OK -gt 0 && $mid -gt $LAST_OK ]]; then
    n=$((n + 1))
    # A failed step may have left the broker trimming: only go on if the input is intact.
    step "$mid" "$n" || true
  fi
fi
summary_put "$OUT/summary.tsv" max_rate "$MAX"
summary_put "$OUT/summary.tsv" max_offered "$MAX_OFFERED"
summary_put "$OUT/summary.tsv" first_fail "$FIRST_FAIL"
summary_put "$OUT/summary.tsv" limit "$LIMIT"
if [[ $MAX -eq 0 ]]; then
  MAX=${RATE_LIST[0]}
  log "$PIPE: no rate was sustainable; latency at fractions of the lowest rate $MAX"
  summary_put "$OUT/summary.tsv" max_rate_note "none sustainable; latency at fractions of ${RATE_LIST[0]}"
fi

# --- latency ------------------------------------------------------------------------------------
latency_run() {  # latency_run TAG RATE GUARANTEE [passthrough]
  local tag=$1 rate=$2 g=$3 with_pt=${4:-} iso=read_uncommitted lg stage pt_pid= pt_lat=
  [[ $g == exactly_once ]] && iso=read_committed
  log "$PIPE: latency at $rate/s ($tag, $g)"
  metrics_snapshot "${PORT[$ENTRY]}" "$WORK/$tag-entry-before.prom"
  metrics_snapshot "${PORT[${DOWN[0]}]}" "$WORK/$tag-down-before.prom"
  local match=()
  [[ -n $AGG_OUT ]] && match=(--match-topic "$AGG_OUT" --match-cdf-out "$OUT/cdf-$tag-agg.tsv")
  start "lat-entry-$tag" "$WORK" "$BIN/streamwright-bench-tool" latency --bootstrap-servers "$BOOT" \
    --output-topic "$REPART_TOPIC" --envelope --input-topic "$INPUT" --sample-partitions 8 \
    --warmup-s 3 --duration-s "$LAT_S" --isolation-level "$iso" --cdf-out "$OUT/cdf-$tag-entry.tsv" \
    "${match[@]+"${match[@]}"}"
  local p1=$STARTED_PID p2=
  if [[ -n $with_pt ]]; then
    # The transport floor, in the same run at the same offered rate: the same records consumed
    # and produced again with the stages' client settings and loop, no processing.
    start "passthrough-$tag" "$WORK" "$BIN/streamwright-passthrough" --bootstrap-servers "$BOOT" \
      --input-topic "$INPUT" --output-topic "$PASSTHROUGH_TOPIC" --group "passthrough-$tag"
    pt_pid=$STARTED_PID
    wait_line "$pt_pid" "$WORK" "passthrough-$tag" '^running' 30 >/dev/null
    start "lat-pt-$tag" "$WORK" "$BIN/streamwright-bench-tool" latency --bootstrap-servers "$BOOT" \
      --output-topic "$PASSTHROUGH_TOPIC" --envelope --input-topic "$INPUT" --sample-partitions 8 \
      --warmup-s 3 --duration-s "$LAT_S" --cdf-out "$OUT/cdf-$tag-passthrough.tsv"
    pt_lat=$STARTED_PID
    sleep 4  # the dev broker's first group join takes 3 s
  fi
  sleep 1
  start_loadgens "lat-loadgen-$tag" "$rate" --duration "$((LAT_S + 4))s" --kafka-property "linger.ms=$LINGER_MS" "${LOADGEN[@]}"
  sleep 3
  cpu_snapshot CPU0
  wait "$p1" || fail_with_log "$WORK" "lat-entry-$tag" "the latency tool failed"
  cpu_snapshot CPU1
  if [[ -n $pt_pid ]]; then
    wait "$pt_lat" || fail_with_log "$WORK" "lat-pt-$tag" "the pass-through's latency tool failed"
    stop_pid "$pt_pid" "passthrough-$tag" 15
    local k
    for k in match_samples match_p50_ms match_p99_ms match_p999_ms match_max_ms unmatched; do
      summary_put "$OUT/summary.tsv" "$tag.passthrough.$k" "$(grep -m1 -oP "^$k=\\K.*" "$WORK/lat-pt-$tag.out" || echo -)"
    done
  fi
  metrics_snapshot "${PORT[$ENTRY]}" "$WORK/$tag-entry-after.prom"
  metrics_snapshot "${PORT[${DOWN[0]}]}" "$WORK/$tag-down-after.prom"
  wait_loadgens
  local rest=() p
  for p in "${CHILDREN[@]}"; do [[ $p == "$p1" || $p == "$p2" || $p == "$pt_lat" ]] || rest+=("$p"); done
  CHILDREN=("${rest[@]+"${rest[@]}"}")
  local lat_sent
  lat_sent=$(loadgen_total "lat-loadgen-$tag" sent)
  SENT_TOTAL=$((SENT_TOTAL + ${lat_sent%.*}))
  summary_put "$OUT/summary.tsv" "$tag.input_rate" "$(loadgen_total "lat-loadgen-$tag" average)"
  summary_put "$OUT/summary.tsv" "$tag.generators" "${#LG_PIDS[@]}"
  local f=$WORK/lat-entry-$tag.out k
  summary_put "$OUT/summary.tsv" "$tag.rate" "$rate"
  for k in match_samples match_p50_ms match_p99_ms match_p999_ms match_max_ms ts_p50_ms ts_p99_ms input_delay_p50_ms input_delay_p99_ms unmatched negative; do
    summary_put "$OUT/summary.tsv" "$tag.entry.$k" "$(grep -m1 -oP "^$k=\\K.*" "$f" || echo -)"
  done
  if [[ -n $AGG_OUT ]]; then
    for k in match_topic_records match_topic_unmatched stage2_samples stage2_p50_ms stage2_p99_ms stage2_p999_ms \
      e2e_samples e2e_p50_ms e2e_p99_ms e2e_p999_ms e2e_max_ms; do
      summary_put "$OUT/summary.tsv" "$tag.agg.$k" "$(grep -m1 -oP "^$k=\\K.*" "$f" || echo -)"
    done
  fi
  for stage in "$ENTRY" "${DOWN[@]}" broker; do summary_put "$OUT/summary.tsv" "$tag.cores.$stage" "$(cores "$stage")"; done
  summary_put "$OUT/summary.tsv" "$tag.cores.other_and_loadgen" "$(other_cores)"
  local h
  h=$(hist_delta streamwright_commit_seconds "$WORK/$tag-entry-before.prom" "$WORK/$tag-entry-after.prom")
  summary_put "$OUT/summary.tsv" "$tag.commit_entry" "$h"
  h=$(hist_delta streamwright_commit_seconds "$WORK/$tag-down-before.prom" "$WORK/$tag-down-after.prom")
  summary_put "$OUT/summary.tsv" "$tag.commit_down" "$h"
  log "$PIPE: $tag: entry p50 $(grep -oP '^match_p50_ms=\K.*' "$WORK/lat-entry-$tag.out") ms, p99 $(grep -oP '^match_p99_ms=\K.*' "$WORK/lat-entry-$tag.out") ms"
  # drain before the next run
  local i
  for ((i = 0; i < 300; i++)); do [[ $(consumed) -ge $SENT_TOTAL ]] && break; sleep 0.1; done
}
latency_run half "$((MAX / 2))" at_least_once passthrough
latency_run ninety "$((MAX * 9 / 10))" at_least_once
for stage in "$ENTRY" "${DOWN[@]}"; do summary_put "$OUT/summary.tsv" "rss_kb.$stage" "$(vmhwm_kb "${PID[$stage]}")"; done
summary_put "$OUT/summary.tsv" rss_kb.broker "$(vmhwm_kb "$BROKER_PID")"

if [[ $GUARANTEES == *exactly_once* ]]; then
  stop_stages
  log "$PIPE: restarting the stages under exactly-once"
  start_stages exactly_once
  SENT_TOTAL=$(consumed)  # a new group: it starts from the committed (none: earliest) offsets
  for ((i = 0; i < 600; i++)); do
    c=$(consumed)
    [[ $c -gt 0 ]] && [[ $(metric_sum "${PORT[$ENTRY]}" kafka_consumergroup_lag "topic=\"$INPUT\"") -eq 0 ]] && break
    sleep 0.1
  done
  SENT_TOTAL=$(consumed)
  latency_run eos_half "$((MAX / 2))" exactly_once
fi
stop_stages
log "$PIPE: done (max sustainable $MAX/s)"
