"""Storefront pages for the cart, checkout and a customer's orders."""

import secrets
import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import NON_FIELD_ERRORS, ObjectDoesNotExist, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from catalog.selectors import product_variant_id_for
from orders import hooks, links, selectors, services
from orders.documents import invoice_response
from orders.forms import (
    ADDRESS_FIELDS,
    AddToCartForm,
    CartQuantityForm,
    CheckoutForm,
    GuestCheckoutForm,
)
from orders.models import CANCELLABLE, OrderEvent, OrderStatus
from orders.receivers import CART_SESSION_KEY
from payments.models import Payment
from pricing.exceptions import (
    PriceChanged,
    ShippingMethodUnavailable,
    UnsupportedCountry,
    VoucherExhausted,
    VoucherInvalid,
)
from pricing.services import DEFAULT_METHOD, Quote
from shop.exceptions import ShopError
from shop.security import page_throttle_wait, throttled_page

GUEST_THROTTLED = (
    "Too many orders from your network without an account. Please wait a while, or sign in."
)


def _cart(request, *, create: bool = False):
    if request.user.is_authenticated:
        return (
            services.cart_get_or_create(user=request.user)
            if create
            else services.cart_get(user=request.user)
        )
    token = request.session.get(CART_SESSION_KEY)
    if token is None and create:
        token = request.session[CART_SESSION_KEY] = secrets.token_urlsafe(24)
    if token is None:
        return None
    return (
        services.cart_get_or_create(session_key=token)
        if create
        else services.cart_get(session_key=token)
    )


def _back(request, fallback: str) -> str:
    target = request.POST.get("next") or fallback
    return target if target.startswith("/") and not target.startswith("//") else fallback


def cart_detail(request):
    lines = selectors.cart_lines(_cart(request))
    return render(
        request,
        "orders/cart.html",
        {
            "lines": lines,
            "total": selectors.cart_total(lines),
            "currency": lines[0]["product"].currency if lines else None,
            "short": [line for line in lines if line["quantity"] > line["available"]],
        },
    )


@require_POST
def cart_add(request):
    form = AddToCartForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a quantity between 1 and 99.")
        return redirect(_back(request, reverse("orders:cart")))
    product_id = form.cleaned_data["product"]
    # A product page's option picker sends the parent and the chosen option_<name> values.
    options = {
        key[len("option_") :]: value
        for key, value in request.POST.items()
        if key.startswith("option_") and value
    }
    if options:
        product_id = product_variant_id_for(product_id=product_id, options=options)
    try:
        item = services.cart_add_item(
            cart=_cart(request, create=True),
            product_id=product_id,
            quantity=form.cleaned_data["quantity"],
        )
    except ShopError as exc:
        messages.error(request, exc.message)
        return redirect(_back(request, reverse("orders:cart")))
    messages.success(
        request, f"Added {form.cleaned_data['quantity']} × {item.product.name} to your cart."
    )
    return redirect(reverse("orders:cart"))


@require_POST
def cart_update(request):
    form = CartQuantityForm(request.POST)
    cart = _cart(request)
    if not form.is_valid() or cart is None:
        messages.error(request, "Choose a quantity between 0 and 99.")
        return redirect("orders:cart")
    try:
        services.cart_set_quantity(
            cart=cart,
            product_id=form.cleaned_data["product"],
            quantity=form.cleaned_data["quantity"],
        )
    except ShopError as exc:
        messages.error(request, exc.message)
    except ObjectDoesNotExist:
        messages.error(request, "That product is no longer in your cart.")
    else:
        messages.success(request, "Your cart was updated.")
    return redirect("orders:cart")


@require_POST
def cart_remove(request):
    cart = _cart(request)
    product = request.POST.get("product", "")
    if cart is not None and product.isdigit():
        try:
            services.cart_remove_item(cart=cart, product_id=int(product))
        except ObjectDoesNotExist:
            pass
        else:
            messages.success(request, "The item was removed from your cart.")
    return redirect("orders:cart")


# Which field a pricing refusal belongs to, to show it there.
PRICING_ERROR_FIELDS = {
    UnsupportedCountry: "country",
    ShippingMethodUnavailable: "shipping_method",
    VoucherInvalid: "voucher",
    VoucherExhausted: "voucher",
}


def _checkout_quote(
    *, user, cart, country: str, shipping_method: str | None, voucher: str | None
) -> tuple[Quote | None, dict]:
    """The quote the checkout page shows for the customer's choices, and what was wrong with
    them as {field: message} (``None`` for the page as a whole).

    A voucher that cannot be used, or a shipping method not offered for this basket, is set
    aside so that the page still shows a complete price for the rest; a country the shop does
    not deliver to leaves no quote."""
    errors: dict = {}
    for _attempt in range(3):
        try:
            quote = services.order_quote(
                user=user,
                shipping_address={"country": country},
                cart=cart,
                shipping_method=shipping_method,
                voucher=voucher,
            )
        except (VoucherInvalid, VoucherExhausted) as exc:
            errors["voucher"], voucher = exc.message, None
        except ShippingMethodUnavailable as exc:
            errors["shipping_method"] = exc.message
            available = exc.details.get("available") or []
            if not available:
                return None, errors
            shipping_method = DEFAULT_METHOD if DEFAULT_METHOD in available else available[0]
        except UnsupportedCountry as exc:
            errors["country"] = exc.message
            return None, errors
        except ShopError as exc:
            errors[None] = exc.message
            return None, errors
        else:
            return quote, errors
    return None, errors


def _checkout_place(request, *, form, cart) -> tuple[str | None, dict | None]:
    """Place the order of a valid checkout form at the total the page showed.

    Returns (the order's number, None), or (None, what to tell) when nothing was placed: a
    changed total as {"was": the total shown}, other refusals as messages on the page."""
    data = form.cleaned_data
    if data["expected_total"] is None:  # a page that showed no total: show one before charging
        return None, {"was": None}
    user = request.user if request.user.is_authenticated else None
    key, scope = data["idempotency_key"], "storefront.checkout"
    if user is None:
        # A guest's key is scoped by the visitor's cart token, so nobody else can replay it.
        key, scope = f"{request.session.get(CART_SESSION_KEY, '')}:{key}", "storefront.guest"
    try:
        _, body, _ = services.idempotent_call(
            user=user,
            scope=scope,
            key=key,
            fingerprint=services.request_fingerprint(
                {
                    "email": data["email"],
                    "address": form.address(),
                    "token": data["payment_token"],
                    "shipping_method": data["shipping_method"],
                    "voucher": data["voucher"],
                    "expected_total": data["expected_total"],
                }
            ),
            action=lambda: (
                201,
                {
                    "number": services.order_place(
                        user=user,
                        email=data["email"] if user is None else "",
                        shipping_address=form.address(),
                        payment_token=data["payment_token"],
                        cart=cart,
                        shipping_method=data["shipping_method"] or None,
                        voucher=data["voucher"] or None,
                        expected_total=data["expected_total"],
                    ).number
                },
            ),
        )
    except PriceChanged:
        return None, {"was": data["expected_total"]}
    except tuple(PRICING_ERROR_FIELDS) as exc:
        form.add_error(PRICING_ERROR_FIELDS[type(exc)], exc.message)
    except ShopError as exc:
        messages.error(request, exc.message)
    else:
        return body["number"], None
    return None, None


def _save_address(request, book, address: dict) -> None:
    """Keep the order's address in the customer's book; the order stands whatever happens."""
    try:
        if book.save(request.user, address):
            messages.success(request, "The address was saved to your address book.")
    except ShopError as exc:
        messages.warning(request, f"The address was not saved: {exc.message}")
    except ValidationError:
        messages.warning(request, "The address was not saved: it is not complete.")


def _saved_with_selection(saved: list, shown: dict) -> list[dict]:
    """The saved addresses for the page, each marked ``selected`` when the form holds it."""
    return [{"saved": a, "selected": hooks.same_address(a.address, shown)} for a in saved]


def _shown_address(form) -> dict:
    """The address the page shows: what was submitted, or the initial one."""
    return {field: form[field].value() or "" for field in ADDRESS_FIELDS}


def checkout(request):
    """The checkout page: address, delivery method, voucher and card beside the priced summary.

    A visitor without an account checks out as a guest with an e-mail address: the order's
    mails go there, with a signed link to its page (orders.links); the session that placed it
    sees it at once. Guests' orders are limited per address (``THROTTLE_GUEST_CHECKOUT_RATE``).

    A submit whose ``action`` is not ``place`` only re-prices the page (the same page with a new
    quote; without JavaScript, too). Placing passes the total the customer saw: a total that
    changed since shows the page again with the new price, nothing placed or reserved."""
    cart = _cart(request)
    lines = selectors.cart_lines(cart)
    if not lines:
        messages.info(request, "Your cart is empty.")
        return redirect("orders:cart")
    action = request.POST.get("action", "place")
    guest = not request.user.is_authenticated
    book = None if guest else hooks.address_book()
    saved = book.addresses(request.user) if book else []
    data = request.POST or None
    initial = {
        "idempotency_key": uuid.uuid4().hex,
        "name": "" if guest else request.user.get_full_name(),
    }
    if data is not None and data.get("use_address"):
        # "Deliver to this address": its fields replace what the form held, then re-price.
        action, data = "update", data.copy()
        chosen = next((a for a in saved if str(a.id) == data["use_address"]), None)
        for field, value in (chosen.address if chosen else {}).items():
            data[field] = value or ""
    elif data is None and saved:
        initial.update(saved[0].address if saved[0].is_default else {})
    form_class = GuestCheckoutForm if guest else CheckoutForm
    form = form_class(data, initial=initial)
    price_changed = None
    if form.is_bound:
        valid = form.is_valid()
        if action != "place":
            form.keep_only_pricing_errors()
        elif form.errors.pop("expected_total", None):  # not a decimal: not a total we showed
            price_changed = {"was": None}
        elif valid:
            if guest:
                wait = page_throttle_wait(request, "guest_checkout")
                if wait is not None:
                    return throttled_page(GUEST_THROTTLED, wait)
            number, price_changed = _checkout_place(request, form=form, cart=cart)
            if number:
                if guest:
                    links.session_remember(request.session, number)
                elif book is not None and form.cleaned_data.get("save_address"):
                    _save_address(request, book, form.address())
                return redirect("orders:order-detail", number=number)

    # The choices that price the page: what was submitted, or the defaults.
    if form.is_bound:
        chosen = form.cleaned_data
        country = chosen.get("country")  # None while what was typed is not a country code
        method = chosen.get("shipping_method") or None
        voucher = "" if action == "remove_voucher" else chosen.get("voucher", "")
        voucher_typed = voucher if "voucher" in chosen else form["voucher"].value()
    else:
        country, method, voucher, voucher_typed = form["country"].value(), None, "", ""
    quote, errors = None, {}
    if country:
        quote, errors = _checkout_quote(
            user=None if guest else request.user,
            cart=cart,
            country=country,
            shipping_method=method,
            voucher=voucher or None,
        )
    if not method:
        errors.pop("shipping_method", None)  # the default method was not the customer's choice
    for field, message in errors.items():
        if not form.is_bound:
            messages.error(request, message)
        elif (field or NON_FIELD_ERRORS) not in form.errors:
            form.add_error(field, message)
    return render(
        request,
        "orders/checkout.html",
        {
            "form": form,
            "quote": quote,
            "lines": lines,
            "short": [line for line in lines if line["quantity"] > line["available"]],
            "shipping_method": quote.shipping_method if quote else method or "",
            "voucher_typed": voucher_typed or "",
            "price_changed": price_changed,
            "guest": guest,
            "saved_addresses": _saved_with_selection(saved, _shown_address(form)),
        },
    )


@login_required
def order_list(request):
    return render(
        request,
        "orders/order_list.html",
        {
            "orders": selectors.order_list(user=request.user)[:100],
        },
    )


def _order_for_visitor(request, number: str):
    """The order if this visitor may see it: their own (staff: any), or one whose signed link
    this browser session opened (orders.links); None otherwise."""
    if request.user.is_authenticated:
        order = selectors.order_for_customer(user=request.user, number=number)
        if order is not None:
            return order
    if links.session_allows(request.session, number):
        return selectors.order_detail_queryset().filter(number=number).first()
    return None


def _no_order(request):
    """Someone else's order is a 404; a visitor who is not signed in is asked to sign in."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    raise Http404("No such order.")


def order_detail(request, number):
    key = request.GET.get("key")
    if key is not None:
        # The link from an order mail: remember the order for this session, then show the page
        # at its plain address (the key stays out of the history and of Referer headers).
        if links.order_from_link_key(number=number, key=key) is None:
            return render(request, "orders/order_link_invalid.html", status=403)
        links.session_remember(request.session, number)
        return redirect("orders:order-detail", number=number)
    order = _order_for_visitor(request, number)
    if order is None:
        return _no_order(request)
    payment = selectors.order_latest_payment(order)
    # The card needs the customer's authentication (3-D Secure): the page sends them there.
    action_required = (
        order.status == OrderStatus.PROCESSING
        and payment is not None
        and payment.status == Payment.Status.ACTION_REQUIRED
        and bool(payment.next_action_url)
    )
    return render(
        request,
        "orders/order_detail.html",
        {
            "order": order,
            "payment": payment,
            "can_cancel": order.status in CANCELLABLE,
            "cancelled": order.status == OrderStatus.CANCELLED,
            "payment_failed": payment is not None and payment.status == Payment.Status.FAILED,
            "in_progress": not action_required
            and (
                order.status in (OrderStatus.CREATED, OrderStatus.CONFIRMED)
                or (order.status == OrderStatus.PROCESSING and order.paid_at is None)
            ),
            "action_required": action_required,
            "documents": selectors.order_invoices(order),
            **_returns_context(order, can_request=order.user_id == request.user.pk),
        },
    )


def _returns_context(order, *, can_request: bool) -> dict:
    """The order's returns, and what can still be asked back (while the window is open, by the
    customer whose account placed the order: a guest's order is returned through the shop's
    staff)."""
    ends = services.return_window_ends(order)
    returnable = []
    if can_request and ends is not None and ends >= timezone.now():
        left = services.order_returnable_units(order)
        returnable = [
            {"line": line, "left": left[line.pk]}
            for line in order.lines.all()
            if left.get(line.pk, 0) > 0
        ]
    return {
        "returns": selectors.order_returns(order),
        "returnable": returnable,
        "return_window_ends": ends,
    }


@login_required
@require_POST
def order_return_request(request, number):
    """Ask to send back units of the order's lines: ``qty_<line id>`` per line, and a reason."""
    order = selectors.order_for_customer(user=request.user, number=number)
    if order is None:
        raise Http404("No such order.")
    lines = []
    for line in order.lines.all():
        value = (request.POST.get(f"qty_{line.pk}") or "0").strip()
        if not value.isdecimal():
            messages.error(request, f"Enter how many of {line.product_name} to return.")
            return redirect("orders:order-detail", number=number)
        if int(value) > 0:
            lines.append((line.pk, int(value)))
    try:
        services.return_request(
            order_id=order.id,
            lines=lines,
            reason=request.POST.get("reason", ""),
            user=request.user,
        )
    except ShopError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, "Your return request was sent. We will e-mail you once it is approved."
        )
    return redirect("orders:order-detail", number=number)


@login_required
def return_credit_note(request, number, return_id):
    """The credit note of one of the order's returns, as a PDF."""
    document = selectors.return_credit_note(
        user=request.user, order_number=number, return_id=return_id
    )
    if document is None:
        raise Http404("No such document.")
    return invoice_response(document)


def order_invoice(request, number):
    """The order's invoice (or, with ?kind=credit_note, its credit note) as a PDF."""
    order = _order_for_visitor(request, number)
    if order is None:
        return _no_order(request)
    document = None
    if order is not None:
        document = selectors.order_invoice(order, kind=request.GET.get("kind") or "invoice")
    if document is None:
        raise Http404("No such document.")
    return invoice_response(document)


@require_POST
def order_cancel(request, number):
    order = _order_for_visitor(request, number)
    if order is None:
        return _no_order(request)
    try:
        services.order_cancel(
            order_id=order.id,
            actor=OrderEvent.Actor.CUSTOMER,
            user=request.user if request.user.is_authenticated else None,
            reason="cancelled by the customer",
        )
    except ShopError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Order {order.number} was cancelled.")
    return redirect("orders:order-detail", number=number)
