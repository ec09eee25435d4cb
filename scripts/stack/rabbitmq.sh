# RabbitMQ (Debian rabbitmq-server) as the install guide sets it up: an `openstack` user with configure, write and
# read permissions on the default vhost, for Glance's notifications. It listens on 127.0.0.1:5672 and on
# $POD_HOST_IP:5672 for the pods; Erlang's node-to-node port and epmd stay on loopback.
RABBIT_DIR="$STACK_DIR/rabbitmq"
RABBIT_PORT=5672
rabbit_ctl() {
  runuser -u rabbitmq -- env HOME=/var/lib/rabbitmq RABBITMQ_NODENAME=rabbit@localhost \
    /usr/lib/rabbitmq/bin/rabbitmqctl "$@"
}
rabbitmq_up() {
  local t; t=$(now)
  install -d -o rabbitmq -g rabbitmq "$RABBIT_DIR" "$RABBIT_DIR/mnesia" "$LOG_DIR/rabbitmq"
  install -d "$ETC_DIR/rabbitmq"
  write_if_changed "$ETC_DIR/rabbitmq/rabbitmq.conf" <<CONF
listeners.tcp.1 = 127.0.0.1:$RABBIT_PORT
listeners.tcp.2 = $POD_HOST_IP:$RABBIT_PORT
# The openstack user is reached from the pods, not only from loopback.
loopback_users = none
CONF
  chmod 644 "$ETC_DIR/rabbitmq/rabbitmq.conf"
  [ -f "$ETC_DIR/rabbitmq/enabled_plugins" ] || echo '[].' >"$ETC_DIR/rabbitmq/enabled_plugins"
  chmod 644 "$ETC_DIR/rabbitmq/enabled_plugins"
  if ensure_bg rabbitmq "$LOG_DIR/rabbitmq/rabbitmq.out" env HOME=/var/lib/rabbitmq ERL_EPMD_ADDRESS=127.0.0.1 \
    RABBITMQ_NODENAME=rabbit@localhost RABBITMQ_MNESIA_BASE="$RABBIT_DIR/mnesia" \
    RABBITMQ_LOG_BASE="$LOG_DIR/rabbitmq" RABBITMQ_CONFIG_FILE="$ETC_DIR/rabbitmq/rabbitmq.conf" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$ETC_DIR/rabbitmq/enabled_plugins" \
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
    runuser -u rabbitmq -- /usr/lib/rabbitmq/bin/rabbitmq-server; then
    wait_port "$RABBIT_PORT" 120 || { tail -20 "$LOG_DIR/rabbitmq/rabbitmq.out" >&2; die "rabbitmq did not start"; }
    log "rabbitmq up in $(since "$t") s"
  fi
  # The listener answers a moment before the broker takes commands; each wait is bounded (about 6 min in all).
  local i; for i in $(seq 60); do rabbit_ctl await_startup --timeout 5 >/dev/null 2>&1 && break; sleep 1; done
  rabbit_ctl await_startup --timeout 5 >/dev/null 2>&1 \
    || { tail -20 "$LOG_DIR/rabbitmq/rabbitmq.out" >&2; die "rabbitmq did not finish starting"; }
  local pw; pw=$(secret RABBIT_PASSWORD)
  rabbit_ctl add_user openstack "$pw" >/dev/null 2>&1 || rabbit_ctl change_password openstack "$pw" >/dev/null
  rabbit_ctl set_permissions -p / openstack '.*' '.*' '.*' >/dev/null
}
rabbitmq_status() {
  (exec 3<>"/dev/tcp/127.0.0.1/$RABBIT_PORT") 2>/dev/null \
    && echo "rabbitmq: up (127.0.0.1:$RABBIT_PORT, $POD_HOST_IP:$RABBIT_PORT)" || echo "rabbitmq: down"
}
rabbitmq_env() {
  echo "TRANSPORT_URL=rabbit://openstack:$(secret RABBIT_PASSWORD)@$HOST_IP:$RABBIT_PORT/"
  echo "POD_TRANSPORT_URL=rabbit://openstack:$(secret RABBIT_PASSWORD)@$POD_HOST_IP:$RABBIT_PORT/"
}
