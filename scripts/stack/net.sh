# The node's network: a network namespace ($NODE_NETNS) joined to this one by the veth pair gs-host/gs-node on a /30.
# containerd, the kubelet, kube-proxy and CoreDNS run inside it, so the pods' bridge, their routes and every
# iptables rule kube-proxy writes exist only there. That namespace has no default route and this one does not
# forward (net.ipv4.ip_forward stays as it was, 0 here), so nothing a pod sends can leave the machine; this
# namespace routes the pod and Service ranges into the node's, so no packet for them takes the default route either.
NET_HOST_IF=gs-host
NET_NODE_IF=gs-node

# in_node CMD...: run CMD in the node's network namespace only (nsenter, not `ip netns exec`, which would also give
# it a mount namespace of its own: the kubelet's volume mounts must be seen by containerd and by this host).
in_node() { nsenter --net="/run/netns/$NODE_NETNS" -- "$@"; }

net_up() {
  [ -e "/run/netns/$NODE_NETNS" ] || ip netns add "$NODE_NETNS"
  if ! ip link show "$NET_HOST_IF" >/dev/null 2>&1; then
    ip link add "$NET_HOST_IF" type veth peer name "$NET_NODE_IF" netns "$NODE_NETNS"
  fi
  ip addr replace "$POD_HOST_IP/30" dev "$NET_HOST_IF"
  ip link set "$NET_HOST_IF" up
  ip -n "$NODE_NETNS" addr replace "$NODE_IP/30" dev "$NET_NODE_IF"
  ip -n "$NODE_NETNS" link set "$NET_NODE_IF" up
  ip -n "$NODE_NETNS" link set lo up
  ip route replace "$POD_CIDR" via "$NODE_IP" dev "$NET_HOST_IF"
  ip route replace "$SERVICE_CIDR" via "$NODE_IP" dev "$NET_HOST_IF"
  # The node routes between its pods' bridge and the link; bridged pod traffic passes iptables, which
  # kube-proxy's Service rules need (both settings belong to the namespace).
  in_node sysctl -qw net.ipv4.ip_forward=1
  in_node sysctl -qw net.bridge.bridge-nf-call-iptables=1 2>/dev/null \
    || { modprobe br_netfilter 2>/dev/null; in_node sysctl -qw net.bridge.bridge-nf-call-iptables=1; } \
    || die "bridge netfilter is not available (kube-proxy's Service rules would not see pod traffic)"
  # Pods reach this machine's services from the node's address, as they would reach a database outside a cluster.
  in_node iptables -t nat -C POSTROUTING -s "$POD_CIDR" -o "$NET_NODE_IF" -j MASQUERADE 2>/dev/null \
    || in_node iptables -t nat -A POSTROUTING -s "$POD_CIDR" -o "$NET_NODE_IF" -j MASQUERADE
}
net_down() {
  ip route del "$POD_CIDR" 2>/dev/null || true
  ip route del "$SERVICE_CIDR" 2>/dev/null || true
  ip link del "$NET_HOST_IF" 2>/dev/null || true
  ip netns del "$NODE_NETNS" 2>/dev/null || true
}
net_status() {
  ip link show "$NET_HOST_IF" >/dev/null 2>&1 && [ -e "/run/netns/$NODE_NETNS" ] \
    && echo "node network: up (netns $NODE_NETNS, host $POD_HOST_IP, node $NODE_IP, pods $POD_CIDR, services $SERVICE_CIDR)" \
    || echo "node network: down"
}
