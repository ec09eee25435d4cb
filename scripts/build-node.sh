#!/usr/bin/env bash
# Builds what a Kubernetes node needs besides the kubelet and kube-proxy (which scripts/build-kube.sh builds with
# the control plane) from their Go modules into a cache outside the clone, each binary only when missing:
# containerd 2 with its runc shim and ctr, runc, the CNI plugins the node's network uses, CoreDNS, crictl and the
# local-path provisioner. Prints NAME=path lines for the stack to read.
set -euo pipefail
CONTAINERD_VERSION="${CONTAINERD_VERSION:-v2.4.2}"
RUNC_VERSION="${RUNC_VERSION:-v1.5.3}"
CNI_VERSION="${CNI_VERSION:-v1.10.0}"
COREDNS_VERSION="${COREDNS_VERSION:-v1.15.0}"
CRICTL_VERSION="${CRICTL_VERSION:-v1.37.0}"
LOCAL_PATH_VERSION="${LOCAL_PATH_VERSION:-v0.0.30}"
CACHE="${GLANCE_OP_CACHE:-/var/cache/glance-operator}"
export GOFLAGS="${GOFLAGS:--mod=mod}"
export PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null || { echo "build-node: Go is required" >&2; exit 1; }

log() { printf '[build-node %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
# build DIR NAME PACKAGE@VERSION [go build flags...]: `go install` into DIR unless DIR/NAME exists.
build() {
  local dir=$1 name=$2 pkg=$3; shift 3
  [ -x "$dir/$name" ] && return 0
  local t; t=$(date +%s)
  mkdir -p "$dir"
  GOBIN="$dir" go install -trimpath "$@" "$pkg" || { log "building $pkg failed"; exit 1; }
  [ -x "$dir/$name" ] || { log "$pkg did not produce $name"; exit 1; }
  log "$name ($pkg) took $(( $(date +%s) - t )) s"
}

CONTAINERD_BIN="$CACHE/bin/containerd-$CONTAINERD_VERSION"
RUNC_BIN="$CACHE/bin/runc-$RUNC_VERSION"
CNI_BIN="$CACHE/bin/cni-plugins-$CNI_VERSION"
COREDNS_BIN="$CACHE/bin/coredns-$COREDNS_VERSION"
CRICTL_BIN="$CACHE/bin/crictl-$CRICTL_VERSION"
LOCAL_PATH_BIN="$CACHE/bin/local-path-provisioner-$LOCAL_PATH_VERSION"

# Static binaries, stamped with their versions (the kubelet reads the runtime's version over CRI).
CGO_ENABLED=0 build "$CONTAINERD_BIN" containerd "github.com/containerd/containerd/v2/cmd/containerd@$CONTAINERD_VERSION" \
  -ldflags="-s -X github.com/containerd/containerd/v2/version.Version=$CONTAINERD_VERSION"
CGO_ENABLED=0 build "$CONTAINERD_BIN" containerd-shim-runc-v2 \
  "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2@$CONTAINERD_VERSION" -ldflags=-s
CGO_ENABLED=0 build "$CONTAINERD_BIN" ctr "github.com/containerd/containerd/v2/cmd/ctr@$CONTAINERD_VERSION" -ldflags=-s
# runc needs cgo (its nsenter is C) and libseccomp for seccomp profiles such as RuntimeDefault.
CGO_ENABLED=1 build "$RUNC_BIN" runc "github.com/opencontainers/runc@$RUNC_VERSION" -tags seccomp \
  -ldflags="-s -X main.version=${RUNC_VERSION#v}"
for p in main/bridge main/loopback ipam/host-local meta/portmap; do
  CGO_ENABLED=0 build "$CNI_BIN" "${p#*/}" "github.com/containernetworking/plugins/plugins/$p@$CNI_VERSION" \
    -ldflags="-s -X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion=$CNI_VERSION"
done
CGO_ENABLED=0 build "$COREDNS_BIN" coredns "github.com/coredns/coredns@$COREDNS_VERSION" -ldflags=-s
CGO_ENABLED=0 build "$CRICTL_BIN" crictl "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION" \
  -ldflags="-s -X sigs.k8s.io/cri-tools/pkg/version.Version=$CRICTL_VERSION"
CGO_ENABLED=0 build "$LOCAL_PATH_BIN" local-path-provisioner \
  "github.com/rancher/local-path-provisioner@$LOCAL_PATH_VERSION" -ldflags=-s

cat <<OUT
CONTAINERD_BIN=$CONTAINERD_BIN
RUNC_BIN=$RUNC_BIN
CNI_BIN=$CNI_BIN
COREDNS_BIN=$COREDNS_BIN
CRICTL_BIN=$CRICTL_BIN
LOCAL_PATH_BIN=$LOCAL_PATH_BIN
OUT
