"""Choosing a size and colour in the browser: the price, stock and picture follow the choice,
and the chosen variant is what is bought."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from catalog import services
from orders.models import Order
from tests.e2e import helpers
from tests.e2e.test_checkout import PROCESSED_MS, fill_checkout, worker  # noqa: F401
from tests.factories import picture_file

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def runners(with_variants):
    parent, variants = with_variants(
        name="Trail Runner",
        options={"size": ["41", "42"], "colour": ["White", "Black"]},
        prices={("42", "Black"): "129.00"},
        price="119.00",
        stock=6,
    )
    black_42 = next(v for v in variants if v.options == {"size": "42", "colour": "Black"})
    return parent, black_42


@pytest.fixture
def black_has_a_picture(runners):
    """Only the black size-42 runner has a picture of its own."""
    _, black_42 = runners
    return services.product_image_add(
        product=black_42, image=picture_file(colour=(0, 0, 0)), alt="The black runner"
    )


def choose(page, group: str, value: str):
    page.get_by_role("group", name=group).get_by_text(value, exact=True).click()


def test_choosing_size_and_colour_shows_its_price_and_picture_and_buys_it(
    logged_in_page,
    live_url,
    runners,
    black_has_a_picture,
    worker,  # noqa: F811
    screenshot,
):
    page = logged_in_page
    parent, black_42 = runners
    page.goto(live_url + parent.get_absolute_url())
    price, stock = page.locator("#product-price"), page.locator("#availability")
    expect(price).to_have_text("From €119.00")
    expect(stock).to_have_text("Choose a size and colour")
    expect(page.locator("#product-media svg[role=img]")).to_be_visible()

    choose(page, "Size", "42")
    choose(page, "Colour", "Black")

    expect(price).to_have_text("€129.00")
    expect(stock).to_have_text("In stock")
    expect(page.locator("#product-sku")).to_have_text(black_42.sku)
    shown = page.locator("#product-picture picture img")
    expect(shown).to_have_attribute("alt", "The black runner")
    expect(shown).to_have_attribute("src", black_has_a_picture.detail_jpeg.url)
    assert page.url.endswith(f"?variant={black_42.pk}")
    screenshot(page, "variant-picker-chosen-desktop")

    choose(page, "Colour", "White")  # no picture of its own: the product's placeholder again
    expect(price).to_have_text("€119.00")
    expect(page.locator("#product-media svg[role=img]")).to_be_visible()
    expect(page.locator("#product-picture img")).to_have_count(0)

    choose(page, "Colour", "Black")
    page.get_by_label("Quantity").fill("2")
    page.get_by_role("button", name="Add to cart").click()

    expect(page.get_by_role("table")).to_contain_text("Trail Runner — 42 / Black")
    expect(page.locator("#cart-total")).to_contain_text("258.00")
    page.get_by_role("link", name="Proceed to checkout").click()
    fill_checkout(page, "4242 4242 4242 4242")
    expect(page.get_by_role("heading", name="Order NW-")).to_be_visible()
    expect(page.get_by_text("Trail Runner — 42 / Black")).to_be_visible()
    expect(page.get_by_text("Thank you! Your payment was received")).to_be_visible(
        timeout=PROCESSED_MS
    )
    [line] = Order.objects.get().lines.all()
    assert (line.product_id, line.quantity, line.unit_price) == (black_42.pk, 2, Decimal("129"))


def test_a_variants_link_opens_its_parents_page_with_it_chosen(page, live_url, runners):
    parent, black_42 = runners

    page.goto(live_url + black_42.get_absolute_url())

    assert page.url == f"{live_url}{parent.get_absolute_url()}?variant={black_42.pk}"
    expect(page.get_by_role("heading", level=1)).to_have_text("Trail Runner")
    expect(page.get_by_role("group", name="Size").get_by_role("radio", name="42")).to_be_checked()
    expect(
        page.get_by_role("group", name="Colour").get_by_role("radio", name="Black")
    ).to_be_checked()
    expect(page.locator("#product-price")).to_have_text("€129.00")


def test_a_combination_that_is_not_sold_cannot_be_added(page, live_url, with_variants):
    parent, _ = with_variants(
        name="Wool Coat", options={"size": ["S", "M"], "colour": ["Grey"]}, stock=3
    )
    from catalog import services

    services.product_update(product=parent.variants.get(options__size="M"), is_active=False)
    services.product_update(product=parent, options={"size": ["S", "M"], "colour": ["Grey"]})

    page.goto(live_url + parent.get_absolute_url())
    # M is sold by no variant now: only S is offered.
    expect(page.get_by_role("group", name="Size").get_by_role("radio")).to_have_count(1)
    choose(page, "Size", "S")
    expect(page.locator("#availability")).to_have_text("Only 3 left")
    expect(page.get_by_role("button", name="Add to cart")).to_be_enabled()


def test_the_variant_picker_fits_phone_and_desktop_and_is_labelled(
    page, phone_page, live_url, runners, screenshot
):
    parent, _ = runners
    for device, tab in (("phone", phone_page), ("desktop", page)):
        tab.goto(live_url + parent.get_absolute_url())
        choose(tab, "Size", "41")
        choose(tab, "Colour", "White")
        expect(tab.locator("#product-price")).to_have_text("€119.00")
        saved = screenshot(tab, f"variant-picker-{device}")
        overflow = helpers.horizontal_overflow(tab)
        assert overflow <= 0, f"the picker is {overflow}px wider than a {device} screen: {saved}"
        helpers.expect_labelled_and_legible(tab, f"variant picker ({device})")
