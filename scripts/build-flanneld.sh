#!/usr/bin/env bash
# Build the real flanneld from flannel's published Go module at a pinned version.
#
#   scripts/build-flanneld.sh VERSION OUTPUT
#
# The module is fetched through the Go module proxy (go mod download), copied to a
# scratch directory and built with cgo (the udp backend needs it on amd64) and the
# version stamped in. One change is made to the module's main.go: the Tencent Cloud
# VPC backend import is dropped, because its SDK dependency
# (tencentcloud-sdk-go/tencentcloud/vpc) is refused by the module proxy (403), which
# makes the unmodified module unbuildable here. No other backend is affected.
set -euo pipefail

version=${1:?usage: build-flanneld.sh VERSION OUTPUT}
out=${2:?usage: build-flanneld.sh VERSION OUTPUT}
module=github.com/flannel-io/flannel

export PATH="$PATH:/usr/local/go/bin"
if ! command -v go >/dev/null 2>&1; then
    echo "build-flanneld: no Go toolchain found; installing golang-go (GOTOOLCHAIN=auto fetches a newer one)" >&2
    apt-get install -y -q golang-go >/dev/null
fi
command -v gcc >/dev/null 2>&1 || apt-get install -y -q gcc libc6-dev >/dev/null
export GOTOOLCHAIN=${GOTOOLCHAIN:-auto} CGO_ENABLED=1 GOFLAGS=-mod=mod

echo "build-flanneld: downloading $module@$version"
src=$(go mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$src" ] || { echo "build-flanneld: go mod download gave no source dir" >&2; exit 1; }

work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
cp -r "$src/." "$work/"
chmod -R u+w "$work"
sed -i '\#"'"$module"'/pkg/backend/tencentvpc"#d' "$work/main.go"

mkdir -p "$(dirname "$out")"
echo "build-flanneld: compiling (cgo on, version $version)"
(cd "$work" && go build -trimpath \
    -ldflags "-s -w -X $module/pkg/version.Version=$version" \
    -o "$out.tmp" .)

got=$("$out.tmp" -version 2>&1)
if [ "$got" != "$version" ]; then
    echo "build-flanneld: built binary reports '$got', expected '$version'" >&2
    rm -f "$out.tmp"
    exit 1
fi
mv -f "$out.tmp" "$out"
echo "build-flanneld: $out ($got)"
