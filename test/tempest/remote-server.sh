# Sourced by run.sh for the image suite against ours, after full-server.sh (whose server is the
# primary): what Tempest's distributed import and glance-download tests need.
# - A second server of ours, the "remote" worker of test_remote_import and test_remote_delete
#   ([image] alternate_image_endpoint names its catalog type): a copy of the primary's configuration
#   (same database and stores) with its own port, staging and tasks directories and
#   worker_self_reference_url. An image staged on the primary and imported or deleted through the
#   remote is only handled right if the remote proxies the request to the primary, which holds the
#   staged data. The primary's worker_self_reference_url is set by full-server.sh (marked H3).
# - glance-download finds the image service to download from by type `image` and region in the
#   user's catalog, as upstream does, and Tempest names the region under test. The primary is
#   registered as an `image` service of that region (a service of its own, so nothing else
#   changes), which is where test_image_glance_download_import_success downloads from.
# Both registrations and the server are removed by remote_server_down.
. "$HERE/catalog.sh"

REMOTE_NAME=api-remote
REMOTE_PORT=9396
REMOTE_TYPE=image-remote-ours
REMOTE_CONF="$ETC_DIR/$REMOTE_NAME/glance-api.conf"
REMOTE_LOG="$LOG_DIR/api/$REMOTE_NAME.log"
REMOTE_STATE="$STACK_DIR/glance/$REMOTE_NAME"

remote_write_conf() { # PRIMARY_CONF
  install -d "$(dirname "$REMOTE_CONF")"
  install -d -o glance -g glance "$REMOTE_STATE" "$REMOTE_STATE/staging" "$REMOTE_STATE/tasks"
  python3 - "$1" "$REMOTE_CONF.new" "$REMOTE_PORT" "$REMOTE_LOG" "$REMOTE_STATE" "$HOST_IP" <<'PY'
import configparser, sys
src, dst, port, log, state, host = sys.argv[1:]
conf = configparser.RawConfigParser(strict=False)
conf.optionxform = str
conf.read(src)
conf["DEFAULT"].update(bind_port=port, log_file=log, workers="1",
                       worker_self_reference_url=f"http://{host}:{port}",
                       node_staging_uri=f"file://{state}/staging/")
for reserved, sub in (("os_glance_staging_store", "staging"), ("os_glance_tasks_store", "tasks")):
    conf[reserved] = {"filesystem_store_datadir": f"{state}/{sub}/"}
with open(dst, "w") as f:
    conf.write(f)
PY
  chown root:glance "$REMOTE_CONF.new"; chmod 640 "$REMOTE_CONF.new"; mv "$REMOTE_CONF.new" "$REMOTE_CONF"
}

# The `image` service through which glance-download finds the primary: named for the region, so that
# it can be told from every other service of type image when it is removed.
remote_download_service() { echo "glance-download-$1"; }

remote_unregister_download() { # REGION
  local name id
  name=$(remote_download_service "$1")
  for id in $(ks GET "/services?type=image" | python3 -c 'import json,sys; n=sys.argv[1]; print(" ".join(s["id"] for s in json.load(sys.stdin)["services"] if s["name"]==n))' "$name"); do
    ks DELETE "/services/$id" >/dev/null
  done
}

remote_server_up() { # PRIMARY_CONF PRIMARY_URL REGION
  local primary_conf=$1 primary_url=$2 region=$3 url="http://$HOST_IP:$REMOTE_PORT" svc iface
  remote_write_conf "$primary_conf"
  our_api_server
  tempest_server_start "$REMOTE_NAME" "${REMOTE_LOG%.log}.out" "$url" \
    "${OUR_API[@]}" --config-file "$REMOTE_CONF"
  KS_TOKEN=$(ks_token)
  catalog_register "$REMOTE_NAME" "$REMOTE_TYPE" "$region" "$url"
  remote_unregister_download "$region"
  svc=$(ks POST /services "{\"service\":{\"name\":\"$(remote_download_service "$region")\",\"type\":\"image\",\"description\":\"glance-download source (Tempest run)\"}}" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["service"]["id"])')
  for iface in public internal admin; do
    ks POST /endpoints "{\"endpoint\":{\"service_id\":\"$svc\",\"interface\":\"$iface\",\"region_id\":\"$region\",\"url\":\"$primary_url\"}}" >/dev/null
  done
  log "$REMOTE_NAME: remote worker on $url (type $REMOTE_TYPE); $primary_url is type image in $region"
}

remote_server_down() { # REGION
  KS_TOKEN=$(ks_token) && { catalog_unregister "$REMOTE_TYPE"; remote_unregister_download "$1"; } \
    || log "could not unregister $REMOTE_TYPE or $(remote_download_service "$1")"
  stop_bg "$REMOTE_NAME"
}
