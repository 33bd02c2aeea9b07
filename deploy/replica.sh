#!/usr/bin/env bash
# A real streaming replica of the local PostgreSQL primary, for the router's reads that may lag
# (shop/db_router.py) and the tests that need one (tests/shop/test_replica.py).
#
#   deploy/replica.sh start    # idempotent: running already, started again, or built afresh
#   deploy/replica.sh stop
#   deploy/replica.sh status   # exit 0 when the replica streams from the primary
#   deploy/replica.sh rebuild  # throw the copy away and take a new base backup
#   deploy/replica.sh destroy  # the copy and its replication slot gone
#
# start takes a base backup of the whole primary cluster (pg_basebackup -R: it writes
# standby.signal and primary_conninfo) into REPLICA_DIR and runs PostgreSQL's own server on it
# in hot-standby mode on REPLICA_PORT. A physical replication slot (REPLICA_SLOT) keeps on the
# primary the WAL the replica has not received yet, so a stopped replica catches up when it is
# started again; the primary's max_slot_wal_keep_size (REPLICA_MAX_KEEP, 2GB) bounds what it
# keeps for a replica that never comes back (past it, start builds the copy again). The primary
# must accept replication connections from 127.0.0.1: if it does not, start adds one trust line
# to its pg_hba.conf and reloads it. Then
# DATABASE_REPLICA_URL=postgres://postgres@127.0.0.1:5433/<database>. A fresh copy of a small
# cluster takes well under a minute; on a busy machine give it REPLICA_START_TIMEOUT (300 s).
set -euo pipefail

PRIMARY_HOST=${PRIMARY_HOST:-127.0.0.1}
PRIMARY_PORT=${PRIMARY_PORT:-5432}
PG_USER=${PG_USER:-postgres}
REPLICA_PORT=${REPLICA_PORT:-5433}
REPLICA_DIR=${REPLICA_DIR:-/var/lib/postgresql/shop-replica}
OS_USER=${REPLICA_OS_USER:-postgres}
SLOT=${REPLICA_SLOT:-shop_replica}
MAX_KEEP=${REPLICA_MAX_KEEP:-2GB}
START_TIMEOUT=${REPLICA_START_TIMEOUT:-300}

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
  # In recovery, and its WAL receiver streams from the primary.
  [ "$(replica_sql "SELECT pg_is_in_recovery() AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming')" 2>/dev/null)" = "t" ]
}

server_alive() {
  [ -f "$REPLICA_DIR/postmaster.pid" ] && kill -0 "$(head -n 1 "$REPLICA_DIR/postmaster.pid")" 2>/dev/null
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

keep_wal_bounded() {
  if [ "$(primary_sql "SHOW max_slot_wal_keep_size")" = "-1" ]; then
    log "bounding the WAL the primary keeps for a replica: max_slot_wal_keep_size = $MAX_KEEP"
    primary_sql "ALTER SYSTEM SET max_slot_wal_keep_size = '$MAX_KEEP'" >/dev/null
    primary_sql "SELECT pg_reload_conf()" >/dev/null
  fi
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
    echo "recovery_init_sync_method = syncfs"
  } >"$REPLICA_DIR/postgresql.conf"
  printf 'local all all trust\nhost all all 127.0.0.1/32 trust\n' >"$REPLICA_DIR/pg_hba.conf"
  chown "$OS_USER:" "$REPLICA_DIR/postgresql.conf" "$REPLICA_DIR/pg_hba.conf"
}

base_backup() {
  local bin=$1
  allow_replication
  keep_wal_bounded
  log "base backup of $PRIMARY_HOST:$PRIMARY_PORT into $REPLICA_DIR (slot $SLOT)"
  if [ -n "$(primary_sql "SELECT 1 FROM pg_replication_slots WHERE slot_name = '$SLOT'")" ]; then
    primary_sql "SELECT pg_drop_replication_slot('$SLOT')" >/dev/null
  fi
  rm -rf "$REPLICA_DIR"
  mkdir -p "$REPLICA_DIR"
  chown "$OS_USER:" "$REPLICA_DIR"
  chmod 700 "$REPLICA_DIR"
  as_owner "$bin/pg_basebackup" -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U "$PG_USER" \
    -D "$REPLICA_DIR" -R -X stream -C -S "$SLOT" -c fast
  write_config
}

run_server() {
  # Start it and wait until it streams, as long as the server lives. Returns 0 when it
  # streams, 1 when the copy is useless (the server died, or the primary no longer has the WAL
  # it needs), 2 when it is still recovering after START_TIMEOUT: a hot standby opens only at a
  # snapshot of the primary with no overflowed subtransactions, which a busy primary may take a
  # while to log.
  local bin=$1 waited=0
  if ! server_alive; then
    as_owner "$bin/pg_ctl" -D "$REPLICA_DIR" -l "$REPLICA_DIR/server.log" -W start >/dev/null
  fi
  while [ "$waited" -lt "$START_TIMEOUT" ]; do
    streaming && return 0
    if [ "$waited" -ge 5 ] && ! server_alive; then
      return 1
    fi
    if grep -q "has already been removed" "$REPLICA_DIR/server.log" 2>/dev/null; then
      return 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
  return 2
}

stop_server() {
  local bin=$1
  if server_alive; then
    as_owner "$bin/pg_ctl" -D "$REPLICA_DIR" -m fast -w -t 120 stop >/dev/null 2>&1 ||
      as_owner "$bin/pg_ctl" -D "$REPLICA_DIR" -m immediate -w -t 60 stop >/dev/null 2>&1 || true
  fi
  if server_alive; then
    log "FAILED: the replica's server does not stop"
    exit 1
  fi
}

start() {
  if streaming; then
    # A replay left paused (a test that stopped half-way) would leave the copy behind forever.
    replica_sql "SELECT pg_wal_replay_resume()" >/dev/null
    log "streaming on port $REPLICA_PORT"
    return
  fi
  local bin
  bin=$(bin_dir)
  local outcome=1
  if [ -f "$REPLICA_DIR/standby.signal" ]; then
    server_alive || : >"$REPLICA_DIR/server.log"
    run_server "$bin" && outcome=0 || outcome=$?
    if [ "$outcome" = 0 ]; then
      log "streaming on port $REPLICA_PORT (the existing copy caught up)"
      return
    fi
  fi
  if [ "$outcome" = 1 ]; then
    [ -f "$REPLICA_DIR/standby.signal" ] && log "the existing copy cannot catch up: building it again"
    stop_server "$bin"
    base_backup "$bin"
    run_server "$bin" && outcome=0 || outcome=$?
  fi
  if [ "$outcome" != 0 ]; then
    log "FAILED: not streaming after ${START_TIMEOUT}s (still recovering: run start again); its log:"
    grep -v "not yet accepting\|recovery state has not" "$REPLICA_DIR/server.log" | tail -n 20 >&2 || true
    exit 1
  fi
  log "streaming on port $REPLICA_PORT (a fresh copy)"
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
  destroy)
    # The copy and its slot on the primary (which otherwise keeps WAL for it).
    stop_server "$(bin_dir)"
    rm -rf "$REPLICA_DIR"
    if [ -n "$(primary_sql "SELECT 1 FROM pg_replication_slots WHERE slot_name = '$SLOT'")" ]; then
      primary_sql "SELECT pg_drop_replication_slot('$SLOT')" >/dev/null
    fi
    log "destroyed"
    ;;
  *)
    echo "usage: $0 start|stop|status|rebuild|destroy" >&2
    exit 2
    ;;
esac
