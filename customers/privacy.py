"""The customer's privacy rights: a copy of everything the shop holds about them (export), and
erasure of the account.

Erasure keeps what accounting must keep and removes the person from everything else:

- orders, their lines, payments (brand and last four digits), invoices and credit notes stay,
  with the e-mail emptied and the addresses reduced to their country (the VAT depended on it);
- the address book, the e-mail verification record, wishlist, back-in-stock alerts, cart,
  Idempotency-Key answers, API token, sessions and sign-in records (django-axes) are deleted;
- interactions and reviews stay for the products' counts but belong to nobody, so the next
  training of the recommender does not know the customer; their computed recommendations go;
- the user row stays (orders point to it), renamed ``erased-<id>``, without e-mail, names or a
  usable password, inactive.

Orders placed as a guest with the account's verified address belong to the customer as much as
those placed signed in: both rights claim them into the account first (as a sign-in does), so a
guest order placed after the last sign-in is exported, blocks erasure while open, and is
anonymised with the rest. An address the account has not verified claims nothing.

customers/ is the top layer: it calls each app's own erase service."""

import secrets

from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from customers.exceptions import OpenOrders
from customers.models import Address, EmailAddress, StockAlert, WishlistItem
from customers.services import guest_orders_claim
from orders.models import Cart, Order
from orders.services.privacy import customer_has_open_orders, customer_orders_anonymise
from payments.services import payment_tokens_forget
from pricing.models import VoucherUse
from recommendations.models import Interaction, Review
from recommendations.services import customer_forget

EXPORT_FORMAT = 1


def _money(value) -> str | None:
    return None if value is None else str(value)


def _when(value) -> str | None:
    return value.isoformat() if value else None


def _product(product) -> dict:
    return {"id": product.pk, "sku": product.sku, "name": product.name}


def _order(order: Order) -> dict:
    return {
        "number": order.number,
        "status": order.status,
        "created_at": _when(order.created_at),
        "paid_at": _when(order.paid_at),
        "email": order.email,
        "shipping_address": order.shipping_address,
        "shipping_method": order.shipping_method,
        "voucher": order.voucher,
        "currency": order.currency,
        "subtotal": _money(order.subtotal),
        "discount": _money(order.discount),
        "shipping": _money(order.shipping),
        "tax_total": _money(order.tax_total),
        "total": _money(order.total),
        "lines": [
            {
                "product": line.product_id,
                "sku": line.sku,
                "name": line.product_name,
                "quantity": line.quantity,
                "unit_price": _money(line.unit_price),
                "line_total": _money(line.line_total),
                "tax_rate": _money(line.tax_rate),
                "tax_amount": _money(line.tax_amount),
            }
            for line in order.lines.all()
        ],
        # Brand and last four digits only: the gateway's token is never handed out.
        "payments": [
            {
                "status": payment.status,
                "method": payment.method,
                "amount": _money(payment.amount),
                "currency": payment.currency,
                "card_brand": payment.card_brand,
                "card_last4": payment.card_last4,
                "created_at": _when(payment.created_at),
                "refunded_amount": _money(payment.refunded_amount),
            }
            for payment in order.payments.all()
        ],
        "returns": [
            {
                "status": request.status,
                "reason": request.reason,
                "refund_amount": _money(request.refund_amount),
                "created_at": _when(request.created_at),
                "lines": [
                    {"sku": line.order_line.sku, "quantity": line.quantity}
                    for line in request.lines.all()
                ],
            }
            for request in order.returns.all()
        ],
        "invoices": [
            {
                "number": invoice.number,
                "kind": invoice.kind,
                "issued_at": _when(invoice.issued_at),
                "gross": _money(invoice.gross),
            }
            for invoice in order.invoices.all()
        ],
    }


def customer_export(*, user) -> dict:
    """Everything the shop holds about ``user``, as JSON-ready data (guest orders placed with
    the account's verified address included: they are claimed first)."""
    guest_orders_claim(user=user)
    orders = (
        Order.objects.filter(user=user)
        .prefetch_related("lines", "payments", "invoices", "returns__lines__order_line")
        .order_by("created_at", "id")
    )
    cart = Cart.objects.filter(user=user).prefetch_related("items__product").first()
    return {
        "format": EXPORT_FORMAT,
        "exported_at": _when(timezone.now()),
        "profile": {
            "id": user.pk,
            "username": user.username,
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "date_joined": _when(user.date_joined),
            "last_login": _when(user.last_login),
        },
        "email_verification": [
            {"email": record.email, "verified_at": _when(record.verified_at)}
            for record in EmailAddress.objects.filter(user=user)
        ],
        "addresses": [
            {**address.as_shipping_address(), "is_default": address.is_default}
            for address in Address.objects.filter(owner=user).order_by("created_at", "id")
        ],
        "orders": [_order(order) for order in orders],
        "voucher_uses": [
            {"voucher": use.voucher.code, "order": use.order.number, "at": _when(use.created_at)}
            for use in VoucherUse.objects.filter(user=user).select_related("voucher", "order")
        ],
        "interactions": [
            {
                "product": interaction.product_id,
                "kind": interaction.kind,
                "value": interaction.value,
                "at": _when(interaction.at),
            }
            for interaction in Interaction.objects.filter(user=user).order_by("at", "id")
        ],
        "reviews": [
            {
                "product": _product(review.product),
                "rating": review.rating,
                "title": review.title,
                "text": review.text,
                "created_at": _when(review.created_at),
            }
            for review in Review.objects.filter(user=user).select_related("product")
        ],
        "wishlist": [
            {"product": _product(item.product), "added_at": _when(item.added_at)}
            for item in WishlistItem.objects.filter(owner=user).select_related("product")
        ],
        "stock_alerts": [
            {
                "product": _product(alert.product),
                "created_at": _when(alert.created_at),
                "sent_at": _when(alert.sent_at),
            }
            for alert in StockAlert.objects.filter(owner=user).select_related("product")
        ],
        "cart": {
            "items": [
                {
                    "product": _product(item.product),
                    "quantity": item.quantity,
                    "added_at": _when(item.added_at),
                }
                for item in cart.items.all()
            ]
            if cart
            else []
        },
    }


def _sessions_delete(user_id: int) -> int:
    """Delete the database sessions signed in as the user (a changed password already makes
    them worthless; this removes them)."""
    doomed = [
        session.pk
        for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator()
        if session.get_decoded().get("_auth_user_id") == str(user_id)
    ]
    return Session.objects.filter(pk__in=doomed).delete()[0]


def _sign_in_records_delete(username: str) -> None:
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    for model in (AccessAttempt, AccessFailureLog, AccessLog):
        model.objects.filter(username__iexact=username).delete()


def erased_username(user_id: int) -> str:
    """The name an erased account keeps; suffixed in the unlikely case a customer chose it."""
    name = f"erased-{user_id}"
    taken = get_user_model().objects.filter(username__iexact=name).exclude(pk=user_id).exists()
    return f"{name}-{secrets.token_hex(4)}" if taken else name


@transaction.atomic
def account_erase(*, user, password: str) -> None:
    """Erase the account of ``user`` once the password confirms it is them.

    Raises ValidationError (``password``) for a wrong password and OpenOrders while an order is
    still on its way (its address is needed to deliver it)."""
    User = get_user_model()
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.has_usable_password() or not user.check_password(password or ""):
        raise ValidationError({"password": ["That is not the account's password."]})
    guest_orders_claim(user=user)
    if customer_has_open_orders(user=user):
        raise OpenOrders()
    username = user.username

    order_ids = list(Order.objects.filter(user=user).values_list("pk", flat=True))
    customer_orders_anonymise(user=user)
    payment_tokens_forget(order_ids=order_ids)
    customer_forget(user=user)
    Address.objects.filter(owner=user).delete()
    EmailAddress.objects.filter(user=user).delete()
    WishlistItem.objects.filter(owner=user).delete()
    StockAlert.objects.filter(owner=user).delete()
    Token.objects.filter(user=user).delete()
    _sessions_delete(user.pk)
    _sign_in_records_delete(username)
    erased_name = erased_username(user.pk)
    # The admin's history names the account by its username: keep the entries, not the name.
    LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(User), object_id=str(user.pk)
    ).update(object_repr=erased_name, change_message="")

    user.username = erased_name
    user.email = ""
    user.first_name = ""
    user.last_name = ""
    user.is_active = False
    user.set_unusable_password()
    user.full_clean()
    user.save()
