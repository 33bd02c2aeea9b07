"""Recommendations measured in the shop: events counted in batches, rates per slot and model,
and an A/B split of customers between two models with a confidence interval."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from recommendations import selectors, services, training
from recommendations.models import ModelVersion, RecommendationStat

pytestmark = pytest.mark.django_db
EVENTS = "/api/v1/recommendations/events/"


def event(kind="impression", slot="home", version=7, algorithm="ease", arm=""):
    return {
        "slot": slot,
        "model_version": version,
        "algorithm": algorithm,
        "arm": arm,
        "kind": kind,
    }


def test_a_pages_events_are_counted_in_one_statement_and_add_up():
    batch = [event() for _ in range(40)] + [event("click")] * 3 + [event("cart")]
    batch += [event(slot="product", version=0, algorithm="popular")] * 5

    with CaptureQueriesContext(connection) as queries:
        assert services.recommendation_events_record(events=batch) == 2
    services.recommendation_events_record(events=[event(), event("click")])

    assert len(queries.captured_queries) == 1
    home = RecommendationStat.objects.get(slot="home")
    assert (home.impressions, home.clicks, home.carts) == (41, 4, 1)
    assert home.day == timezone.localdate() and home.algorithm == "ease"
    assert RecommendationStat.objects.get(slot="product").impressions == 5


def test_the_events_api_counts_a_batch_for_anyone():
    body = {
        "events": [
            {"slot": "home", "tracking": "7:ease:a", "kind": "impression", "product": 1},
            {"slot": "home", "tracking": "7:ease:a", "kind": "click", "product": 1},
        ]
    }
    response = APIClient().post(EVENTS, body, format="json")

    assert response.status_code == 202 and response.json() == {"recorded": 2}
    stat = RecommendationStat.objects.get()
    assert (stat.model_version, stat.arm, stat.impressions, stat.clicks) == (7, "a", 1, 1)


@pytest.mark.parametrize(
    "bad",
    [
        {"events": []},
        {"events": [{"slot": "home", "tracking": "7:magic:", "kind": "click", "product": 1}]},
        {"events": [{"slot": "home", "tracking": "x:ease:", "kind": "click", "product": 1}]},
        {"events": [{"slot": "footer", "tracking": "7:ease:", "kind": "click", "product": 1}]},
        {"events": [{"slot": "home", "tracking": "7:ease:c", "kind": "click", "product": 1}]},
        {"events": [{"slot": "home", "tracking": "7:ease:", "kind": "buy", "product": 1}]},
        {"events": [{"slot": "home", "tracking": "7:ease:", "kind": "click", "product": 1}] * 201},
    ],
)
def test_a_bad_batch_is_a_400_and_counts_nothing(bad):
    response = APIClient().post(EVENTS, bad, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert not RecommendationStat.objects.exists()


def test_rates_per_slot_and_model_version():
    services.recommendation_events_record(
        events=[event()] * 200 + [event("click")] * 10 + [event("cart")] * 4
    )
    old = timezone.localdate() - timedelta(days=45)
    services.recommendation_events_record(events=[event()] * 100, day=old)

    [row] = selectors.recommendation_performance(days=30)

    assert (row["impressions"], row["clicks"], row["carts"]) == (200, 10, 4)
    assert row["ctr"] == pytest.approx(0.05) and row["cart_rate"] == pytest.approx(0.02)


def test_the_ab_arm_of_a_customer_is_stable_and_the_split_is_even(settings):
    settings.RECOMMENDATIONS_AB_TEST = ["ease", "recent_ease"]
    arms = [selectors.ab_arm(user_id) for user_id in range(1, 2001)]

    assert arms == [selectors.ab_arm(user_id) for user_id in range(1, 2001)]
    assert 900 <= arms.count("a") <= 1100
    settings.RECOMMENDATIONS_AB_SALT = "another"
    assert arms != [selectors.ab_arm(user_id) for user_id in range(1, 2001)]
    assert selectors.ab_arm(None) == ""
    settings.RECOMMENDATIONS_AB_TEST = []
    assert selectors.ab_arm(5) == ""


def test_each_arm_is_served_by_its_own_model(settings, shoppers):
    training.training_run(algorithms=["item_knn", "ease"])
    versions = {v.algorithm: v.pk for v in ModelVersion.objects.filter(is_active=True)}
    settings.RECOMMENDATIONS_AB_TEST = ["item_knn", "ease"]

    for shopper in shoppers:
        arm = selectors.ab_arm(shopper.pk)
        algorithm = {"a": "item_knn", "b": "ease"}[arm]
        first = selectors.recommendations_for_user(shopper, 1)[0]
        assert first.tracking == f"{versions[algorithm]}:{algorithm}:{arm}"


def test_the_wilson_interval_matches_the_textbook_values():
    low, high = selectors.wilson_interval(50, 100)
    assert low == pytest.approx(0.4038, abs=1e-4) and high == pytest.approx(0.5962, abs=1e-4)
    assert selectors.wilson_interval(0, 0) is None


def _arm_stats(arm, impressions, clicks):
    RecommendationStat.objects.create(
        day=timezone.localdate(),
        slot="home",
        model_version={"a": 1, "b": 2}[arm],
        algorithm={"a": "ease", "b": "recent_ease"}[arm],
        arm=arm,
        impressions=impressions,
        clicks=clicks,
    )


@pytest.mark.parametrize(
    ("clicks_b", "verdict"),
    [
        (300, "B (recent_ease) is clicked more often"),
        (205, "No difference shown yet"),
        (100, "A (ease) is clicked more often"),
    ],
)
def test_the_ab_result_says_what_its_interval_shows(settings, clicks_b, verdict):
    settings.RECOMMENDATIONS_AB_TEST = ["ease", "recent_ease"]
    _arm_stats("a", 4000, 200)
    _arm_stats("b", 4000, clicks_b)

    result = selectors.ab_result()

    low, high = result["interval"]
    assert low < result["difference"] < high
    assert result["difference"] == pytest.approx((clicks_b - 200) / 4000)
    assert result["verdict"].startswith(verdict)


def test_no_split_configured_shows_no_ab_result(settings):
    settings.RECOMMENDATIONS_AB_TEST = []
    assert selectors.ab_result() is None


def test_recommended_cards_carry_what_the_page_reports(shoppers, products):
    training.training_run(algorithms=["item_knn"])
    client = Client()
    client.force_login(shoppers[0])

    home = client.get("/").content.decode()
    detail = client.get(products[0].get_absolute_url()).content.decode()

    version = ModelVersion.objects.get(is_serving=True).pk
    assert 'data-rec-slot="home"' in home and f'data-rec="{version}:item_knn:"' in home
    assert 'data-rec-slot="product"' in detail and f'data-rec="{version}:item_knn:"' in detail
    assert '<meta name="csrf-token"' in home


def test_the_dashboard_shows_rates_and_the_ab_split(settings, admin_client):
    settings.RECOMMENDATIONS_AB_TEST = ["ease", "recent_ease"]
    _arm_stats("a", 4000, 200)
    _arm_stats("b", 4000, 300)

    page = admin_client.get("/admin/dashboard/").content.decode()

    assert "Recommendations in the shop" in page
    assert "5.0%" in page and "7.5%" in page
    assert "B (recent_ease) is clicked more often" in page
