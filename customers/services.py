"""Accounts and the address book: registering, verifying the e-mail address (and claiming the
guest orders placed with it), and the only way addresses are added, changed, removed or made
the default.

A customer with addresses always has exactly one default: the first address becomes it, and
when the default is deleted the oldest remaining address takes its place. The database's
partial unique constraint keeps it at most one whatever happens."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

# The wishlist's and back-in-stock alerts' services live in their own modules (customers/
# wishlist.py, customers/alerts.py); they are services of this app like the ones below.
from customers.alerts import stock_alert_subscribe as stock_alert_subscribe
from customers.alerts import stock_alerts_send as stock_alerts_send
from customers.exceptions import AddressBookFull, VerificationLinkInvalid
from customers.models import ADDRESS_FIELDS, Address, EmailAddress
from customers.wishlist import wishlist_add as wishlist_add
from customers.wishlist import wishlist_remove as wishlist_remove
from orders.services import orders_claim
from shop.dispatch import enqueue_on_commit
from shop.mail import mail_send

MAX_ADDRESSES = 20


def _lock_book(owner_id: int) -> list[Address]:
    """Lock the owner's addresses (in primary-key order), so that two requests changing the
    default at once wait for each other instead of tripping the constraint."""
    return list(Address.objects.select_for_update().filter(owner_id=owner_id).order_by("pk"))


def _clean_values(values: dict) -> dict:
    unknown = set(values) - set(ADDRESS_FIELDS)
    if unknown:
        raise TypeError(f"Not address fields: {sorted(unknown)}")
    if "country" in values:
        values = {**values, "country": values["country"].upper()}
    return values


@transaction.atomic
def address_create(*, owner: AbstractBaseUser, make_default: bool = False, **values) -> Address:
    book = _lock_book(owner.pk)
    if len(book) >= MAX_ADDRESSES:
        raise AddressBookFull()
    address = Address(owner=owner, **_clean_values(values))
    address.is_default = make_default or not book
    # Validate the fields first, then hand the default over (the constraint is checked last).
    address.full_clean(validate_constraints=False)
    if address.is_default:
        Address.objects.filter(owner_id=owner.pk, is_default=True).update(is_default=False)
    address.validate_constraints()
    address.save()
    return address


@transaction.atomic
def address_update(*, address: Address, **values) -> Address:
    address = Address.objects.select_for_update().get(pk=address.pk)
    for field, value in _clean_values(values).items():
        setattr(address, field, value)
    address.full_clean()
    address.save()
    return address


@transaction.atomic
def address_set_default(*, address: Address) -> Address:
    book = {a.pk: a for a in _lock_book(address.owner_id)}
    address = book[address.pk]
    if not address.is_default:
        Address.objects.filter(owner_id=address.owner_id, is_default=True).update(is_default=False)
        address.is_default = True
        address.save(update_fields=["is_default", "updated_at"])
    return address


@transaction.atomic
def address_delete(*, address: Address) -> None:
    book = _lock_book(address.owner_id)
    was_default = any(a.pk == address.pk and a.is_default for a in book)
    Address.objects.filter(pk=address.pk).delete()
    if was_default:
        remaining = sorted(
            (a for a in book if a.pk != address.pk), key=lambda a: (a.created_at, a.pk)
        )
        if remaining:
            successor = remaining[0]
            successor.is_default = True
            successor.save(update_fields=["is_default", "updated_at"])


# --- registering and verifying the e-mail address -------------------------------------------
VERIFICATION_SALT = "customers.email-verification"


@transaction.atomic
def user_register(*, username: str, email: str, password: str):
    """Create a customer account and mail it the link that verifies its e-mail address.
    Raises ValidationError with per-field messages.

    Customers sign in with their username, which is public (it signs their reviews), so a
    taken username is reported. The e-mail address is only where the shop writes to: whether
    another account already uses it is never checked, so the answer cannot tell anyone that an
    address has an account here."""
    User = get_user_model()
    errors: dict[str, list[str]] = {}
    if User.objects.filter(username__iexact=username).exists():
        errors["username"] = ["A user with that username already exists."]
    user = User(username=username, email=email)
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        errors["password"] = list(exc.messages)
    try:
        user.full_clean(exclude=["password"])
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(
                m for m in messages if m not in errors.get(field, [])
            )
    if errors:
        raise ValidationError(errors)
    user.set_password(password)
    user.save()
    email_verification_request(user=user)
    return user


def _email_digest(email: str) -> str:
    return salted_hmac(VERIFICATION_SALT, (email or "").strip().lower()).hexdigest()[:20]


def email_verification_key(user) -> str:
    """The signed, dated key of the link that verifies ``user``'s current address. It names
    the account and a digest of the address (no address in it), so it verifies nothing once the
    address has changed."""
    return signing.dumps({"u": user.pk, "e": _email_digest(user.email)}, salt=VERIFICATION_SALT)


def email_is_verified(user) -> bool:
    """Whether ``user``'s current e-mail address was verified."""
    if not getattr(user, "is_authenticated", False) or not user.email:
        return False
    record = EmailAddress.objects.filter(user=user).first()
    return record is not None and record.is_verified_for(user.email)


@transaction.atomic
def email_verification_request(*, user) -> bool:
    """Mail ``user`` a verification link (after commit, by a task that retries). False when
    there is nothing to verify: no address, or the current one is verified already."""
    record, _ = EmailAddress.objects.get_or_create(user=user)
    if not user.email or record.is_verified_for(user.email):
        return False
    from customers.tasks import email_verification_send_task

    enqueue_on_commit(email_verification_send_task, user_id=user.pk)
    return True


def email_verification_send(*, user_id: int) -> bool:
    """Send the verification mail to the account's current address, unless it is verified by
    now (a repeated task then sends nothing). Errors of the mail server propagate (the task
    retries)."""
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None or not user.email or email_is_verified(user):
        return False
    days = settings.EMAIL_VERIFICATION_MAX_AGE_DAYS
    mail_send(
        to=[user.email],
        template="email_verification",
        subject=f"Confirm your e-mail address at {settings.SHOP_NAME}",
        context={
            "greeting": user.get_username(),
            "verify_url": settings.SHOP_URL
            + reverse("email-verify", args=[email_verification_key(user)]),
            "max_age_days": days,
        },
    )
    return True


@transaction.atomic
def email_verify(*, key: str):
    """Verify the address the key was made for and claim the guest orders placed with it.
    Returns (user, how many orders were claimed). Opening the link again changes nothing.

    Raises VerificationLinkInvalid for a key that is forged, expired, or made for an address
    the account no longer has."""
    try:
        data = signing.loads(
            key,
            salt=VERIFICATION_SALT,
            max_age=settings.EMAIL_VERIFICATION_MAX_AGE_DAYS * 24 * 3600,
        )
    except signing.BadSignature:  # also SignatureExpired
        raise VerificationLinkInvalid() from None
    User = get_user_model()
    user = User.objects.filter(pk=data.get("u") if isinstance(data, dict) else None).first()
    if (
        user is None
        or not user.is_active
        or not user.email
        or not constant_time_compare(str(data.get("e", "")), _email_digest(user.email))
    ):
        raise VerificationLinkInvalid()
    EmailAddress.objects.get_or_create(user=user)
    record = EmailAddress.objects.select_for_update().get(user=user)
    if not record.is_verified_for(user.email):
        record.email, record.verified_at = user.email, timezone.now()
        record.full_clean()
        record.save()
    return user, guest_orders_claim(user=user)


@transaction.atomic
def guest_orders_claim(*, user) -> int:
    """Bring the orders placed as a guest with the account's address into the account, if that
    address is verified (only its owner could verify it); otherwise nothing. Returns how many.
    Runs at verification and at each sign-in, so later guest orders join too."""
    if not email_is_verified(user):
        return 0
    return orders_claim(user=user, email=user.email)
