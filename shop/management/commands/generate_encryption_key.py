from django.core.management.base import BaseCommand

from shop.crypto import generate_key


class Command(BaseCommand):
    help = (
        "Print a new random key for FIELD_ENCRYPTION_KEYS. To rotate, put it first in the list "
        "(keep the old keys after it) and run `manage.py rotate_keys`."
    )

    def handle(self, *args, **options):
        self.stdout.write(generate_key())
