# Shared helpers of the benchmark scripts (sourced right after `set -euo pipefail`). The caller
# sets BENCH_NAME (the prefix of its error messages) and optionally BENCH_LOG_TAG (the prefix of
# its log lines, "bench" by default) before sourcing, and keeps its child processes in CHILDREN
# (make_workdir creates it; start/run_fg add to it).
# shellcheck shell=bash

# Statistics and Markdown tables: bench/stats.py (python3 bench/stats.py --help).
BENCH_STATS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/stats.py"
stats() { python3 -S "$BENCH_STATS" "$@"; }  # -S: the standard library only, and a faster start

die() {
  echo "$BENCH_NAME: error: $*" >&2
  exit 1
}
log() { echo "[${BENCH_LOG_TAG:-bench} $(date +%H:%M:%S)] $*" >&2; }

# require_positive_ints OPTION=VARIABLE...: dies unless every VARIABLE holds a positive integer,
# e.g. require_positive_ints events=EVENTS runs=RUNS (the message names --OPTION).
require_positive_ints() {
  local opt var
  for opt in "$@"; do
    var=${opt#*=}
    [[ ${!var} =~ ^[1-9][0-9]*$ ]] || die "--${opt%%=*} must be a positive integer, got '${!var}'"
  done
}

# build_missing_targets BIN TARGET...: builds the targets that are not executables in BIN (in
# build/ under the current directory, the repository root; configured first if it is not yet).
# With BENCH_BUILD_LOCK set, configure and build run under `flock BENCH_BUILD_LOCK`.
build_missing_targets() {
  local bin=$1 t missing=() lock=()
  shift
  for t in "$@"; do [[ -x $bin/$t ]] || missing+=("$t"); done
  [[ ${#missing[@]} -gt 0 ]] || return 0
  log "building ${missing[*]}"
  if [[ -n ${BENCH_BUILD_LOCK:-} ]]; then lock=(flock "$BENCH_BUILD_LOCK"); fi
  if [[ ! -f build/CMakeCache.txt ]]; then
    ${lock[@]+"${lock[@]}"} cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >&2
  fi
  ${lock[@]+"${lock[@]}"} cmake --build build -j2 --target "${missing[@]}" >&2
}

# make_workdir PREFIX: creates WORK (a new directory $TMPDIR/PREFIX.XXXXXX) and an empty
# CHILDREN, and installs the traps: on exit every child is stopped and WORK is removed, or kept
# (and named) when the script fails or KEEP_WORK is 1 (--keep-logs); SIGINT/SIGTERM exit with 130.
make_workdir() {
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
  CHILDREN=()
  trap bench_cleanup EXIT
  trap 'echo "$BENCH_NAME: interrupted" >&2; exit 130' INT TERM
}
bench_cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_all
  if [[ $rc -ne 0 || ${KEEP_WORK:-0} -eq 1 ]]; then
    echo "$BENCH_NAME: logs kept in $WORK" >&2
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}

alive() {  # running and not a zombie
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} != Z ]]
}

# stop_pid PID NAME GRACE_S: SIGTERM, SIGKILL after the grace; sets STOP_RC to its exit code.
STOP_RC=0
stop_pid() {
  local pid=$1 name=$2 grace=$3 i
  STOP_RC=0
  if alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 20; i++)); do
      alive "$pid" || break
      sleep 0.05
    done
    if alive "$pid"; then
      echo "$BENCH_NAME: $name (pid $pid) did not stop within ${grace}s; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || STOP_RC=$?
  local rest=() p
  for p in "${CHILDREN[@]}"; do [[ $p == "$pid" ]] || rest+=("$p"); done
  CHILDREN=("${rest[@]+"${rest[@]}"}")
}

stop_all() {  # newest first: the services before the broker they talk to
  local i pids=("${CHILDREN[@]+"${CHILDREN[@]}"}")
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do stop_pid "${pids[i]}" "pid ${pids[i]}" 10; done
  # Anything started in the background that is not in the list (should not happen).
  for pid in $(jobs -pr); do kill -KILL "$pid" 2>/dev/null || true; done
}

# start NAME DIR COMMAND...: runs in the background with stdout/stderr in DIR/NAME.{out,err};
# sets STARTED_PID.
STARTED_PID=
start() {
  local name=$1 dir=$2
  shift 2
  "$@" >"$dir/$name.out" 2>"$dir/$name.err" &
  STARTED_PID=$!
  CHILDREN+=("$STARTED_PID")
}

# run_fg DIR NAME COMMAND...: runs a command to completion with stdout/stderr in
# DIR/NAME.{out,err} and returns its exit code. It runs in the background and is waited for, so
# that SIGINT/SIGTERM reach the trap at once (and the cleanup stops it) instead of after it ends.
run_fg() {
  local dir=$1 name=$2 pid rc=0
  shift 2
  "$@" >"$dir/$name.out" 2>"$dir/$name.err" &
  pid=$!
  CHILDREN+=("$pid")
  wait "$pid" || rc=$?
  local rest=() p
  for p in "${CHILDREN[@]}"; do [[ $p == "$pid" ]] || rest+=("$p"); done
  CHILDREN=("${rest[@]+"${rest[@]}"}")
  return "$rc"
}

fail_with_log() {  # fail_with_log DIR NAME MESSAGE
  echo "--- last lines of $1/$2.err:" >&2
  tail -n 20 "$1/$2.err" >&2 || true
  die "$3"
}

# wait_line PID DIR NAME REGEX TIMEOUT_S: prints the first match of REGEX (grep -P -o) in NAME.out.
wait_line() {
  local pid=$1 dir=$2 name=$3 regex=$4 timeout=$5 i match
  for ((i = 0; i < timeout * 20; i++)); do
    if match=$(grep -m1 -oP "$regex" "$dir/$name.out" 2>/dev/null); then
      echo "$match"
      return 0
    fi
    alive "$pid" || fail_with_log "$dir" "$name" "$name exited before it was ready"
    sleep 0.05
  done
  fail_with_log "$dir" "$name" "$name printed no '$regex' within ${timeout}s"
}

wait_ready() {  # wait_ready PID DIR NAME PORT TIMEOUT_S: until /readyz answers 200
  local pid=$1 dir=$2 name=$3 port=$4 timeout=$5 i
  for ((i = 0; i < timeout * 10; i++)); do
    curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$port/readyz" 2>/dev/null && return 0
    alive "$pid" || fail_with_log "$dir" "$name" "$name exited before it was ready"
    sleep 0.1
  done
  fail_with_log "$dir" "$name" "$name was not ready within ${timeout}s"
}

kv() { grep -m1 -oP "^$1=\\K.*" "$2" || die "no '$1' in $2"; }  # kv KEY FILE
vmhwm_kb() { grep -oP '^VmHWM:\s*\K[0-9]+' "/proc/$1/status" 2>/dev/null || echo 0; }

# median METRIC: the median of R[METRIC,1..RUNS].
median() {  # median METRIC
  local run vals=()
  for ((run = 1; run <= RUNS; run++)); do vals+=("${R[$1,$run]}"); done
  stats median -- "${vals[@]}"
}

# metric_sum PORT NAME [LABEL-REGEX]: sum of the samples of a metric on a stage's /metrics whose
# label set matches the regex (all samples without one); 0 when there are none.
metric_sum() {
  { curl -fsS --max-time 5 "http://127.0.0.1:$1/metrics" 2>/dev/null || true; } |
    { grep -E "^$2(\{[^}]*${3:-}[^}]*\})? " || true; } | stats sum --field -1 --format %.0f | tr -d '\n'
}

# metrics_snapshot PORT FILE: the whole /metrics text (for histogram deltas).
metrics_snapshot() { curl -fsS --max-time 5 "http://127.0.0.1:$1/metrics" >"$2" 2>/dev/null || : >"$2"; }

# hist_delta NAME BEFORE AFTER: "count mean_s p99_s" of a histogram between two snapshots (all
# label sets summed; p99 is the upper bound of the bucket that holds it).
hist_delta() { stats hist-delta "$1" "$2" "$3"; }

# stats_of VALUES...: "median min max" (numbers).
stats_of() { stats summary -- "$@"; }

# spread METRIC: "median (min-max)" of R[METRIC,1..RUNS], formatted with printf FORMAT ($2).
spread() {
  local run vals=()
  for ((run = 1; run <= RUNS; run++)); do vals+=("${R[$1,$run]}"); done
  stats spread --format "${2:-%s}" -- "${vals[@]}"
}

machine_line() {  # nproc, CPU model, RAM, kernel
  local model
  model=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') || model=unknown
  echo "$(nproc) CPUs ($model), $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM, Linux $(uname -r)"
}

# summary_put FILE KEY VALUE: appends KEY<TAB>VALUE to a machine-readable summary.
summary_put() { printf '%s\t%s\n' "$2" "$3" >>"$1"; }
