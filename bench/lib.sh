# Shared helpers of the benchmark scripts (sourced). The caller sets BENCH_NAME, defines die()
# and log(), and keeps its child processes in CHILDREN (start/run_fg add to it).
# shellcheck shell=bash

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
  printf '%s\n' "${vals[@]}" | sort -g | awk '{ v[NR] = $1 } END {
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; print m }'
}

# metric_sum PORT NAME [LABEL-REGEX]: sum of the samples of a metric on a stage's /metrics whose
# label set matches the regex (all samples without one); 0 when there are none.
metric_sum() {
  { curl -fsS --max-time 5 "http://127.0.0.1:$1/metrics" 2>/dev/null || true; } |
    { grep -E "^$2(\{[^}]*${3:-}[^}]*\})? " || true; } | awk '{ s += $NF } END { printf "%.0f", s }'
}

# metrics_snapshot PORT FILE: the whole /metrics text (for histogram deltas).
metrics_snapshot() { curl -fsS --max-time 5 "http://127.0.0.1:$1/metrics" >"$2" 2>/dev/null || : >"$2"; }

# hist_delta NAME BEFORE AFTER: "count mean_s p99_s" of a histogram between two snapshots (all
# label sets summed; p99 is the upper bound of the bucket that holds it).
hist_delta() {
  awk -v n="$1" '
    FNR == 1 { f++ }
    index($0, n "_bucket{") == 1 || index($0, n "_sum") == 1 || index($0, n "_count") == 1 {
      name = $1; sub(/\{.*/, "", name)
      if (name == n "_bucket") { le = $0; sub(/.*le="/, "", le); sub(/".*/, "", le); b[f, le] += $NF; les[le] = 1 }
      else if (name == n "_sum") s[f] += $NF
      else if (name == n "_count") c[f] += $NF
    }
    END {
      cnt = c[2] - c[1]
      if (cnt <= 0) { print "0 0 0"; exit }
      p99 = "+Inf"; best = 1e300
      for (le in les) if (le != "+Inf" && b[2, le] - b[1, le] >= 0.99 * cnt && le + 0 < best) { best = le + 0; p99 = le }
      printf "%d %.6f %s\n", cnt, (s[2] - s[1]) / cnt, p99
    }' "$2" "$3"
}

# stats_of VALUES...: "median min max" (numbers).
stats_of() {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "0 0 0"; exit }
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; print m, v[1], v[NR] }'
}

# spread METRIC: "median (min-max)" of R[METRIC,1..RUNS], formatted with printf FORMAT ($2).
spread() {
  local run vals=() fmt=${2:-%s}
  for ((run = 1; run <= RUNS; run++)); do vals+=("${R[$1,$run]}"); done
  read -r med lo hi < <(stats_of "${vals[@]}")
  if [[ $RUNS -gt 1 ]]; then
    printf "$fmt ($fmt-$fmt)" "$med" "$lo" "$hi"
  else
    printf "$fmt" "$med"
  fi
}

machine_line() {  # nproc, CPU model, RAM, kernel
  local model
  model=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') || model=unknown
  echo "$(nproc) CPUs ($model), $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM, Linux $(uname -r)"
}

# summary_put FILE KEY VALUE: appends KEY<TAB>VALUE to a machine-readable summary.
summary_put() { printf '%s\t%s\n' "$2" "$3" >>"$1"; }
