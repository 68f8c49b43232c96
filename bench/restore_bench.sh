#!/usr/bin/env bash
# Restore benchmark: the crash monitor's aggregate stage holding state for K distinct keys
# (user windows) is killed with SIGKILL; a replacement replica restores the state from the
# changelog topic. Measures the changelog restore rate (records/s) and the recovery time.
#
# Usage: bench/restore_bench.sh [--keys K] [--runs R] [--out DIR] [--keep-logs] [--perf FILE]
#                               [--internal-partitions Q]   (changelog partitions [32])
#
# Each run starts a fresh dev broker and pre-fills `logs` with K crash events of K distinct users
# (a JSON-lines file replayed by streamwright-loadgen; event times now, 1-hour windows with 1 hour
# of grace so that every window stays open), runs parse and aggregate until the aggregate has
# consumed everything and committed (its changelog then holds one record per key), kills the
# aggregate with SIGKILL and starts a replacement on an empty state directory (the worst case: a
# replica on another machine). From its log: the restore of the changelog partitions (one line
# per store and pass, "restored ... (P partitions): N records ... S s", S the wall time of the
# pass) gives records and seconds; restore rate = records / seconds.
# Recovery time = SIGKILL to the replacement's /readyz answering 200 (includes the group's
# rebalance and the restore). A second replacement, after another SIGKILL, reuses the killed
# replica's state directory (restore from the local checkpoint). Then a replica with
# --standby-replicas 1 joins on an empty directory, keeps the other's half warm, and the other is
# killed: standby_restored is what its takeover restored, standby_takeover_s SIGKILL to holding
# every partition (mostly the group noticing the death).
#
# --perf FILE: `perf record -g` of the empty-state replacement from its start until it is ready
# (the restore), written to FILE (run 1).
#
# Writes DIR/summary.tsv (key, value: "median min max").
set -euo pipefail
BENCH_NAME=restore_bench
BENCH_LOG_TAG=restore
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KEYS=1000000
RUNS=1
OUT=
KEEP_WORK=0
PERF_OUT=
INTERNAL=32
while [[ $# -gt 0 ]]; do
  case "$1" in
    --keys) KEYS=${2:?}; shift 2 ;;
    --runs) RUNS=${2:?}; shift 2 ;;
    --out) OUT=${2:?}; shift 2 ;;
    --keep-logs) KEEP_WORK=1; shift ;;
    --perf) PERF_OUT=${2:?}; shift 2 ;;
    --internal-partitions) INTERNAL=${2:?}; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1'" ;;
  esac
done
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${SW_BENCH_BIN:-$ROOT/build/bin}  # the suite runs a snapshot of the binaries
OUT=${OUT:-$ROOT/bench/results/restore}
mkdir -p "$OUT"
make_workdir sw-restore-bench

# K distinct users, one crash event each. 128 input partitions: the dev broker keeps 5 MiB each.
log "writing $KEYS events of distinct users"
NOW=$(date -u +%Y-%m-%dT%H:%M:%S.000Z)
awk -v n="$KEYS" -v ts="$NOW" 'BEGIN { for (i = 0; i < n; i++)
  printf "{\"timestamp\":\"%s\",\"user_id\":\"u-%07d\",\"severity\":\"High\",\"content\":\"worker crash in module m\"}\n", ts, i }' \
  >"$WORK/events.jsonl"
SVC_ARGS=(--window-size 1h --grace 1h)
TOPICS=()
while read -r name role; do
  if [[ $role == input ]]; then TOPICS+=(--topic "$name:128"); else TOPICS+=(--topic "$name:$INTERNAL"); fi
done < <("$BIN/streamwright-crash-monitor" --list-topics "${SVC_ARGS[@]}")
CHANGELOG=$("$BIN/streamwright-crash-monitor" --list-topics | awk '$2 == "changelog" { print $1 }')
REPART=$("$BIN/streamwright-crash-monitor" --list-topics | awk '$2 == "repartition" { print $1 }')
declare -A R

# restore_stats FILE: "records seconds" summed over the restore lines of a log: one line per
# store and restore pass ("restored TOPIC (N partitions): R records, D discarded, S s", wall time
# of the pass), or, from binaries that restored partition after partition, one per partition.
restore_stats() {
  { grep -oP 'restored \S+ \([0-9]+ partitions\): \K[0-9]+ records.*, [0-9.]+s$' "$1" ||
    grep -oP 'restored \S+ \[[0-9]+\]: \K[0-9]+ records.*, [0-9.]+s$' "$1"; } |
    stats sum --field 1 --field -1 --strip-suffix s --format "%d %.3f"
}

run_once() {
  local run=$1 dir=$WORK/run$1
  mkdir -p "$dir"
  start broker "$dir" "$BIN/streamwright-devbroker" "${TOPICS[@]}"
  local broker_pid=$STARTED_PID boot
  boot=$(wait_line "$broker_pid" "$dir" broker '^\S+:[0-9]+' 15)
  log "run $run/$RUNS: pre-filling logs"
  run_fg "$dir" loadgen "$BIN/streamwright-loadgen" --bootstrap-servers "$boot" --topic logs --rate 0 \
    --replay "$WORK/events.jsonl" --quiet || fail_with_log "$dir" loadgen "the load generator failed"
  run_fg "$dir" offsets "$BIN/streamwright-bench-tool" offsets --bootstrap-servers "$boot" --topic logs ||
    die "the broker dropped input"
  local common=(--bootstrap-servers "$boot" --metrics-address 127.0.0.1 --metrics-port 0 --internal-partitions "$INTERNAL"
    "${SVC_ARGS[@]}")
  start agg1 "$dir" "$BIN/streamwright-crash-monitor" --stage aggregate "${common[@]}" --state-dir "$dir/state-a1"
  local a1=$STARTED_PID p1 port_a1 port_p
  port_a1=$(wait_line "$a1" "$dir" agg1 '^metrics-port \K[0-9]+' 30)
  wait_ready "$a1" "$dir" agg1 "$port_a1" 60
  start parse "$dir" "$BIN/streamwright-crash-monitor" --stage parse "${common[@]}" --state-dir "$dir/state-p"
  p1=$STARTED_PID
  port_p=$(wait_line "$p1" "$dir" parse '^metrics-port \K[0-9]+' 30)
  log "run $run/$RUNS: building state of $KEYS keys"
  run_fg "$dir" watch "$BIN/streamwright-bench-tool" watch --parse-port "$port_p" --aggregate-port "$port_a1" \
    --expect "$KEYS" --repartition-topic "$REPART" --interval-ms 50 --timeout-s 300 --lag-tolerance "$INTERNAL" ||
    fail_with_log "$dir" watch "the pipeline did not process the input"
  # Until the aggregate's changelog output stops growing (every dirty window flushed).
  local last=-1 cur i
  for ((i = 0; i < 200; i++)); do
    cur=$(metric_sum "$port_a1" streamwright_records_produced_total "topic=\"$CHANGELOG\"")
    [[ $cur -eq $last && $cur -gt 0 ]] && break
    last=$cur
    sleep 0.5
  done
  R[changelog_written,$run]=$cur
  R[rss_state,$run]=$(vmhwm_kb "$a1")
  log "run $run/$RUNS: changelog holds $cur records; SIGKILL the aggregate"

  recover() {  # recover NAME STATE_DIR: SIGKILL the current aggregate, start NAME, time it
    local name=$1 state=$2 t0 port pid
    kill -KILL "$CUR_PID"
    wait "$CUR_PID" 2>/dev/null || true
    t0=$EPOCHREALTIME
    start "$name" "$dir" "$BIN/streamwright-crash-monitor" --stage aggregate "${common[@]}" --state-dir "$state"
    pid=$STARTED_PID
    local perf_pid=
    if [[ -n $PERF_OUT && $name == agg2 && $run -eq 1 ]]; then
      perf record -g -F 499 -o "$PERF_OUT" -p "$pid" >"$dir/perf.out" 2>&1 &
      perf_pid=$!
    fi
    port=$(wait_line "$pid" "$dir" "$name" '^metrics-port \K[0-9]+' 30)
    wait_ready "$pid" "$dir" "$name" "$port" 300
    if [[ -n $perf_pid ]]; then kill -INT "$perf_pid"; wait "$perf_pid" || true; fi
    RECOVERY_S=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
    local st
    st=$(cat "/proc/$pid/stat")
    st=${st##*) }
    RECOVERY_CPU_S=$(awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($12 + $13) / hz }' <<<"$st")
    RESTORED_METRIC=$(metric_sum "$port" streamwright_restored_records_total)
    CUR_PID=$pid
  }
  CUR_PID=$a1
  recover agg2 "$dir/state-a2"
  read -r rec secs < <(restore_stats "$dir/agg2.err")
  R[restored,$run]=$rec
  R[restored_metric,$run]=$RESTORED_METRIC
  R[restore_s,$run]=$secs
  R[restore_rate,$run]=$(stats ratio "$rec" "$secs" --format %.0f --zero 0)
  R[recovery_s,$run]=$RECOVERY_S
  R[recovery_cpu_s,$run]=$RECOVERY_CPU_S
  R[rss_restored,$run]=$(vmhwm_kb "$CUR_PID")
  log "run $run/$RUNS: empty state: restored $rec records in ${secs}s; ready ${RECOVERY_S}s after SIGKILL"
  if [[ $rec -lt ${R[changelog_written,$run]} ]]; then
    # The dev broker keeps 5 MiB per partition: with too few changelog partitions it trims the
    # oldest records, and the state restored is incomplete (the rate is still records/s).
    log "warning: run $run: restored $rec of ${R[changelog_written,$run]} changelog records (the dev broker trimmed the rest: use more --internal-partitions)"
  fi
  # The same replica's directory again (after a SIGKILL): restore from the local checkpoint.
  recover agg3 "$dir/state-a2"
  read -r rec secs < <(restore_stats "$dir/agg3.err")
  R[ckpt_restored,$run]=$rec
  R[ckpt_recovery_s,$run]=$RECOVERY_S
  log "run $run/$RUNS: local checkpoint: restored $rec records in ${secs}s; ready ${RECOVERY_S}s after SIGKILL"

  # A standby replica (--standby-replicas 1) joins on an empty state directory: it restores the
  # half of the partitions it is given and keeps the other half warm. Once its standby rounds
  # have caught up, the replica running the other half is killed; the survivor's restore of the
  # taken-over half reads only what its last round had not seen.
  local survivor port_s
  start agg4 "$dir" "$BIN/streamwright-crash-monitor" --stage aggregate "${common[@]}" --state-dir "$dir/state-a4" \
    --standby-replicas 1
  survivor=$STARTED_PID
  port_s=$(wait_line "$survivor" "$dir" agg4 '^metrics-port \K[0-9]+' 30)
  wait_ready "$survivor" "$dir" agg4 "$port_s" 300
  local warm=-1 now_warm
  for ((i = 0; i < 600; i++)); do
    sleep 1
    now_warm=$(metric_sum "$port_s" streamwright_standby_records_total)
    [[ ${now_warm:-0} -gt 0 && $now_warm -eq $warm ]] && break
    warm=$now_warm
  done
  R[standby_warmed,$run]=${now_warm:-0}
  R[rss_standby,$run]=$(vmhwm_kb "$survivor")
  local log_offset t0 assigned
  log_offset=$(stat -c %s "$dir/agg4.err")
  log "run $run/$RUNS: standby warm ($now_warm changelog records read); SIGKILL the other replica"
  kill -KILL "$CUR_PID"
  wait "$CUR_PID" 2>/dev/null || true
  t0=$EPOCHREALTIME
  for ((i = 0; i < 1200; i++)); do
    assigned=$(metric_sum "$port_s" streamwright_assigned_partitions)
    [[ ${assigned:-0} -eq $INTERNAL ]] && break
    sleep 0.1
  done
  [[ ${assigned:-0} -eq $INTERNAL ]] || fail_with_log "$dir" agg4 "the standby replica did not take over"
  R[standby_takeover_s,$run]=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
  tail -c +$((log_offset + 1)) "$dir/agg4.err" >"$dir/agg4.after-kill.err"
  read -r rec secs < <(restore_stats "$dir/agg4.after-kill.err")
  R[standby_restored,$run]=$rec
  R[standby_restore_s,$run]=$secs
  log "run $run/$RUNS: standby takeover: restored $rec records in ${secs}s; all partitions assigned ${R[standby_takeover_s,$run]}s after SIGKILL"
  stop_all
}
for ((run = 1; run <= RUNS; run++)); do run_once "$run"; done

: >"$OUT/summary.tsv"
for m in changelog_written restored restored_metric restore_s restore_rate recovery_s recovery_cpu_s ckpt_restored ckpt_recovery_s \
  rss_state rss_restored standby_warmed standby_restored standby_restore_s standby_takeover_s rss_standby; do
  vals=()
  for ((run = 1; run <= RUNS; run++)); do vals+=("${R[$m,$run]}"); done
  summary_put "$OUT/summary.tsv" "$m" "$(stats_of "${vals[@]}")"
done
summary_put "$OUT/summary.tsv" keys "$KEYS"
summary_put "$OUT/summary.tsv" changelog_partitions "$INTERNAL"
summary_put "$OUT/summary.tsv" runs "$RUNS"
cat "$OUT/summary.tsv"
