"""The cart: what a customer means to buy, at current prices, checked against stock.

A cart holds products of one currency only (the first product added sets it), so its total
adds like amounts and one order can be placed from it."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog.models import Product
from catalog.selectors import product_available_quantity
from orders.exceptions import (
    CurrencyMismatch,
    ProductNeedsVariant,
    ProductUnavailable,
    QuantityExceedsStock,
)
from orders.models import Cart, CartItem

MAX_LINE_QUANTITY = 99


def cart_get(*, user=None, session_key: str | None = None) -> Cart | None:
    if user is not None and user.is_authenticated:
        return Cart.objects.filter(user=user).first()
    if session_key:
        return Cart.objects.filter(session_key=session_key).first()
    return None


@transaction.atomic
def cart_get_or_create(*, user=None, session_key: str | None = None) -> Cart:
    if user is not None and user.is_authenticated:
        lookup = {"user": user}
    elif session_key:
        lookup = {"session_key": session_key}
    else:
        raise ValueError("A cart needs a signed-in user or a session.")
    try:
        with transaction.atomic():
            cart, _ = Cart.objects.get_or_create(**lookup)
    except IntegrityError:  # created by a concurrent request
        cart = Cart.objects.get(**lookup)
    return cart


def check_sellable(product: Product | None, product_id: int) -> Product:
    """The product, if it can be bought: active, not a parent (its variants are sold), and, for
    a variant, of an active parent. Otherwise ``ProductUnavailable`` (or its
    ``ProductNeedsVariant``)."""
    if product is None or not product.is_active:
        raise ProductUnavailable(
            "This product is not available.", details={"product_id": product_id}
        )
    if product.is_parent:
        axes = " and ".join(name for name, _ in product.option_axes) or "variant"
        raise ProductNeedsVariant(
            f"Choose a {axes} of {product.name}: it is sold by {axes}.",
            details={
                "product_id": product_id,
                "variants": list(
                    product.variants.filter(is_active=True)
                    .order_by("pk")
                    .values_list("pk", flat=True)
                ),
            },
        )
    if product.is_variant and not product.parent.is_active:
        raise ProductUnavailable(
            "This product is not available.", details={"product_id": product_id}
        )
    return product


def _sellable_product(product_id: int) -> Product:
    product = Product.objects.select_related("stock", "parent").filter(pk=product_id).first()
    return check_sellable(product, product_id)


def _check_quantity(product: Product, quantity: int) -> None:
    if quantity < 1 or quantity > MAX_LINE_QUANTITY:
        raise QuantityExceedsStock(
            f"Choose a quantity between 1 and {MAX_LINE_QUANTITY}.",
            details={"product_id": product.id, "requested": quantity},
        )
    available = product_available_quantity(product)
    if quantity > available:
        message = (
            f"Sorry, {product.name} is out of stock."
            if available == 0
            else f"Only {available} of {product.name} left in stock."
        )
        raise QuantityExceedsStock(
            message,
            details={"product_id": product.id, "requested": quantity, "available": available},
        )


def _cart_currency(cart: Cart) -> str | None:
    """The currency of what the cart holds; None for an empty cart."""
    return (
        CartItem.objects.filter(cart=cart)
        .order_by("pk")
        .values_list("product__currency", flat=True)
        .first()
    )


def _check_currency(cart: Cart, product: Product) -> None:
    currency = _cart_currency(cart)
    if currency is not None and product.currency != currency:
        raise CurrencyMismatch(
            f"{product.name} is priced in {product.currency} and your cart in {currency}: "
            "one order takes one currency. Check out or empty your cart first.",
            details={
                "product_id": product.id,
                "currency": product.currency,
                "cart_currency": currency,
            },
        )


@transaction.atomic
def cart_add_item(*, cart: Cart, product_id: int, quantity: int = 1) -> CartItem:
    """Add units of a product (on top of what the cart already has)."""
    product = _sellable_product(product_id)
    # One add at a time per cart, so two of them cannot bring in two currencies.
    list(Cart.objects.select_for_update().filter(pk=cart.pk).values_list("pk", flat=True))
    _check_currency(cart, product)
    item = CartItem.objects.select_for_update().filter(cart=cart, product=product).first()
    new_quantity = (item.quantity if item else 0) + quantity
    if quantity < 1:
        raise QuantityExceedsStock(
            "Choose a quantity of at least 1.",
            details={"product_id": product_id, "requested": quantity},
        )
    _check_quantity(product, new_quantity)
    if item is None:
        item = CartItem(cart=cart, product=product, quantity=new_quantity)
    else:
        item.quantity = new_quantity
    item.full_clean(validate_unique=False)
    item.save()
    Cart.objects.filter(pk=cart.pk).update(updated_at=timezone.now())
    return item


@transaction.atomic
def cart_set_quantity(*, cart: Cart, product_id: int, quantity: int) -> CartItem | None:
    """Set a line's quantity; 0 removes it. Returns None when the line is gone."""
    item = CartItem.objects.select_for_update().filter(cart=cart, product_id=product_id).first()
    if item is None:
        raise CartItem.DoesNotExist("This product is not in the cart.")
    if quantity == 0:
        item.delete()
        return None
    _check_quantity(_sellable_product(product_id), quantity)
    item.quantity = quantity
    item.full_clean(validate_unique=False)
    item.save(update_fields=["quantity"])
    return item


@transaction.atomic
def cart_remove_item(*, cart: Cart, product_id: int) -> None:
    deleted, _ = CartItem.objects.filter(cart=cart, product_id=product_id).delete()
    if not deleted:
        raise CartItem.DoesNotExist("This product is not in the cart.")


@transaction.atomic
def cart_clear(*, cart: Cart, product_ids: list[int] | None = None) -> None:
    items = CartItem.objects.filter(cart=cart)
    if product_ids is not None:
        items = items.filter(product_id__in=product_ids)
    items.delete()


@transaction.atomic
def cart_merge(*, user, session_key: str) -> Cart | None:
    """At login: move an anonymous session's cart into the customer's cart.

    Quantities add up, capped by what is in stock; lines that can no longer be bought, or that
    are priced in another currency than the customer's cart, are dropped."""
    anonymous = Cart.objects.filter(session_key=session_key).first()
    if anonymous is None:
        return None
    cart = cart_get_or_create(user=user)
    currency = _cart_currency(cart)
    for item in anonymous.items.select_related("product", "product__stock").order_by("pk"):
        existing = CartItem.objects.filter(cart=cart, product=item.product).first()
        wanted = item.quantity + (existing.quantity if existing else 0)
        available = min(product_available_quantity(item.product), MAX_LINE_QUANTITY)
        quantity = min(wanted, available)
        if not item.product.is_active or quantity < 1:
            continue
        if currency is None:
            currency = item.product.currency
        elif item.product.currency != currency:
            continue
        if existing:
            existing.quantity = quantity
            existing.save(update_fields=["quantity"])
        else:
            CartItem.objects.create(cart=cart, product=item.product, quantity=quantity)
    anonymous.delete()
    return cart


@transaction.atomic
def cart_restore_from_order(*, order) -> Cart | None:
    """Put a failed order's lines back into its customer's cart, so nothing is lost (unless the
    cart has meanwhile filled with products of another currency). A guest's order has no
    customer cart to go back to: None."""
    if order.user_id is None:
        return None
    cart = cart_get_or_create(user=order.user)
    currency = _cart_currency(cart)
    if currency is not None and currency != order.currency:
        return cart
    for line in order.lines.all():
        item, created = CartItem.objects.get_or_create(
            cart=cart, product_id=line.product_id, defaults={"quantity": line.quantity}
        )
        if not created and item.quantity < line.quantity:
            item.quantity = line.quantity
            item.save(update_fields=["quantity"])
    return cart
