#!/usr/bin/env bash
# Sets up, builds and runs the crash-monitor demo on the embedded dev broker (Ctrl-C stops it).
# Arguments go to `streamwright demo crash-monitor`, e.g. --rate 50000 --duration 60.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
exec build/bin/streamwright demo crash-monitor "$@"
