"""Storefront pages for the cart, checkout and a customer's orders."""

import secrets
import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from orders import selectors, services
from orders.documents import invoice_response
from orders.forms import AddToCartForm, CartQuantityForm, CheckoutForm
from orders.models import CANCELLABLE, OrderEvent, OrderStatus
from orders.receivers import CART_SESSION_KEY
from payments.models import Payment
from shop.exceptions import ShopError


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
    try:
        item = services.cart_add_item(
            cart=_cart(request, create=True),
            product_id=form.cleaned_data["product"],
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


@login_required
def checkout(request):
    cart = _cart(request)
    lines = selectors.cart_lines(cart)
    if not lines:
        messages.info(request, "Your cart is empty.")
        return redirect("orders:cart")
    form = CheckoutForm(
        request.POST or None,
        initial={"idempotency_key": uuid.uuid4().hex, "name": request.user.get_full_name()},
    )
    if request.method == "POST" and form.is_valid():
        key = form.cleaned_data["idempotency_key"]
        try:
            _, body, _ = services.idempotent_call(
                user=request.user,
                scope="storefront.checkout",
                key=key,
                fingerprint=services.request_fingerprint(
                    {"address": form.address(), "token": form.cleaned_data["payment_token"]}
                ),
                action=lambda: (
                    201,
                    {
                        "number": services.order_place(
                            user=request.user,
                            shipping_address=form.address(),
                            payment_token=form.cleaned_data["payment_token"],
                            cart=cart,
                        ).number
                    },
                ),
            )
        except ShopError as exc:
            messages.error(request, exc.message)
        else:
            return redirect("orders:order-detail", number=body["number"])
    return render(
        request,
        "orders/checkout.html",
        {
            "form": form,
            "lines": lines,
            "total": selectors.cart_total(lines),
            "currency": lines[0]["product"].currency,
            "short": [line for line in lines if line["quantity"] > line["available"]],
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


@login_required
def order_detail(request, number):
    order = selectors.order_for_customer(user=request.user, number=number)
    if order is None:
        raise Http404("No such order.")
    payment = selectors.order_latest_payment(order)
    return render(
        request,
        "orders/order_detail.html",
        {
            "order": order,
            "payment": payment,
            "can_cancel": order.status in CANCELLABLE,
            "cancelled": order.status == OrderStatus.CANCELLED,
            "payment_failed": payment is not None and payment.status == Payment.Status.FAILED,
            "in_progress": order.status in (OrderStatus.CREATED, OrderStatus.CONFIRMED)
            or (order.status == OrderStatus.PROCESSING and order.paid_at is None),
            "documents": selectors.order_invoices(order),
        },
    )


@login_required
def order_invoice(request, number):
    """The order's invoice (or, with ?kind=credit_note, its credit note) as a PDF."""
    order = selectors.order_for_customer(user=request.user, number=number)
    document = None
    if order is not None:
        document = selectors.order_invoice(order, kind=request.GET.get("kind") or "invoice")
    if document is None:
        raise Http404("No such document.")
    return invoice_response(document)


@login_required
@require_POST
def order_cancel(request, number):
    order = selectors.order_for_customer(user=request.user, number=number)
    if order is None:
        raise Http404("No such order.")
    try:
        services.order_cancel(
            order_id=order.id,
            actor=OrderEvent.Actor.CUSTOMER,
            user=request.user,
            reason="cancelled by the customer",
        )
    except ShopError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Order {order.number} was cancelled.")
    return redirect("orders:order-detail", number=number)
