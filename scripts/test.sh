#!/usr/bin/env bash
# Builds and runs every test: unit tests, then integration tests that run the dev broker and the
# services as real processes. Extra arguments go to CMake's configure step.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh "$@"
ctest --test-dir build --output-on-failure --timeout 300
