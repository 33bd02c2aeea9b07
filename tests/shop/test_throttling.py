"""The fixed-window anon throttle (shop/throttling.py) and what a warm catalog read costs."""

import pytest
from django.conf import settings
from django.core.cache import cache
from redis.connection import AbstractConnection
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from shop import cache as shop_cache
from shop.throttling import AnonFixedWindowThrottle
from tests.factories import ProductFactory, StockItemFactory

pytestmark = pytest.mark.django_db
LIST = "/api/products/"

needs_redis = pytest.mark.skipif(
    "redis" not in settings.CACHES["default"]["BACKEND"].lower(),
    reason="one round trip is a Redis pipeline (set REDIS_URL)",
)


@pytest.fixture
def anon_rate(monkeypatch):
    def set_rate(rate):
        rates = {**SimpleRateThrottle.THROTTLE_RATES, "anon": rate}
        monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)

    return set_rate


@pytest.fixture
def clock(monkeypatch):
    """The throttle's clock, set by the test."""
    now = {"t": 1_000_000.0}
    monkeypatch.setattr(AnonFixedWindowThrottle, "timer", lambda self: now["t"])
    return now


@pytest.fixture
def product():
    product = ProductFactory()
    StockItemFactory(product=product)
    return product


@pytest.mark.parametrize("path", ["list", "detail"])
def test_a_client_over_the_rate_is_throttled_until_its_window_ends(anon_rate, clock, product, path):
    anon_rate("3/min")
    url = LIST if path == "list" else f"{LIST}{product.id}/"
    client = APIClient()

    codes = [client.get(url).status_code for _ in range(4)]
    throttled = client.get(url)

    assert codes == [200, 200, 200, 429]
    assert throttled.json()["error"]["code"] == "throttled"
    assert throttled["Retry-After"] == "20"  # the window of minute 16,666 ends at 1,000,020 s
    clock["t"] += 20  # the next window
    assert client.get(url).status_code == 200


def test_each_address_has_its_own_count(anon_rate, clock, product):
    anon_rate("2/min")
    client = APIClient()
    for _ in range(2):
        client.get(LIST, REMOTE_ADDR="10.0.0.1")

    assert client.get(LIST, REMOTE_ADDR="10.0.0.1").status_code == 429
    assert client.get(LIST, REMOTE_ADDR="10.0.0.2").status_code == 200


def test_other_anonymous_api_reads_are_counted_by_the_same_rate(anon_rate, clock, product):
    anon_rate("2/min")
    client = APIClient()
    client.get(LIST)
    client.get("/api/categories/")

    assert client.get(f"{LIST}{product.id}/").status_code == 429


def test_the_count_expires_with_its_window(anon_rate, clock, product):
    anon_rate("5/min")
    APIClient().get(LIST)
    key = AnonFixedWindowThrottle().window_key(_request(), None)

    if shop_cache.redis_pipeline() is None:
        assert cache.get(key) == 1
        return
    raw = cache.client.get_client().ttl(shop_cache.raw_key(key))
    assert 0 < raw <= 61


def _request():
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    return Request(APIRequestFactory().get(LIST))


@needs_redis
@pytest.mark.parametrize("path", ["list", "detail"])
def test_a_warm_anonymous_read_is_one_redis_round_trip(product, path, monkeypatch):
    url = LIST if path == "list" else f"{LIST}{product.id}/"
    client = APIClient()
    assert client.get(url).status_code == 200  # builds and stores the answer
    sent = []
    original = AbstractConnection.send_packed_command

    def counting(self, *args, **kwargs):
        sent.append(args)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counting)
    response = client.get(url)

    assert response.status_code == 200
    assert len(sent) == 1
