#!/usr/bin/env bash
# The production topology on this machine, every part a real engine from Debian's packages:
#
#   clients -> nginx (http://127.0.0.1:8080: static files, micro-cache)
#           -> gunicorn shop.wsgi (127.0.0.1:8100)
#           -> PgBouncer, transaction mode (6432) -> PostgreSQL primary (5432)
#              and reads that may lag -> the streaming replica (5433)
#   Celery workers, one per queue (orders, email, training, celery), and one beat; Redis.
#
#   deploy/stack.sh start    # or `make stack`; idempotent
#   deploy/stack.sh stop     # or `make stack-stop`: every process it started, then nginx,
#                            # PgBouncer and the replica; the database and Redis stay
#   deploy/stack.sh status
#
# PostgreSQL and Redis must already run (as for `make smoke`). The database STACK_DATABASE
# (shop_stack) is created if missing, migrated and given the demo catalog; Redis database
# STACK_REDIS_DB (12). Its secret key and encryption key are made once and kept in
# artifacts/stack/secrets.env; logs are in artifacts/stack/logs/. Debug is off: the settings are
# production's, with the test card gateway (PAYMENT_ALLOW_TEST_GATEWAY=1) and plain http.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

DIR=${STACK_DIR:-$ROOT/artifacts/stack}
DB=${STACK_DATABASE:-shop_stack}
REDIS_DB=${STACK_REDIS_DB:-12}
WEB_PORT=${STACK_WEB_PORT:-8100}
NGINX_PORT=${STACK_NGINX_PORT:-8080}
PGBOUNCER_PORT=${PGBOUNCER_PORT:-6432}
REPLICA_PORT=${REPLICA_PORT:-5433}
WORKERS=${STACK_GUNICORN_WORKERS:-$(($(nproc) * 2 + 1))}
VENV=${SHOP_VENV:-$ROOT/.venv}
PY=$VENV/bin/python
export PGBOUNCER_PORT REPLICA_PORT

# name|command: every process of the stack, started in this order, stopped in the reverse.
PROCESSES=(
  "web|$VENV/bin/gunicorn shop.wsgi:application --bind 127.0.0.1:$WEB_PORT --workers $WORKERS --timeout 30"
  "worker-orders|$VENV/bin/celery -A shop worker -Q orders --concurrency 2 --hostname orders@%h --loglevel INFO"
  "worker-email|$VENV/bin/celery -A shop worker -Q email --concurrency 1 --hostname email@%h --loglevel INFO"
  "worker-training|$VENV/bin/celery -A shop worker -Q training --concurrency 1 --hostname training@%h --loglevel INFO"
  "worker-default|$VENV/bin/celery -A shop worker -Q celery --concurrency 1 --hostname default@%h --loglevel INFO"
  "beat|$VENV/bin/celery -A shop beat --loglevel INFO --schedule $DIR/celerybeat-schedule"
)

log() { printf 'stack: %s\n' "$*"; }

environment() {
  mkdir -p "$DIR/logs" "$DIR/pids"
  if [ ! -f "$DIR/secrets.env" ]; then
    umask 077
    {
      echo "DJANGO_SECRET_KEY=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(64))')"
      echo "FIELD_ENCRYPTION_KEYS=$(DJANGO_DEBUG=1 "$PY" manage.py generate_encryption_key)"
    } >"$DIR/secrets.env"
    umask 022
  fi
  set -a
  # shellcheck disable=SC1091
  . "$DIR/secrets.env"
  set +a
  export DJANGO_SETTINGS_MODULE=shop.settings DJANGO_DEBUG=0
  # Every process through PgBouncer; the replica for the reads that may lag.
  export DATABASE_URL="postgres://postgres@127.0.0.1:$PGBOUNCER_PORT/$DB" DATABASE_PGBOUNCER=1
  export DATABASE_REPLICA_URL="postgres://postgres@127.0.0.1:$REPLICA_PORT/$DB"
  export REDIS_URL="redis://127.0.0.1:6379/$REDIS_DB" CACHE_KEY_PREFIX=shop-stack
  export DJANGO_ALLOWED_HOSTS=127.0.0.1,localhost NUM_PROXIES=1
  export SHOP_URL="http://127.0.0.1:$NGINX_PORT"
  # Plain http on loopback: no https redirect, no secure-only cookies.
  export DJANGO_SECURE_SSL_REDIRECT=0 DJANGO_SECURE_COOKIES=0 DJANGO_HSTS_SECONDS=0
  export PAYMENT_ALLOW_TEST_GATEWAY=1
  export PROMETHEUS_MULTIPROC_DIR=$DIR/prometheus
  unset CELERY_BROKER_URL CELERY_TASK_ALWAYS_EAGER
}

running() { # name
  local pidfile=$DIR/pids/$1.pid
  [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

start_process() { # name command
  local name=$1 command=$2
  if running "$name"; then
    return
  fi
  # Its own session (process group): stopping it stops its children (gunicorn's workers,
  # Celery's pool) with it.
  # shellcheck disable=SC2086
  setsid $command >>"$DIR/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$DIR/pids/$name.pid"
}

signal_process() { # name: TERM to its process group (warm shutdown: tasks under way finish)
  local name=$1
  if running "$name"; then
    kill -TERM -- "-$(cat "$DIR/pids/$name.pid")" 2>/dev/null || true
  fi
}

wait_process() { # name: up to 30 s, then KILL
  local name=$1 pid
  running "$name" || {
    rm -f "$DIR/pids/$name.pid"
    return
  }
  pid=$(cat "$DIR/pids/$name.pid")
  for _ in $(seq 1 120); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.25
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name did not stop in 30 s: killed"
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$DIR/pids/$name.pid"
}

start() {
  [ -x "$VENV/bin/gunicorn" ] || {
    log "no $VENV/bin/gunicorn: make install first"
    exit 1
  }
  pg_isready -h 127.0.0.1 -p 5432 -q || {
    log "PostgreSQL does not answer on 127.0.0.1:5432"
    exit 1
  }
  redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || {
    log "Redis does not answer on 127.0.0.1:6379"
    exit 1
  }
  environment
  if [ -z "$(psql -h 127.0.0.1 -U postgres -XAtqc "SELECT 1 FROM pg_database WHERE datname = '$DB'")" ]; then
    log "creating database $DB"
    psql -h 127.0.0.1 -U postgres -Xq -c "CREATE DATABASE \"$DB\""
  fi
  deploy/replica.sh start
  deploy/pgbouncer.sh start
  # Migrations on the primary itself (DDL and its locks are no business of the pooler).
  log "migrate, demo catalog, collectstatic"
  DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB" DATABASE_PGBOUNCER=0 \
    "$PY" manage.py migrate --no-input >>"$DIR/logs/setup.log" 2>&1
  "$PY" manage.py load_demo >>"$DIR/logs/setup.log" 2>&1
  "$PY" manage.py collectstatic --no-input >>"$DIR/logs/setup.log" 2>&1
  rm -rf "$PROMETHEUS_MULTIPROC_DIR"
  mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
  local entry
  for entry in "${PROCESSES[@]}"; do
    start_process "${entry%%|*}" "${entry#*|}"
  done
  NGINX_LISTEN="127.0.0.1:$NGINX_PORT" SHOP_UPSTREAMS="127.0.0.1:$WEB_PORT" \
    STATIC_ROOT="$ROOT/staticfiles" MEDIA_ROOT="$ROOT/media" deploy/nginx.sh start
  for _ in $(seq 1 60); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$NGINX_PORT/health/" 2>/dev/null ||
      [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$NGINX_PORT/health/")" = 503 ]; then
      break
    fi
    sleep 0.5
  done
  status
  log "the shop: http://127.0.0.1:$NGINX_PORT/ (logs: $DIR/logs/)"
}

stop() {
  local i entry
  NGINX_LISTEN="127.0.0.1:$NGINX_PORT" deploy/nginx.sh stop
  for ((i = ${#PROCESSES[@]} - 1; i >= 0; i--)); do
    entry=${PROCESSES[$i]}
    signal_process "${entry%%|*}"
  done
  for entry in "${PROCESSES[@]}"; do
    wait_process "${entry%%|*}"
  done
  log "web, workers and beat stopped"
  deploy/pgbouncer.sh stop
  deploy/replica.sh stop
}

status() {
  local entry name state=0
  for entry in "${PROCESSES[@]}"; do
    name=${entry%%|*}
    if running "$name"; then
      log "$name running (pid $(cat "$DIR/pids/$name.pid"))"
    else
      log "$name NOT running"
      state=1
    fi
  done
  deploy/nginx.sh status || state=1
  deploy/pgbouncer.sh status || state=1
  deploy/replica.sh status || state=1
  printf 'stack: /health/ via nginx: %s\n' \
    "$(curl -s "http://127.0.0.1:$NGINX_PORT/health/" || echo 'no answer')"
  return "$state"
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
