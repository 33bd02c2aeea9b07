"""Storefront: a buyer posts a review from the product page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from catalog.selectors import product_base_queryset
from recommendations import services
from recommendations.forms import ReviewForm
from shop.exceptions import ShopError


@login_required
@require_POST
def review_post(request, pk: int):
    product = get_object_or_404(product_base_queryset(), pk=pk)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(f"{product.get_absolute_url()}#reviews")
    try:
        services.review_create(user=request.user, product=product, **form.cleaned_data)
    except ShopError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Thank you for your review.")
    return redirect(f"{product.get_absolute_url()}#reviews")
