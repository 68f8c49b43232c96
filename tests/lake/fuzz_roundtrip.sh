#!/usr/bin/env bash
# CTest lake_parquet_fuzz_readers: random schemas and rows through the Parquet writer, read back by
# this library's reader, hyparquet and DuckDB. LAKE_FUZZ_CASES (300) and LAKE_FUZZ_SEED (1) vary it.
#   bash tests/lake/fuzz_roundtrip.sh PATH/TO/sw_lake_fuzz_roundtrip OUT_DIR
set -euo pipefail
GENERATOR=$1
OUT=$2
cd "$(dirname "$0")/../.."
LAKE_READERS=$(bash tests/lake/setup-readers.sh)
export LAKE_READERS
rm -rf "$OUT"
"$GENERATOR" --out "$OUT" --cases "${LAKE_FUZZ_CASES:-300}" --seed "${LAKE_FUZZ_SEED:-1}"
node tests/lake/fuzz_check.mjs "$OUT"
