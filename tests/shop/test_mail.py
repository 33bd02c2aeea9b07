"""Every mail the shop sends has a plain-text part and an HTML part in the shop's layout."""

from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail

from orders.models import OrderEmail
from orders.services import emails
from shop.mail import mail_render

TEMPLATES = Path(settings.BASE_DIR) / "templates" / "emails"


def test_every_mail_template_has_a_text_and_an_html_part():
    names = {p.stem for p in TEMPLATES.glob("*.txt") if not p.stem.endswith("_subject")}
    html = {p.stem for p in TEMPLATES.glob("*.html") if not p.stem.startswith("_")}
    assert names and names == html


@pytest.mark.django_db
def test_an_order_mail_goes_out_with_both_parts_and_a_link_to_the_order(placed):
    order, _ = placed()
    email = OrderEmail.objects.get(order=order, kind=OrderEmail.Kind.PLACED)
    mail.outbox.clear()

    assert emails.order_email_send(email_id=email.pk) is True

    [message] = mail.outbox
    assert order.number in message.subject and "\n" not in message.subject
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    link = f"{settings.SHOP_URL}/orders/{order.number}/?key="  # signed: works without an account
    assert link in message.body and f'href="{link}' in html
    assert settings.SHOP_NAME in html and "<table" in html


def test_a_subject_is_one_line_whatever_its_template_holds():
    subject, _, _ = mail_render(
        template="reorder_request",
        subject="Reorder\n  X ",
        context={"reorder": {"pk": 1, "quantity": 2}, "product": {"name": "n", "sku": "s"}},
    )
    assert subject == "Reorder X"
