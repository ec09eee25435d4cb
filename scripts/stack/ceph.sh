# A one-node Ceph (Debian's Pacific): mon a, mgr x, one bluestore OSD on a sparse file, pools of
# size 1, no cephadm and no systemd. client.admin's keyring is /etc/ceph/ceph.client.admin.keyring.
# Also the reference deployment's pool `images` and client.glance with the install guide's caps.
# The monitor and the OSD listen on $POD_HOST_IP, which this machine and the pods both reach (a Ceph daemon has
# one address, which the maps give to every client).
CEPH_DIR="$STACK_DIR/ceph"
CEPH_MON_ADDR="[v2:$POD_HOST_IP:3300,v1:$POD_HOST_IP:6789]"
CEPH_OSD_SIZE_GB="${CEPH_OSD_SIZE_GB:-8}"
ceph_write_conf() {
  local fsid=$1
  install -d /etc/ceph
  cat >/etc/ceph/ceph.conf <<CONF
[global]
fsid = $fsid
mon_initial_members = a
mon_host = $CEPH_MON_ADDR
public_network = $POD_HOST_IP/32
auth_cluster_required = cephx
auth_service_required = cephx
auth_client_required = cephx
auth_allow_insecure_global_id_reclaim = false
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_crush_chooseleaf_type = 0
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
mon_data_avail_warn = 5
[mon]
run_dir = $RUN_DIR/ceph
log_file = $LOG_DIR/ceph/\$cluster-\$name.log
mon_data = $CEPH_DIR/mon/\$cluster-\$id
mon_allow_pool_delete = true
[mgr]
run_dir = $RUN_DIR/ceph
log_file = $LOG_DIR/ceph/\$cluster-\$name.log
mgr_data = $CEPH_DIR/mgr/\$cluster-\$id
[osd]
run_dir = $RUN_DIR/ceph
log_file = $LOG_DIR/ceph/\$cluster-\$name.log
osd_data = $CEPH_DIR/osd/\$cluster-\$id
osd_objectstore = bluestore
# the block file must not be inside osd_data (mkfs links osd_data/block to it)
bluestore_block_path = $CEPH_DIR/osd/\$cluster-\$id.block
bluestore_block_create = true
bluestore_block_size = $((CEPH_OSD_SIZE_GB * 1024 * 1024 * 1024))
osd_memory_target = 1073741824
CONF
}

ceph_up() {
  local t0 t; t0=$(now)
  install -d "$CEPH_DIR" "$LOG_DIR/ceph" "$RUN_DIR/ceph"
  # A cluster made by an older stack on another address is test data: it is made again on this one.
  if [ -f "$CEPH_DIR/mon/ceph-a/done" ] && [ "$(cat "$CEPH_DIR/mon.addr" 2>/dev/null)" != "$CEPH_MON_ADDR" ]; then
    log "ceph: the monitor moves to $CEPH_MON_ADDR; making the one-node cluster again"
    stop_bg ceph-osd; stop_bg ceph-mgr; stop_bg ceph-mon
    rm -rf "$CEPH_DIR/mon" "$CEPH_DIR/mgr" "$CEPH_DIR/osd" "$CEPH_DIR/osd.id" "$CEPH_DIR/osd.uuid" "$CEPH_DIR/osd.secret"
  fi
  [ -s "$CEPH_DIR/fsid" ] || uuidgen >"$CEPH_DIR/fsid"
  ceph_write_conf "$(cat "$CEPH_DIR/fsid")"
  local mon_dir="$CEPH_DIR/mon/ceph-a"
  if [ ! -f "$mon_dir/done" ]; then
    rm -rf "$mon_dir"; install -d "$mon_dir"
    ceph-authtool --create-keyring "$CEPH_DIR/mon.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
    ceph-authtool --create-keyring /etc/ceph/ceph.client.admin.keyring --gen-key -n client.admin \
      --cap mon 'allow *' --cap osd 'allow *' --cap mds 'allow *' --cap mgr 'allow *' >/dev/null
    ceph-authtool "$CEPH_DIR/mon.keyring" --import-keyring /etc/ceph/ceph.client.admin.keyring >/dev/null
    monmaptool --create --clobber --addv a "$CEPH_MON_ADDR" --fsid "$(cat "$CEPH_DIR/fsid")" "$CEPH_DIR/monmap" >/dev/null
    ceph-mon --mkfs -i a --monmap "$CEPH_DIR/monmap" --keyring "$CEPH_DIR/mon.keyring"
    echo "$CEPH_MON_ADDR" >"$CEPH_DIR/mon.addr"
    touch "$mon_dir/done"
  fi
  if ! alive ceph-mon; then
    t=$(now); start_bg ceph-mon "$LOG_DIR/ceph/mon.out" ceph-mon -f -i a
    timeout 60 sh -c 'until ceph -s >/dev/null 2>&1; do sleep 0.5; done' || die "ceph-mon did not answer"
    log "ceph-mon up in $(since "$t") s"
  fi
  ceph mon enable-msgr2 >/dev/null 2>&1 || true
  # dashboard and restful cannot both load in one mgr (PyO3); keep dashboard off.
  ceph config set mgr mgr_disabled_modules diskprediction_local,dashboard
  local mgr_dir="$CEPH_DIR/mgr/ceph-x"; install -d "$mgr_dir"
  [ -s "$mgr_dir/keyring" ] || ceph auth get-or-create mgr.x mon 'allow profile mgr' osd 'allow *' mds 'allow *' -o "$mgr_dir/keyring"
  if ! alive ceph-mgr; then
    t=$(now); start_bg ceph-mgr "$LOG_DIR/ceph/mgr.out" ceph-mgr -f -i x
    timeout 120 sh -c 'until ceph mgr stat -f json 2>/dev/null | grep -Eq "\"available\": ?true"; do sleep 0.5; done' || die "ceph-mgr not available"
    log "ceph-mgr available in $(since "$t") s"
  fi
  if [ ! -f "$CEPH_DIR/osd.id" ]; then
    [ -s "$CEPH_DIR/osd.uuid" ] || uuidgen >"$CEPH_DIR/osd.uuid"
    [ -s "$CEPH_DIR/osd.secret" ] || ceph-authtool --gen-print-key >"$CEPH_DIR/osd.secret"
    local uuid secret id
    uuid=$(cat "$CEPH_DIR/osd.uuid"); secret=$(cat "$CEPH_DIR/osd.secret")
    id=$(echo "{\"cephx_secret\": \"$secret\"}" | ceph osd new "$uuid" -i -)
    rm -rf "$CEPH_DIR/osd/ceph-$id" "$CEPH_DIR/osd/ceph-$id.block"; install -d "$CEPH_DIR/osd/ceph-$id"
    ceph-authtool --create-keyring "$CEPH_DIR/osd/ceph-$id/keyring" --name "osd.$id" --add-key "$secret" >/dev/null
    ceph-osd -i "$id" --mkfs --osd-uuid "$uuid" >"$LOG_DIR/ceph/osd-mkfs.out" 2>&1 || die "ceph-osd mkfs failed"
    echo "$id" >"$CEPH_DIR/osd.id"
  fi
  if ! alive ceph-osd; then
    t=$(now); start_bg ceph-osd "$LOG_DIR/ceph/osd.out" ceph-osd -f -i "$(cat "$CEPH_DIR/osd.id")"
    timeout 120 sh -c 'until ceph osd stat | grep -q "1 up"; do sleep 0.5; done' || die "ceph-osd not up"
    log "ceph-osd up in $(since "$t") s"
  fi
  ceph osd pool ls | grep -x images >/dev/null || ceph osd pool create images 32 32 replicated >/dev/null 2>&1
  ceph osd pool set images size 1 --yes-i-really-mean-it >/dev/null 2>&1
  ceph osd pool application get images 2>/dev/null | grep -q rbd || rbd pool init images
  ceph auth get-or-create client.glance mon 'allow r' \
    osd 'allow class-read object_prefix rbd_children, allow rwx pool=images' -o /etc/ceph/ceph.client.glance.keyring
  chgrp glance /etc/ceph/ceph.client.glance.keyring 2>/dev/null; chmod 640 /etc/ceph/ceph.client.glance.keyring
  timeout 300 sh -c 'until ceph health | grep -q HEALTH_OK; do sleep 1; done' || log "ceph health: $(ceph health detail | head -3)"
  log "ceph ready ($(ceph health)) in $(since "$t0") s"
}
ceph_status() { timeout 10 ceph health 2>/dev/null | sed 's/^/ceph: /' || echo "ceph: down"; }
