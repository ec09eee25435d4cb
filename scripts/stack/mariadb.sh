# MariaDB on 127.0.0.1:3306 (and $POD_HOST_IP:3306 for the pods) with an admin account for the operator and tests,
# and the keystone + glance databases the reference services use. The pods arrive from the node's address, this
# machine's processes that use the pods' address from that address.
mariadb_up() {
  local t; t=$(now)
  if ! mysqladmin -u root ping >/dev/null 2>&1; then
    install -d -o mysql -g mysql /run/mysqld "$RUN_DIR/mysql" "$LOG_DIR/mysql"
    [ -d /var/lib/mysql/mysql ] || mariadb-install-db --user=mysql --datadir=/var/lib/mysql >"$LOG_DIR/mariadb-install.log" 2>&1
    start_bg mariadb "$LOG_DIR/mariadb.out" /usr/sbin/mariadbd --user=mysql --bind-address="127.0.0.1,$POD_HOST_IP" --port=3306 \
      --pid-file="$RUN_DIR/mysql/mariadbd.pid" --log-error="$LOG_DIR/mysql/mariadb.err" \
      --max-connections=500 --innodb-buffer-pool-size=256M
    local i; for i in $(seq 300); do mysqladmin -u root ping >/dev/null 2>&1 && break; sleep 0.2; done
    mysqladmin -u root ping >/dev/null 2>&1 || { tail -20 "$LOG_DIR/mysql/mariadb.err" >&2; die "mariadb did not start"; }
    log "mariadb up in $(since "$t") s"
  fi
  # Started before the node's address existed (or by an older stack): it must listen there too.
  if ! (exec 3<>"/dev/tcp/$POD_HOST_IP/3306") 2>/dev/null; then
    alive mariadb && { stop_bg mariadb; mariadb_up; return; }
    die "mariadb does not listen on $POD_HOST_IP:3306 and was not started by this stack"
  fi
  local admin_pw ks_pw gl_pw
  admin_pw=$(secret DB_ADMIN_PASSWORD); ks_pw=$(secret KEYSTONE_DB_PASSWORD); gl_pw=$(secret GLANCE_DB_PASSWORD)
  mysql -u root <<SQL
CREATE USER IF NOT EXISTS 'stackadmin'@'127.0.0.1' IDENTIFIED BY '$admin_pw';
CREATE USER IF NOT EXISTS 'stackadmin'@'localhost' IDENTIFIED BY '$admin_pw';
CREATE USER IF NOT EXISTS 'stackadmin'@'$NODE_IP' IDENTIFIED BY '$admin_pw';
CREATE USER IF NOT EXISTS 'stackadmin'@'$POD_HOST_IP' IDENTIFIED BY '$admin_pw';
ALTER USER 'stackadmin'@'127.0.0.1' IDENTIFIED BY '$admin_pw';
ALTER USER 'stackadmin'@'localhost' IDENTIFIED BY '$admin_pw';
ALTER USER 'stackadmin'@'$NODE_IP' IDENTIFIED BY '$admin_pw';
ALTER USER 'stackadmin'@'$POD_HOST_IP' IDENTIFIED BY '$admin_pw';
GRANT ALL PRIVILEGES ON *.* TO 'stackadmin'@'127.0.0.1' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO 'stackadmin'@'localhost' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO 'stackadmin'@'$NODE_IP' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO 'stackadmin'@'$POD_HOST_IP' WITH GRANT OPTION;
CREATE DATABASE IF NOT EXISTS keystone;
CREATE DATABASE IF NOT EXISTS glance;
GRANT ALL PRIVILEGES ON keystone.* TO 'keystone'@'localhost' IDENTIFIED BY '$ks_pw';
GRANT ALL PRIVILEGES ON keystone.* TO 'keystone'@'%' IDENTIFIED BY '$ks_pw';
GRANT ALL PRIVILEGES ON glance.* TO 'glance'@'localhost' IDENTIFIED BY '$gl_pw';
GRANT ALL PRIVILEGES ON glance.* TO 'glance'@'%' IDENTIFIED BY '$gl_pw';
FLUSH PRIVILEGES;
SQL
}
mariadb_status() { mysqladmin -u root ping >/dev/null 2>&1 && echo "mariadb: up (127.0.0.1:3306, $POD_HOST_IP:3306)" || echo "mariadb: down"; }
