"""What a web worker imports: every module costs memory in each gunicorn worker, so modules that
only rare paths or other processes use (the recommendation engine's numpy, scipy and
scikit-learn in the training worker, fpdf where an invoice PDF is made, stripe where its
gateway is called, ``requests`` that DRF imports for its test client) must not be loaded by
resolving the URLs and serving typical requests.

The check runs in a fresh interpreter started like a worker (``shop.wsgi``), since this test
process has imported half the world already.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from rest_framework.authtoken.models import Token

from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]
# Modules (any of their submodules counts) that no web request of this check may load.
HEAVY = [
    "numpy",
    "scipy",
    "sklearn",
    "pandas",
    "recommendations.engine",
    "fpdf",
    "stripe",
    "requests",
    "urllib3",
]
WORKER = r"""
import importlib, io, json, sys
from wsgiref.util import setup_testing_defaults

import shop.wsgi
from django.urls import get_resolver

for name in json.loads(sys.argv[3]):  # as a view importing it would
    importlib.import_module(name)

def walk(patterns):
    for pattern in patterns:
        walk(getattr(pattern, "url_patterns", []))

walk(get_resolver().url_patterns)

def get(path, headers):
    environ = {"PATH_INFO": path.partition("?")[0], "QUERY_STRING": path.partition("?")[2],
               "REQUEST_METHOD": "GET", "HTTP_HOST": "localhost", "wsgi.input": io.BytesIO()}
    environ.update(headers)
    setup_testing_defaults(environ)
    answer = {}
    body = b"".join(shop.wsgi.application(environ, lambda status, h, e=None: answer.update(
        status=int(status.split()[0]))))
    return answer["status"]

requests_ = json.loads(sys.argv[1])
statuses = {f"{path} {bool(headers)}": get(path, headers) for path, headers in requests_}
heavy = sorted({name for name in sys.modules for prefix in json.loads(sys.argv[2])
                if name == prefix or name.startswith(prefix + ".")})
print(json.dumps({"statuses": statuses, "heavy": heavy}))
"""


def worker_imports(requests_: list, also_import: tuple[str, ...] = ()) -> dict:
    db = connection.settings_dict
    url = (
        f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "shop.settings_test",
        "DJANGO_ALLOWED_HOSTS": "localhost",
    }
    arguments = [json.dumps(requests_), json.dumps(HEAVY), json.dumps(list(also_import))]
    done = subprocess.run(
        [sys.executable, "-c", WORKER, *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def typical_requests(transactional_db, stocked):
    if connection.vendor != "postgresql":
        pytest.skip("the worker process needs a database it can share: PostgreSQL (CI)")
    product = stocked()
    token = Token.objects.create(user=UserFactory()).key
    signed_in = {"HTTP_AUTHORIZATION": f"Token {token}"}
    return [
        ("/", {}),
        ("/products/", {}),
        (product.get_absolute_url(), {}),
        ("/api/products/?page_size=24", {}),
        (f"/api/products/{product.pk}/", {}),
        ("/api/products/?search=lamp", {}),
        ("/api/categories/", {}),
        ("/api/cart/", signed_in),
        ("/api/orders/", signed_in),
        ("/api/recommendations/", signed_in),
    ]


def test_serving_typical_requests_loads_no_heavy_module(typical_requests):
    found = worker_imports(typical_requests)

    assert set(found["statuses"].values()) == {200}, found["statuses"]
    assert found["heavy"] == []


def test_the_check_sees_a_heavy_module_a_request_loads(typical_requests):
    """The check itself: the engine imported on the way (as a view importing it would) is
    reported, so an empty list above means none was loaded."""
    found = worker_imports(typical_requests, also_import=("recommendations.engine.datasets",))

    assert {"numpy", "scipy", "recommendations.engine"} <= set(found["heavy"])


def test_requests_still_works_once_used():
    """Left out of DRF's compat module, not hidden: code that imports requests in a web worker
    gets the real module."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import shop.wsgi, requests, sys; print(requests.Session.__module__,"
            " 'urllib3' in sys.modules)",
        ],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "shop.settings_test", "DATABASE_URL": ""},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["requests.sessions", "True"]
