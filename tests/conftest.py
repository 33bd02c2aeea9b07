import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.factories import StaffFactory, UserFactory

pytest_plugins = ["tests.fixtures"]


@pytest.fixture(autouse=True)
def _shop_configuration(request):
    """A transactional test empties every table, the rows of data migrations too: put the
    shop's first-day configuration (VAT rates, shipping methods) back for every test that
    uses the database, as a migrated shop has it."""
    if request.node.get_closest_marker("django_db") is None:
        wanted = {"db", "transactional_db", "live_server"} & set(request.fixturenames)
        if not wanted:
            return
        request.getfixturevalue("transactional_db" if wanted - {"db"} else "db")
    from pricing import defaults
    from pricing.models import TaxRate

    if not TaxRate.objects.exists():
        defaults.install()


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path_factory):
    """Uploaded pictures and their renditions go to a folder of the test's own, never to the
    checkout's media/."""
    settings.MEDIA_ROOT = tmp_path_factory.mktemp("media")


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def staff(db):
    return StaffFactory()


@pytest.fixture
def user_client(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def staff_client(staff):
    client = APIClient()
    client.force_authenticate(staff)
    return client
