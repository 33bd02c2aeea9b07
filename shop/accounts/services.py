from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction


@transaction.atomic
def user_register(*, username: str, email: str, password: str):
    """Create a customer account. Raises ValidationError with per-field messages.

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
    return user
