"""Serializers built once per process, for the API's hottest requests.

Instantiating a DRF serializer deep-copies every declared field, and a ModelSerializer builds
its model fields anew from the model on each instance (nested serializers once more, for each
nesting). For an order placement that was a fifth of the request's CPU, spent producing the
same field objects every time. Validation (``run_validation``) and output
(``to_representation``) keep no state on the serializer, so one unbound instance per class
serves every request of the process, and every thread of it, with DRF's own code doing the
work: the answers are the serializer's, field for field.

Only what the serializer is declared with is shared: a serializer whose fields depend on the
request (``context``) or that keeps state while validating must not go through here.
"""

from functools import cache
from typing import Any

from rest_framework import serializers


@cache
def shared(serializer_class: type[serializers.Serializer]) -> serializers.Serializer:
    """The process's one unbound instance of ``serializer_class``, fields built once."""
    serializer = serializer_class()
    serializer.fields  # noqa: B018  built here, not by the first request that races for it
    return serializer


def represent(serializer_class: type[serializers.Serializer], instance: Any) -> dict:
    """What ``serializer_class(instance).data`` is, as a plain dict."""
    return shared(serializer_class).to_representation(instance)


def validated(serializer_class: type[serializers.Serializer], data: Any) -> Any:
    """What ``serializer_class(data=data)`` validates ``data`` into.

    An invalid body is validated again by a fresh serializer whose ``is_valid`` raises: the
    400 answer is then exactly the one a serializer of its own gives (``is_valid`` reshapes a
    few errors on its way out), and only the rare invalid request pays for the copy."""
    try:
        return shared(serializer_class).run_validation(data)
    except serializers.ValidationError:
        pass
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
