"""Card gateways. The one in use is named by settings.PAYMENT_GATEWAY (a dotted path)."""

from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from payments.gateways.base import CardInfo, Gateway, GatewayStatus, Lookup, Result

__all__ = ["CardInfo", "Gateway", "GatewayStatus", "Lookup", "Result", "get_gateway"]


@cache
def _load(path: str) -> Gateway:
    return import_string(path)()


def get_gateway() -> Gateway:
    return _load(settings.PAYMENT_GATEWAY)
