#!/usr/bin/env bash
# Installs the Debian packages that the build and the tests need. Idempotent: when everything
# is present it only checks with dpkg and returns in well under a second.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config ninja-build
  librdkafka-dev librocksdb-dev libsimdjson-dev nlohmann-json3-dev
  zlib1g-dev  # streamwright-loadgen --replay: gzip-compressed files
  libboost-program-options-dev libspdlog-dev libfmt-dev libgtest-dev libgmock-dev
  prometheus kcat python3 curl procps graphviz
  tzdata  # --default-time-zone with IANA names (unit tests use Europe/Berlin)
  gnuplot-nox  # bench/suite.sh: plots
  libpqxx-dev postgresql
  libcpp-httplib-dev  # the HTTP endpoints (/metrics, /healthz, /readyz) and client
  libzstd-dev libsnappy-dev  # the lake: Parquet pages (ZSTD, Snappy)
  clang-16 libclang-rt-16-dev  # tests/fuzz: libFuzzer and sanitizers (clang 16: C++20 captures of structured bindings)
  chromium  # tests/console: the console's page in a headless browser
  python3-confluent-kafka  # bench/peers: the crash monitor as a plain Python consumer (crash_monitor_bench.sh --peer)
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
