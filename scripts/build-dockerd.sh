#!/usr/bin/env bash
# Build the real Docker Engine 29 daemon from moby's published Go module.
#
#   scripts/build-dockerd.sh MODULE_VERSION ENGINE_VERSION OUTPUT_DIR
#
# moby's daemon moved to the module github.com/moby/moby/v2; its v2.0.0-beta.N
# versions are the 29.x engines (beta.24 is 29.8.1). dockerd and docker-proxy are
# built static, without cgo, with moby's own static build tags, and the engine
# version stamped in (dockerd reports whatever -X sets). Without cgo the btrfs
# storage driver and quota support are left out; overlay2 and vfs are in. The
# lab packages them as Docker's docker-ce (lab/dockerce.py).
set -euo pipefail

module_version=${1:?usage: build-dockerd.sh MODULE_VERSION ENGINE_VERSION OUTPUT_DIR}
engine=${2:?usage: build-dockerd.sh MODULE_VERSION ENGINE_VERSION OUTPUT_DIR}
out=${3:?usage: build-dockerd.sh MODULE_VERSION ENGINE_VERSION OUTPUT_DIR}
module=github.com/moby/moby/v2

export PATH="$PATH:/usr/local/go/bin"
if ! command -v go >/dev/null 2>&1; then
    echo "build-dockerd: no Go toolchain found; installing golang-go (GOTOOLCHAIN=auto fetches a newer one)" >&2
    apt-get install -y -q golang-go >/dev/null
fi
export GOTOOLCHAIN=${GOTOOLCHAIN:-auto} CGO_ENABLED=0 GOFLAGS=-mod=mod

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "build-dockerd: building $module/cmd/{dockerd,docker-proxy}@$module_version as Docker $engine"
GOBIN="$tmp" go install -trimpath \
    -tags "netgo osusergo static_build nri_no_wasm" \
    -ldflags "-w -X $module/dockerversion.Version=$engine" \
    "$module/cmd/dockerd@$module_version" "$module/cmd/docker-proxy@$module_version"

got=$("$tmp/dockerd" --version)
case "$got" in
    "Docker version $engine,"*) ;;
    *) echo "build-dockerd: built dockerd reports '$got', expected Docker version $engine" >&2; exit 1 ;;
esac
mkdir -p "$out"
mv -f "$tmp/dockerd" "$tmp/docker-proxy" "$out/"
echo "build-dockerd: $out ($got)"
