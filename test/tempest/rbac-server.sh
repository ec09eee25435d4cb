# Sourced by run.sh --rbac (after scripts/stack/lib.sh and the stack env): a second server of the
# target, with secure RBAC, on its own port and in its own Keystone region. It is a copy of the
# stack's configuration of that server (same database, image directory and Keystone), so that the
# shared servers, which other tests use with legacy policy, are left alone.
. "$HERE/catalog.sh"

rbac_server_vars() { # TARGET → RBAC_NAME RBAC_TYPE RBAC_PORT RBAC_REGION RBAC_SRC RBAC_CONF RBAC_LOG
  case "$1" in
    ours) RBAC_NAME=api-rbac; RBAC_PORT=9394; RBAC_REGION=${API_REGION}Rbac; RBAC_SRC=$API_CONF
      RBAC_LOG="$LOG_DIR/api/api-rbac.log" ;;
    upstream) RBAC_NAME=glance-upstream-rbac; RBAC_PORT=9294; RBAC_REGION=${OS_REGION_NAME}Rbac
      RBAC_SRC=$UPSTREAM_GLANCE_CONF; RBAC_LOG="$LOG_DIR/glance/glance-api-rbac.log" ;;
  esac
  RBAC_CONF="$ETC_DIR/$RBAC_NAME/glance-api.conf"; RBAC_TYPE="image-rbac-$1"
}

# The options upstream's RBAC jobs set: new defaults and scope checks (glance refuses to start
# unless enforce_secure_rbac equals enforce_new_defaults).
rbac_write_conf() {
  install -d "$(dirname "$RBAC_CONF")"
  python3 - "$RBAC_SRC" "$RBAC_CONF.new" "$RBAC_PORT" "$RBAC_LOG" <<'PY'
import configparser, sys
src, dst, port, log = sys.argv[1:]
conf = configparser.RawConfigParser(strict=False)
conf.optionxform = str
conf.read(src)
conf["DEFAULT"].update(bind_port=port, log_file=log, enforce_secure_rbac="True")
if not conf.has_section("oslo_policy"):
    conf.add_section("oslo_policy")
conf["oslo_policy"].update(enforce_scope="True", enforce_new_defaults="True")
with open(dst, "w") as f:
    conf.write(f)
PY
  chown root:glance "$RBAC_CONF.new"; chmod 640 "$RBAC_CONF.new"; mv "$RBAC_CONF.new" "$RBAC_CONF"
}

rbac_server_up() {
  rbac_server_vars "$1"
  rbac_write_conf
  local cmd
  case "$1" in
    ours) our_api_server; cmd=("${OUR_API[@]}" --config-file "$RBAC_CONF") ;;
    upstream) cmd=(glance-api --config-file "$RBAC_CONF") ;;
  esac
  tempest_server_start "$RBAC_NAME" "${RBAC_LOG%.log}.out" "http://$HOST_IP:$RBAC_PORT" "${cmd[@]}"
  KS_TOKEN=$(ks_token)
  catalog_register "$RBAC_NAME" "$RBAC_TYPE" "$RBAC_REGION" "http://$HOST_IP:$RBAC_PORT"
  log "$RBAC_NAME: secure RBAC on http://$HOST_IP:$RBAC_PORT, region $RBAC_REGION"
}

rbac_server_down() {
  rbac_server_vars "$1"
  KS_TOKEN=$(ks_token) && catalog_unregister "$RBAC_TYPE" || log "could not unregister region $RBAC_REGION"
  stop_bg "$RBAC_NAME"
}
