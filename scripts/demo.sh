#!/usr/bin/env bash
# `npm run demo`: the local stack up, this repository built, then test/harness/demo.ts: the operator as a process,
# a sample GlanceService and a sample Image applied and Ready, `kubectl get` and `openstack image list` printed.
# Extra arguments go to the demo (--keep-running, --namespace NS, --api-port PORT).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
cd "$REPO"
t0=$(date +%s)
log() { printf '[demo %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

bash scripts/stack.sh up
log "building (TypeScript, the librbd addon, the demo)"
npm run -s build
npx tsc -p test/harness/tsconfig.demo.json
# kubectl comes from the stack's cached Kubernetes build (the same version as its kube-apiserver).
KUBECTL="$(bash scripts/build-kube.sh)/kubectl"
export KUBECTL
log "ready in $(( $(date +%s) - t0 )) s; running the demo"
node --enable-source-maps dist/harness/test/harness/demo.js "$@"
log "demo done in $(( $(date +%s) - t0 )) s"
