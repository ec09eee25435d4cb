#!/usr/bin/env bash
# Builds etcd, kube-apiserver, kube-controller-manager and kubectl from their Go modules into a cache
# outside the clone, and reuses them when present (each binary is built only when missing). Upstream
# publishes no installable command for kube-apiserver: k8s.io/kubernetes replaces its staging modules
# with local paths, so we build from a throwaway module that requires it and points each staging
# module at its published v0.x.
set -euo pipefail
KUBE_VERSION="${KUBE_VERSION:-v1.36.3}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
CACHE="${GLANCE_OP_CACHE:-/var/cache/glance-operator}"
BIN="$CACHE/bin/kube-$KUBE_VERSION-etcd-$ETCD_VERSION"
export GOFLAGS="${GOFLAGS:--mod=mod}" CGO_ENABLED=0
export PATH="$PATH:/usr/local/go/bin"

KUBE_CMDS=(kube-apiserver kube-controller-manager kubectl kube-scheduler kubelet kube-proxy)
have_all() { local b; for b in etcd "${KUBE_CMDS[@]}"; do [ -x "$BIN/$b" ] || return 1; done; }
if have_all; then echo "$BIN"; exit 0; fi
command -v go >/dev/null || { echo "build-kube: Go is required (https://go.dev/dl or apt golang-go)" >&2; exit 1; }
start=$(date +%s)
mkdir -p "$BIN" "$CACHE/src"

build_etcd() {
  local dir="$CACHE/src/etcd-$ETCD_VERSION"
  mkdir -p "$dir"
  cat >"$dir/go.mod" <<MOD
module local/etcd-build
go 1.24
require go.etcd.io/etcd/server/v3 $ETCD_VERSION
MOD
  printf 'package tools\nimport _ "go.etcd.io/etcd/server/v3"\n' >"$dir/tools.go"
  (cd "$dir" && go mod tidy >/dev/null 2>&1 || true; go build -trimpath -ldflags=-s -o "$BIN/etcd" go.etcd.io/etcd/server/v3)
}

# What upstream's hack/lib/version.sh stamps in; without it /version says v0.0.0-master, which clients such as
# Helm cannot compare with a chart's kubeVersion.
version_ldflags() {
  local minor="${KUBE_VERSION#v1.}" pkg flags="-s"
  minor="${minor%%.*}"
  for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    flags="$flags -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  done
  echo "$flags"
}

build_kube() {
  local dir="$CACHE/src/kube-$KUBE_VERSION" minor="v0.${KUBE_VERSION#v1.}"
  mkdir -p "$dir"
  local gomod
  gomod=$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')
  {
    echo "module local/kube-build"
    echo "go 1.26"
    echo "require k8s.io/kubernetes $KUBE_VERSION"
    echo "replace ("
    sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\t\1 => \1 '"$minor"'#p' "$gomod"
    echo ")"
  } >"$dir/go.mod"
  { echo 'package tools'; echo 'import ('; printf '_ "k8s.io/kubernetes/cmd/%s"\n' "${KUBE_CMDS[@]}"; echo ')'; } >"$dir/tools.go"
  (cd "$dir" && go mod tidy) || return 1
  local cmd
  for cmd in "${KUBE_CMDS[@]}"; do
    [ -x "$BIN/$cmd" ] && continue
    local t; t=$(date +%s)
    (cd "$dir" && go build -trimpath -ldflags="$(version_ldflags)" -o "$BIN/$cmd" "k8s.io/kubernetes/cmd/$cmd") || return 1
    echo "build-kube: $cmd took $(( $(date +%s) - t )) s"
  done
}

[ -x "$BIN/etcd" ] || build_etcd >&2
build_kube >&2
echo "build-kube: building what was missing of etcd $ETCD_VERSION and kube $KUBE_VERSION took $(( $(date +%s) - start )) s" >&2
echo "$BIN"
