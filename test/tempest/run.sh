#!/usr/bin/env bash
# Runs Tempest's image API tests against our api-server or upstream glance-api on the local stack,
# with a tempest.conf generated here, and writes a summary (counts + every non-passing test) to
# $STACK_DIR/results/tempest-<name>.txt, the passed tests to tempest-<name>.passed, every test
# selected to tempest-<name>.listed, and the subunit stream beside them (<name> is the target,
# with -rbac for the RBAC suite).
#   test/tempest/run.sh [--rbac] ours|upstream [REGEX]
# For ours, the image suite runs against a server of its own with every feature the tests can use
# (full-server.sh: multi-store, locations, every import method), started for the run and stopped
# after it; upstream runs against the stack's plain glance-api. Tests that cannot pass against
# either are excluded by exclude-ours.txt (each with its reason).
# Each run registers its target in the Keystone catalog under a service type of its own
# (catalog.sh), so other image services registered on the stack cannot steer Tempest elsewhere.
# --rbac runs glance-tempest-plugin's RBAC suite (default REGEX ^glance_tempest_plugin.tests.rbac)
# with [enforce_scope] glance = True. The stack's servers keep legacy policy, so this starts a
# second server of the target (same database and image directory) with secure RBAC, scope
# enforcement and the new defaults, registers it in a region of its own for the catalog, and stops
# and unregisters it when the run ends.
set -euo pipefail
SUITE=image
if [ "${1:-}" = --rbac ]; then SUITE=rbac; shift; fi
TARGET=${1:?usage: run.sh [--rbac] ours|upstream [REGEX]}
HERE="$(cd "$(dirname "$0")" && pwd)"
. "$HERE/../../scripts/stack/lib.sh"
set -a; . "$STACK_ENV"; set +a
NAME=$TARGET; [ "$SUITE" = rbac ] && NAME="$TARGET-rbac"
if [ "$SUITE" = rbac ]; then REGEX=${2:-'^glance_tempest_plugin.tests.rbac'}; else REGEX=${2:-'^tempest.api.image'}; fi
WS="$STACK_DIR/tempest-$NAME"; WWW="$STACK_DIR/www"; RESULTS="$STACK_DIR/results"
install -d "$RESULTS" "$WWW"
# One run per target and suite at a time: runs share the workspace, the results files and, for
# --rbac, the secure-RBAC server.
exec 9>"$STACK_DIR/tempest-$NAME.lock"; flock 9
case "$TARGET" in
  ours) REGION_IMAGE=${API_REGION:?the stack runs no api-server}; TARGET_URL=$API_URL; IMPORT=True; CACHING=True; LOCATIONS=True; EXCLUDE="$HERE/exclude-ours.txt" ;;
  upstream) REGION_IMAGE=$OS_REGION_NAME; TARGET_URL=$UPSTREAM_GLANCE_URL; IMPORT=True; CACHING=True; LOCATIONS=False; EXCLUDE= ;;
  *) echo "target must be ours or upstream" >&2; exit 2 ;;
esac
ENFORCE_SCOPE=False
trap 'exit 143' TERM INT
if [ "$SUITE" = rbac ]; then
  . "$HERE/rbac-server.sh"
  trap 'rbac_server_down "$TARGET"' EXIT
  rbac_server_up "$TARGET"
  REGION_IMAGE=$RBAC_REGION; TARGET_URL="http://$HOST_IP:$RBAC_PORT"; CATALOG_TYPE=$RBAC_TYPE; ENFORCE_SCOPE=True; LOCATIONS=False; EXCLUDE=
elif [ "$TARGET" = ours ]; then
  . "$HERE/full-server.sh"
  . "$HERE/remote-server.sh"  # H3: the remote worker and glance-download source (test_remote_*, glance_download)
  trap 'remote_server_down "$FULL_REGION"; full_server_down' EXIT
  full_server_up
  REGION_IMAGE=$FULL_REGION; TARGET_URL="http://$HOST_IP:$FULL_PORT"; CATALOG_TYPE=$FULL_TYPE
  remote_server_up "$FULL_CONF" "$TARGET_URL" "$REGION_IMAGE"; ALTERNATE_IMAGE=$REMOTE_TYPE
else
  . "$HERE/catalog.sh"
  CATALOG_TYPE="image-tempest-$TARGET"
  trap 'KS_TOKEN=$(ks_token) && catalog_unregister "$CATALOG_TYPE" || log "could not unregister $CATALOG_TYPE"' EXIT
  KS_TOKEN=$(ks_token)
  catalog_register "tempest-$TARGET" "$CATALOG_TYPE" "$REGION_IMAGE" "$TARGET_URL"
fi
# web-download's [image] http_image must be on port 80 (glance only fetches from 80/443 by default).
[ -f "$WWW/tiny.qcow2" ] || qemu-img create -f qcow2 "$WWW/tiny.qcow2" 16M >/dev/null
# It outlives the run, so it must not inherit the lock (fd 9): the next run would wait for it forever.
if ! alive http80; then start_bg http80 "$LOG_DIR/http80.log" /usr/bin/python3 -m http.server 80 --bind 127.0.0.1 --directory "$WWW" 9>&-; wait_port 80 10; fi
if [ ! -d "$WS/etc" ]; then
  (cd "$STACK_DIR" && { tempest workspace remove --name "glance-$NAME" >/dev/null 2>&1 || true; tempest init --name "glance-$NAME" "$WS" >/dev/null; })
fi
cat >"$WS/etc/tempest.conf" <<CONF
[DEFAULT]
log_file = tempest.log
[auth]
use_dynamic_credentials = True
admin_username = $OS_USERNAME
admin_password = $OS_PASSWORD
admin_project_name = $OS_PROJECT_NAME
admin_domain_name = Default
create_isolated_networks = False
[identity]
uri_v3 = $OS_AUTH_URL
auth_version = v3
region = $OS_REGION_NAME
v3_endpoint_type = public
admin_role = admin
[identity-feature-enabled]
api_v2 = False
[image]
catalog_type = $CATALOG_TYPE
region = $REGION_IMAGE
endpoint_type = public
http_image = http://127.0.0.1/tiny.qcow2
container_formats = bare,ami,ari,aki,ovf,ova
disk_formats = qcow2,raw,ami,ari,aki,vhd,vmdk,vdi,iso,vhdx
image_caching_enabled = $CACHING
alternate_image_endpoint = ${ALTERNATE_IMAGE:-}
[image-feature-enabled]
api_v2 = True
api_v1 = False
import_image = $IMPORT
os_glance_reserved = True
manage_locations = $LOCATIONS
[enforce_scope]
glance = $ENFORCE_SCOPE
[validation]
run_validation = False
[service_available]
glance = True
nova = False
cinder = False
neutron = False
swift = False
horizon = False
heat = False
placement = False
[oslo_concurrency]
lock_path = $WS/lock
CONF
cd "$WS"
# Every test the selection holds, so a caller can tell a test that never ran from one that passed.
tempest run --list-tests --regex "$REGEX" ${EXCLUDE:+--exclude-list "$EXCLUDE"} 2>/dev/null \
  | sed 's/\[.*\]$//' | grep -E '^[A-Za-z_][A-Za-z0-9_.]*\.test_' | sort -u >"$RESULTS/tempest-$NAME.listed" || true
t0=$(date +%s)
set +e
tempest run --concurrency 2 --regex "$REGEX" ${EXCLUDE:+--exclude-list "$EXCLUDE"} --subunit >"$RESULTS/tempest-$NAME.subunit" 2>"$LOG_DIR/tempest-$NAME.err"
rc=$?
set -e
subunit2pyunit <"$RESULTS/tempest-$NAME.subunit" >"$LOG_DIR/tempest-$NAME.log" 2>&1 || true
# subunit2csv exits non-zero when the stream holds failures; the summary is what reports them.
subunit2csv <"$RESULTS/tempest-$NAME.subunit" >"$RESULTS/tempest-$NAME.csv" 2>/dev/null || true
{
  echo "# tempest run --regex '$REGEX' against $NAME (region $REGION_IMAGE, $TARGET_URL): rc=$rc, wall $(( $(date +%s) - t0 )) s"
  python3 "$HERE/summarize.py" <"$RESULTS/tempest-$NAME.csv"
} >"$RESULTS/tempest-$NAME.txt"
python3 "$HERE/summarize.py" --passed <"$RESULTS/tempest-$NAME.csv" >"$RESULTS/tempest-$NAME.passed"
cat "$RESULTS/tempest-$NAME.txt"
# A run where nothing could reach the server is broken, not a result: say why, loudly.
if ! [ -s "$RESULTS/tempest-$NAME.passed" ]; then
  echo "no test passed against $NAME; the first failure in $LOG_DIR/tempest-$NAME.log:" >&2
  grep -m1 -A3 -E 'Error|Exception' "$LOG_DIR/tempest-$NAME.log" >&2 || true
  exit 1
fi
