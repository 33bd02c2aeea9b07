# The shop's commands. `make run` and `make test` are all a fresh machine needs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test smoke clients install install-dev migrate demo worker beat stack stack-stop stack-status lint format check bench clean

$(VENV)/bin/activate:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt $(VENV)/bin/activate
	$(PIP) install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt requirements-eval.txt $(VENV)/.installed
	$(PIP) install --quiet -r requirements-dev.txt
	$(PIP) install --quiet --no-deps -r requirements-eval.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## run: install, migrate, load the demo shop, train its recommendations and serve it on http://$(HOST):$(PORT)
run: install
	DJANGO_DEBUG=$${DJANGO_DEBUG:-1} $(PY) manage.py migrate --no-input
	DJANGO_DEBUG=$${DJANGO_DEBUG:-1} $(PY) manage.py load_demo
	DJANGO_DEBUG=$${DJANGO_DEBUG:-1} $(PY) manage.py load_demo_interactions --train
	@echo ""
	@echo "  The shop:   http://$(HOST):$(PORT)/"
	@echo "  Admin:      http://$(HOST):$(PORT)/admin/   (admin / admin-demo-2026)"
	@echo "  Customers:  alice / alice-demo-2026, bob / bob-demo-2026, carol / carol-demo-2026"
	@echo "  API docs:   http://$(HOST):$(PORT)/api/docs/"
	@echo ""
	DJANGO_DEBUG=$${DJANGO_DEBUG:-1} $(PY) manage.py runserver $(HOST):$(PORT)

## test: install the test tools and run the whole suite
test: install-dev
	$(VENV)/bin/ruff check .
	$(PY) manage.py makemigrations --check --dry-run --settings=shop.settings_test
	$(VENV)/bin/pytest $(PYTEST_ARGS)

## smoke: production from requirements.txt alone (.venv-runtime/): gunicorn, Celery worker and
## beat on PostgreSQL shop_smoke and Redis db 11; one order paid over HTTP (deploy/smoke.sh)
smoke:
	PYTHON=$(PYTHON) deploy/smoke.sh

## clients: the API as partners meet it (clients/run.sh): the served schema checked against the
## released one (breaking changes), Python and TypeScript clients generated from it, and the
## quick starts of docs/api.md run with them against the shop on PostgreSQL shop_clients, port 19080
clients: install
	SHOP_VENV=$(VENV) PYTHON=$(PYTHON) clients/run.sh

migrate: install
	$(PY) manage.py migrate --no-input

demo: install
	$(PY) manage.py load_demo

## worker / beat: Celery against REDIS_URL (production-like runs). A worker serves every queue
## unless CELERY_QUEUES names some (e.g. CELERY_QUEUES=orders: one worker per queue in production)
worker: install
	$(VENV)/bin/celery -A shop worker --loglevel=INFO --concurrency=$${CELERY_CONCURRENCY:-2} \
		$${CELERY_QUEUES:+-Q $$CELERY_QUEUES}

beat: install
	$(VENV)/bin/celery -A shop beat --loglevel=INFO

## stack: the production topology on this machine (deploy/stack.sh): nginx on
## http://127.0.0.1:8080, gunicorn, PgBouncer (transaction mode), a streaming replica, a Celery
## worker per queue (orders, email, training, celery) and beat, on PostgreSQL shop_stack and
## Redis db 12. Needs Debian's nginx and pgbouncer. stack-stop stops all of it.
stack: install
	SHOP_VENV=$(abspath $(VENV)) deploy/stack.sh start

stack-stop:
	SHOP_VENV=$(abspath $(VENV)) deploy/stack.sh stop

stack-status:
	SHOP_VENV=$(abspath $(VENV)) deploy/stack.sh status

## bench: the benchmark suite on PostgreSQL (database shop_bench), Redis db 5, gunicorn and
## Celery on loopback; writes BENCHMARKS.md (see docs/benchmarks.md). Under 15 minutes here.
$(VENV)/.installed-bench: requirements-bench.txt $(VENV)/.installed-dev
	$(PIP) install --quiet -r requirements-bench.txt
	touch $@

bench: $(VENV)/.installed-bench
	@command -v wrk >/dev/null || echo "wrk is not installed (apt-get install -y wrk): the Python load generator is used"
	$(PY) bench/run_all.py $(BENCH_ARGS)

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) .venv-runtime db.sqlite3 staticfiles .pytest_cache .ruff_cache
