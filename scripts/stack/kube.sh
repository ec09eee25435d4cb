# etcd + kube-apiserver (+ kube-controller-manager, for garbage collection of owned objects and
# service-account tokens) built from their Go modules by scripts/build-kube.sh and cached outside
# the clone. TLS everywhere the API server faces clients; RBAC on; an admin kubeconfig.
KUBE_DIR="$STACK_DIR/kube"
KUBECONFIG_PATH="$KUBE_DIR/admin.kubeconfig"

# client_cert NAME SUBJECT: a client certificate signed by the stack's CA, made once.
client_cert() {
  local d="$KUBE_DIR/pki" name=$1 subj=$2
  [ -s "$d/$name.crt" ] && return 0
  openssl req -newkey rsa:2048 -nodes -keyout "$d/$name.key" -out "$d/$name.csr" -subj "$subj" 2>/dev/null
  printf 'extendedKeyUsage=clientAuth\n' >"$d/client.ext"
  openssl x509 -req -in "$d/$name.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -out "$d/$name.crt" -days 3650 -extfile "$d/client.ext" 2>/dev/null
}
# write_kubeconfig FILE SERVER CERT_NAME: a kubeconfig for the client certificate CERT_NAME.
write_kubeconfig() {
  local d="$KUBE_DIR/pki" file=$1 server=$2 name=$3
  write_if_changed "$file" <<KC
apiVersion: v1
kind: Config
clusters:
- name: glance-stack
  cluster:
    server: $server
    certificate-authority-data: $(base64 -w0 "$d/ca.crt")
users:
- name: $name
  user:
    client-certificate-data: $(base64 -w0 "$d/$name.crt")
    client-key-data: $(base64 -w0 "$d/$name.key")
contexts:
- name: glance-stack
  context: {cluster: glance-stack, user: $name, namespace: default}
current-context: glance-stack
KC
  chmod 600 "$file"
}

kube_certs() {
  local d="$KUBE_DIR/pki"; install -d -m 700 "$d"
  [ -s "$d/ca.crt" ] || openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/ca.key" -out "$d/ca.crt" -days 3650 -subj "/CN=glance-stack-ca" 2>/dev/null
  local sans="subjectAltName=IP:127.0.0.1,IP:$POD_HOST_IP,IP:${SERVICE_CIDR%.*}.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  # Remade when its names change (the pods reach the API server at $POD_HOST_IP and at the kubernetes Service).
  if [ ! -s "$d/apiserver.crt" ] || ! grep -qxF "$sans" "$d/apiserver.ext" 2>/dev/null; then
    openssl req -newkey rsa:2048 -nodes -keyout "$d/apiserver.key" -out "$d/apiserver.csr" -subj "/CN=kube-apiserver" 2>/dev/null
    printf '%s\nextendedKeyUsage=serverAuth\n' "$sans" >"$d/apiserver.ext"
    openssl x509 -req -in "$d/apiserver.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -out "$d/apiserver.crt" -days 3650 -extfile "$d/apiserver.ext" 2>/dev/null
  fi
  [ -s "$d/sa.key" ] || { openssl genrsa -out "$d/sa.key" 2048 2>/dev/null; openssl rsa -in "$d/sa.key" -pubout -out "$d/sa.pub" 2>/dev/null; }
  # Each component as the user its default RBAC roles name (the kubelet also under the Node authorizer).
  client_cert admin "/O=system:masters/CN=stack-admin"
  client_cert kubelet "/O=system:nodes/CN=system:node:$NODE_NAME"
  client_cert kube-proxy "/CN=system:kube-proxy"
  client_cert kube-scheduler "/CN=system:kube-scheduler"
  client_cert coredns "/CN=glance-stack:coredns"
  client_cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
  write_kubeconfig "$KUBECONFIG_PATH" "https://127.0.0.1:$KUBE_PORT" admin
  # What runs in the node's network namespace reaches the API server at this machine's address there.
  write_kubeconfig "$KUBE_DIR/kubelet.kubeconfig" "https://$POD_HOST_IP:$KUBE_PORT" kubelet
  write_kubeconfig "$KUBE_DIR/kube-proxy.kubeconfig" "https://$POD_HOST_IP:$KUBE_PORT" kube-proxy
  write_kubeconfig "$KUBE_DIR/coredns.kubeconfig" "https://$POD_HOST_IP:$KUBE_PORT" coredns
  write_kubeconfig "$KUBE_DIR/kube-scheduler.kubeconfig" "https://127.0.0.1:$KUBE_PORT" kube-scheduler
}

kube_up() {
  local bin t
  bin=$(bash "$REPO_ROOT/scripts/build-kube.sh") || die "building kube-apiserver failed"
  KUBE_BIN="$bin"
  # Helm for the chart tests and the demo, from its Go module like the rest (no binary downloads).
  HELM_BIN=$(bash "$REPO_ROOT/scripts/build-helm.sh") || die "building helm failed"
  kube_certs
  local d="$KUBE_DIR/pki"
  install -d -m 700 "$KUBE_DIR/etcd"
  if ! alive etcd; then
    t=$(now)
    start_bg etcd "$LOG_DIR/etcd.log" "$bin/etcd" --name stack --data-dir "$KUBE_DIR/etcd" \
      --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
      --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
      --initial-cluster stack=http://127.0.0.1:2380 --quota-backend-bytes=2147483648 --log-level=warn
    local i; for i in $(seq 100); do curl -fs "http://127.0.0.1:$ETCD_PORT/health" | grep -q '"health":"true"' && break; sleep 0.1; done
    curl -fs "http://127.0.0.1:$ETCD_PORT/health" | grep -q '"health":"true"' || die "etcd not healthy (see $LOG_DIR/etcd.log)"
    log "etcd healthy in $(since "$t") s"
  fi
  t=$(now)
  # All addresses: this machine's tools use 127.0.0.1, the node and the pods $POD_HOST_IP (the address the
  # kubernetes Service leads to). RBAC leaves anonymous requests only the health and version endpoints.
  if ensure_bg kube-apiserver "$LOG_DIR/kube-apiserver.log" "$bin/kube-apiserver" \
      --etcd-servers="http://127.0.0.1:$ETCD_PORT" --bind-address=0.0.0.0 --advertise-address="$POD_HOST_IP" \
      --secure-port="$KUBE_PORT" --tls-cert-file="$d/apiserver.crt" --tls-private-key-file="$d/apiserver.key" \
      --client-ca-file="$d/ca.crt" --service-account-key-file="$d/sa.pub" \
      --service-account-signing-key-file="$d/sa.key" --service-account-issuer=https://kubernetes.default.svc.cluster.local \
      --authorization-mode=Node,RBAC --service-cluster-ip-range="$SERVICE_CIDR" --allow-privileged=true \
      --enable-admission-plugins=NodeRestriction \
      --kubelet-client-certificate="$d/apiserver-kubelet-client.crt" --kubelet-client-key="$d/apiserver-kubelet-client.key" \
      --kubelet-preferred-address-types=InternalIP --enable-priority-and-fairness=false --v=1; then
    local i; for i in $(seq 600); do
      curl -fs --cacert "$d/ca.crt" --cert "$d/admin.crt" --key "$d/admin.key" "https://127.0.0.1:$KUBE_PORT/readyz" >/dev/null && break
      alive kube-apiserver || { tail -20 "$LOG_DIR/kube-apiserver.log" >&2; die "kube-apiserver exited"; }
      sleep 0.2; done
    curl -fs --cacert "$d/ca.crt" --cert "$d/admin.crt" --key "$d/admin.key" "https://127.0.0.1:$KUBE_PORT/readyz" >/dev/null || die "kube-apiserver not ready"
    log "kube-apiserver ready in $(since "$t") s"
  fi
  # nodelifecycle lifts the not-ready taint new nodes get; persistentvolume-binder binds the claims.
  if ensure_bg kube-controller-manager "$LOG_DIR/kube-controller-manager.log" "$bin/kube-controller-manager" \
      --kubeconfig="$KUBECONFIG_PATH" --authentication-kubeconfig="$KUBECONFIG_PATH" --authorization-kubeconfig="$KUBECONFIG_PATH" \
      --service-account-private-key-file="$d/sa.key" --root-ca-file="$d/ca.crt" --use-service-account-credentials=true \
      --controllers='*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-route,-attachdetach' \
      --leader-elect=false --bind-address=127.0.0.1 --secure-port=10257 --cluster-signing-cert-file="$d/ca.crt" \
      --cluster-signing-key-file="$d/ca.key" --v=1; then
    log "kube-controller-manager started"
  fi
  if ensure_bg kube-scheduler "$LOG_DIR/kube-scheduler.log" "$bin/kube-scheduler" \
      --kubeconfig="$KUBE_DIR/kube-scheduler.kubeconfig" --authentication-kubeconfig="$KUBE_DIR/kube-scheduler.kubeconfig" \
      --authorization-kubeconfig="$KUBE_DIR/kube-scheduler.kubeconfig" --leader-elect=false \
      --bind-address=127.0.0.1 --secure-port=10259 --v=1; then
    log "kube-scheduler started"
  fi
}
kube_env() {
  cat <<ENV
KUBECTL=$KUBE_BIN/kubectl
HELM=$HELM_BIN
ENV
}
kube_status() {
  local d="$KUBE_DIR/pki"
  curl -fs --cacert "$d/ca.crt" --cert "$d/admin.crt" --key "$d/admin.key" "https://127.0.0.1:$KUBE_PORT/readyz" >/dev/null 2>&1 \
    && echo "kube-apiserver: up (https://127.0.0.1:$KUBE_PORT)" || echo "kube-apiserver: down"
  alive etcd && echo "etcd: up (127.0.0.1:$ETCD_PORT)" || echo "etcd: down"
  alive kube-controller-manager && echo "kube-controller-manager: up" || echo "kube-controller-manager: down"
  alive kube-scheduler && echo "kube-scheduler: up" || echo "kube-scheduler: down"
}
