#!/usr/bin/env bash
# The API as a partner meets it: clients generated from the served schema, run against a live shop.
#
#   clients/run.sh            (or `make clients`; .ci/run runs it after `make test`)
#
# 1. The tools, pinned: clients/.venv from clients/requirements-python-client.txt
#    (openapi-python-client), clients/node_modules from clients/package-lock.json
#    (openapi-typescript, openapi-fetch, typescript, openapi-diff); both kept while their pins
#    do not change.
# 2. The shop with production settings on PostgreSQL (database shop_clients, dropped and created
#    again) with the demo catalog and customers, gunicorn on 127.0.0.1, Celery in eager mode.
# 3. The served schema (/api/v1/schema/) against the released one (clients/released-schema.json):
#    clients/check_schema.mjs refuses a breaking change unless the major version moved, and its
#    own tests show it refusing deliberate breaks (clients/check_schema.test.mjs).
# 4. A Python client (openapi-python-client) and TypeScript types (openapi-typescript, used with
#    openapi-fetch) generated from the served schema into clients/generated/ (git-ignored); the
#    TypeScript quick start is type-checked against them.
# 5. The three quick starts of docs/api.md run against the shop: clients/python/quickstart.py,
#    clients/typescript/quickstart.ts and clients/sh/quickstart.sh (token, products filtered and
#    paged, a quote, an order with an Idempotency-Key and its replay, reading it back, a clean
#    insufficient_stock). clients/snippets.py checks that docs/api.md shows their code as it is.
# Everything started here is stopped on exit; on failure the logs are printed.
#
# Needs PostgreSQL on 127.0.0.1, psql, python3, node and npm, curl and jq. Environment:
#   CLIENTS_DATABASE_URL  postgres://postgres@127.0.0.1:5432/shop_clients
#   CLIENTS_PORT          19080 (gunicorn, on 127.0.0.1)
#   SHOP_VENV             .venv (the shop's virtualenv, from `make install`)
#   PYTHON                python3 (makes clients/.venv)
set -euo pipefail
cd "$(dirname "$0")/.."

DATABASE_URL_CLIENTS=${CLIENTS_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/shop_clients}
PORT=${CLIENTS_PORT:-19080}
SHOP_VENV=${SHOP_VENV:-.venv}
PYTHON=${PYTHON:-python3}
OUT=clients/generated
STARTED_AT=$SECONDS
STEP="start"
SERVER_PID=""
LOGS=$(mktemp -d "${TMPDIR:-/tmp}/shop-clients.XXXXXX")

# shellcheck source=deploy/report.sh
. deploy/report.sh

say() { printf '[clients %3ds] %s\n' "$((SECONDS - STARTED_AT))" "$*"; }
fail() {
  echo "FAILED: $*" >&2
  exit 1
}

finish() {
  local status=$?
  trap - EXIT
  set +e
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM -- "-$SERVER_PID" 2>/dev/null
    for _ in $(seq 1 40); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.25
    done
    kill -KILL -- "-$SERVER_PID" 2>/dev/null
  fi
  wait 2>/dev/null
  report_end CLIENTS "$status"
  exit "$status"
}
trap finish EXIT
trap 'exit 130' INT TERM

run() { # step command...: its output goes to the step's log, shown on failure
  STEP=$1
  shift
  say "$STEP"
  "$@" >>"$LOGS/steps.log" 2>&1 || fail "'$*' (see steps.log)"
}

# --- 1. the tools --------------------------------------------------------------------------
[ -x "$SHOP_VENV/bin/gunicorn" ] || fail "no $SHOP_VENV/bin/gunicorn: run make install (or set SHOP_VENV)"
KEY=$({ cat clients/requirements-python-client.txt; "$PYTHON" -V; } | sha256sum | cut -c1-16)
if [ ! -f "clients/.venv/.complete-$KEY" ]; then
  rm -rf clients/.venv
  run "build clients/.venv (openapi-python-client)" "$PYTHON" -m venv clients/.venv
  run "pip install -r clients/requirements-python-client.txt" \
    clients/.venv/bin/pip install --quiet -r clients/requirements-python-client.txt
  touch "clients/.venv/.complete-$KEY"
fi
KEY=$({ cat clients/package-lock.json; node --version; } | sha256sum | cut -c1-16)
if [ ! -f "clients/node_modules/.complete-$KEY" ]; then
  run "npm ci (openapi-typescript, openapi-fetch, typescript, openapi-diff)" \
    npm ci --prefix clients --no-audit --no-fund --loglevel=error
  touch "clients/node_modules/.complete-$KEY"
fi
say "tools: $(clients/.venv/bin/openapi-python-client --version 2>/dev/null | tail -n 1)," \
  "openapi-typescript $(node -p 'require("./clients/node_modules/openapi-typescript/package.json").version')," \
  "openapi-fetch $(node -p 'require("./clients/node_modules/openapi-fetch/package.json").version')," \
  "openapi-diff $(node -p 'require("./clients/node_modules/openapi-diff/package.json").version')"

# --- 2. the shop ---------------------------------------------------------------------------
export DJANGO_SETTINGS_MODULE=shop.settings
export DATABASE_URL=$DATABASE_URL_CLIENTS
# One database, no replica or pooler: a replica address from the caller names another database.
unset DATABASE_REPLICA_URL DATABASE_PGBOUNCER
unset REDIS_URL CELERY_BROKER_URL CELERY_TASK_ALWAYS_EAGER # eager tasks: no broker, no worker
export DJANGO_DEBUG=0 DJANGO_SECURE_SSL_REDIRECT=0 DJANGO_SECURE_COOKIES=0 DJANGO_HSTS_SECONDS=0
export DJANGO_ALLOWED_HOSTS=127.0.0.1,localhost
export DJANGO_SECRET_KEY
DJANGO_SECRET_KEY=$("$SHOP_VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(64))')
export PAYMENT_ALLOW_TEST_GATEWAY=1 # the test gateway and its tokens (tok_visa), on purpose
export FIELD_ENCRYPTION_KEYS
FIELD_ENCRYPTION_KEYS=$("$SHOP_VENV/bin/python" manage.py generate_encryption_key 2>>"$LOGS/steps.log") ||
  fail "manage.py generate_encryption_key (see steps.log)"

DB=${DATABASE_URL##*/}
run "recreate database $DB" psql "${DATABASE_URL%/*}/postgres" -v ON_ERROR_STOP=1 -q \
  -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" -c "CREATE DATABASE \"$DB\""
run "migrate" "$SHOP_VENV/bin/python" manage.py migrate --no-input
run "load_demo (catalog, stock, customers)" "$SHOP_VENV/bin/python" manage.py load_demo \
  --products 60 --no-progress

STEP="start gunicorn"
if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
  fail "port $PORT is taken (set CLIENTS_PORT)"
fi
say "$STEP on http://127.0.0.1:$PORT"
# One process: the catalog cache is the process's own memory, so every answer sees every change.
setsid "$SHOP_VENV/bin/gunicorn" shop.wsgi:application --bind "127.0.0.1:$PORT" --workers 1 \
  --threads 4 --timeout 60 >"$LOGS/gunicorn.log" 2>&1 &
SERVER_PID=$!
export SHOP_URL="http://127.0.0.1:$PORT"
for _ in $(seq 1 120); do
  curl -sf -o /dev/null "$SHOP_URL/api/v1/schema/" && break
  kill -0 "$SERVER_PID" 2>/dev/null || fail "gunicorn exited (see gunicorn.log)"
  sleep 0.5
done

# --- 3. the schema against the released one ------------------------------------------------
rm -rf "$OUT"
mkdir -p "$OUT/python" "$OUT/typescript" "$OUT/sh"
run "fetch the served schema" curl -sSf -o "$OUT/schema.json" \
  -H "Accept: application/vnd.oai.openapi+json" "$SHOP_URL/api/v1/schema/"
STEP="breaking-change check"
say "$STEP: clients/released-schema.json -> served schema"
node clients/check_schema.mjs clients/released-schema.json "$OUT/schema.json" \
  --changelog docs/api-changelog.md | tee "$LOGS/schema-check.log" ||
  fail "the served schema breaks the released one (see above and docs/api.md, Versioning)"
STEP="the check refuses deliberate breaks"
say "$STEP (clients/check_schema.test.mjs)"
node --test --test-reporter=spec clients/check_schema.test.mjs 2>&1 | tee "$LOGS/check-test.log" |
  sed 's/^/    /' || fail "clients/check_schema.test.mjs"

# --- 4. the clients ------------------------------------------------------------------------
STEP="generate the Python client"
say "$STEP (openapi-python-client)"
clients/.venv/bin/openapi-python-client generate --path "$OUT/schema.json" --meta none \
  --config clients/python/generator.yaml --output-path "$OUT/python/shop_client" \
  >"$LOGS/python-generate.log" 2>&1 || fail "openapi-python-client failed (see python-generate.log)"
# A warning means a part of the schema the client leaves out: as broken as an error.
if grep -qi "warning" "$LOGS/python-generate.log"; then
  cat "$LOGS/python-generate.log"
  fail "openapi-python-client left parts of the schema out"
fi
run "generate the TypeScript types (openapi-typescript)" \
  clients/node_modules/.bin/openapi-typescript "$OUT/schema.json" -o "$OUT/typescript/shop-api.ts" \
  --default-non-nullable false
run "type-check and compile the TypeScript quick start (tsc)" \
  clients/node_modules/.bin/tsc -p clients/tsconfig.json

# --- 5. the quick starts against the shop ---------------------------------------------------
export SHOP_USERNAME=alice SHOP_PASSWORD=alice-demo-2026 # a demo customer (load_demo)
STEP="python quick start"
say "$STEP"
PYTHONPATH="$OUT/python" clients/.venv/bin/python clients/python/quickstart.py \
  >"$LOGS/python.log" 2>&1 || fail "the Python client (see python.log)"
sed -n 's/^python client: ok: /    ok: /p' "$LOGS/python.log"
STEP="typescript quick start"
say "$STEP"
node "$OUT/build/typescript/quickstart.js" >"$LOGS/typescript.log" 2>&1 ||
  fail "the TypeScript client (see typescript.log)"
sed -n 's/^typescript client: ok: /    ok: /p' "$LOGS/typescript.log"
STEP="curl quick start"
say "$STEP"
(cd "$OUT/sh" && bash ../../sh/quickstart.sh) >"$LOGS/curl.log" 2>&1 ||
  fail "the curl quick start (see curl.log)"
sed -n 's/^curl: ok: /    ok: /p' "$LOGS/curl.log"
run "docs/api.md shows the quick starts as they are" "$PYTHON" clients/snippets.py --check
