#!/usr/bin/env bash
# Container image test (CTest label "deploy"): builds the image with docker/build-image.sh, lints
# docker/Dockerfile, inspects the image, then runs the crash monitor's stages from the image
# against the dev broker of the host build (build/bin), the way a deployment would: read-only
# root, /tmp on tmpfs, the state directory as a volume, host network, runc.
#
#   bash tests/image/run.sh            # ends with 'N passed, M failed'; exit 1 on any failure
#
# Needs root, and build/bin/streamwright-devbroker and streamwright-loadgen (run after the normal
# build). Environment: SW_IMAGE_TAG (default streamwright:dev), SW_KEEP_TEST_DIRS=1 keeps the
# temporary directory (logs, scrapes, state).
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
TAG=${SW_IMAGE_TAG:-streamwright:dev}
BIN=$ROOT/build/bin
NODE_TOOLS=$ROOT/.cache/tools/node
DOCKERFILE_UTILS_VERSION=0.16.3

PASSED=0
FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "PASS  $1"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL  $1"; [ $# -lt 2 ] || printf '%s\n' "$2" | sed 's/^/      /' | tail -40; }
note() { echo "      $*"; }
finish() {
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
  exit $?
}

TMP=$(mktemp -d /tmp/sw-image-test.XXXXXX)
chmod 0755 "$TMP"
RUN_ID=sw-image-test-$$
BROKER_PID=""
declare -A RUN_PIDS=()
cleanup() {
  local name
  for name in "${!RUN_PIDS[@]}"; do
    podman rm -f -t 0 "$name" >/dev/null 2>&1 || true
  done
  if [ -n "$BROKER_PID" ]; then kill "$BROKER_PID" 2>/dev/null; wait "$BROKER_PID" 2>/dev/null; fi
  if [ "${SW_KEEP_TEST_DIRS:-}" = 1 ]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$(id -u)" -ne 0 ]; then
  fail "preconditions: must run as root (rootful podman)"; finish
fi

# Containers left by an earlier run that was killed (SIGKILL skips the trap): remove them.
for name in $(podman ps -a --format '{{.Names}}' 2>/dev/null | grep '^sw-image-test-[0-9]*-'); do
  pid=${name#sw-image-test-}; pid=${pid%%-*}
  kill -0 "$pid" 2>/dev/null || podman rm -f -t 0 "$name" >/dev/null 2>&1 || true
done

# ---- build --------------------------------------------------------------------------------------
t0=$(date +%s)
if bash docker/build-image.sh --tag "$TAG" > "$TMP/build.log" 2>&1; then
  pass "image builds: $(tail -1 "$TMP/build.log") in $(( $(date +%s) - t0 )) s"
else
  fail "image builds (docker/build-image.sh)" "$(tail -40 "$TMP/build.log")"
  finish
fi

# ---- lint ---------------------------------------------------------------------------------------
DU=$NODE_TOOLS/node_modules/.bin/dockerfile-utils
if [ ! -x "$DU" ] || [ "$(node -p "require('$NODE_TOOLS/node_modules/dockerfile-utils/package.json').version" 2>/dev/null)" != "$DOCKERFILE_UTILS_VERSION" ]; then
  if ! command -v npm >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null
  fi
  mkdir -p "$NODE_TOOLS"
  npm install --prefix "$NODE_TOOLS" --no-audit --no-fund --loglevel=error --save-exact \
    "dockerfile-utils@$DOCKERFILE_UTILS_VERSION" > "$TMP/npm.log" 2>&1 || cat "$TMP/npm.log"
fi
if [ ! -x "$DU" ]; then
  fail "dockerfile-utils@$DOCKERFILE_UTILS_VERSION installs" "$(cat "$TMP/npm.log" 2>/dev/null)"
elif out=$("$DU" lint docker/Dockerfile 2>&1) && [ -z "$out" ]; then
  pass "dockerfile-utils@$DOCKERFILE_UTILS_VERSION lint docker/Dockerfile: no errors, no warnings"
else
  fail "dockerfile-utils lint docker/Dockerfile" "$out"
fi

# The build stage installs the build half of scripts/install-deps.sh. The rest serves the tests
# and dev tools (graphviz: `streamwright describe --png`; python3-confluent-kafka: the benchmarks'
# Python peer), and is not in the image.
# tzdata is a runtime package (IANA zones for --default-time-zone): the runtime stage has it.
TEST_ONLY_PACKAGES="tzdata libgtest-dev libgmock-dev prometheus kcat python3 curl procps graphviz postgresql gnuplot-nox clang-16 libclang-rt-16-dev chromium python3-confluent-kafka"
deps_packages=$(bash -c 'eval "$(sed -n "/^PACKAGES=(/,/^)/p" scripts/install-deps.sh)"; printf "%s\n" "${PACKAGES[@]}"' | sort -u)
build_packages=$(sed -n '/^FROM .* AS build/,/^FROM /p' docker/Dockerfile | sed -e ':a' -e '/\\$/N; s/\\\n//; ta' |
  grep -m1 'apt-get install' | sed -e 's/.*--no-install-recommends//' -e 's/&&.*//' | tr -s ' ' '\n' | grep . | sort -u)
expected=$(comm -23 <(echo "$deps_packages") <(tr ' ' '\n' <<<"$TEST_ONLY_PACKAGES" | sort -u))
if [ -n "$build_packages" ] && [ "$build_packages" = "$expected" ]; then
  pass "build stage packages = scripts/install-deps.sh minus test/dev tools ($(echo $build_packages | wc -w) packages)"
else
  fail "build stage packages = scripts/install-deps.sh minus test/dev tools" \
    "$(diff <(echo "$expected") <(echo "$build_packages") | sed -e 's/^</only in install-deps.sh:/' -e 's/^>/only in Dockerfile:/' | grep only)"
fi

# The build context is an allowlist: every directory the top-level CMakeLists.txt adds (tests are
# off in the image) must be in it.
unlisted=""
for d in $(sed -n 's/^[[:space:]]*add_subdirectory(\([^ )]*\).*/\1/p' CMakeLists.txt); do
  [ "$d" = tests ] && continue
  grep -qx "!$d" docker/Dockerfile.dockerignore || unlisted+=" $d"
done
if [ -z "$unlisted" ]; then
  pass "docker/Dockerfile.dockerignore lets in every directory CMakeLists.txt adds"
else
  fail "docker/Dockerfile.dockerignore lets in every directory CMakeLists.txt adds" "add !DIR lines for:$unlisted"
fi

# ---- image configuration ------------------------------------------------------------------------
cfg=$(podman image inspect --format \
  'user={{.Config.User}} entrypoint={{json .Config.Entrypoint}} cmd={{json .Config.Cmd}} ports={{json .Config.ExposedPorts}} volumes={{json .Config.Volumes}}' "$TAG")
want='user=10001:10001 entrypoint=["/usr/local/bin/streamwright-crash-monitor"] cmd=["--help"] ports={"9464/tcp":{}} volumes={"/var/lib/streamwright":{}}'
if [ "$cfg" = "$want" ]; then pass "image config: $cfg"; else fail "image config" "got:  $cfg"$'\n'"want: $want"; fi
env=$(podman image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$TAG")
if grep -qx 'CHECKPOINT_LOCATION=/var/lib/streamwright' <<<"$env"; then
  pass "image env CHECKPOINT_LOCATION=/var/lib/streamwright"
else
  fail "image env CHECKPOINT_LOCATION=/var/lib/streamwright"
fi

# Common podman run options: the sandbox needs runc, lowered ulimits and the host network.
RUN_OPTS=(--network=host --runtime=runc --ulimit nofile=1024:1024 --ulimit nproc=4096:4096)

# A bare run prints the help and exits 0 (ENTRYPOINT crash monitor, CMD --help).
if out=$(podman run --rm "${RUN_OPTS[@]}" "$TAG" 2>&1) && grep -q 'Usage: streamwright-crash-monitor' <<<"$out"; then
  pass "bare 'podman run $TAG' prints the crash monitor's help and exits 0"
else
  fail "bare 'podman run $TAG' prints the help and exits 0" "$out"
fi

# Inside: every build/bin executable (bar tests), every library resolved, owner of the state
# directory, and nothing of a toolchain or apt's lists.
inside=$(podman run --rm "${RUN_OPTS[@]}" --user 0 --entrypoint /bin/sh "$TAG" -c '
  cd /usr/local/bin && for f in *; do echo "bin $f"; ldd "$f" | grep "not found" | sed "s/^/missing $f:/"; done
  stat -c "state %u:%g %a" /var/lib/streamwright
  for c in gcc g++ cc c++ clang ld as make cmake ninja; do command -v "$c" | sed "s/^/tool /"; done
  ls /usr/include 2>/dev/null | sed "s/^/include /"
  ls /var/lib/apt/lists | grep -v -x -e lock -e partial -e auxfiles | sed "s/^/aptlist /"
  true' 2>&1)
bins=$(sed -n 's/^bin //p' <<<"$inside" | tr '\n' ' ')
missing_bins=""
for b in streamwright streamwright-crash-monitor streamwright-devbroker streamwright-loadgen streamwright-bench-tool; do
  grep -qw -- "$b" <<<"$bins" || missing_bins+=" $b"
done
host_extra=""
for f in "$BIN"/*; do   # anything the host build has (e.g. streamwright-lag-exporter) is in the image too
  n=${f##*/}
  case "$n" in sw_*_tests) continue ;; esac
  [ -f "$f" ] && [ -x "$f" ] && ! grep -qw -- "$n" <<<"$bins" && host_extra+=" $n"
done
if [ -z "$missing_bins" ] && [ -z "$host_extra" ] && ! grep -q 'sw_.*_tests' <<<"$bins"; then
  pass "executables in /usr/local/bin: $bins"
else
  fail "executables in /usr/local/bin" "have: $bins; missing:$missing_bins$host_extra"
fi
if grep -q '^missing' <<<"$inside" || ! grep -q '^bin ' <<<"$inside"; then
  fail "every shared library resolves (ldd)" "$(grep '^missing' <<<"$inside")"
else
  pass "every shared library of every executable resolves (ldd)"
fi
if grep -qx 'state 10001:10001 750' <<<"$inside"; then
  pass "/var/lib/streamwright owned by 10001:10001, mode 750"
else
  fail "/var/lib/streamwright owned by 10001:10001" "$(grep '^state' <<<"$inside")"
fi
if grep -q -e '^tool' -e '^include' <<<"$inside"; then
  fail "runtime image has no compiler, build tool or headers" "$(grep -e '^tool' -e '^include' <<<"$inside" | head)"
elif out=$(podman run --rm "${RUN_OPTS[@]}" --entrypoint gcc "$TAG" --version 2>&1); then
  fail "runtime image has no compiler: 'podman run --entrypoint gcc' ran" "$out"
else
  pass "runtime image has no compiler (gcc, cc, c++, clang, make, cmake, ninja, /usr/include all absent)"
fi
if grep -q '^aptlist' <<<"$inside"; then
  fail "apt lists removed" "$(grep '^aptlist' <<<"$inside" | head)"
else
  pass "apt lists removed"
fi
size=$(podman image inspect --format '{{.Size}}' "$TAG")
note "image size: $((size / 1000000)) MB uncompressed"

# ---- the stages, from the image, against the dev broker ----------------------------------------
for tool in streamwright-devbroker streamwright-loadgen; do
  if [ ! -x "$BIN/$tool" ]; then fail "host build has $BIN/$tool (build first: bash scripts/build.sh)"; finish; fi
done
command -v curl >/dev/null || { fail "curl on the host (scripts/install-deps.sh)"; finish; }

"$BIN/streamwright-devbroker" --topic logs:2 --topic logs-dlq:1 \
  --topic crash-monitor-crashes-by-user-repartition:2 \
  --topic crash-alerts:2 --topic crash-monitor-crash-counts-changelog:2 \
  > "$TMP/broker.out" 2> "$TMP/broker.err" &
BROKER_PID=$!
BOOTSTRAP=""
for _ in $(seq 100); do
  BOOTSTRAP=$(head -1 "$TMP/broker.out" 2>/dev/null)
  [ -n "$BOOTSTRAP" ] && break
  sleep 0.1
done
if [ -z "$BOOTSTRAP" ]; then fail "dev broker starts" "$(cat "$TMP/broker.err")"; finish; fi
note "dev broker at $BOOTSTRAP"

# start_stage NAME STAGE: runs the stage from the image in the background (podman run --rm,
# attached, so the podman process's exit status is the service's) and sets PORT_<NAME>.
start_stage() {
  local name=$1 stage=$2 state=$TMP/state-$1
  mkdir -p "$state"
  chown 10001:10001 "$state"     # the volume must be writable by the image's user
  podman run --rm --name "$RUN_ID-$name" "${RUN_OPTS[@]}" \
    --read-only --tmpfs /tmp \
    -v "$state:/var/lib/streamwright" \
    -e KAFKA_BOOTSTRAP_SERVERS="$BOOTSTRAP" \
    "$TAG" --stage "$stage" --metrics-port 0 --metrics-address 127.0.0.1 \
    > "$TMP/$name.out" 2> "$TMP/$name.err" &
  RUN_PIDS[$RUN_ID-$name]=$!
  local port=""
  for _ in $(seq 300); do
    port=$(sed -n 's/^metrics-port \([0-9]*\)$/\1/p' "$TMP/$name.out" 2>/dev/null | head -1)
    [ -n "$port" ] && break
    kill -0 "${RUN_PIDS[$RUN_ID-$name]}" 2>/dev/null || break
    sleep 0.1
  done
  printf -v "PORT_$name" '%s' "$port"
  [ -n "$port" ]
}

# http_status PORT PATH
http_status() { curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$1$2" 2>/dev/null; }

# metric_sum PORT NAME [LABEL-FILTER]: the sum of a metric's samples (0 when absent).
metric_sum() {
  curl -s --max-time 2 "http://127.0.0.1:$1/metrics" 2>/dev/null |
    awk -v n="$2" -v f="${3:-}" '($1 == n || index($1, n "{") == 1) && index($1, f) { s += $2 } END { printf "%d\n", s }'
}

# wait_for SECONDS COMMAND...: polls until COMMAND succeeds.
wait_for() {
  local deadline=$(( $(date +%s) + $1 )); shift
  until "$@"; do [ "$(date +%s)" -lt "$deadline" ] || return 1; sleep 0.2; done
}

# stop_stage NAME: podman stop (SIGTERM), then the service's exit status.
stop_stage() {
  local name=$1 pid=${RUN_PIDS[$RUN_ID-$1]} rc
  podman stop -t 40 "$RUN_ID-$name" >/dev/null 2>&1
  wait "$pid"; rc=$?
  unset "RUN_PIDS[$RUN_ID-$name]"
  return "$rc"
}

ready() { [ "$(http_status "$1" /readyz)" = 200 ]; }

if start_stage parse parse; then
  pass "parse stage starts from the image (--read-only, tmpfs /tmp, state volume; metrics-port $PORT_parse)"
else
  fail "parse stage starts from the image" "$(cat "$TMP/parse.out" "$TMP/parse.err")"; finish
fi
uid=$(podman exec "$RUN_ID-parse" id -u 2>&1); gid=$(podman exec "$RUN_ID-parse" id -g 2>&1)
puid=$(podman top "$RUN_ID-parse" user 2>/dev/null | tail -1)
if [ "$uid:$gid" = "10001:10001" ] && { [ "$puid" = "10001" ] || [ "$puid" = "streamwright" ]; }; then
  pass "runs as uid/gid 10001 (podman exec id: $uid:$gid; podman top: $puid)"
else
  fail "runs as uid/gid 10001" "exec id: $uid:$gid; podman top user: $puid"
fi
if wait_for 60 ready "$PORT_parse"; then
  pass "parse /readyz 200, /healthz $(http_status "$PORT_parse" /healthz)"
else
  fail "parse /readyz 200 within 60 s" "$(tail -20 "$TMP/parse.err")"
fi

t0=$(date +%s)
if "$BIN/streamwright-loadgen" --bootstrap-servers "$BOOTSTRAP" --count 1000 --rate 0 --quiet \
     > "$TMP/loadgen.out" 2> "$TMP/loadgen.err"; then
  pass "loadgen produced 1000 records to logs"
else
  fail "loadgen produced 1000 records" "$(cat "$TMP/loadgen.err")"
fi
consumed_1000() { [ "$(metric_sum "$PORT_parse" streamwright_records_consumed_total)" -ge 1000 ]; }
if wait_for 60 consumed_1000; then
  pass "parse streamwright_records_consumed_total = $(metric_sum "$PORT_parse" streamwright_records_consumed_total) after $(( $(date +%s) - t0 )) s"
else
  fail "parse streamwright_records_consumed_total reaches 1000 within 60 s" \
    "consumed: $(metric_sum "$PORT_parse" streamwright_records_consumed_total)"$'\n'"$(tail -20 "$TMP/parse.err")"
fi
repartitioned=$(metric_sum "$PORT_parse" streamwright_records_produced_total crashes-by-user-repartition)
curl -s --max-time 2 "http://127.0.0.1:$PORT_parse/metrics" > "$TMP/parse.metrics" 2>/dev/null

# The aggregate stage: RocksDB state in the volume, as uid 10001, restored from the changelog.
if start_stage aggregate aggregate && wait_for 60 ready "$PORT_aggregate"; then
  pass "aggregate stage starts and is ready (metrics-port $PORT_aggregate)"
  agg_consumed() { [ "$(metric_sum "$PORT_aggregate" streamwright_records_consumed_total)" -ge "$repartitioned" ]; }
  if [ "$repartitioned" -gt 0 ] && wait_for 60 agg_consumed; then
    pass "aggregate consumed the $repartitioned repartitioned crash records"
  else
    fail "aggregate consumes the $repartitioned repartitioned crash records" \
      "consumed: $(metric_sum "$PORT_aggregate" streamwright_records_consumed_total)"$'\n'"$(tail -20 "$TMP/aggregate.err")"
  fi
else
  fail "aggregate stage starts and is ready within 60 s" "$(tail -20 "$TMP/aggregate.out" "$TMP/aggregate.err")"
fi

for name in parse aggregate; do
  [ -n "${RUN_PIDS[$RUN_ID-$name]:-}" ] || continue
  t0=$(date +%s)
  stop_stage "$name"; rc=$?
  if [ "$rc" -eq 0 ]; then
    pass "$name: podman stop (SIGTERM) -> exit code 0 in $(( $(date +%s) - t0 )) s"
  else
    fail "$name: podman stop (SIGTERM) -> exit code 0" "exit code $rc"$'\n'"$(tail -20 "$TMP/$name.err")"
  fi
done

# RocksDB wrote its files into the volume, owned by the image's user.
state_files=$(find "$TMP/state-aggregate" -name CURRENT 2>/dev/null | wc -l)
foreign=$(find "$TMP/state-aggregate" ! -uid 10001 2>/dev/null | head -5)
if [ "$state_files" -gt 0 ] && [ -z "$foreign" ]; then
  pass "aggregate's RocksDB state is in the volume, every file owned by uid 10001"
else
  fail "aggregate's RocksDB state is in the volume, owned by uid 10001" \
    "RocksDB CURRENT files: $state_files; not owned by 10001: $foreign"
fi

note "image $TAG: $((size / 1000000)) MB"
finish
