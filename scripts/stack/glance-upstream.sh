# Upstream Glance (Debian glance-api, eventlet server, as Debian's init script runs it) on port
# 9292, on the same Keystone and MariaDB, with the install guide's file store. It is the reference
# our API is compared with. Its image directory is shared with our API so that images are readable
# through either. Its server takes one address: all of them (Glance's own default), so that the
# pods reach it at $POD_HOST_IP as this machine does at 127.0.0.1. It publishes notifications to the stack's
# RabbitMQ as the install guide configures them: the reference for ours.
GLANCE_LIB="$STACK_DIR/glance"
UPSTREAM_GLANCE_CONF="$ETC_DIR/glance/glance-api.conf"
glance_upstream_conf() {
  cat <<CONF
[DEFAULT]
bind_host = 0.0.0.0
bind_port = $UPSTREAM_GLANCE_PORT
workers = 2
log_file = $LOG_DIR/glance/glance-api.log
image_cache_dir = $GLANCE_LIB/cache
show_image_direct_url = False
enforce_secure_rbac = False
transport_url = rabbit://openstack:$(secret RABBIT_PASSWORD)@$HOST_IP:$RABBIT_PORT/
[oslo_messaging_notifications]
driver = messagingv2
topics = notifications
[oslo_messaging_rabbit]
default_notification_exchange = glance
[database]
connection = mysql+pymysql://glance:$(secret GLANCE_DB_PASSWORD)@127.0.0.1/glance
[keystone_authtoken]
www_authenticate_uri = http://$HOST_IP:5000
auth_url = http://$HOST_IP:5000
memcached_servers =
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = glance
password = $(secret GLANCE_SERVICE_PASSWORD)
region_name = $REGION
[paste_deploy]
flavor = keystone
[glance_store]
stores = file,http
default_store = file
filesystem_store_datadir = $GLANCE_LIB/images/
[os_glance_staging_store]
filesystem_store_datadir = $GLANCE_LIB/staging/
[os_glance_tasks_store]
filesystem_store_datadir = $GLANCE_LIB/tasks/
[oslo_concurrency]
lock_path = $GLANCE_LIB/locks
[oslo_policy]
enforce_scope = False
enforce_new_defaults = False
[import_filtering_opts]
allowed_hosts = [127.0.0.1]
CONF
}
glance_upstream_up() {
  local t
  install -d "$ETC_DIR/glance"
  install -d -o glance -g glance "$GLANCE_LIB" "$GLANCE_LIB/images" "$GLANCE_LIB/staging" "$GLANCE_LIB/tasks" \
    "$GLANCE_LIB/locks" "$GLANCE_LIB/cache" "$LOG_DIR/glance"
  local new="$UPSTREAM_GLANCE_CONF.new" changed=0
  glance_upstream_conf >"$new"; chown root:glance "$new"; chmod 640 "$new"
  cmp -s "$new" "$UPSTREAM_GLANCE_CONF" && rm -f "$new" || { mv "$new" "$UPSTREAM_GLANCE_CONF"; changed=1; }
  if [ ! -f "$GLANCE_LIB/.synced" ] || [ $changed = 1 ]; then
    t=$(now)
    su -s /bin/sh glance -c "glance-manage --config-file $UPSTREAM_GLANCE_CONF db_sync" >"$LOG_DIR/glance/db_sync.out" 2>&1 \
      || { tail -20 "$LOG_DIR/glance/db_sync.out" >&2; die "glance-manage db_sync failed"; }
    su -s /bin/sh glance -c "glance-manage --config-file $UPSTREAM_GLANCE_CONF db_load_metadefs /etc/glance/metadefs" \
      >"$LOG_DIR/glance/metadefs.out" 2>&1 || log "db_load_metadefs: $(tail -1 "$LOG_DIR/glance/metadefs.out")"
    touch "$GLANCE_LIB/.synced"
    log "glance-manage db_sync + db_load_metadefs in $(since "$t") s"
  fi
  [ $changed = 1 ] && stop_bg glance-upstream
  if ! alive glance-upstream; then
    t=$(now)
    start_bg glance-upstream "$LOG_DIR/glance/glance-api.out" setpriv --reuid=glance --regid=glance --init-groups \
      glance-api --config-file "$UPSTREAM_GLANCE_CONF"
    local i; for i in $(seq 600); do
      [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$HOST_IP:$UPSTREAM_GLANCE_PORT/")" = 300 ] && break
      alive glance-upstream || { tail -5 "$LOG_DIR/glance/glance-api.out" "$LOG_DIR/glance/glance-api.log" >&2; die "glance-api exited"; }
      sleep 0.1; done
    log "upstream glance-api answering in $(since "$t") s"
  fi
}
glance_upstream_status() {
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$HOST_IP:$UPSTREAM_GLANCE_PORT/")" = 300 ] \
    && echo "glance-api (upstream): up (http://$HOST_IP:$UPSTREAM_GLANCE_PORT)" || echo "glance-api (upstream): down"
}
