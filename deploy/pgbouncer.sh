#!/usr/bin/env bash
# PgBouncer (Debian's package) in transaction mode in front of the local PostgreSQL, with the
# configuration of deploy/pgbouncer/pgbouncer.ini.
#
#   deploy/pgbouncer.sh start    # idempotent; listens on 127.0.0.1:${PGBOUNCER_PORT:-6432}
#   deploy/pgbouncer.sh stop
#   deploy/pgbouncer.sh status
#
# PGBOUNCER_RUN_DIR (/run/shop-pgbouncer) holds the rendered configuration, the pid file, the
# log and the socket; PgBouncer refuses to run as root, so it runs as PGBOUNCER_OS_USER
# (postgres) there.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=${PGBOUNCER_PORT:-6432}
LISTEN_ADDR=${PGBOUNCER_LISTEN_ADDR:-127.0.0.1}
RUN_DIR=${PGBOUNCER_RUN_DIR:-/run/shop-pgbouncer}
OS_USER=${PGBOUNCER_OS_USER:-postgres}
PG_HOST=${PG_HOST:-127.0.0.1}
PG_PORT=${PG_PORT:-5432}
PG_USER=${PG_USER:-postgres}
POOL_SIZE=${PGBOUNCER_POOL_SIZE:-20}

log() { printf 'pgbouncer: %s\n' "$*"; }

answers() {
  psql "host=127.0.0.1 port=$PORT user=$PG_USER dbname=pgbouncer" -XAtqc "SHOW VERSION" >/dev/null 2>&1
}

start() {
  if answers; then
    log "running on port $PORT"
    return
  fi
  command -v pgbouncer >/dev/null || {
    log "not installed (apt-get install -y pgbouncer)"
    exit 1
  }
  mkdir -p "$RUN_DIR"
  sed -e "s|@RUN_DIR@|$RUN_DIR|g" -e "s|@LISTEN_ADDR@|$LISTEN_ADDR|g" \
    -e "s|@LISTEN_PORT@|$PORT|g" -e "s|@PG_HOST@|$PG_HOST|g" -e "s|@PG_PORT@|$PG_PORT|g" \
    -e "s|@PG_USER@|$PG_USER|g" -e "s|@POOL_SIZE@|$POOL_SIZE|g" \
    deploy/pgbouncer/pgbouncer.ini >"$RUN_DIR/pgbouncer.ini"
  printf '"%s" ""\n' "$PG_USER" >"$RUN_DIR/userlist.txt"
  chown -R "$OS_USER:" "$RUN_DIR"
  if [ "$(id -u)" = 0 ]; then
    pgbouncer -d -u "$OS_USER" "$RUN_DIR/pgbouncer.ini"
  else
    pgbouncer -d "$RUN_DIR/pgbouncer.ini"
  fi
  for _ in $(seq 1 30); do
    if answers; then
      log "started on port $PORT (transaction pooling, $POOL_SIZE server connections per database)"
      return
    fi
    sleep 0.2
  done
  log "FAILED to start; its log:"
  tail -n 20 "$RUN_DIR/pgbouncer.log" >&2 || true
  exit 1
}

stop() {
  local pid
  if [ -f "$RUN_DIR/pgbouncer.pid" ]; then
    pid=$(cat "$RUN_DIR/pgbouncer.pid")
    if kill -0 "$pid" 2>/dev/null; then
      kill -INT "$pid" # SIGINT: close every connection and exit now
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$RUN_DIR/pgbouncer.pid"
  fi
  log "stopped"
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  status)
    if answers; then log "running on port $PORT"; else
      log "not running"
      exit 1
    fi
    ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
