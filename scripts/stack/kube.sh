# etcd + kube-apiserver (+ kube-controller-manager, for garbage collection of owned objects and
# service-account tokens) built from their Go modules by scripts/build-kube.sh and cached outside
# the clone. TLS everywhere the API server faces clients; RBAC on; an admin kubeconfig.
KUBE_DIR="$STACK_DIR/kube"
KUBECONFIG_PATH="$KUBE_DIR/admin.kubeconfig"

kube_certs() {
  local d="$KUBE_DIR/pki"; install -d -m 700 "$d"
  [ -s "$d/ca.crt" ] || openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/ca.key" -out "$d/ca.crt" -days 3650 -subj "/CN=glance-stack-ca" 2>/dev/null
  if [ ! -s "$d/apiserver.crt" ]; then
    openssl req -newkey rsa:2048 -nodes -keyout "$d/apiserver.key" -out "$d/apiserver.csr" -subj "/CN=kube-apiserver" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\nextendedKeyUsage=serverAuth\n' >"$d/apiserver.ext"
    openssl x509 -req -in "$d/apiserver.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -out "$d/apiserver.crt" -days 3650 -extfile "$d/apiserver.ext" 2>/dev/null
  fi
  if [ ! -s "$d/admin.crt" ]; then
    openssl req -newkey rsa:2048 -nodes -keyout "$d/admin.key" -out "$d/admin.csr" -subj "/O=system:masters/CN=stack-admin" 2>/dev/null
    printf 'extendedKeyUsage=clientAuth\n' >"$d/client.ext"
    openssl x509 -req -in "$d/admin.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -out "$d/admin.crt" -days 3650 -extfile "$d/client.ext" 2>/dev/null
  fi
  [ -s "$d/sa.key" ] || { openssl genrsa -out "$d/sa.key" 2048 2>/dev/null; openssl rsa -in "$d/sa.key" -pubout -out "$d/sa.pub" 2>/dev/null; }
  cat >"$KUBECONFIG_PATH" <<KC
apiVersion: v1
kind: Config
clusters:
- name: glance-stack
  cluster:
    server: https://127.0.0.1:$KUBE_PORT
    certificate-authority-data: $(base64 -w0 "$d/ca.crt")
users:
- name: stack-admin
  user:
    client-certificate-data: $(base64 -w0 "$d/admin.crt")
    client-key-data: $(base64 -w0 "$d/admin.key")
contexts:
- name: glance-stack
  context: {cluster: glance-stack, user: stack-admin, namespace: default}
current-context: glance-stack
KC
  chmod 600 "$KUBECONFIG_PATH"
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
  if ! alive kube-apiserver; then
    t=$(now)
    start_bg kube-apiserver "$LOG_DIR/kube-apiserver.log" "$bin/kube-apiserver" \
      --etcd-servers="http://127.0.0.1:$ETCD_PORT" --bind-address=127.0.0.1 --advertise-address=127.0.0.1 \
      --secure-port="$KUBE_PORT" --tls-cert-file="$d/apiserver.crt" --tls-private-key-file="$d/apiserver.key" \
      --client-ca-file="$d/ca.crt" --service-account-key-file="$d/sa.pub" \
      --service-account-signing-key-file="$d/sa.key" --service-account-issuer=https://kubernetes.default.svc.cluster.local \
      --authorization-mode=Node,RBAC --service-cluster-ip-range=10.0.0.0/24 --allow-privileged=true \
      --enable-priority-and-fairness=false --v=1
    local i; for i in $(seq 600); do
      curl -fs --cacert "$d/ca.crt" --cert "$d/admin.crt" --key "$d/admin.key" "https://127.0.0.1:$KUBE_PORT/readyz" >/dev/null && break
      alive kube-apiserver || { tail -20 "$LOG_DIR/kube-apiserver.log" >&2; die "kube-apiserver exited"; }
      sleep 0.2; done
    curl -fs --cacert "$d/ca.crt" --cert "$d/admin.crt" --key "$d/admin.key" "https://127.0.0.1:$KUBE_PORT/readyz" >/dev/null || die "kube-apiserver not ready"
    log "kube-apiserver ready in $(since "$t") s"
  fi
  if ! alive kube-controller-manager; then
    start_bg kube-controller-manager "$LOG_DIR/kube-controller-manager.log" "$bin/kube-controller-manager" \
      --kubeconfig="$KUBECONFIG_PATH" --authentication-kubeconfig="$KUBECONFIG_PATH" --authorization-kubeconfig="$KUBECONFIG_PATH" \
      --service-account-private-key-file="$d/sa.key" --root-ca-file="$d/ca.crt" --use-service-account-credentials=true \
      --controllers='*,-nodeipam,-nodelifecycle,-cloud-node-lifecycle,-service-lb-controller,-route,-persistentvolume-binder,-attachdetach' \
      --leader-elect=false --bind-address=127.0.0.1 --secure-port=10257 --cluster-signing-cert-file="$d/ca.crt" \
      --cluster-signing-key-file="$d/ca.key" --v=1
    log "kube-controller-manager started"
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
}
