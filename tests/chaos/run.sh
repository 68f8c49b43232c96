#!/usr/bin/env bash
# The chaos suite: every pipeline under faults against an offline oracle (see tests/chaos/chaos.py;
# the oracles are in oracles.py, the pipelines in pipelines.py).
#   bash tests/chaos/run.sh [--pipeline crash-monitor|render-farm|telemetra|all]
#                           [--guarantee at_least_once|exactly_once|both] [--duration S] [--short] ...
# Writes bench/results/chaos-latest.md (and .json) and exits non-zero on lost or wrong results
# (or duplicates in exactly-once mode).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec python3 "$here/chaos.py" "$@"
