# Our image API (api-server/) beside upstream: the same glance-api.conf but for its port, the same
# database and image directory, registered in Keystone as the `glance` service's endpoints in
# region RegionTwo so the real clients reach it with --os-region-name RegionTwo. Rebuilt and
# restarted when its compiled code changes.
API_PORT=9393
API_REGION=RegionTwo
API_CONF="$ETC_DIR/api/glance-api.conf"
# Its own image cache: upstream's cache directory belongs to upstream's server. Queued images are prefetched
# every few seconds, so that Tempest's caching test does not wait for the 300 s default.
API_CACHE_DIR="$STACK_DIR/api/cache"
API_PREFETCH_INTERVAL=5
# No --enable-source-maps for the served process: it made every process load and keep the maps of all modules
# (~7 MB each, three processes) and made each error's stack costly to format. dist/ mirrors the sources file for file
# (dist/api-server/src/x.js is api-server/src/x.ts), so stack traces stay readable; add the flag when debugging.
API_NODE_FLAGS=""
api_up() {
  local t; t=$(now)
  (cd "$REPO_ROOT" && npm run -s build >"$LOG_DIR/api-build.log" 2>&1) || { tail -20 "$LOG_DIR/api-build.log" >&2; die "building the api-server failed"; }
  install -d "$ETC_DIR/api"; install -d -o glance -g glance "$LOG_DIR/api" "$STACK_DIR/api" "$API_CACHE_DIR"
  glance_upstream_conf | sed -e "s/^bind_port = .*/bind_port = $API_PORT/" \
    -e "s#^log_file = .*#log_file = $LOG_DIR/api/api.log#" -e "s/^region_name = .*/region_name = $REGION/" \
    -e "s#^image_cache_dir = .*#image_cache_dir = $API_CACHE_DIR\ncache_prefetcher_interval = $API_PREFETCH_INTERVAL#" \
    >"$API_CONF.new"
  grep -qx "image_cache_dir = $API_CACHE_DIR" "$API_CONF.new" || die "the api-server config does not set its own image_cache_dir"
  chown root:glance "$API_CONF.new"; chmod 640 "$API_CONF.new"; mv "$API_CONF.new" "$API_CONF"
  local stamp; stamp=$( (cat "$API_CONF"; echo "$API_NODE_FLAGS"; find "$REPO_ROOT/dist/api-server" -type f -name '*.js' -print0 | sort -z | xargs -0 cat) | sha1sum | cut -c1-12)
  if alive api && [ "$(cat "$RUN_DIR/api.stamp" 2>/dev/null)" != "$stamp" ]; then stop_bg api; fi
  if ! alive api; then
    start_bg api "$LOG_DIR/api/api.out" setpriv --reuid=glance --regid=glance --init-groups \
      node $API_NODE_FLAGS "$REPO_ROOT/dist/api-server/src/main.js" --config-file "$API_CONF"
    local i; for i in $(seq 300); do
      [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$HOST_IP:$API_PORT/")" = 300 ] && break
      alive api || { tail -20 "$LOG_DIR/api/api.out" >&2; die "our api-server exited (see $LOG_DIR/api/)"; }
      sleep 0.1; done
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$HOST_IP:$API_PORT/")" = 300 ] || die "our api-server does not answer"
    echo "$stamp" >"$RUN_DIR/api.stamp"
    log "api-server answering in $(since "$t") s"
  fi
  KS_TOKEN=$(ks_token); keystone_register_image_service glance "$API_REGION" "http://$HOST_IP:$API_PORT"; unset KS_TOKEN
}
api_env() {
  cat <<ENV
API_URL=http://$HOST_IP:$API_PORT
API_CONF=$API_CONF
API_REGION=$API_REGION
ENV
}
api_status() {
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$HOST_IP:$API_PORT/")" = 300 ] \
    && echo "api-server (ours): up (http://$HOST_IP:$API_PORT, region $API_REGION)" || echo "api-server (ours): down"
}
