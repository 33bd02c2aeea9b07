"""A customer sees personal recommendations with their reasons, follows one and adds it to
the cart; the page reports the impression, the click and the cart addition, which the staff
dashboard counts for the model that served them."""

import pytest
from playwright.sync_api import expect

from recommendations import training
from recommendations.models import ModelVersion, RecommendationStat
from tests.e2e import helpers
from tests.factories import (
    CategoryFactory,
    InteractionFactory,
    ProductFactory,
    StockItemFactory,
    UserFactory,
)


def is_events(response) -> bool:
    return response.url.endswith("/recommendations/events/") and response.request.method == "POST"


@pytest.fixture
def taste(transactional_db):
    """Seven products; customers of two tastes; the first customer has not met product 2."""
    category = CategoryFactory(name="Books", slug="books", is_featured=True)
    products = [
        ProductFactory(name=f"Novel {n}", slug=f"novel-{n}", category=category) for n in range(7)
    ]
    for product in products:
        StockItemFactory(product=product, quantity=20)
    pattern = [[0, 1, 6], [0, 1, 2, 6], [0, 2, 6], [1, 2], [3, 4, 6], [3, 4, 5, 6], [3, 5, 6]]
    customers = [
        UserFactory(username=f"reader{n}", password=helpers.PASSWORD) for n in range(len(pattern))
    ]
    for customer, items in zip(customers, pattern, strict=True):
        for index in items:
            InteractionFactory(user=customer, product=products[index], kind="cart")
    training.training_run(algorithms=["item_knn"])
    return customers[0], products


def test_a_followed_recommendation_is_counted_from_impression_to_cart(page, live_url, taste):
    reader, products = taste
    helpers.log_in(page, live_url, username=reader.username)
    page.goto(f"{live_url}/")

    block = page.locator("[data-rec-slot=home]")
    expect(block.get_by_role("heading", name="Recommended for you")).to_be_visible()
    first = block.locator("[data-rec]").first
    expect(first).to_contain_text(products[2].name)
    expect(first.locator(".card-why")).to_contain_text("Because you looked at")
    first.scroll_into_view_if_needed()
    with page.expect_response(is_events) as answer:
        first.get_by_role("link").click()
    assert answer.value.status == 202
    expect(page.get_by_role("heading", level=1)).to_have_text(products[2].name)

    with page.expect_response(is_events) as answer:
        page.get_by_role("button", name="Add to cart").click()
    assert answer.value.status == 202

    stat = RecommendationStat.objects.get(slot="home")
    assert stat.model_version == ModelVersion.objects.get(is_serving=True).pk
    assert stat.impressions >= 1 and stat.clicks == 1 and stat.carts == 1
