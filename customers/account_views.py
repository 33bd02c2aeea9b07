"""Account pages beyond the address book: the overview's privacy actions (download my data,
delete my account), the wishlist, and the product page's save and back-in-stock buttons."""

import json

from django import forms
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from catalog.models import Product
from customers import alerts, privacy, wishlist
from customers.exceptions import OpenOrders, ProductInStock
from orders.exceptions import ProductUnavailable
from shop.api.ids import MAX_ID


class AccountDeleteForm(forms.Form):
    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


def _back(request, fallback: str):
    """Where the form came from (a product page), if it is this shop's."""
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect(fallback)


def _product(pk: int) -> Product:
    return get_object_or_404(Product.objects.filter(is_active=True), pk=pk if pk <= MAX_ID else 0)


@login_required
def account_export(request):
    """Everything the shop holds about the customer, as a JSON file to download."""
    data = privacy.customer_export(user=request.user)
    response = HttpResponse(
        json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = 'attachment; filename="my-shop-data.json"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
def account_delete(request):
    form = AccountDeleteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            privacy.account_erase(user=request.user, password=form.cleaned_data["password"])
        except ValidationError as exc:
            for error in exc.message_dict.get("password", []):
                form.add_error("password", error)
        except OpenOrders as exc:
            form.add_error(None, exc.message)
        else:
            logout(request)
            messages.success(request, "Your account was deleted, and your personal data with it.")
            return redirect("catalog:home")
    return render(request, "customers/account_delete.html", {"form": form})


@login_required
def wishlist_page(request):
    return render(
        request,
        "customers/wishlist.html",
        {"items": wishlist.wishlist_items(owner=request.user)},
    )


@require_POST
@login_required
def wishlist_save(request, product_id: int):
    product = _product(product_id)
    try:
        wishlist.wishlist_add(owner=request.user, product=product)
    except ProductUnavailable as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{product.name} is saved on your wishlist.")
    return _back(request, "wishlist")


@require_POST
@login_required
def wishlist_remove(request, product_id: int):
    if wishlist.wishlist_remove(owner=request.user, product_id=product_id):
        messages.info(request, "The product was taken off your wishlist.")
    return _back(request, "wishlist")


@require_POST
@login_required
def stock_alert_create(request, product_id: int):
    product = _product(product_id)
    try:
        alerts.stock_alert_subscribe(owner=request.user, product=product)
    except (ProductInStock, ProductUnavailable) as exc:
        messages.info(request, exc.message)
    else:
        messages.success(request, f"We will write to you once when {product.name} is back.")
    return _back(request, product.get_absolute_url())
