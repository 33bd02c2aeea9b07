#!/usr/bin/env bash
# A real streaming replica of the local PostgreSQL primary, for the router's reads that may lag
# (shop/db_router.py) and the tests that need one (tests/shop/test_replica.py).
#
#   deploy/replica.sh start    # idempotent: running already, started again, or built afresh
#   deploy/replica.sh stop
#   deploy/replica.sh status   # exit 0 when the replica streams from the primary
#   deploy/replica.sh rebuild  # throw the copy away and take a new base backup
#
# start takes a base backup of the whole primary cluster (pg_basebackup -R: it writes
# standby.signal and primary_conninfo) into REPLICA_DIR and runs PostgreSQL's own server on it
# in hot-standby mode on REPLICA_PORT. The primary must accept replication connections from
# 127.0.0.1: if it does not, start adds one trust line to its pg_hba.conf and reloads it.
# Then DATABASE_REPLICA_URL=postgres://postgres@127.0.0.1:5433/<database>.
set -euo pipefail

PRIMARY_HOST=${PRIMARY_HOST:-127.0.0.1}
PRIMARY_PORT=${PRIMARY_PORT:-5432}
PG_USER=${PG_USER:-postgres}
REPLICA_PORT=${REPLICA_PORT:-5433}
REPLICA_DIR=${REPLICA_DIR:-/var/lib/postgresql/shop-replica}
OS_USER=${REPLICA_OS_USER:-postgres}

log() { printf 'replica: %s\n' "$*"; }

primary_sql() { psql -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U "$PG_USER" -XAtqc "$1"; }
replica_sql() { psql -h 127.0.0.1 -p "$REPLICA_PORT" -U "$PG_USER" -d postgres -XAtqc "$1"; }

as_owner() {
  if [ "$(id -un)" = "$OS_USER" ]; then "$@"; else runuser -u "$OS_USER" -- "$@"; fi
}

bin_dir() {
  # The server binaries of the primary's major version (a replica must match it).
  local major
  major=$(($(primary_sql "SHOW server_version_num") / 10000))
  if [ -x "/usr/lib/postgresql/$major/bin/pg_ctl" ]; then
    echo "/usr/lib/postgresql/$major/bin"
  else
    dirname "$(command -v pg_ctl)"
  fi
}

streaming() {
  [ "$(replica_sql "SELECT pg_is_in_recovery()" 2>/dev/null)" = "t" ] &&
    [ "$(primary_sql "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'" 2>/dev/null)" -ge 1 ]
}

allow_replication() {
  if psql "host=$PRIMARY_HOST port=$PRIMARY_PORT user=$PG_USER replication=true dbname=postgres" \
    -XAtqc "IDENTIFY_SYSTEM" >/dev/null 2>&1; then
    return
  fi
  local hba
  hba=$(primary_sql "SHOW hba_file")
  log "allowing replication connections from 127.0.0.1 in $hba"
  printf '\n# Streaming replica on this machine (deploy/replica.sh)\nhost replication all 127.0.0.1/32 trust\n' >>"$hba"
  primary_sql "SELECT pg_reload_conf()" >/dev/null
  sleep 1
}

write_config() {
  # The replica's settings: hot standby on its own port, with every limit a hot standby must
  # hold at least as high as the primary's.
  local setting
  {
    echo "# Written by deploy/replica.sh"
    echo "port = $REPLICA_PORT"
    echo "listen_addresses = '127.0.0.1'"
    echo "unix_socket_directories = '/var/run/postgresql'"
    echo "hba_file = '$REPLICA_DIR/pg_hba.conf'"
    echo "hot_standby = on"
    echo "hot_standby_feedback = on"
    echo "max_standby_streaming_delay = 5s"
    for setting in max_connections max_worker_processes max_wal_senders \
      max_prepared_transactions max_locks_per_transaction; do
      echo "$setting = $(primary_sql "SHOW $setting")"
    done
    echo "logging_collector = off"
  } >"$REPLICA_DIR/postgresql.conf"
  printf 'local all all trust\nhost all all 127.0.0.1/32 trust\n' >"$REPLICA_DIR/pg_hba.conf"
  chown "$OS_USER:" "$REPLICA_DIR/postgresql.conf" "$REPLICA_DIR/pg_hba.conf"
}

base_backup() {
  local bin=$1
  allow_replication
  log "base backup of $PRIMARY_HOST:$PRIMARY_PORT into $REPLICA_DIR"
  rm -rf "$REPLICA_DIR"
  mkdir -p "$REPLICA_DIR"
  chown "$OS_USER:" "$REPLICA_DIR"
  chmod 700 "$REPLICA_DIR"
  as_owner "$bin/pg_basebackup" -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U "$PG_USER" \
    -D "$REPLICA_DIR" -R -X stream -c fast
  write_config
}

run_server() {
  local bin=$1
  as_owner "$bin/pg_ctl" -D "$REPLICA_DIR" -l "$REPLICA_DIR/server.log" -w -t 60 start >/dev/null
  for _ in $(seq 1 30); do
    streaming && return 0
    sleep 1
  done
  return 1
}

stop_server() {
  local bin=$1
  if [ -f "$REPLICA_DIR/postmaster.pid" ]; then
    as_owner "$bin/pg_ctl" -D "$REPLICA_DIR" -m fast -w -t 60 stop >/dev/null 2>&1 || true
  fi
}

start() {
  if streaming; then
    log "streaming on port $REPLICA_PORT"
    return
  fi
  local bin
  bin=$(bin_dir)
  if [ -f "$REPLICA_DIR/standby.signal" ]; then
    stop_server "$bin"
    if run_server "$bin"; then
      log "started on port $REPLICA_PORT (existing copy caught up)"
      return
    fi
    log "the existing copy does not stream (too far behind?): building it again"
    stop_server "$bin"
  fi
  base_backup "$bin"
  if ! run_server "$bin"; then
    log "FAILED: not streaming; its log:"
    tail -n 30 "$REPLICA_DIR/server.log" >&2 || true
    exit 1
  fi
  log "started on port $REPLICA_PORT"
}

case "${1:-start}" in
  start) start ;;
  stop)
    stop_server "$(bin_dir)"
    log "stopped"
    ;;
  status)
    if streaming; then
      log "streaming on port $REPLICA_PORT"
    else
      log "not streaming"
      exit 1
    fi
    ;;
  rebuild)
    stop_server "$(bin_dir)"
    rm -rf "$REPLICA_DIR"
    start
    ;;
  *)
    echo "usage: $0 start|stop|status|rebuild" >&2
    exit 2
    ;;
esac
