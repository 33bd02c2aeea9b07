"""A customer returns part of a delivered order on its page and follows the return: requested,
then, once staff received the goods in the admin, refunded with a credit note."""

import email
from decimal import Decimal
from email import policy

from playwright.sync_api import expect

from orders import services
from payments.models import Payment
from tests.e2e import helpers
from tests.factories import StaffFactory, StockItemFactory
from tests.orders.conftest import ADDRESS


def delivered_order(customer):
    book = StockItemFactory(
        product__name="Pasta cookbook", product__price=Decimal("12.50"), quantity=10
    ).product
    lamp = StockItemFactory(
        product__name="Desk lamp", product__price=Decimal("30.00"), quantity=10
    ).product
    order = services.order_place(
        user=customer,
        shipping_address={**ADDRESS, "country": "DE"},
        payment_token="tok_visa",
        lines=[(book.pk, 2), (lamp.pk, 1)],
    )
    services.order_process(order_id=order.pk)
    services.order_ship(order_id=order.pk, actor="staff")
    return services.order_deliver(order_id=order.pk, actor="staff"), book


def subjects(mail_dir) -> list[str]:
    return [
        email.message_from_bytes(path.read_bytes(), policy=policy.default)["Subject"]
        for path in sorted(mail_dir.iterdir())
    ]


def test_a_customer_returns_a_book_and_sees_it_refunded_once_staff_receive_it(
    logged_in_page, browser, live_url, customer, settings, tmp_path, screenshot
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path)
    order, book = delivered_order(customer)
    line = order.lines.get(product=book)
    page = logged_in_page

    page.goto(f"{live_url}/orders/{order.number}/")
    returns = page.locator("#returns")
    returns.get_by_label("Pasta cookbook").fill("1")
    returns.get_by_label("Why do you return them?").fill("a duplicate present")
    returns.get_by_role("button", name="Request a return").click()

    expect(page.get_by_role("status")).to_contain_text("Your return request was sent")
    expect(returns.locator("[data-return-status]")).to_have_text("Requested")
    expect(returns).to_contain_text("1 × Pasta cookbook")
    helpers.expect_labelled_and_legible(page, "order-return-requested")
    screenshot(page, "order-return-requested-desktop")
    assert any("return request" in subject for subject in subjects(tmp_path))

    staff = StaffFactory(is_superuser=True, password=helpers.PASSWORD)
    admin = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    admin.goto(f"{live_url}/admin/login/")
    admin.get_by_label("Username").fill(staff.username)
    admin.get_by_label("Password").fill(helpers.PASSWORD)
    admin.get_by_role("button", name="Log in").click()
    admin.goto(f"{live_url}/admin/orders/return/")
    admin.locator("input[name=_selected_action]").first.check()
    admin.locator("select[name=action]").select_option("receive")
    admin.get_by_role("button", name="Go").click()
    expect(admin.locator(".messagelist")).to_contain_text("1 return(s) received")
    admin.context.close()

    page.reload()
    expect(returns.locator("[data-return-status]")).to_have_text("Refunded")
    expect(returns.get_by_role("link", name="Credit note (PDF)")).to_be_visible()
    share = services.order_refund_quote(order=order, lines=[(line, 1)]).gross
    assert Payment.objects.get(order=order).refunded_amount == share
    assert any("is refunded" in subject for subject in subjects(tmp_path))
    screenshot(page, "order-return-refunded-desktop")
