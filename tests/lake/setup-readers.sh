#!/usr/bin/env bash
# Installs the independent Parquet readers the lake tests use, pinned, from npm, once:
# DuckDB (@duckdb/node-api) and hyparquet (+ hyparquet-compressors for ZSTD pages). Into
# .cache/lake-readers/ (shared by every build tree); a second run only checks the versions.
# Prints the directory. Needs node >= 18 and npm (Debian's nodejs and npm are installed if absent).
set -euo pipefail
cd "$(dirname "$0")/../.."
DIR=$PWD/.cache/lake-readers
PACKAGES=(@duckdb/node-api@1.5.6-r.1 hyparquet@1.33.0 hyparquet-compressors@1.1.2)

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
missing=()
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup-readers: installing ${missing[*]}" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

ok() {
  local spec name version
  for spec in "${PACKAGES[@]}"; do
    name=${spec%@*}; version=${spec##*@}
    [ "$(cd "$DIR" 2>/dev/null && node -p "require('./node_modules/$name/package.json').version" 2>/dev/null)" = "$version" ] || return 1
  done
}
mkdir -p "$DIR"
exec 9>"$DIR/.lock"
flock 9
if ! ok; then
  echo "setup-readers: npm install ${PACKAGES[*]} into $DIR" >&2
  [ -f "$DIR/package.json" ] || echo '{"name":"lake-readers","private":true,"type":"module"}' > "$DIR/package.json"
  npm install --prefix "$DIR" --no-audit --no-fund --loglevel=error --save-exact "${PACKAGES[@]}" >&2
  ok || { echo "setup-readers: the installed versions do not match ${PACKAGES[*]}" >&2; exit 1; }
fi
echo "$DIR"
