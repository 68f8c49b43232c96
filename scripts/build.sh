#!/usr/bin/env bash
# Installs dependencies (if missing) and builds everything into build/ (executables in build/bin).
# Extra arguments go to CMake's configure step, e.g. -DSW_WERROR=ON.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" > build-configure.log 2>&1 || {
  cat build-configure.log; exit 1; }
rm -f build-configure.log
cmake --build build -j2
