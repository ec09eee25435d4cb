# Sourced by run.sh for the image suite against ours (after scripts/stack/lib.sh and the stack env): a
# second server of ours with every feature Tempest's image tests can exercise, on its own port and in
# its own Keystone region, so that the shared server on :9393 keeps the stack's plain configuration
# (the one upstream's run uses, which parity compares against). It is a copy of the stack's
# configuration of ours (same database, Keystone and file store directory) with:
# - two writable stores, the stack's Ceph pool `images` as user glance and a file store (rbd is the
#   store production multi-store sites pair with a local one, and the only other writable driver
#   here), plus a read-only http store, without which http:// locations have no store under
#   multi-store. They are listed in alphabetical order: Tempest's wait_for_image_imported_to_stores
#   compares the image's `stores` (its locations' stores in the order they were written, as
#   upstream reports them) with the sorted list, and an import to several stores writes them in the
#   order enabled_backends lists them;
# - show_multiple_locations, so the locations API is served (ImageLocationsTest);
# - every import method, and the staging and tasks directories multi-store requires;
# - an image cache directory of its own: the stack's servers share theirs, and a run of the cache
#   tests here must not clear or fill upstream's cache while upstream's run uses it.
. "$HERE/catalog.sh"

FULL_NAME=api-full
FULL_PORT=9395
FULL_REGION=${API_REGION}Full
FULL_TYPE=image-full-ours
FULL_CONF="$ETC_DIR/$FULL_NAME/glance-api.conf"
FULL_LOG="$LOG_DIR/api/$FULL_NAME.log"
FULL_STATE="$STACK_DIR/glance/$FULL_NAME"

full_write_conf() {
  install -d "$(dirname "$FULL_CONF")"
  install -d -o glance -g glance "$FULL_STATE" "$FULL_STATE/staging" "$FULL_STATE/tasks" "$FULL_STATE/cache"
  python3 - "$API_CONF" "$FULL_CONF.new" "$FULL_PORT" "$FULL_LOG" "$FULL_STATE" "$CEPH_CONF" <<'PY'
import configparser, sys
src, dst, port, log, state, ceph_conf = sys.argv[1:]
conf = configparser.RawConfigParser(strict=False)
conf.optionxform = str
conf.read(src)
datadir = conf["glance_store"]["filesystem_store_datadir"]
conf["DEFAULT"].update(
    bind_port=port, log_file=log, workers="2",
    enabled_backends="ceph:rbd, file1:file, web:http",
    show_multiple_locations="True",
    image_cache_dir=f"{state}/cache",
    enabled_import_methods="[glance-direct, web-download, copy-image, glance-download]",
)
# Multi-store reads the stores from enabled_backends; [glance_store] keeps only the default.
conf.remove_section("glance_store")
conf["glance_store"] = {"default_backend": "file1"}
conf["file1"] = {"store_description": "Local disk", "filesystem_store_datadir": datadir}
conf["ceph"] = {"store_description": "Ceph RBD", "rbd_store_pool": "images",
                "rbd_store_user": "glance", "rbd_store_ceph_conf": ceph_conf,
                "rbd_store_chunk_size": "8"}
conf["web"] = {"store_description": "Read-only http locations"}
conf["os_glance_staging_store"] = {"filesystem_store_datadir": f"{state}/staging/"}
conf["os_glance_tasks_store"] = {"filesystem_store_datadir": f"{state}/tasks/"}
# --- H3 (remote-server.sh) begin: the remote worker proxies imports and deletes of images staged
# here to this URL, and glance-download downloads from this server (found through the catalog), so
# the filter must let its port through.
conf["DEFAULT"]["worker_self_reference_url"] = f"http://127.0.0.1:{port}"
if not conf.has_section("import_filtering_opts"):
    conf.add_section("import_filtering_opts")
conf["import_filtering_opts"]["allowed_ports"] = f"[80, 443, {port}]"
# --- H3 end
with open(dst, "w") as f:
    conf.write(f)
PY
  chown root:glance "$FULL_CONF.new"; chmod 640 "$FULL_CONF.new"; mv "$FULL_CONF.new" "$FULL_CONF"
}

full_server_up() {
  full_write_conf
  our_api_server
  tempest_server_start "$FULL_NAME" "${FULL_LOG%.log}.out" "http://$HOST_IP:$FULL_PORT" \
    "${OUR_API[@]}" --config-file "$FULL_CONF"
  KS_TOKEN=$(ks_token)
  catalog_register "$FULL_NAME" "$FULL_TYPE" "$FULL_REGION" "http://$HOST_IP:$FULL_PORT"
  log "$FULL_NAME: multi-store (ceph, file1, web) on http://$HOST_IP:$FULL_PORT, region $FULL_REGION"
}

full_server_down() {
  KS_TOKEN=$(ks_token) && catalog_unregister "$FULL_TYPE" || log "could not unregister $FULL_TYPE"
  KS_TOKEN=$(ks_token) && ks DELETE "/regions/$FULL_REGION" >/dev/null 2>&1 || true
  stop_bg "$FULL_NAME"
}
