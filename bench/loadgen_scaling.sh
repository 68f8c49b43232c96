#!/usr/bin/env bash
# Offered load against the number of load generator processes (the seed's `replicas: 4`): for each
# process count, a fresh dev broker and that many `streamwright-loadgen` processes writing one
# topic for a few seconds. The offered rate is what the broker appended over the middle of the
# step (its end offsets), next to what the generators say they sent.
#
# Usage: bench/loadgen_scaling.sh [--processes 1,2,4] [--seconds S] [--rate R] [--partitions P]
#                                 [--runs N] [--out FILE] [--loadgen-arg ARG ...]
#   --processes   process counts to try (default 1,2,4)
#   --seconds     length of each step (default 6)
#   --rate        records per second of each process, as TARGET_RPS in the seed (default 0: as fast
#                 as it can; a fixed rate shows the offered load adding up until the broker is the limit)
#   --partitions  partitions of the topic (default 64)
#   --runs        repeat each step and report the median (default 1)
#   --out         also write the table (Markdown) to this file
#
# Prints one row per process count: offered rate (broker side), per process, the sum of the
# generators' own averages, and the CPU cores used by the generators, by the broker and by
# everything else on the machine (a busy machine offers less: compare runs only when that is low).
set -euo pipefail
BENCH_NAME=loadgen_scaling
BENCH_LOG_TAG=scaling
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PROCS=1,2,4
SECONDS_PER_STEP=6
RATE=0
PARTITIONS=64
RUNS=1
OUT_FILE=
LOADGEN_ARGS=()
KEEP_WORK=0  # no --keep-logs: the work directory is kept only when the script fails
while [[ $# -gt 0 ]]; do
  case "$1" in
    --processes) PROCS=${2:?}; shift 2 ;;
    --seconds) SECONDS_PER_STEP=${2:?}; shift 2 ;;
    --rate) RATE=${2:?}; shift 2 ;;
    --partitions) PARTITIONS=${2:?}; shift 2 ;;
    --runs) RUNS=${2:?}; shift 2 ;;
    --out) OUT_FILE=${2:?}; shift 2 ;;
    --loadgen-arg) LOADGEN_ARGS+=("${2:?}"); shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1'" ;;
  esac
done
[[ $SECONDS_PER_STEP -ge 5 ]] || die "--seconds must be at least 5"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${SW_BENCH_BIN:-$ROOT/build/bin}
for t in streamwright-devbroker streamwright-loadgen streamwright-bench-tool; do
  [[ -x $BIN/$t ]] || die "$BIN/$t is missing (cmake --build build --target $t)"
done
make_workdir sw-loadgen-scaling
CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() { local s; s=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }; s=${s##*) }; awk '{ print $12 + $13 }' <<<"$s"; }
sleep_until() {  # sleep_until T0 S: until S seconds after the EPOCHREALTIME T0
  local left
  left=$(awk -v t0="$1" -v s="$2" -v now="$EPOCHREALTIME" 'BEGIN { d = t0 + s - now; printf "%.3f", (d > 0 ? d : 0) }')
  sleep "$left"
}
machine_busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
appended() {  # records appended to the topic so far (sum of the end offsets)
  "$BIN/streamwright-bench-tool" offsets --bootstrap-servers "$1" --topic logs 2>/dev/null | grep -oP '^high_total=\K[0-9]+' || echo 0
}

# step N RUN: prints "offered generators_sum loadgen_cores broker_cores other_cores"
step() {
  local n=$1 run=$2 dir="$WORK/p$1-r$2" i boot bpid pids=() lg0=0 lg1=0 b0 b1 c0 c1 t0 t1 sum
  mkdir -p "$dir"
  start broker "$dir" "$BIN/streamwright-devbroker" --topic "logs:$PARTITIONS"
  bpid=$STARTED_PID
  boot=$(wait_line "$bpid" "$dir" broker '^\S+:[0-9]+' 15)
  local t_start=$EPOCHREALTIME
  for ((i = 0; i < n; i++)); do
    # Started alike, as replicas are: each derives its own instance (host name and pid).
    start "loadgen-$i" "$dir" env KAFKA_BROKER="$boot" KAFKA_TOPIC=logs TARGET_RPS="$RATE" \
      "$BIN/streamwright-loadgen" --duration "${SECONDS_PER_STEP}s" --quiet "${LOADGEN_ARGS[@]+"${LOADGEN_ARGS[@]}"}"
    pids+=("$STARTED_PID")
  done
  # Measured from 1.5 s after the start (connected and at speed) to 1.5 s before the end, on the
  # clock: CPU first (every generator still running), then the end offsets, timed at the middle
  # of their query.
  local ct0 ct1 q m0 m1 alive_all=1
  sleep_until "$t_start" 1.5
  ct0=$EPOCHREALTIME b0=$(cpu_ticks "$bpid") m0=$(machine_busy)
  for p in "${pids[@]}"; do lg0=$((lg0 + $(cpu_ticks "$p"))); done
  q=$EPOCHREALTIME c0=$(appended "$boot") t0=$(awk -v a="$q" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.6f", (a + b) / 2 }')
  sleep_until "$t_start" "$(awk -v s="$SECONDS_PER_STEP" 'BEGIN { print s - 1.5 }')"
  ct1=$EPOCHREALTIME b1=$(cpu_ticks "$bpid") m1=$(machine_busy)
  for p in "${pids[@]}"; do alive "$p" || alive_all=0; lg1=$((lg1 + $(cpu_ticks "$p"))); done
  q=$EPOCHREALTIME c1=$(appended "$boot") t1=$(awk -v a="$q" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.6f", (a + b) / 2 }')
  for ((i = 0; i < n; i++)); do
    wait "${pids[i]}" || fail_with_log "$dir" "loadgen-$i" "a load generator failed"
  done
  local rest=() p
  for p in "${CHILDREN[@]}"; do [[ " ${pids[*]} " == *" $p "* ]] || rest+=("$p"); done
  CHILDREN=("${rest[@]+"${rest[@]}"}")
  stop_pid "$bpid" broker 10
  sum=0
  for ((i = 0; i < n; i++)); do
    sum=$(awk -v a="$sum" -v b="$(grep -oP '[0-9.]+(?=/s average)' "$dir/loadgen-$i.err" | tail -n1)" 'BEGIN { print a + b }')
  done
  awk -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" -v s="$sum" -v l0="$lg0" -v l1="$lg1" -v b0="$b0" -v b1="$b1" \
    -v ct0="$ct0" -v ct1="$ct1" -v hz="$CLK_TCK" -v ok="$alive_all" -v m0="$m0" -v m1="$m1" \
    'BEGIN { d = ct1 - ct0; lg = (l1 - l0) / hz / d; br = (b1 - b0) / hz / d; other = (m1 - m0) / hz / d - lg - br
             printf "%.0f %.0f %s %.2f %.2f\n", (c1 - c0) / (t1 - t0), s, (ok ? sprintf("%.2f", lg) : "n/a"), br,
               (ok ? (other > 0 ? other : 0) : 0) }'
}

IFS=, read -r -a COUNTS <<<"$PROCS"
target=$([[ $RATE == 0 ]] && echo "as fast as possible" || echo "$RATE records/s per process")
log "machine: $(machine_line); $PARTITIONS partitions, ${SECONDS_PER_STEP}s steps, $target, $RUNS run(s)"
declare -A R
TABLE="| generator processes | offered (broker appended) | per process | generators' own average, summed | generator cores | broker cores | other processes' cores |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
base=
for n in "${COUNTS[@]}"; do
  for ((run = 1; run <= RUNS; run++)); do
    read -r R[offered,$run] R[sum,$run] R[lg,$run] R[broker,$run] R[other,$run] < <(step "$n" "$run")
    log "$n process(es), run $run: offered ${R[offered,$run]}/s (generators say ${R[sum,$run]}/s), cores: generators ${R[lg,$run]}, broker ${R[broker,$run]}, other processes ${R[other,$run]}"
  done
  offered=$(median offered) sum=$(median sum) broker=$(median broker) other=$(median other)
  lg=$(for ((run = 1; run <= RUNS; run++)); do echo "${R[lg,$run]}"; done | stats median --stdin --empty n/a)
  [[ -n $base ]] || base=$offered
  per=$(stats ratio "$offered" "$n" --format %.0f)
  TABLE+=$'\n'"| $n | $(printf "%'.0f" "$offered")/s ($(stats ratio "$offered" "$base" --format %.2fx --zero 0.00x)) | $(printf "%'.0f" "$per")/s | $(printf "%'.0f" "$sum")/s | $lg | $broker | $other |"
done
echo "$TABLE"
if [[ -n $OUT_FILE ]]; then
  {
    echo "Load generator scaling: $(machine_line); topic with $PARTITIONS partitions; ${SECONDS_PER_STEP}s per step; $target; median of $RUNS run(s)."
    echo
    echo "$TABLE"
  } >"$OUT_FILE"
fi
