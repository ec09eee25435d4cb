#!/usr/bin/env bash
# `npm run demo`: the local stack up (its one-node cluster and our container image included), then
# test/harness/demo.ts: the operator installed by its Helm chart as pods, a sample GlanceService and a sample Image
# applied and Ready with their Job and Deployment run by the kubelet, `kubectl get`, `crictl ps` and the openstack
# CLI through the GlanceService's region. Extra arguments go to the demo (--keep-running, --namespace NS,
# --node-port PORT).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
cd "$REPO"
t0=$(date +%s)
log() { printf '[demo %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

bash scripts/stack.sh up
log "compiling the demo"
npx tsc -p test/harness/tsconfig.demo.json
log "ready in $(( $(date +%s) - t0 )) s; running the demo"
node --enable-source-maps dist/harness/test/harness/demo.js "$@"
log "demo done in $(( $(date +%s) - t0 )) s"
