#!/usr/bin/env bash
# The local stack of real services the tests, benchmarks and demo run against:
#   npm run stack -- up       install what is missing, start what is not running (idempotent)
#   npm run stack -- down     stop what `up` started (nothing else)
#   npm run stack -- status   what is up, and its memory
# It writes $GLANCE_STACK_DIR/stack.env (default /var/lib/glance-stack/stack.env).
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "stack: run as root (it installs Debian packages and starts system daemons)" >&2; exit 1; }
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=stack/lib.sh
. "$HERE/stack/lib.sh"
for f in install net mariadb rabbitmq keystone ceph kube node glance-upstream api; do
  [ -f "$HERE/stack/$f.sh" ] && . "$HERE/stack/$f.sh"
done
COMPONENTS=(net mariadb rabbitmq keystone ceph kube node glance_upstream)
declare -F api_up >/dev/null && COMPONENTS+=(api)

write_env() {
  local tmp="$STACK_ENV.tmp"
  cat >"$tmp" <<ENV
# Written by 'npm run stack -- up'. Read by tests, benchmarks and the demo.
STACK_DIR=$STACK_DIR
DB_HOST=127.0.0.1
DB_PORT=3306
DB_ADMIN_USER=stackadmin
DB_ADMIN_PASSWORD=$(secret DB_ADMIN_PASSWORD)
GLANCE_DB_URL=mysql+pymysql://glance:$(secret GLANCE_DB_PASSWORD)@127.0.0.1/glance
OS_AUTH_URL=$KEYSTONE_URL
OS_USERNAME=admin
OS_PASSWORD=$(secret ADMIN_PASSWORD)
OS_PROJECT_NAME=admin
OS_USER_DOMAIN_NAME=Default
OS_PROJECT_DOMAIN_NAME=Default
OS_REGION_NAME=$REGION
OS_IDENTITY_API_VERSION=3
OS_IMAGE_API_VERSION=2
GLANCE_SERVICE_USER=glance
GLANCE_SERVICE_PASSWORD=$(secret GLANCE_SERVICE_PASSWORD)
UPSTREAM_GLANCE_URL=http://$HOST_IP:$UPSTREAM_GLANCE_PORT
UPSTREAM_GLANCE_CONF=$UPSTREAM_GLANCE_CONF
UPSTREAM_GLANCE_DATADIR=$GLANCE_LIB/images
CEPH_CONF=/etc/ceph/ceph.conf
CEPH_ADMIN_KEYRING=/etc/ceph/ceph.client.admin.keyring
CEPH_FSID=$(cat "$CEPH_DIR/fsid")
KUBECONFIG=$KUBECONFIG_PATH
KUBE_APISERVER_URL=https://127.0.0.1:$KUBE_PORT
ENV
  declare -F rabbitmq_env >/dev/null && rabbitmq_env >>"$tmp"
  declare -F kube_env >/dev/null && kube_env >>"$tmp"
  declare -F node_env >/dev/null && node_env >>"$tmp"
  declare -F api_env >/dev/null && api_env >>"$tmp"
  chmod 600 "$tmp"; mv "$tmp" "$STACK_ENV"
}

cmd_up() {
  local t0 c t; t0=$(now)
  install_up
  install_node_modules
  for c in "${COMPONENTS[@]}"; do t=$(now); "${c}_up"; log "$c: ok ($(since "$t") s)"; done
  write_env
  log "stack up in $(since "$t0") s; env file: $STACK_ENV"
}
cmd_down() {
  local names=(api glance-upstream local-path-provisioner coredns kube-proxy kubelet containerd kube-scheduler
    kube-controller-manager kube-apiserver etcd ceph-osd ceph-mgr ceph-mon keystone rabbitmq mariadb) n
  node_down
  for n in "${names[@]}"; do stop_bg "$n"; done
}
cmd_status() {
  local c; for c in "${COMPONENTS[@]}"; do "${c}_status"; done
  local pids=() f
  for f in "$RUN_DIR"/*.pid; do
    [ -f "$f" ] || continue
    local p; p=$(pid_of "$(basename "$f" .pid)") && pids+=("$p") && pids+=($(pgrep -g "$p" || true))
  done
  [ ${#pids[@]} -gt 0 ] && echo "memory (RSS of the processes the stack started): $(rss_mib $(printf '%s\n' "${pids[@]}" | sort -u)) MiB"
  [ -f "$STACK_ENV" ] && echo "env file: $STACK_ENV"
}
case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *) echo "usage: npm run stack -- up|down|status" >&2; exit 2 ;;
esac
