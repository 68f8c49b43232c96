#!/usr/bin/env bash
# Telemetra throughput benchmark on the embedded dev broker: chat events per second through the
# whole pipeline (parse: JSON, validation, sentiment; aggregate: 6 hopping windows per event with
# exact distinct chatters, emote counts and viewer averages, changelog, window closing).
#
# Usage: bench/telemetra_bench.sh [--events N] [--partitions P] [--internal-partitions Q]
#                                 [--streams S] [--keep-logs] [--service-arg ARG ...]
#
# Starts a fresh dev broker, pre-fills `chat-events` with N chat events (streamwright-loadgen
# --mode telemetra; viewer counts go to `viewer-events` as they fall due), checks that the broker
# dropped nothing, starts the aggregate stage (and waits until it is assigned) and then the
# parse stage, and times from the first record parse consumes until parse has consumed all N
# and the aggregate has consumed everything parse sent it (streamwright-bench-tool watch).
# Prints a Markdown report and writes it to bench/results/telemetra-latest.md.
set -euo pipefail

EVENTS=1000000
PARTITIONS=64
INTERNAL=8
STREAMS=2000
KEEP=0
SERVICE_ARGS=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --events) EVENTS=${2:?}; shift 2 ;;
    --partitions) PARTITIONS=${2:?}; shift 2 ;;
    --internal-partitions) INTERNAL=${2:?}; shift 2 ;;
    --streams) STREAMS=${2:?}; shift 2 ;;
    --keep-logs) KEEP=1; shift ;;
    --service-arg) SERVICE_ARGS+=("${2:?}"); shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "telemetra_bench: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$ROOT/build/bin
REPORT=$ROOT/bench/results/telemetra-latest.md
for t in streamwright-devbroker streamwright-loadgen streamwright-telemetra streamwright-bench-tool; do
  [[ -x $BIN/$t ]] || { echo "telemetra_bench: build $t first (ninja -C build $t)" >&2; exit 1; }
done
command -v curl >/dev/null || { echo "telemetra_bench: curl is required" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sw-telemetra-bench.XXXXXX")
PIDS=()
cleanup() {
  local rc=$? i
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do kill -TERM "${PIDS[i]}" 2>/dev/null || true; done
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do wait "${PIDS[i]}" 2>/dev/null || true; done
  if [[ $rc -ne 0 || $KEEP -eq 1 ]]; then echo "telemetra_bench: logs in $WORK" >&2; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
log() { echo "[bench $(date +%H:%M:%S)] $*" >&2; }
die() { echo "telemetra_bench: error: $*" >&2; exit 1; }
kv() { grep -m1 -oP "^$1=\\K.*" "$2" || die "no '$1' in $2"; }
wait_port() {  # wait_port FILE: the metrics port a service printed
  local i
  for ((i = 0; i < 600; i++)); do
    grep -m1 -oP '^metrics-port \K[0-9]+' "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  die "no metrics port in $1"
}
wait_ready() {
  local i
  for ((i = 0; i < 600; i++)); do
    curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$1/readyz" 2>/dev/null && return 0
    sleep 0.1
  done
  die "service on port $1 not ready"
}

TOPICS=()
while read -r name role; do
  case "$role" in
    input) TOPICS+=(--topic "$name:$PARTITIONS") ;;
    repartition) REPARTITION=$name; TOPICS+=(--topic "$name:$INTERNAL") ;;
    *) TOPICS+=(--topic "$name:$INTERNAL") ;;
  esac
done < <("$BIN/streamwright-telemetra" --list-topics)

log "starting the dev broker"
"$BIN/streamwright-devbroker" "${TOPICS[@]}" >"$WORK/broker.out" 2>"$WORK/broker.err" &
PIDS+=($!)
BROKER_PID=$!
for ((i = 0; i < 300; i++)); do BOOT=$(grep -m1 -oP '^\S+:[0-9]+' "$WORK/broker.out" || true); [[ -n $BOOT ]] && break; sleep 0.05; done
[[ -n ${BOOT:-} ]] || die "dev broker did not start"

log "pre-filling chat-events with $EVENTS chat events ($STREAMS streams)"
"$BIN/streamwright-loadgen" --mode telemetra --bootstrap-servers "$BOOT" --rate 0 --count "$EVENTS" --streams "$STREAMS" \
  --quiet >"$WORK/loadgen.out" 2>"$WORK/loadgen.err" || die "loadgen failed: $(tail -3 "$WORK/loadgen.err")"
PRODUCE=$(grep -oP '[0-9.]+(?=/s average)' "$WORK/loadgen.err" | tail -n1)
"$BIN/streamwright-bench-tool" offsets --bootstrap-servers "$BOOT" --topic chat-events >"$WORK/offsets.out" 2>&1 ||
  die "the dev broker dropped chat events: use more --partitions or fewer --events"
[[ $(kv records "$WORK/offsets.out") -eq $EVENTS ]] || die "chat-events does not hold $EVENTS records"
"$BIN/streamwright-bench-tool" offsets --bootstrap-servers "$BOOT" --topic viewer-events >"$WORK/voffsets.out" 2>&1 ||
  die "the dev broker dropped viewer events"
VIEWERS=$(kv records "$WORK/voffsets.out")

COMMON=(--bootstrap-servers "$BOOT" --metrics-address 127.0.0.1 --metrics-port 0 --internal-partitions "$INTERNAL"
  "${SERVICE_ARGS[@]+"${SERVICE_ARGS[@]}"}")
log "starting the aggregate stage"
"$BIN/streamwright-telemetra" --stage aggregate "${COMMON[@]}" --state-dir "$WORK/state-aggregate" \
  >"$WORK/aggregate.out" 2>"$WORK/aggregate.err" &
PIDS+=($!)
AGG_PID=$!
AGG_PORT=$(wait_port "$WORK/aggregate.out")
wait_ready "$AGG_PORT"
log "starting the parse stage and measuring"
"$BIN/streamwright-telemetra" --stage parse "${COMMON[@]}" --state-dir "$WORK/state-parse" \
  >"$WORK/parse.out" 2>"$WORK/parse.err" &
PIDS+=($!)
PARSE_PID=$!
PARSE_PORT=$(wait_port "$WORK/parse.out")
"$BIN/streamwright-bench-tool" watch --parse-port "$PARSE_PORT" --aggregate-port "$AGG_PORT" --expect "$EVENTS" \
  --input-topic chat-events --repartition-topic "$REPARTITION" --pid "parse=$PARSE_PID" --pid "aggregate=$AGG_PID" \
  --pid "broker=$BROKER_PID" --interval-ms 20 --timeout-s 300 >"$WORK/watch.out" 2>"$WORK/watch.err" || true
# The watch tool also insists that the aggregate's lag be 0 at its next refresh; parse's
# watermark heartbeats (8 partitions, every second) can leave a few records in flight then.
[[ $(kv complete "$WORK/watch.out" 2>/dev/null) == 1 ]] || die "the pipeline did not process all events: $(tail -5 "$WORK/watch.err")"
[[ $(kv parse_consumed_final "$WORK/watch.out") -eq $EVENTS ]] || die "parse did not consume exactly $EVENTS"
LAG_NOTE=$(grep -oP "lag on \S+ was \K[0-9.]+" "$WORK/watch.err" || echo 0)

E2E=$(kv e2e_seconds "$WORK/watch.out")
PARSE_S=$(kv parse_seconds "$WORK/watch.out")
HZ=$(getconf CLK_TCK)
cpu() { awk -v t="$(kv "cpu_ticks_$1" "$WORK/watch.out")" -v hz="$HZ" 'BEGIN { printf "%.2f", t / hz }'; }
RATE=$(awk -v n="$EVENTS" -v s="$E2E" 'BEGIN { printf "%.0f", n / s }')
PARSE_RATE=$(awk -v n="$EVENTS" -v s="$PARSE_S" 'BEGIN { printf "%.0f", n / s }')
RSS_AGG=$(grep -oP '^VmHWM:\s*\K[0-9]+' "/proc/$AGG_PID/status" 2>/dev/null || echo 0)
RSS_PARSE=$(grep -oP '^VmHWM:\s*\K[0-9]+' "/proc/$PARSE_PID/status" 2>/dev/null || echo 0)
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
{
  echo "# Telemetra benchmark (embedded dev broker)"
  echo
  echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $COMMIT, machine: $(nproc) CPUs, $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "- workload: $EVENTS chat events pre-filled into \`chat-events\` ($PARTITIONS partitions, $STREAMS streams) plus $VIEWERS viewer events;"
  echo "  hopping windows 1 min / 10 s (each chat event updates 6 windows); \`$REPARTITION\` and the changelog have $INTERNAL partitions"
  echo "- command: \`bench/telemetra_bench.sh --events $EVENTS --partitions $PARTITIONS --internal-partitions $INTERNAL --streams $STREAMS${SERVICE_ARGS[*]+ --service-arg ${SERVICE_ARGS[*]}}\`"
  echo "- aggregate lag at the watch tool's check after the end: $LAG_NOTE records (watermark heartbeats in flight)"
  echo
  echo "| produce (loadgen) | parse stage | whole pipeline | whole pipeline s | CPU s parse | CPU s aggregate | CPU s broker | peak RSS parse MiB | peak RSS aggregate MiB |"
  echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  echo "| $(awk -v v="$PRODUCE" 'BEGIN{printf "%.3f M/s", v/1e6}') | $(awk -v v="$PARSE_RATE" 'BEGIN{printf "%.3f M/s", v/1e6}') | **$(awk -v v="$RATE" 'BEGIN{printf "%.3f M chat events/s", v/1e6}')** | $E2E | $(cpu parse) | $(cpu aggregate) | $(cpu broker) | $((RSS_PARSE / 1024)) | $((RSS_AGG / 1024)) |"
} | tee "$REPORT"
