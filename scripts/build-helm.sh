#!/usr/bin/env bash
# Builds Helm from its Go module (helm.sh/helm/v3/cmd/helm, no replace directives, so `go install` works) into
# the same cache as scripts/build-kube.sh, and reuses it when present. Prints the binary's path.
set -euo pipefail
HELM_VERSION="${HELM_VERSION:-v3.21.4}"
CACHE="${GLANCE_OP_CACHE:-/var/cache/glance-operator}"
BIN="$CACHE/bin/helm-$HELM_VERSION"
export GOFLAGS="${GOFLAGS:--mod=mod}" CGO_ENABLED=0
export PATH="$PATH:/usr/local/go/bin"

if [ -x "$BIN/helm" ]; then echo "$BIN/helm"; exit 0; fi
command -v go >/dev/null || { echo "build-helm: Go is required (https://go.dev/dl or apt golang-go)" >&2; exit 1; }
start=$(date +%s)
mkdir -p "$BIN"
# What upstream's Makefile stamps in: without it `helm version` says v3.21 and `helm template` assumes
# Kubernetes 1.20, which a chart's kubeVersion constraint then refuses.
gomod=$(go mod download -json "helm.sh/helm/v3@$HELM_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')
client_go=$(sed -n 's#^\s*k8s.io/client-go v0\.\([0-9]*\)\..*#\1#p' "$gomod" | head -1)
[ -n "$client_go" ] || { echo "build-helm: no k8s.io/client-go in helm's go.mod" >&2; exit 1; }
ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
for pkg in pkg/lint/rules pkg/chartutil; do
  ldflags="$ldflags -X helm.sh/helm/v3/$pkg.k8sVersionMajor=1 -X helm.sh/helm/v3/$pkg.k8sVersionMinor=$client_go"
done
GOBIN="$BIN" go install -trimpath -ldflags="$ldflags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
echo "build-helm: cold build of helm $HELM_VERSION took $(( $(date +%s) - start )) s" >&2
echo "$BIN/helm"
