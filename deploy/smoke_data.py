"""The smoke test's shop: one customer and one product with stock, made through the services.

Run by deploy/smoke.sh with the production environment; prints the product id as JSON.
"""

import json
import os
import sys
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import django

django.setup()

from catalog.services import category_create, product_create  # noqa: E402
from customers.services import user_register  # noqa: E402
from inventory.services import stock_add  # noqa: E402


def main() -> None:
    user_register(
        username=os.environ["SMOKE_USERNAME"],
        email="smoke-customer@example.com",
        password=os.environ["SMOKE_PASSWORD"],
    )
    category = category_create(name="Smoke test")
    product = product_create(
        sku="SMOKE-1", name="Smoke test kettle", price=Decimal("24.90"), category=category
    )
    stock_add(product_id=product.pk, quantity=10, reason="smoke test stock")
    print(json.dumps({"product": product.pk}))


if __name__ == "__main__":
    main()
