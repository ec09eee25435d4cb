# Installs what the stack needs and is missing: Debian packages (one apt transaction) and the
# Go toolchain for the Kubernetes build. Postinst scripts start no daemon here (policy-rc.d).
STACK_PACKAGES="mariadb-server rabbitmq-server keystone glance-api python3-openstackclient python3-glanceclient
  python3-openstacksdk tempest glance-tempest-plugin ceph-mon ceph-mgr ceph-osd ceph-common qemu-utils
  uwsgi-core uwsgi-plugin-python3 librbd-dev librados-dev openssl uuid-runtime bc curl python3-pymysql
  lua5.4 xz-utils zstd bzip2
  iptables conntrack libseccomp-dev buildah mmdebstrap busybox-static"
install_up() {
  local missing=() p
  for p in $STACK_PACKAGES; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    local t; t=$(now)
    log "installing ${#missing[@]} Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >"$LOG_DIR/apt-update.log" 2>&1 || die "apt-get update failed (see $LOG_DIR/apt-update.log)"
    apt-get install -y -qq -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" \
      >"$LOG_DIR/apt-install.log" 2>&1 || { tail -20 "$LOG_DIR/apt-install.log" >&2; die "apt-get install failed"; }
    log "apt install took $(since "$t") s"
  fi
  # Go fetches the toolchain that k8s.io/kubernetes asks for from the module proxy (GOTOOLCHAIN=auto).
  if ! command -v go >/dev/null; then
    apt-get install -y -qq golang-go >"$LOG_DIR/apt-go.log" 2>&1 || die "installing Go failed"
  fi
}
# The tests and the demo run from this clone: install its npm dependencies, again when the lockfile changed.
install_node_modules() {
  [ "$REPO_ROOT/node_modules/.package-lock.json" -nt "$REPO_ROOT/package-lock.json" ] && return 0
  log "installing npm dependencies (npm ci)"
  (cd "$REPO_ROOT" && npm ci --no-audit --no-fund >"$LOG_DIR/npm-ci.log" 2>&1) || { tail -20 "$LOG_DIR/npm-ci.log" >&2; die "npm ci failed"; }
}
