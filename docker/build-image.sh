#!/usr/bin/env bash
# Builds the Streamwright container image with podman (no Docker engine, no daemon, no registry).
#
#   bash docker/build-image.sh [--tag streamwright:dev] [--no-cache]
#
# Idempotent, and fast when nothing changed:
#   1. installs podman, buildah, debootstrap and runc from Debian if any is missing (apt-get
#      update runs only then);
#   2. when there is no local docker.io/library/debian:bookworm-slim (Docker Hub cannot be
#      reached here), makes one: debootstrap --variant=minbase bookworm, trimmed like the official
#      slim image, imported with podman import. The root tarball is cached under .cache/image/ so
#      a machine that lost its podman storage re-imports it in seconds;
#   3. podman build --isolation=chroot --pull=never -f docker/Dockerfile -t TAG . (the context is
#      the repository root; docker/Dockerfile.dockerignore says what stays out of it);
#   4. tags the build stage as NAME-build:TAG (keeps the compile cache) and prunes stale layers of
#      earlier builds;
#   5. prints the image size.
# Must run as root (podman without a daemon stores images under /var/lib/containers).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

TAG=streamwright:dev
BUILD_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --tag) TAG=$2; shift 2 ;;
    --tag=*) TAG=${1#--tag=}; shift ;;
    --no-cache) BUILD_ARGS+=(--no-cache); shift ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-image: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

log() { echo "build-image: $*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
  log "run as root (rootful podman: no daemon, images in /var/lib/containers)"; exit 1
fi

# 1. Tools ------------------------------------------------------------------------------------
TOOLS=(podman buildah debootstrap runc)
missing=()
for p in "${TOOLS[@]}"; do
  [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # runc, not crun: the runtime that works in this sandbox; no recommends (no crun, no slirp).
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2. Base image -------------------------------------------------------------------------------
BASE=docker.io/library/debian:bookworm-slim
# Bump the suffix when make_rootfs changes, so a stale cached tarball is not reused.
BASE_TAR=$ROOT/.cache/image/debian-bookworm-minbase-v2.tar

# A debootstrap root made to look like the official debian:bookworm-slim (debuerreotype's
# slimming and apt settings, deb822 sources for bookworm, -updates and -security).
make_rootfs() {
  local dir=$1
  log "debootstrap --variant=minbase bookworm (about a minute)"
  debootstrap --variant=minbase bookworm "$dir" http://deb.debian.org/debian > "$dir.log" 2>&1 || {
    tail -30 "$dir.log" >&2; return 1; }
  rm -f "$dir.log"

  rm -f "$dir/etc/apt/sources.list"
  cat > "$dir/etc/apt/sources.list.d/debian.sources" <<'SOURCES'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  # This machine's apt mirror serves a dated snapshot whose Release files have expired; the
  # host's apt is told so, and the base image must be too (the official image needs nothing).
  # (grep without -q: with pipefail, -q's early exit would fail the pipeline through SIGPIPE)
  if apt-config dump 2>/dev/null | grep '^Acquire::Check-Valid-Until "false"' >/dev/null; then
    printf 'Acquire::Check-Valid-Until "false";\nAcquire::Check-Date "false";\n' \
      > "$dir/etc/apt/apt.conf.d/99local-mirror"
  fi
  # debuerreotype's container settings, as in the official images.
  cat > "$dir/etc/apt/apt.conf.d/docker-clean" <<'CONF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CONF
  echo 'Acquire::Languages "none";' > "$dir/etc/apt/apt.conf.d/docker-no-languages"
  echo 'Acquire::GzipIndexes "true";' > "$dir/etc/apt/apt.conf.d/docker-gzip-indexes"
  echo 'Apt::AutoRemove::SuggestsImportant "false";' > "$dir/etc/apt/apt.conf.d/docker-autoremove-suggests"
  echo 'force-unsafe-io' > "$dir/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"
  # The "slim" part: documentation, man pages and translations stay out, now and later.
  cat > "$dir/etc/dpkg/dpkg.cfg.d/docker" <<'CONF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/man/*
CONF
  find "$dir/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
  find "$dir/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
  rm -rf "$dir/usr/share/groff"/* "$dir/usr/share/info"/* "$dir/usr/share/linda"/* \
         "$dir/usr/share/lintian"/* "$dir/usr/share/man"/*
  find "$dir/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} + 2>/dev/null || true
  rm -rf "$dir/var/lib/apt/lists"/* "$dir/var/cache/apt"/*.bin "$dir/var/cache/apt/archives"/*.deb \
         "$dir/var/log"/*.log "$dir/var/log/apt"/* "$dir/tmp"/* "$dir/root/.bash_history"
  : > "$dir/etc/hostname"
  : > "$dir/etc/resolv.conf"; : > "$dir/etc/machine-id"   # the runtime provides these
}

if ! podman image exists "$BASE"; then
  if [ ! -s "$BASE_TAR" ]; then
    mkdir -p "$(dirname "$BASE_TAR")"
    work=$(mktemp -d "$ROOT/.cache/image/rootfs.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    make_rootfs "$work/root"
    tar --numeric-owner -C "$work/root" -cf "$BASE_TAR.part" .
    mv "$BASE_TAR.part" "$BASE_TAR"
    rm -rf "$work"; trap - EXIT
  else
    log "using the cached base root $BASE_TAR"
  fi
  log "podman import -> $BASE"
  # The official image's config: PATH and CMD bash.
  podman import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' "$BASE_TAR" "$BASE" >/dev/null
fi

# 3, 4. Build ------------------------------------------------------------------------------------
log "podman build -t $TAG"
start=$(date +%s)
podman build --isolation=chroot --pull=never \
  -f docker/Dockerfile --ignorefile docker/Dockerfile.dockerignore \
  ${BUILD_ARGS[@]+"${BUILD_ARGS[@]}"} -t "$TAG" .
log "built in $(( $(date +%s) - start )) s"

# Keep the compile layers of this build and drop stale ones: tag the build stage (every step is
# cached, so this takes seconds), then prune the dangling layers of earlier builds (~200 MB per
# source change otherwise). Only layers carrying the Dockerfile's io.streamwright.image-stage
# label are pruned; other images in podman's storage are left alone.
name=${TAG%:*}; tag=${TAG##*:}
case "$TAG" in *:*) case "$tag" in */*) name=$TAG; tag=latest ;; esac ;; *) name=$TAG; tag=latest ;; esac
podman build --isolation=chroot --pull=never -f docker/Dockerfile \
  --ignorefile docker/Dockerfile.dockerignore --target build -t "$name-build:$tag" . >/dev/null
podman image prune -f --filter label=io.streamwright.image-stage >/dev/null

# 5. Size -------------------------------------------------------------------------------------
bytes=$(podman image inspect --format '{{.Size}}' "$TAG")
echo "image $TAG: $(( bytes / 1000000 )) MB ($bytes bytes, uncompressed)"
