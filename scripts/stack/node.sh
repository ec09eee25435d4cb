# The cluster's one node, of real components: containerd 2 with runc and the CNI bridge, the kubelet and kube-proxy,
# all in the node's network namespace (net.sh); CoreDNS serving cluster.local there too; the local-path provisioner
# for volume claims; our container image and the pause image built here (scripts/build-image.sh) and imported into
# containerd, since no registry can be reached. Binaries come from scripts/build-node.sh and build-kube.sh.
NODE_DIR="$STACK_DIR/node"
CONTAINERD_STATE=/run/glance-stack/containerd
CONTAINERD_SOCK="$CONTAINERD_STATE/containerd.sock"
LOCAL_PATH_DIR="$STACK_DIR/local-path"
# A small image for the provisioner's helper pods (mkdir and rm of the volume directories): Debian's static busybox.
BUSYBOX_IMAGE=localhost/busybox:debian

# ctr warns on every call that cgroup v1 is deprecated: that is known (see the kubelet's failCgroupV1).
node_ctr() {
  "$CONTAINERD_BIN/ctr" --address "$CONTAINERD_SOCK" --namespace k8s.io "$@" 2> >(grep -v 'DEPRECATION: The support for cgroup v1' >&2)
}
node_kubectl() { "$KUBE_BIN/kubectl" --kubeconfig "$KUBECONFIG_PATH" "$@"; }

node_containerd_conf() {
  install -d "$ETC_DIR/containerd" "$NODE_DIR/cni/net.d" "$NODE_DIR/cni/ipam"
  write_if_changed "$NODE_DIR/cni/net.d/10-glance-pods.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "glance-pods",
  "plugins": [
    {
      "type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
      "ipam": { "type": "host-local", "ranges": [[{ "subnet": "$POD_CIDR" }]], "routes": [{ "dst": "0.0.0.0/0" }],
                "dataDir": "$NODE_DIR/cni/ipam" }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
JSON
  write_if_changed "$ETC_DIR/containerd/config.toml" <<TOML
version = 3
root = "$NODE_DIR/containerd"
state = "$CONTAINERD_STATE"
[grpc]
  address = "$CONTAINERD_SOCK"
[plugins.'io.containerd.cri.v1.images']
  snapshotter = 'overlayfs'
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = '$PAUSE_IMAGE'
[plugins.'io.containerd.cri.v1.runtime']
  # These machines withhold CAP_SYS_RESOURCE even from root, so no process may lower its OOM score below
  # containerd's: the pause containers' -998 and Guaranteed pods' -997 become containerd's own.
  restrict_oom_score_adj = true
  [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
    runtime_type = 'io.containerd.runc.v2'
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
      BinaryName = '$RUNC_BIN/runc'
      SystemdCgroup = false
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ['$CNI_BIN']
    conf_dir = '$NODE_DIR/cni/net.d'
TOML
}

node_kubelet_conf() {
  install -d "$ETC_DIR/kubelet" "$NODE_DIR/kubelet"
  # No search domains or name servers of this machine's: pods resolve only cluster names.
  write_if_changed "$ETC_DIR/kubelet/resolv.conf" </dev/null
  write_if_changed "$ETC_DIR/kubelet/config.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# These machines have cgroup v1 (hybrid) and no systemd as PID 1.
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $KUBE_DIR/pki/ca.crt}
authorization: {mode: Webhook}
address: $NODE_IP
healthzBindAddress: 127.0.0.1
clusterDomain: cluster.local
clusterDNS: [$CLUSTER_DNS_IP]
resolvConf: $ETC_DIR/kubelet/resolv.conf
failSwapOn: false
protectKernelDefaults: false
# Lowering an OOM score needs CAP_SYS_RESOURCE, which root lacks here.
oomScoreAdj: 0
serializeImagePulls: false
evictionHard: {memory.available: 200Mi, nodefs.available: 2%, imagefs.available: 2%}
imageGCHighThresholdPercent: 95
imageGCLowThresholdPercent: 90
YAML
}

node_proxy_conf() {
  install -d "$ETC_DIR/kube-proxy"
  write_if_changed "$ETC_DIR/kube-proxy/config.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $KUBE_DIR/kube-proxy.kubeconfig}
mode: iptables
clusterCIDR: $POD_CIDR
hostnameOverride: $NODE_NAME
healthzBindAddress: $NODE_IP:10256
metricsBindAddress: 127.0.0.1:10249
# The conntrack table size is the kernel's, shared with this machine: leave it alone.
conntrack: {maxPerCore: 0}
# Lowering an OOM score needs CAP_SYS_RESOURCE, which root lacks here.
oomScoreAdj: 0
YAML
}

node_coredns_conf() {
  install -d "$ETC_DIR/coredns"
  write_if_changed "$ETC_DIR/coredns/Corefile" <<CORE
.:53 {
    bind $NODE_IP
    errors
    ready $NODE_IP:8181
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig $KUBE_DIR/coredns.kubeconfig glance-stack
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 30
    }
    cache 30
}
CORE
}

# What the cluster needs besides its processes: the DNS Service (its endpoint is CoreDNS on the node's address),
# CoreDNS's read access, and the default StorageClass with the provisioner's configuration.
node_addons() {
  install -d -m 1777 "$LOCAL_PATH_DIR"
  node_kubectl apply -f - >/dev/null <<YAML
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "glance-stack:coredns"}
rules:
  - apiGroups: [""]
    resources: [endpoints, services, pods, namespaces]
    verbs: [list, watch]
  - apiGroups: [discovery.k8s.io]
    resources: [endpointslices]
    verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "glance-stack:coredns"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "glance-stack:coredns"}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: "glance-stack:coredns"}]
---
apiVersion: v1
kind: Service
metadata: {name: kube-dns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec:
  clusterIP: $CLUSTER_DNS_IP
  ports: [{name: dns, port: 53, protocol: UDP}, {name: dns-tcp, port: 53, protocol: TCP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: kube-dns-node
  namespace: kube-system
  labels: {kubernetes.io/service-name: kube-dns, endpointslice.kubernetes.io/managed-by: glance-stack}
addressType: IPv4
endpoints: [{addresses: ["$NODE_IP"], conditions: {ready: true}}]
ports: [{name: dns, port: 53, protocol: UDP}, {name: dns-tcp, port: 53, protocol: TCP}]
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: local-path-provisioner, namespace: kube-system}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: local-path
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: rancher.io/local-path
volumeBindingMode: WaitForFirstConsumer
reclaimPolicy: Delete
---
apiVersion: v1
kind: ConfigMap
metadata: {name: local-path-config, namespace: kube-system}
data:
  config.json: '{"nodePathMap":[{"node":"DEFAULT_PATH_FOR_NON_LISTED_NODES","paths":["$LOCAL_PATH_DIR"]}]}'
  setup: |-
    #!/bin/sh
    set -eu
    mkdir -m 0777 -p "\$VOL_DIR"
  teardown: |-
    #!/bin/sh
    set -eu
    rm -rf "\$VOL_DIR"
  helperPod.yaml: |-
    apiVersion: v1
    kind: Pod
    metadata: {name: helper-pod}
    spec:
      containers:
        - name: helper-pod
          image: $BUSYBOX_IMAGE
          imagePullPolicy: Never
YAML
}

# Images: ours and the pause image from scripts/build-image.sh, busybox from Debian's static binary; each imported
# into containerd when it is not there yet.
node_images() {
  local lines ref archive
  lines=$(bash "$REPO_ROOT/scripts/build-image.sh") || die "building the container images failed"
  GLANCE_IMAGE=$(awk '$1 ~ /glance-operator/ {print $1}' <<<"$lines")
  PAUSE_IMAGE=$(awk '$1 ~ /pause/ {print $1}' <<<"$lines")
  [ -n "$GLANCE_IMAGE" ] && [ -n "$PAUSE_IMAGE" ] || die "scripts/build-image.sh printed no image (got: $lines)"
  IMAGE_ARCHIVES="$lines"
  if ! buildah inspect --type image "$BUSYBOX_IMAGE" >/dev/null 2>&1; then
    local c mnt
    c=$(buildah from scratch); mnt=$(buildah mount "$c")
    install -d "$mnt/bin"; cp /bin/busybox "$mnt/bin/busybox"
    local a; for a in sh mkdir rm rmdir ls; do ln -s busybox "$mnt/bin/$a"; done
    buildah umount "$c" >/dev/null
    buildah config --env PATH=/bin "$c"
    buildah commit -q "$c" "$BUSYBOX_IMAGE" >/dev/null; buildah rm "$c" >/dev/null
  fi
  install -d "$NODE_DIR/images"
  [ -s "$NODE_DIR/images/busybox.tar" ] || buildah push -q "$BUSYBOX_IMAGE" "docker-archive:$NODE_DIR/images/busybox.tar:$BUSYBOX_IMAGE" >/dev/null
  IMAGE_ARCHIVES="$IMAGE_ARCHIVES"$'\n'"$BUSYBOX_IMAGE $NODE_DIR/images/busybox.tar"
}
node_import_images() {
  local have ref archive
  have=$(node_ctr images ls -q)
  while read -r ref archive; do
    [ -n "$ref" ] || continue
    grep -qxF "$ref" <<<"$have" && continue
    local t; t=$(now)
    node_ctr images import "$archive" >/dev/null || die "importing $archive into containerd failed"
    # Not `grep -q`: it stops reading at the match, ctr then dies of SIGPIPE and pipefail fails the check.
    node_ctr images ls -q | grep -xF "$ref" >/dev/null || die "$archive did not give image $ref in containerd"
    log "imported $ref into containerd in $(since "$t") s"
  done <<<"$IMAGE_ARCHIVES"
  # Earlier builds of our image go (a running container keeps what it uses), so the node's disk stays bounded.
  local old; old=$(node_ctr images ls -q | grep "^${GLANCE_IMAGE%:*}:" | grep -vxF "$GLANCE_IMAGE" || true)
  [ -z "$old" ] || node_ctr images rm $old >/dev/null
}

node_up() {
  local t
  eval "$(bash "$REPO_ROOT/scripts/build-node.sh")" || die "building the node's components failed"
  KUBE_BIN=${KUBE_BIN:-$(bash "$REPO_ROOT/scripts/build-kube.sh")}
  node_images
  node_containerd_conf; node_kubelet_conf; node_proxy_conf; node_coredns_conf
  printf 'runtime-endpoint: unix://%s\nimage-endpoint: unix://%s\n' "$CONTAINERD_SOCK" "$CONTAINERD_SOCK" \
    | write_if_changed "$ETC_DIR/crictl.yaml"
  install -d "$CONTAINERD_STATE" "$LOG_DIR/node"
  # The shim is found on PATH; iptables and nsenter (CNI, kube-proxy) are Debian's.
  local path="$CONTAINERD_BIN:$RUNC_BIN:/usr/sbin:/usr/bin:/sbin:/bin"
  t=$(now)
  if ensure_bg containerd "$LOG_DIR/node/containerd.log" env PATH="$path" \
      nsenter --net="/run/netns/$NODE_NETNS" -- "$CONTAINERD_BIN/containerd" --config "$ETC_DIR/containerd/config.toml"; then
    local i; for i in $(seq 150); do node_ctr version >/dev/null 2>&1 && break; sleep 0.2; done
    node_ctr version >/dev/null 2>&1 || { tail -20 "$LOG_DIR/node/containerd.log" >&2; die "containerd does not answer"; }
    log "containerd answering in $(since "$t") s"
  fi
  node_import_images
  if ensure_bg kubelet "$LOG_DIR/node/kubelet.log" env PATH="$path" \
      nsenter --net="/run/netns/$NODE_NETNS" -- "$KUBE_BIN/kubelet" --config "$ETC_DIR/kubelet/config.yaml" \
      --kubeconfig "$KUBE_DIR/kubelet.kubeconfig" --root-dir "$NODE_DIR/kubelet" \
      --hostname-override "$NODE_NAME" --node-ip "$NODE_IP" --v=1; then
    log "kubelet started"
  fi
  if ensure_bg kube-proxy "$LOG_DIR/node/kube-proxy.log" env PATH="$path" \
      nsenter --net="/run/netns/$NODE_NETNS" -- "$KUBE_BIN/kube-proxy" --config "$ETC_DIR/kube-proxy/config.yaml" --v=1; then
    log "kube-proxy started"
  fi
  if ensure_bg coredns "$LOG_DIR/node/coredns.log" \
      nsenter --net="/run/netns/$NODE_NETNS" -- "$COREDNS_BIN/coredns" -conf "$ETC_DIR/coredns/Corefile"; then
    log "coredns started"
  fi
  node_addons
  if ensure_bg local-path-provisioner "$LOG_DIR/node/local-path-provisioner.log" \
      "$LOCAL_PATH_BIN/local-path-provisioner" start --kubeconfig "$KUBECONFIG_PATH" --namespace kube-system \
      --service-account-name local-path-provisioner --configmap-name local-path-config \
      --helper-image "$BUSYBOX_IMAGE" --provisioner-name rancher.io/local-path; then
    log "local-path provisioner started"
  fi
  t=$(now)
  node_kubectl wait --for=condition=Ready "node/$NODE_NAME" --timeout=180s >/dev/null \
    || { tail -30 "$LOG_DIR/node/kubelet.log" >&2; die "node $NODE_NAME not Ready in 180 s (see $LOG_DIR/node/)"; }
  log "node $NODE_NAME Ready ($(since "$t") s)"
}
node_down() {
  # Pods first, while the kubelet and containerd still run, so no container outlives the stack.
  if alive containerd; then
    eval "$(bash "$REPO_ROOT/scripts/build-node.sh")"
    stop_bg kubelet
    "$CRICTL_BIN/crictl" --config "$ETC_DIR/crictl.yaml" rmp --all --force >/dev/null 2>&1 || true
  fi
}
node_env() {
  cat <<ENV
NODE_NETNS=$NODE_NETNS
POD_HOST_IP=$POD_HOST_IP
NODE_IP=$NODE_IP
NODE_NAME=$NODE_NAME
POD_CIDR=$POD_CIDR
SERVICE_CIDR=$SERVICE_CIDR
GLANCE_IMAGE=$GLANCE_IMAGE
CONTAINERD_SOCK=$CONTAINERD_SOCK
CRICTL=$CRICTL_BIN/crictl
CRICTL_CONFIG=$ETC_DIR/crictl.yaml
ENV
}
node_status() {
  local n
  for n in containerd kubelet kube-proxy coredns local-path-provisioner; do
    alive "$n" && echo "$n: up" || echo "$n: down"
  done
  local kubectl; kubectl=$(sed -n 's/^KUBECTL=//p' "$STACK_ENV" 2>/dev/null)
  [ -x "$kubectl" ] && "$kubectl" --kubeconfig "$KUBECONFIG_PATH" get node "$NODE_NAME" --no-headers 2>/dev/null | sed 's/^/node: /'
  return 0
}
