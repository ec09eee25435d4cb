# Sourced by run.sh: the target's entry in the Keystone catalog for one Tempest run.
# Tempest takes the first service of its catalog_type in the catalog, whatever the region, and
# other work on this stack (GlanceServices, the demo) registers more services of type image. So
# each run registers the server it tests as a service of a type of its own, which the run's
# tempest.conf names, and removes it afterwards: what else is in the catalog cannot steer it.
. "$HERE/../../scripts/stack/keystone.sh"

catalog_register() { # NAME TYPE REGION URL
  local name=$1 type=$2 region=$3 url=$4 svc iface
  catalog_unregister "$type"
  ks GET "/regions/$region" >/dev/null 2>&1 || ks POST /regions "{\"region\":{\"id\":\"$region\"}}" >/dev/null
  svc=$(ks POST /services "{\"service\":{\"name\":\"$name\",\"type\":\"$type\",\"description\":\"Image service under test (Tempest run)\"}}" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["service"]["id"])')
  for iface in public internal admin; do
    ks POST /endpoints "{\"endpoint\":{\"service_id\":\"$svc\",\"interface\":\"$iface\",\"region_id\":\"$region\",\"url\":\"$url\"}}" >/dev/null
  done
}

catalog_unregister() { # TYPE — deleting a service deletes its endpoints
  local id
  for id in $(ks GET "/services?type=$1" | python3 -c 'import json,sys; print(" ".join(s["id"] for s in json.load(sys.stdin)["services"]))'); do
    ks DELETE "/services/$id" >/dev/null
  done
}

# Our api-server as glance, from the copy the stack installed (scripts/stack/api.sh), which glance can read wherever
# the clone is, on the project's Node: `npm run stack -- up` refreshes it after a change. Sets OUR_API.
our_api_server() {
  local node main
  node=$(sed -n 's/^API_NODE=//p' "$STACK_ENV"); main=$(sed -n 's/^API_MAIN=//p' "$STACK_ENV")
  [ -x "$node" ] && [ -f "$main" ] || die "$STACK_ENV names no installed api-server: run npm run stack -- up"
  OUR_API=("$node" --enable-source-maps "$main")
}
tempest_server_start() { # NAME OUT URL COMMAND… — a server for one run, as glance, answering 300 at URL/
  local name=$1 out=$2 url=$3 i; shift 3
  # A run killed before its cleanup may have left one behind; the caller holds the run's lock, so it is ours.
  stop_bg "$name"
  start_bg "$name" "$out" setpriv --reuid=glance --regid=glance --init-groups "$@" 9>&-
  for i in $(seq 600); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/")" = 300 ] && return 0
    alive "$name" || { tail -20 "$out" >&2; die "$name exited"; }
    sleep 0.1
  done
  die "$name does not answer at $url"
}
