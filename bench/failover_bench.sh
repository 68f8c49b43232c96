#!/usr/bin/env bash
# Failover benchmark: one replica of the crash monitor's two-replica aggregate is killed with
# SIGKILL while input flows; how long until the survivor processes and commits the dead
# replica's partitions again.
#
# Usage: bench/failover_bench.sh [--rate R] [--partitions P] [--runs N] [--warmup-s S]
#                                [--keep-logs] [--summary FILE] [--report FILE]
#                                [--service-arg ARG ...]   (extra argument for both aggregates)
#
# Each run starts a fresh dev broker, a load generator at R events/s, parse (one replica) and two
# aggregate replicas (started back to back: one generation), waits S seconds, notes which
# partitions of the repartition topic the second replica holds (its /metrics), and kills it with
# SIGKILL. The group's committed offsets are watched from outside every 100 ms
# (bench/failover/committed_watch.py, an OffsetFetch as an operator's tool would do).
#
# failover = SIGKILL to the first sample in which every one of the dead replica's partitions has a
# committed offset beyond the one it had half a second after the kill (a commit sent before the
# kill may land just after it): the survivor has taken them over, restored
# their state, processed records and committed. The survivor's log splits it into: SIGKILL to
# "assigned" (the group noticed: session timeout and rebalance; the restore of the taken-over
# partitions' state happens before that line), the restore's own wall time, and the rest
# (processing and the next commit).
set -euo pipefail
BENCH_NAME=failover_bench
BENCH_LOG_TAG=failover
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RATE=20000
PARTITIONS=8
RUNS=1
WARMUP_S=10
SUMMARY=
REPORT=
SERVICE_ARGS=()
KEEP_WORK=0
ORIGINAL_ARGS=("$@")
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rate) RATE=${2:?--rate needs a value}; shift 2 ;;
    --partitions) PARTITIONS=${2:?--partitions needs a value}; shift 2 ;;
    --runs) RUNS=${2:?--runs needs a value}; shift 2 ;;
    --warmup-s) WARMUP_S=${2:?--warmup-s needs a value}; shift 2 ;;
    --keep-logs) KEEP_WORK=1; shift ;;
    --summary) SUMMARY=${2:?--summary needs a value}; shift 2 ;;
    --report) REPORT=${2:?--report needs a value}; shift 2 ;;
    --service-arg) SERVICE_ARGS+=("${2:?--service-arg needs a value}"); shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (--help lists the options)" ;;
  esac
done
require_positive_ints rate=RATE partitions=PARTITIONS runs=RUNS warmup-s=WARMUP_S
[[ $PARTITIONS -ge 2 ]] || die "--partitions must be at least 2 (two replicas share them)"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BIN=${SW_BENCH_BIN:-$ROOT/build/bin}
REPORT=${REPORT:-$ROOT/bench/results/failover-latest.md}
PY=/usr/bin/python3
"$PY" -c 'import confluent_kafka' 2>/dev/null || die "python3-confluent-kafka is required (scripts/install-deps.sh installs it)"
command -v curl >/dev/null || die "curl is required"
build_missing_targets "$BIN" streamwright-devbroker streamwright-loadgen streamwright-crash-monitor
make_workdir sw-failover-bench

APP=crash-monitor
mapfile -t TOPIC_LINES < <("$BIN/streamwright-crash-monitor" --list-topics)
INPUT_TOPIC="" REPARTITION_TOPIC="" BROKER_TOPICS=()
for line in "${TOPIC_LINES[@]}"; do
  read -r name role <<<"$line"
  BROKER_TOPICS+=(--topic "$name:$PARTITIONS")
  case "$role" in input) INPUT_TOPIC=$name ;; repartition) REPARTITION_TOPIC=$name ;; esac
done
[[ -n $INPUT_TOPIC && -n $REPARTITION_TOPIC ]] || die "unexpected topic list: ${TOPIC_LINES[*]}"
GROUP="$APP-aggregate"

# log_time FILE REGEX: epoch seconds of the first log line after KILL_AT matching REGEX.
log_time() {
  "$PY" -S - "$1" "$2" "$KILL_AT" <<'PY'
import re, sys, datetime
path, regex, after = sys.argv[1], re.compile(sys.argv[2]), float(sys.argv[3])
for line in open(path, errors="replace"):
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+) ", line)
    if not m or not regex.search(line):
        continue
    t = datetime.datetime.fromisoformat(m.group(1)).timestamp()
    if t >= after:
        print(f"{t:.3f}")
        break
PY
}

declare -A R
run_once() {
  local run=$1 dir=$WORK/run$1
  mkdir -p "$dir"
  start broker "$dir" "$BIN/streamwright-devbroker" "${BROKER_TOPICS[@]}"
  local broker=$STARTED_PID bootstrap
  bootstrap=$(wait_line "$broker" "$dir" broker '^\S+:[0-9]+' 15)
  start loadgen "$dir" "$BIN/streamwright-loadgen" --bootstrap-servers "$bootstrap" --topic "$INPUT_TOPIC" \
    --rate "$RATE" --quiet
  local common=(--bootstrap-servers "$bootstrap" --application-id "$APP" --metrics-address 127.0.0.1
    --metrics-port 0)
  start aggregate1 "$dir" "$BIN/streamwright-crash-monitor" --stage aggregate "${common[@]}" \
    --state-dir "$dir/state-a1" "${SERVICE_ARGS[@]+"${SERVICE_ARGS[@]}"}"
  local a1=$STARTED_PID
  start aggregate2 "$dir" "$BIN/streamwright-crash-monitor" --stage aggregate "${common[@]}" \
    --state-dir "$dir/state-a2" "${SERVICE_ARGS[@]+"${SERVICE_ARGS[@]}"}"
  local a2=$STARTED_PID
  start parse "$dir" "$BIN/streamwright-crash-monitor" --stage parse "${common[@]}" --state-dir "$dir/state-p"
  local p=$STARTED_PID port1 port2 portp
  port1=$(wait_line "$a1" "$dir" aggregate1 '^metrics-port \K[0-9]+' 30)
  port2=$(wait_line "$a2" "$dir" aggregate2 '^metrics-port \K[0-9]+' 30)
  portp=$(wait_line "$p" "$dir" parse '^metrics-port \K[0-9]+' 30)
  wait_ready "$a1" "$dir" aggregate1 "$port1" 60
  wait_ready "$a2" "$dir" aggregate2 "$port2" 60
  wait_ready "$p" "$dir" parse "$portp" 60
  start watch "$dir" "$PY" "$ROOT/bench/failover/committed_watch.py" --bootstrap-servers "$bootstrap" \
    --group "$GROUP" --topic "$REPARTITION_TOPIC" --partitions "$PARTITIONS" --interval-ms 100 \
    --duration-s $((WARMUP_S + 90))
  local watch=$STARTED_PID
  log "run $run/$RUNS: $RATE events/s, warming up ${WARMUP_S}s"
  sleep "$WARMUP_S"
  metrics_snapshot "$port2" "$dir/aggregate2.metrics"
  local dead
  dead=$(grep -oP "^kafka_consumergroup_current_offset\{[^}]*topic=\"$REPARTITION_TOPIC\"[^}]*partition=\"\K[0-9]+" \
    "$dir/aggregate2.metrics" | sort -n | paste -sd, -)
  [[ -n $dead ]] || die "aggregate2 holds no partition of $REPARTITION_TOPIC after ${WARMUP_S}s (run $run)"
  KILL_AT=$EPOCHREALTIME
  kill -KILL "$a2"
  log "run $run/$RUNS: killed aggregate2 (partitions $dead) with SIGKILL"
  # Wait for the takeover (at most 80 s), then a little more for the log lines.
  local i done_at=""
  for ((i = 0; i < 800; i++)); do
    done_at=$("$PY" -S - "$dir/watch.out" "$KILL_AT" "$dead" <<'PY'
import sys
path, kill, dead = sys.argv[1], float(sys.argv[2]), [int(x) for x in sys.argv[3].split(",")]
base = None
for line in open(path):
    if line.startswith("#"):
        continue
    f = line.split()
    t, offs = float(f[0]), {int(k): int(v) for k, v in (x.split("=") for x in f[1:])}
    # A commit the dead replica sent just before its death may land just after it: the base is
    # what is committed half a second after the kill.
    if t <= kill + 0.5:
        base = offs
        continue
    if base is None:
        continue
    if all(offs[p] > base[p] for p in dead):
        print(f"{t:.3f}")
        break
PY
)
    [[ -n $done_at ]] && break
    alive "$watch" || fail_with_log "$dir" watch "the offset watcher exited"
    sleep 0.1
  done
  [[ -n $done_at ]] || die "the survivor did not commit the dead replica's partitions within 80 s (run $run)"
  local assigned restored
  assigned=$(log_time "$dir/aggregate1.err" "stage aggregate: assigned") || true
  # The restore's own wall time, from its summary line ("restored T (P partitions): ... S s").
  restored=$(grep -oP 'restored \S+ \([0-9]+ partitions\): .*, \K[0-9.]+(?=s$)' "$dir/aggregate1.err" | tail -n1) || true
  R[failover,$run]=$(awk -v a="$KILL_AT" -v b="$done_at" 'BEGIN { printf "%.2f", b - a }')
  R[to_assigned,$run]=$(awk -v a="$KILL_AT" -v b="${assigned:-}" 'BEGIN { if (b == "") print "-"; else printf "%.2f", b - a }')
  R[restore,$run]=${restored:--}
  R[dead,$run]=$dead
  log "run $run/$RUNS: failover ${R[failover,$run]} s (assigned after ${R[to_assigned,$run]} s, restore ${R[restore,$run]} s)"
  stop_pid "$watch" watch 5
  stop_pid "$p" parse 30
  stop_pid "$a1" aggregate1 30
  stop_all  # the load generator, the killed replica's remains, the broker
}

for ((run = 1; run <= RUNS; run++)); do run_once "$run"; done

COMMAND="bench/failover_bench.sh"
[[ ${#ORIGINAL_ARGS[@]} -gt 0 ]] && COMMAND+=$(printf ' %q' "${ORIGINAL_ARGS[@]}")
{
  echo "# Failover of a two-replica aggregate (crash monitor, dev broker)"
  echo
  echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "- machine: $(machine_line)"
  echo "- command: \`$COMMAND\`"
  echo "- workload: $RATE events/s into \`$INPUT_TOPIC\`; every topic has $PARTITIONS partitions; one parse" \
    "replica, two aggregate replicas; one of them killed with SIGKILL after ${WARMUP_S}s"
  echo
  echo "| run | dead replica's partitions | SIGKILL to committed again (s) | SIGKILL to assigned (s) | restore (s) |"
  echo "| --- | --- | ---: | ---: | ---: |"
  for ((run = 1; run <= RUNS; run++)); do
    echo "| $run | ${R[dead,$run]} | ${R[failover,$run]} | ${R[to_assigned,$run]} | ${R[restore,$run]} |"
  done
  echo
  echo "Committed offsets are sampled every 100 ms from outside (an OffsetFetch); the log times have" \
    "millisecond resolution. \"assigned\" is the survivor's first \"assigned\" line after the kill."
} >"$WORK/report.md"
mkdir -p "$(dirname "$REPORT")"
cp "$WORK/report.md" "$REPORT"
cat "$WORK/report.md"
if [[ -n $SUMMARY ]]; then
  : >"$SUMMARY"
  vals=()
  for ((run = 1; run <= RUNS; run++)); do vals+=("${R[failover,$run]}"); done
  summary_put "$SUMMARY" failover_s "$(stats_of "${vals[@]}")"
fi
