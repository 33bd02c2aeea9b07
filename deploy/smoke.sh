#!/usr/bin/env bash
# Production smoke test: the shop as it is deployed, from requirements.txt alone.
#
# A virtualenv made from requirements.txt only (no test tools; cached in .venv-runtime/ under
# the hash of requirements.txt and the Python version), in which every installed package must
# be pinned in requirements.txt; production settings (PostgreSQL, Redis, a random secret key, a
# fresh FIELD_ENCRYPTION_KEYS key, debug off), `check --deploy`, migrate, collectstatic, then
# gunicorn, a Celery worker and celery beat on loopback. A customer
# and a product with stock are made through the services (deploy/smoke_data.py); over plain
# HTTP the customer signs in, orders with the test card tok_visa and waits until the payment
# is completed, and /health/ must answer 200 "ok" (deploy/smoke_client.py). Every process
# started here is stopped on exit; on failure their logs are printed.
#
#   deploy/smoke.sh            (or `make smoke`; .ci/run runs it after `make test`)
#
# Needs PostgreSQL and Redis on 127.0.0.1 and psql and redis-cli. The database shop_smoke is
# dropped and created again, Redis database 11 is flushed. Environment:
#   SMOKE_DATABASE_URL  postgres://postgres@127.0.0.1:5432/shop_smoke
#   SMOKE_REDIS_URL     redis://127.0.0.1:6379/11
#   SMOKE_PORT          18080 (gunicorn, on 127.0.0.1)
#   SMOKE_PAYMENT_TIMEOUT, SMOKE_HEALTH_TIMEOUT   60, 90 seconds
#   PYTHON              python3 (makes the virtualenv)
set -euo pipefail
cd "$(dirname "$0")/.."

DATABASE_URL_SMOKE=${SMOKE_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/shop_smoke}
REDIS_URL_SMOKE=${SMOKE_REDIS_URL:-redis://127.0.0.1:6379/11}
PORT=${SMOKE_PORT:-18080}
PYTHON=${PYTHON:-python3}
STARTED_AT=$SECONDS
STEP="start"
RESULT=""
NAMES=()
PIDS=()
LOGS=$(mktemp -d "${TMPDIR:-/tmp}/shop-smoke.XXXXXX")

# shellcheck source=deploy/report.sh
. deploy/report.sh

say() { printf '[smoke %3ds] %s\n' "$((SECONDS - STARTED_AT))" "$*"; }
fail() {
  RESULT=$1
  exit 1
}

# --- processes ------------------------------------------------------------------------------
start() { # name command...: in its own process group, so stopping it stops its children too
  local name=$1
  shift
  setsid "$@" >"$LOGS/$name.log" 2>&1 &
  NAMES+=("$name")
  PIDS+=("$!")
}

stop_all() {
  local i pid
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    pid=${PIDS[$i]}
    kill -0 "$pid" 2>/dev/null && { kill -TERM -- "-$pid" 2>/dev/null || true; }
  done
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    pid=${PIDS[$i]}
    for _ in $(seq 1 60); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.25
    done
    kill -0 "$pid" 2>/dev/null && { kill -KILL -- "-$pid" 2>/dev/null || true; }
  done
  wait 2>/dev/null || true
}

all_running() {
  local i
  for i in "${!PIDS[@]}"; do
    kill -0 "${PIDS[$i]}" 2>/dev/null || {
      RESULT="${NAMES[$i]} exited"
      return 1
    }
  done
}

finish() {
  local status=$?
  trap - EXIT
  set +e
  stop_all
  if [ "$status" -eq 0 ]; then
    report_end SMOKE 0 "$RESULT"
  else
    report_end SMOKE "$status" "${RESULT:-exit status $status}"
  fi
  exit "$status"
}
trap finish EXIT
trap 'RESULT="interrupted"; exit 130' INT TERM

run() { # step description, command...: its output goes to the step's log
  STEP=$1
  shift
  say "$STEP"
  "$@" >>"$LOGS/steps.log" 2>&1 || fail "'$*' failed (see steps.log)"
}

# --- the runtime virtualenv: requirements.txt alone ------------------------------------------
STEP="runtime virtualenv"
KEY=$({ cat requirements.txt; "$PYTHON" -c 'import platform; print(platform.python_version())'; } |
  sha256sum | cut -c1-16)
VENV=.venv-runtime/$KEY
if [ ! -f "$VENV/.complete" ]; then
  say "building $VENV from requirements.txt alone"
  rm -rf .venv-runtime
  "$PYTHON" -m venv "$VENV" >>"$LOGS/steps.log" 2>&1 || fail "python -m venv failed"
  "$VENV/bin/pip" install --quiet -r requirements.txt >>"$LOGS/steps.log" 2>&1 ||
    fail "pip install -r requirements.txt failed (see steps.log)"
  touch "$VENV/.complete"
else
  say "using $VENV (requirements.txt unchanged)"
fi
run "pip check" "$VENV/bin/pip" check
PY=$VENV/bin/python
# Every installed package pinned: an unpinned one is a version production never tested.
STEP="requirements.txt pins every installed package"
say "$STEP"
"$PY" - >>"$LOGS/steps.log" 2>&1 <<'PYTHON' || fail "not pinned in requirements.txt: $(tail -n 1 "$LOGS/steps.log")"
import re, subprocess, sys

def pin(line):
    name, _, version = line.strip().partition("==")
    return re.sub(r"[-_.]+", "-", name.split("[")[0]).lower(), version

pinned = dict(pin(line) for line in open("requirements.txt") if "==" in line and line[0] != "#")
freeze = subprocess.run([sys.executable, "-m", "pip", "freeze"], capture_output=True, text=True)
installed = dict(pin(line) for line in freeze.stdout.splitlines() if "==" in line)
missing = sorted(f"{name}=={version}" for name, version in installed.items() if pinned.get(name) != version)
print(" ".join(missing) if missing else "all pinned")
sys.exit(1 if missing else 0)
PYTHON

# --- production settings ---------------------------------------------------------------------
export DJANGO_SETTINGS_MODULE=shop.settings
export DATABASE_URL=$DATABASE_URL_SMOKE
# One database, no replica or pooler: a replica address from the caller names another database.
unset DATABASE_REPLICA_URL DATABASE_PGBOUNCER
export REDIS_URL=$REDIS_URL_SMOKE
unset CELERY_BROKER_URL CELERY_TASK_ALWAYS_EAGER
export DJANGO_DEBUG=0
export DJANGO_ALLOWED_HOSTS=127.0.0.1,localhost
export DJANGO_SECRET_KEY
DJANGO_SECRET_KEY=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(64))')
export CACHE_KEY_PREFIX=shop-smoke
export PROMETHEUS_MULTIPROC_DIR=$LOGS/prometheus
mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
# The shop has no real card gateway configured here: the test gateway, chosen on purpose.
export PAYMENT_ALLOW_TEST_GATEWAY=1
STEP="generate_encryption_key"
export FIELD_ENCRYPTION_KEYS
FIELD_ENCRYPTION_KEYS=$("$PY" manage.py generate_encryption_key 2>>"$LOGS/steps.log") ||
  fail "manage.py generate_encryption_key failed (see steps.log)"

# --- a fresh database and Redis database -------------------------------------------------------
DB=${DATABASE_URL##*/}
run "recreate database $DB" psql "${DATABASE_URL%/*}/postgres" -v ON_ERROR_STOP=1 -q \
  -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" -c "CREATE DATABASE \"$DB\""
run "flush $REDIS_URL" redis-cli -u "$REDIS_URL" flushdb

run "check --deploy" "$PY" manage.py check --deploy --fail-level WARNING
run "migrate" "$PY" manage.py migrate --no-input
run "collectstatic" "$PY" manage.py collectstatic --no-input

# --- the processes -------------------------------------------------------------------------
STEP="start gunicorn, worker and beat"
if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
  fail "port $PORT is taken (set SMOKE_PORT)"
fi
say "$STEP (http://127.0.0.1:$PORT)"
start gunicorn "$VENV/bin/gunicorn" shop.wsgi:application --bind "127.0.0.1:$PORT" \
  --workers 2 --timeout 30
start worker "$VENV/bin/celery" -A shop worker --loglevel=INFO --concurrency=2 \
  --hostname="smoke@%h" --without-gossip --without-mingle
start beat "$VENV/bin/celery" -A shop beat --loglevel=INFO --schedule "$LOGS/celerybeat-schedule"

# --- a customer and a product with stock, through the services ------------------------------
export SMOKE_USERNAME=smoke-customer
export SMOKE_PASSWORD
SMOKE_PASSWORD=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(24))')
STEP="create a customer and a product"
say "$STEP"
PRODUCT=$("$PY" deploy/smoke_data.py 2>>"$LOGS/steps.log" | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["product"])') ||
  fail "deploy/smoke_data.py failed (see steps.log)"

# --- the customer, over HTTP ---------------------------------------------------------------
STEP="order over HTTP"
say "$STEP: token, order with tok_visa, wait for the payment, /health/"
"$PY" deploy/smoke_client.py --base "http://127.0.0.1:$PORT" --username "$SMOKE_USERNAME" \
  --password="$SMOKE_PASSWORD" --product "$PRODUCT" \
  --payment-timeout "${SMOKE_PAYMENT_TIMEOUT:-60}" --health-timeout "${SMOKE_HEALTH_TIMEOUT:-90}" |
  tee "$LOGS/client.log" || fail "$(tail -n 1 "$LOGS/client.log")"

STEP="processes still running"
all_running || fail "$RESULT"
RESULT="$(grep ' paid after ' "$LOGS/client.log"); /health/ ok"
