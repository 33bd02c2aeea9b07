"""Encryption of personal data at rest with MultiFernet.

Keys come from ``FIELD_ENCRYPTION_KEYS``: a comma-separated list of Fernet keys (urlsafe
base64 of 32 random bytes; make one with ``manage.py generate_encryption_key``). The first
key encrypts, every key decrypts, so a new key is rolled out by putting it first and running
``manage.py rotate_keys`` while the shop keeps serving. Without the variable (the embedded
default and tests) one key is derived from the secret key with HKDF.
"""

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

__all__ = [
    "InvalidToken",
    "decrypt",
    "encrypt",
    "fernet",
    "generate_key",
    "is_current",
    "reset_keys",
    "rotate",
]


def _derived_key() -> bytes:
    material = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"shop field encryption v1"
    ).derive(settings.SECRET_KEY.encode())
    return base64.urlsafe_b64encode(material)


@lru_cache(maxsize=1)
def _fernets() -> tuple[Fernet, ...]:
    keys = [k.strip() for k in settings.FIELD_ENCRYPTION_KEYS if k.strip()]
    if not keys:
        if settings.PRODUCTION:
            raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must be set in production.")
        keys = [_derived_key().decode()]
    try:
        return tuple(Fernet(key) for key in keys)
    except ValueError as exc:
        raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEYS holds an invalid key: {exc}") from exc


@lru_cache(maxsize=1)
def fernet() -> MultiFernet:
    return MultiFernet(list(_fernets()))


def reset_keys() -> None:
    """Forget the cached keys (after the settings changed, e.g. in tests)."""
    _fernets.cache_clear()
    fernet.cache_clear()


def generate_key() -> str:
    """A new random key for FIELD_ENCRYPTION_KEYS."""
    return Fernet.generate_key().decode()


def is_current(token: str) -> bool:
    """Whether a token is already encrypted under the newest key (nothing to rotate)."""
    try:
        _fernets()[0].decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    return fernet().decrypt(token.encode()).decode()


def rotate(token: str) -> str:
    """The same plaintext, encrypted under the newest key."""
    return fernet().rotate(token.encode()).decode()
