"""The wishlist: products a customer saved for later. Only the owner ever reads or changes it."""

from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from catalog.models import Product
from catalog.selectors import product_images_prefetch
from customers.models import WishlistItem
from orders.exceptions import ProductUnavailable


def wishlist_items(*, owner) -> QuerySet[WishlistItem]:
    """The owner's saved products, the newest first (nobody else's, ever)."""
    if not getattr(owner, "is_authenticated", False):
        return WishlistItem.objects.none()
    return (
        WishlistItem.objects.filter(owner=owner)
        .select_related("product", "product__category", "product__stock")
        .prefetch_related(product_images_prefetch("product__images"))
        .order_by("-added_at", "-id")
    )


def wishlist_product_ids(*, owner) -> set[int]:
    return set(wishlist_items(owner=owner).values_list("product_id", flat=True))


@transaction.atomic
def wishlist_add(*, owner, product: Product) -> tuple[WishlistItem, bool]:
    """Save ``product`` (an active one; a parent too: the customer keeps the product and
    chooses its size or colour later, on its page); saving it again changes nothing. Returns
    the item and whether it was new."""
    if not product.is_active:
        raise ProductUnavailable("This product is no longer sold.")
    existing = WishlistItem.objects.filter(owner=owner, product=product).first()
    if existing:
        return existing, False
    item = WishlistItem(owner=owner, product=product)
    item.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():  # the same save from another tab may have won the race
            item.save()
    except IntegrityError:
        return WishlistItem.objects.get(owner=owner, product=product), False
    return item, True


@transaction.atomic
def wishlist_remove(*, owner, product_id: int) -> bool:
    """Take a product off the owner's wishlist; False when it was not on it."""
    deleted, _ = WishlistItem.objects.filter(owner=owner, product_id=product_id).delete()
    return bool(deleted)
