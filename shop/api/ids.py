"""Ids from URLs and bodies: a number past every database integer names nothing.

Django answers a primary-key lookup with such a number with "no rows", but not a foreign-key
lookup (``product_id=``) or ``in_bulk``: there SQLite's driver cannot even bind the number and
the request fails with a 500. So ids are checked where they come in.
"""

from rest_framework import serializers
from rest_framework.exceptions import NotFound

MAX_ID = 2**63 - 1  # the largest integer a database column holds


def id_field(**kwargs) -> serializers.IntegerField:
    """A body field naming a stored object by id (the schema says 1..MAX_ID)."""
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


def id_or_404(value) -> int:
    """A path id; one past every stored id is a 404, as any unknown id is."""
    number = int(value)
    if number > MAX_ID:
        raise NotFound()
    return number
