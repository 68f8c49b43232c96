#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) into build-fuzz/ and runs each one for a
# bounded time over a copy of its seed corpus (tests/fuzz/corpus/<target>/, never written to).
# Fails on any crash, leak, sanitizer report or broken invariant; the input that caused it is
# kept in build-fuzz/artifacts/ (add it to the target's corpus with the fix).
#
#   bash tests/fuzz/run.sh                  # every target, SW_FUZZ_SECONDS (default 20) each
#   bash tests/fuzz/run.sh fuzz_timestamp   # some targets
#
# Environment: SW_FUZZ_SECONDS (per target), SW_FUZZ_JOBS (targets run at once, default 2),
# SW_FUZZ_CXX (default clang++-16), SW_FUZZ_MAX_LEN (default 8192 bytes), SW_FUZZ_BUILD_DIR (default build-fuzz), SW_BUILD_LOCK (a
# file to flock around the build; default /tmp/sw-build.lock, empty for none).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${SW_FUZZ_BUILD_DIR:-$root/build-fuzz}"
seconds="${SW_FUZZ_SECONDS:-20}"
# A fixed seed keeps the CI run repeatable; SW_FUZZ_SEED=0 lets libFuzzer pick one (exploration).
seed="${SW_FUZZ_SEED:-1}"
jobs="${SW_FUZZ_JOBS:-2}"
max_len="${SW_FUZZ_MAX_LEN:-8192}"
lock="${SW_BUILD_LOCK-/tmp/sw-build.lock}"

all_targets=(fuzz_log_event fuzz_render_event fuzz_render_aggregates fuzz_dimension_rows fuzz_telemetra_chat
  fuzz_telemetra_state fuzz_timestamp fuzz_duration fuzz_kafka_config fuzz_replay fuzz_replay_time fuzz_http
  fuzz_join_stats_event fuzz_join_stats_state)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")

locked() {
  if [ -n "$lock" ] && command -v flock >/dev/null; then flock "$lock" "$@"; else "$@"; fi
}

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
start=$SECONDS
if [ ! -f "$build/CMakeCache.txt" ]; then
  locked cmake -S "$root/tests/fuzz" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER="${SW_FUZZ_CXX:-clang++-16}" -DSW_FUZZ=ON >/dev/null
fi
locked cmake --build "$build" -j2
echo "fuzz: built in $((SECONDS - start)) s"

symbolizer="$(command -v llvm-symbolizer-16 || command -v llvm-symbolizer || true)"
[ -z "$symbolizer" ] && [ -x /usr/lib/llvm-16/bin/llvm-symbolizer ] && symbolizer=/usr/lib/llvm-16/bin/llvm-symbolizer
export ASAN_SYMBOLIZER_PATH="$symbolizer"
work="$(mktemp -d "${TMPDIR:-/tmp}/sw-fuzz.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$build/artifacts"

run_one() {
  local t="$1" corpus="$work/corpus/$t" log="$work/$t.log"
  if [ ! -x "$build/$t" ]; then
    echo "fuzz: $t NOT BUILT (see the warning of: cmake -S tests/fuzz -B $build)"
    return 1
  fi
  mkdir -p "$corpus"
  if [ -d "$root/tests/fuzz/corpus/$t" ]; then cp -r "$root/tests/fuzz/corpus/$t/." "$corpus/"; fi
  # The repo corpus is read through the copy only; new inputs land in $work and are dropped.
  if UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
    "$build/$t" "$corpus" -max_total_time="$seconds" -seed="$seed" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$build/artifacts/$t-" >"$log" 2>&1; then
    local runs secs
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
    echo "fuzz: $t ok: ${runs:-?} runs in ${secs:-?} s ($(( ${runs:-0} / (${secs:-1} > 0 ? ${secs:-1} : 1) )) execs/s), corpus $(ls "$corpus" | wc -l) inputs"
  else
    echo "fuzz: $t FAILED (inputs in $build/artifacts/$t-*):"
    grep -v '^#\|^INFO\|^\s*$' "$log" | tail -60
    return 1
  fi
}

failed=0
running=0
pids=()
names=()
for t in "${targets[@]}"; do
  run_one "$t" > "$work/$t.out" 2>&1 &
  pids+=($!)
  names+=("$t")
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait "${pids[0]}" || failed=1
    cat "$work/${names[0]}.out"
    pids=("${pids[@]:1}")
    names=("${names[@]:1}")
    running=$((running - 1))
  fi
done
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || failed=1
  cat "$work/${names[$i]}.out"
done
echo "fuzz: total $((SECONDS - start)) s"
exit "$failed"
