#!/usr/bin/env bash
# The end-to-end suite in a kind cluster: this repository's image built with Docker and loaded into it, then the
# same suite CI runs on the local stack's own one-node cluster (it installs the chart itself; only the cluster, the
# image and the host's address as the pods see it differ). Needs a Docker engine, so it does not run in CI.
#   bash test/kind/run.sh            create (or reuse) the cluster, build, install, run the suite
#   KEEP_CLUSTER=0 bash test/kind/run.sh   delete the cluster afterwards
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
CLUSTER="${KIND_CLUSTER:-glance-operator}"
KIND_VERSION="${KIND_VERSION:-v0.33.0}"
IMAGE="${IMAGE:-glance-operator:e2e}"
E2E_SUITE="${E2E_SUITE:-test/integration/operator/cluster.test.ts}"
STACK_ENV="${GLANCE_STACK_ENV:-/var/lib/glance-stack/stack.env}"
log() { printf '[kind %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

command -v docker >/dev/null && docker info >/dev/null 2>&1 || die "a running Docker engine is required"
[ -f "$STACK_ENV" ] || die "$STACK_ENV is missing: the suite talks to the local stack's MariaDB, Keystone and Ceph (npm run stack -- up)"
export PATH="$PATH:/usr/local/go/bin:$(go env GOPATH 2>/dev/null)/bin"
# Every tool from its Go module, like the stack's own builds (no binary downloads).
command -v kind >/dev/null || go install "sigs.k8s.io/kind@$KIND_VERSION"
HELM=$(bash "$REPO/scripts/build-helm.sh")
KUBE_BIN=$(bash "$REPO/scripts/build-kube.sh")
KUBECTL="$KUBE_BIN/kubectl"

if ! kind get clusters | grep -qx "$CLUSTER"; then
  log "creating kind cluster $CLUSTER"
  kind create cluster --name "$CLUSTER" --config "$REPO/test/kind/cluster.yaml" --wait 120s
fi
KUBECONFIG_KIND="$(mktemp)"; trap 'rm -f "$KUBECONFIG_KIND"' EXIT
kind get kubeconfig --name "$CLUSTER" >"$KUBECONFIG_KIND"
export KUBECONFIG="$KUBECONFIG_KIND"
[ "${KEEP_CLUSTER:-1}" = 0 ] && trap 'rm -f "$KUBECONFIG_KIND"; kind delete cluster --name "$CLUSTER"' EXIT

log "building $IMAGE"
docker build -t "$IMAGE" "$REPO"
kind load docker-image "$IMAGE" --name "$CLUSTER"

# The pods reach the stack's services on the host through the kind network's gateway; the stack must listen
# there (its services bind to 127.0.0.1 by default: see test/kind/README.md).
HOST_IP="${STACK_HOST_IP:-$(docker network inspect kind -f '{{(index .IPAM.Config 0).Gateway}}')}"
log "running $E2E_SUITE against the cluster (stack services at $HOST_IP)"
cd "$REPO"
npm run -s build
E2E_TARGET=kind E2E_KUBECONFIG="$KUBECONFIG_KIND" E2E_IMAGE="$IMAGE" E2E_STACK_HOST="$HOST_IP" \
  node --experimental-vm-modules node_modules/jest/bin/jest.js --selectProjects=integration --runInBand \
  --testPathPatterns "$E2E_SUITE"
