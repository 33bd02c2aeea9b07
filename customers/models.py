"""What a customer keeps with the shop: the address book.

Every part of an address that names or finds a person is stored encrypted (as the order's
shipping address is); only the country code stays readable, it is what prices shipping."""

from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import Q

from pricing.models import country_validator
from shop.fields import EncryptedTextField


def _encrypted(max_length: int, *, blank: bool = False) -> EncryptedTextField:
    # A TextField's max_length limits forms only; the validator makes full_clean() check it.
    return EncryptedTextField(
        blank=blank, max_length=max_length, validators=[MaxLengthValidator(max_length)]
    )


class Address(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="addresses"
    )
    name = _encrypted(120)
    line1 = _encrypted(200)
    line2 = _encrypted(200, blank=True)
    city = _encrypted(100)
    postal_code = _encrypted(20)
    country = models.CharField(max_length=2, validators=[country_validator])
    phone = _encrypted(40, blank=True)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_default", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner"],
                condition=Q(is_default=True),
                name="customers_address_one_default_per_owner",
            ),
        ]
        verbose_name_plural = "addresses"

    def __str__(self) -> str:
        return f"Address {self.pk} of user {self.owner_id}"

    def as_shipping_address(self) -> dict:
        """The address as an order's shipping address holds it."""
        return {field: getattr(self, field) for field in ADDRESS_FIELDS}


ADDRESS_FIELDS = ("name", "line1", "line2", "city", "postal_code", "country", "phone")


class WishlistItem(models.Model):
    """A product a customer saved for later. Only its owner ever sees it."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="wishlist_items"
    )
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-added_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "product"], name="customers_wishlist_once_per_product"
            ),
        ]

    def __str__(self) -> str:
        return f"Product {self.product_id} on the wishlist of user {self.owner_id}"


class StockAlert(models.Model):
    """A customer's request to be told, once, when an out-of-stock product is back.

    The mail is an outbox row: ``claimed_at`` is set by the one sender that may send it (a
    conditional update, so two restocks at once never send it twice), ``sent_at`` once it went.
    A customer has at most one waiting alert per product; a sent one may be followed by a new."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="stock_alerts"
    )
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "product"],
                condition=Q(sent_at__isnull=True),
                name="customers_stockalert_one_waiting",
            ),
        ]
        indexes = [
            models.Index(
                fields=["product"],
                condition=Q(sent_at__isnull=True),
                name="customers_stockalert_waiting",
            ),
        ]

    def __str__(self) -> str:
        return f"Alert for product {self.product_id} to user {self.owner_id}"


class EmailAddress(models.Model):
    """Whether the account's e-mail address is confirmed: the customer opened the signed link
    mailed to it (customers.services.email_verify).

    Verification holds for the address it was made for: ``email`` keeps that address
    (encrypted, like every address of a person), and a changed ``User.email`` is unverified
    until its own link is opened. An unverified account can shop; claiming guest orders placed
    with the address needs it verified (docs/customers.md)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_address"
    )
    email = EncryptedTextField(blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "e-mail address"
        verbose_name_plural = "e-mail addresses"

    def __str__(self) -> str:
        return f"E-mail address of user {self.user_id}"

    def is_verified_for(self, email: str) -> bool:
        return self.verified_at is not None and self.email.lower() == (email or "").lower()
