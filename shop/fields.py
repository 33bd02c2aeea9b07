"""Model fields that keep personal data encrypted in the database (see shop.crypto)."""

import json

from django.db import models

from shop import crypto


class EncryptedTextField(models.TextField):
    """A text value stored as a Fernet token. Not searchable or orderable by content."""

    description = "Text encrypted at rest"

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return crypto.encrypt(str(value))

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return crypto.decrypt(value)


class EncryptedJSONField(models.TextField):
    """A JSON document (e.g. an address) stored as one Fernet token."""

    description = "JSON encrypted at rest"

    def get_prep_value(self, value):
        if value is None:
            return None
        return crypto.encrypt(json.dumps(value, sort_keys=True, separators=(",", ":")))

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return None
        return json.loads(crypto.decrypt(value))

    def to_python(self, value):
        if value is None or isinstance(value, (dict, list)):
            return value
        return json.loads(value)

    def value_to_string(self, obj):
        return json.dumps(self.value_from_object(obj))
