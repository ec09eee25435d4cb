# Shared helpers for the local stack. Sourced by scripts/stack.sh and each component script.
# Everything runs on loopback; state lives outside the clone so a fresh clone reuses it.
STACK_DIR="${GLANCE_STACK_DIR:-/var/lib/glance-stack}"
STACK_ENV="$STACK_DIR/stack.env"
LOG_DIR="$STACK_DIR/log"
RUN_DIR="$STACK_DIR/run"
ETC_DIR="$STACK_DIR/etc"
REGION="${REGION:-RegionOne}"
HOST_IP=127.0.0.1
# The Kubernetes node lives in a network namespace of its own (scripts/stack/net.sh), joined to this one by a veth
# pair on a /30: POD_HOST_IP is this machine as the node and its pods see it, where MariaDB, Keystone and Ceph
# listen too; NODE_IP is the node's address. Pod and Service ranges are routed only into that namespace.
NODE_NETNS=glance-node
POD_HOST_IP=172.30.255.1
NODE_IP=172.30.255.2
NODE_NAME=glance-node
POD_CIDR=10.244.0.0/24
SERVICE_CIDR=10.0.0.0/24
CLUSTER_DNS_IP=10.0.0.10
KEYSTONE_URL="http://$HOST_IP:5000/v3"
UPSTREAM_GLANCE_PORT=9292
KUBE_PORT=6443
ETCD_PORT=2379
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# Debian's OpenStack tools must run on Debian's python3, not a pyenv one earlier in PATH.
export PATH="/usr/sbin:/usr/bin:/sbin:/bin:/usr/local/go/bin:$PATH"

mkdir -p "$STACK_DIR" "$LOG_DIR" "$RUN_DIR" "$ETC_DIR"
chmod 711 "$STACK_DIR"

log() { printf '[stack %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now() { date +%s.%N; }
since() { printf '%.1f' "$(echo "$(now) - $1" | bc)"; }

# A pidfile under $RUN_DIR marks a process this stack started; `down` stops only those. The state is on disk and
# outlives a reboot, when its number may belong to another process: so the pidfile also records the boot and the
# process's start time, and a process is ours only if both still match (else `up` would skip a daemon that is not
# running, and `down` would signal a stranger).
proc_identity() {
  local stat; stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }   # the command name in parentheses may hold spaces; starttime is the 20th field after it
  set -- $stat
  echo "$(cat /proc/sys/kernel/random/boot_id) ${20}"
}
pid_of() {
  local f="$RUN_DIR/$1.pid" pid id
  [ -f "$f" ] || return 1
  { read -r pid; read -r id; } <"$f" || true
  [ -n "$pid" ] && [ -n "$id" ] && [ "$(proc_identity "$pid")" = "$id" ] && echo "$pid"
}
alive() { pid_of "$1" >/dev/null; }
# start NAME LOGFILE CMD...: run CMD detached in its own session and remember its pid.
start_bg() {
  local name=$1 logf=$2; shift 2
  setsid "$@" </dev/null >>"$logf" 2>&1 &
  local pid=$!
  printf '%s\n%s\n' "$pid" "$(proc_identity "$pid")" >"$RUN_DIR/$name.pid"
}
# write_if_changed FILE: stdin becomes FILE only if it differs, so a daemon that watches its configuration file
# (kube-proxy exits when it is written) sees no write when nothing changed.
write_if_changed() {
  (umask 077; cat >"$1.new")
  if cmp -s "$1.new" "$1"; then rm -f "$1.new"; else mv "$1.new" "$1"; fi
}
# ensure_bg NAME LOGFILE CMD...: start_bg unless NAME already runs with exactly this command line and the same
# contents of the stack's configuration files it names (a daemon started with other flags or an older config,
# certificate or kubeconfig is restarted). Returns 0 when it (re)started NAME.
ensure_bg() {
  local name=$1 stamp arg
  stamp=$({
    printf '%s\0' "${@:3}"
    for arg in "${@:3}"; do
      arg=${arg#*=}
      case "$arg" in "$ETC_DIR"/* | "$STACK_DIR"/kube/*) [ -f "$arg" ] && cat "$arg" ;; esac
    done
  } | sha1sum | cut -c1-12)
  if alive "$name"; then
    [ "$(cat "$RUN_DIR/$name.stamp" 2>/dev/null)" = "$stamp" ] && return 1
    stop_bg "$name"
  fi
  start_bg "$@"
  echo "$stamp" >"$RUN_DIR/$name.stamp"
}
stop_bg() {
  local name=$1 f="$RUN_DIR/$1.pid" i
  local pid; pid=$(pid_of "$name") || { rm -f "$f"; return 0; }
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid"
  for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -0 "$pid" 2>/dev/null && { log "$name did not stop in 20 s: SIGKILL"; kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid"; }
  rm -f "$f"; log "stopped $name"
}
wait_port() { local i; for i in $(seq $(( ${2:-60} * 10 ))); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
retry() { local n=$1 i; shift; for i in $(seq "$n"); do "$@" 2>/dev/null && return 0; sleep 1; done; "$@"; }
rss_mib() { local t=0 p; for p in "$@"; do t=$((t + $(awk '/^VmRSS/{print $2}' "/proc/$p/status" 2>/dev/null || echo 0))); done; echo $((t / 1024)); }

# Secrets are generated once per machine and kept with the state (mode 600), never in the repo.
secret() {
  local key=$1 f="$STACK_DIR/secrets.env"
  touch "$f"; chmod 600 "$f"
  local v; v=$(sed -n "s/^$key=//p" "$f")
  if [ -z "$v" ]; then v=$(head -c 18 /dev/urandom | base64 | tr -d '/+='); echo "$key=$v" >>"$f"; fi
  echo "$v"
}

admin_openrc() {
  export OS_AUTH_URL="$KEYSTONE_URL" OS_USERNAME=admin OS_PASSWORD="$(secret ADMIN_PASSWORD)" OS_PROJECT_NAME=admin \
    OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default OS_REGION_NAME="$REGION" \
    OS_IDENTITY_API_VERSION=3 OS_IMAGE_API_VERSION=2 OS_INTERFACE=public
}
