# Keystone on http://127.0.0.1:5000/v3: fernet tokens, bootstrapped admin, RegionOne, served by
# Debian's uWSGI (no Apache). 'Connection: close' because uWSGI's http-socket closes each
# connection without saying so, and pooling clients then reuse a dead socket.
keystone_up() {
  local ks_etc="$ETC_DIR/keystone" ks_lib="$STACK_DIR/keystone" t
  install -d "$ks_etc"; install -d -o keystone -g keystone "$ks_lib" "$LOG_DIR/keystone"
  local conf="$ks_etc/keystone.conf" new="$ks_etc/keystone.conf.new"
  cat >"$new" <<CONF
[DEFAULT]
log_file = $LOG_DIR/keystone/keystone.log
[database]
connection = mysql+pymysql://keystone:$(secret KEYSTONE_DB_PASSWORD)@127.0.0.1/keystone
[token]
provider = fernet
[fernet_tokens]
key_repository = $ks_lib/fernet-keys
[fernet_receipts]
key_repository = $ks_lib/fernet-keys
[credential]
key_repository = $ks_lib/credential-keys
CONF
  chown root:keystone "$new"; chmod 640 "$new"
  local changed=0; cmp -s "$new" "$conf" || { mv "$new" "$conf"; changed=1; }; rm -f "$new"
  local km="keystone-manage --config-file $conf"
  if [ ! -f "$ks_lib/.bootstrapped" ] || [ $changed = 1 ]; then
    t=$(now)
    su -s /bin/sh keystone -c "$km db_sync" >"$LOG_DIR/keystone/db_sync.out" 2>&1 || { tail "$LOG_DIR/keystone/db_sync.out" >&2; die "keystone db_sync failed"; }
    [ -e "$ks_lib/fernet-keys/0" ] || $km fernet_setup --keystone-user keystone --keystone-group keystone 2>/dev/null
    [ -e "$ks_lib/credential-keys/0" ] || $km credential_setup --keystone-user keystone --keystone-group keystone 2>/dev/null
    $km bootstrap --bootstrap-password "$(secret ADMIN_PASSWORD)" \
      --bootstrap-admin-url "$KEYSTONE_URL/" --bootstrap-internal-url "$KEYSTONE_URL/" \
      --bootstrap-public-url "$KEYSTONE_URL/" --bootstrap-region-id "$REGION" >"$LOG_DIR/keystone/bootstrap.out" 2>&1 \
      || { tail "$LOG_DIR/keystone/bootstrap.out" >&2; die "keystone bootstrap failed"; }
    chown -R keystone:keystone "$LOG_DIR/keystone"
    touch "$ks_lib/.bootstrapped"
    log "keystone db_sync + bootstrap in $(since "$t") s"
  fi
  # One started before the node's address existed does not listen there: restart it.
  alive keystone && ! (exec 3<>"/dev/tcp/$POD_HOST_IP/5000") 2>/dev/null && changed=1
  [ $changed = 1 ] && stop_bg keystone
  if ! alive keystone; then
    t=$(now)
    start_bg keystone "$LOG_DIR/keystone/uwsgi.out" uwsgi --plugins python3 --http-socket "$HOST_IP:5000" --http-socket "$POD_HOST_IP:5000" \
      --wsgi-file /usr/bin/keystone-wsgi-public --master --processes 2 --threads 2 --enable-threads --lazy-apps \
      --buffer-size 65535 --die-on-term --no-orphans --uid keystone --gid keystone --add-header 'Connection: close' \
      --chdir "$ks_lib" --env OS_KEYSTONE_CONFIG_DIR="$ks_etc" --procname-prefix-spaced keystone-api \
      --logto "$LOG_DIR/keystone/uwsgi.log"
    local i; for i in $(seq 600); do curl -fs -o /dev/null "$KEYSTONE_URL" && break; sleep 0.1; done
    curl -fsS -o /dev/null "$KEYSTONE_URL" || die "keystone does not answer at $KEYSTONE_URL (see $LOG_DIR/keystone/)"
    log "keystone answering in $(since "$t") s"
  fi
  keystone_register_glance
}

# Token by plain HTTP: the openstack CLI costs ~3 s per call, so registration uses the v3 API.
ks_token() {
  curl -fsS -D - -o /dev/null -H 'Content-Type: application/json' "$KEYSTONE_URL/auth/tokens" -d "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":{\"name\":\"admin\",\"domain\":{\"name\":\"Default\"},\"password\":\"$(secret ADMIN_PASSWORD)\"}}},\"scope\":{\"project\":{\"name\":\"admin\",\"domain\":{\"name\":\"Default\"}}}}}" \
    | awk -F': ' 'tolower($1)=="x-subject-token"{print $2}' | tr -d '\r'
}
ks() { # ks METHOD PATH [JSON]
  curl -fsS -X "$1" -H "X-Auth-Token: $KS_TOKEN" -H 'Content-Type: application/json' "$KEYSTONE_URL$2" ${3:+-d "$3"}
}
ks_id() { python3 -c 'import json,sys; d=json.load(sys.stdin); k=sys.argv[1]; v=d[k]; print(v[0]["id"] if v else "")' "$1"; }

# The install guide's registration for a Glance service: project service, user glance with role
# admin on it, and per region a service of type image with public/internal/admin endpoints.
# Arguments: service name, region, URL.
keystone_register_image_service() {
  local name=$1 region=$2 url=$3
  KS_TOKEN=${KS_TOKEN:-$(ks_token)}
  ks GET "/regions/$region" >/dev/null 2>&1 || ks POST /regions "{\"region\":{\"id\":\"$region\"}}" >/dev/null
  local svc; svc=$(ks GET "/services?type=image" | python3 -c 'import json,sys; n=sys.argv[1]; print(next((s["id"] for s in json.load(sys.stdin)["services"] if s["name"]==n),""))' "$name")
  [ -n "$svc" ] || svc=$(ks POST /services "{\"service\":{\"name\":\"$name\",\"type\":\"image\",\"description\":\"OpenStack Image\"}}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["service"]["id"])')
  local iface eps
  eps=$(ks GET "/endpoints?service_id=$svc&region_id=$region")
  for iface in public internal admin; do
    echo "$eps" | python3 -c 'import json,sys; i,u=sys.argv[1:]; sys.exit(0 if any(e["interface"]==i and e["url"]==u for e in json.load(sys.stdin)["endpoints"]) else 1)' "$iface" "$url" \
      || ks POST /endpoints "{\"endpoint\":{\"service_id\":\"$svc\",\"interface\":\"$iface\",\"region_id\":\"$region\",\"url\":\"$url\"}}" >/dev/null
  done
}

keystone_register_glance() {
  KS_TOKEN=$(ks_token)
  local proj user role
  proj=$(ks GET "/projects?name=service" | ks_id projects)
  [ -n "$proj" ] || proj=$(ks POST /projects '{"project":{"name":"service","domain_id":"default","description":"Service Project"}}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["project"]["id"])')
  user=$(ks GET "/users?name=glance" | ks_id users)
  if [ -z "$user" ]; then
    user=$(ks POST /users "{\"user\":{\"name\":\"glance\",\"domain_id\":\"default\",\"password\":\"$(secret GLANCE_SERVICE_PASSWORD)\"}}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["user"]["id"])')
  fi
  role=$(ks GET "/roles?name=admin" | ks_id roles)
  ks PUT "/projects/$proj/users/$user/roles/$role" >/dev/null
  # Tempest and the RBAC personas need the reader and member roles (Keystone 22 bootstraps them).
  keystone_register_image_service glance "$REGION" "http://$HOST_IP:$UPSTREAM_GLANCE_PORT"
  unset KS_TOKEN
}
keystone_status() { curl -fs -o /dev/null "$KEYSTONE_URL" && echo "keystone: up ($KEYSTONE_URL)" || echo "keystone: down"; }
