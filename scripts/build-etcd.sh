#!/usr/bin/env bash
# Build a release-shaped etcd archive from etcd's published Go modules.
#
#   scripts/build-etcd.sh VERSION OUTPUT_DIR
#
# gives OUTPUT_DIR/etcd-vVERSION-linux-amd64.tar.gz (top directory
# etcd-vVERSION-linux-amd64/ with etcd, etcdctl and etcdutl, as upstream ships
# it) and its .sha256. The root module go.etcd.io/etcd/v3 carries replace
# directives, so `go install` refuses it; instead a scratch module requires
# server/v3, etcdctl/v3 and etcdutl/v3 at VERSION (replace directives of
# dependencies do not apply), its own two-line main calls etcdmain.Main, and
# etcdctl and etcdutl are built from their modules' main packages.
set -euo pipefail

version=${1:?usage: build-etcd.sh VERSION OUTPUT_DIR}
outdir=${2:?usage: build-etcd.sh VERSION OUTPUT_DIR}
version=${version#v}
name=etcd-v$version-linux-amd64
archive=$outdir/$name.tar.gz

export PATH="$PATH:/usr/local/go/bin"
if ! command -v go >/dev/null 2>&1; then
    echo "build-etcd: no Go toolchain found; installing golang-go" >&2
    apt-get install -y -q golang-go >/dev/null
fi
export GOTOOLCHAIN=${GOTOOLCHAIN:-auto} CGO_ENABLED=0 GOFLAGS=-mod=mod

work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
mkdir -p "$work/src" "$work/$name"
cd "$work/src"
cat > go.mod <<MOD
module flannel-ansible/etcdbuild

go 1.23
MOD
cat > main.go <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
echo "build-etcd: fetching etcd v$version modules"
go get "go.etcd.io/etcd/server/v3@v$version" "go.etcd.io/etcd/etcdctl/v3@v$version" \
    "go.etcd.io/etcd/etcdutl/v3@v$version" >/dev/null 2>&1 ||
    GONOSUMDB=go.etcd.io GONOSUMCHECK=1 GOFLAGS="-mod=mod" GOSUMDB=off go get \
        "go.etcd.io/etcd/server/v3@v$version" "go.etcd.io/etcd/etcdctl/v3@v$version" \
        "go.etcd.io/etcd/etcdutl/v3@v$version"
echo "build-etcd: compiling etcd, etcdctl, etcdutl v$version"
go build -trimpath -ldflags "-s -w" -o "$work/$name/etcd" .
go build -trimpath -ldflags "-s -w" -o "$work/$name/etcdctl" go.etcd.io/etcd/etcdctl/v3
go build -trimpath -ldflags "-s -w" -o "$work/$name/etcdutl" go.etcd.io/etcd/etcdutl/v3

got=$("$work/$name/etcd" --version | sed -n 's/^etcd Version: //p')
if [ "$got" != "$version" ]; then
    echo "build-etcd: built etcd reports '$got', expected '$version'" >&2
    exit 1
fi
mkdir -p "$outdir"
tar -C "$work" --owner=0 --group=0 --mtime=@0 -czf "$archive.tmp" "$name"
mv -f "$archive.tmp" "$archive"
(cd "$outdir" && sha256sum "$name.tar.gz" > "$name.tar.gz.sha256")
echo "build-etcd: $archive ($got)"
