"""The quick start of docs/api.md, with the Python client generated from the shop's schema.

clients/run.sh generates the client (package ``shop_client``, openapi-python-client) and runs
this file against a live shop with SHOP_URL, SHOP_USERNAME and SHOP_PASSWORD set. The code
between ``# region: NAME`` and ``# endregion`` is what docs/api.md shows (clients/snippets.py
keeps the two equal); what lies outside the regions checks the answers.
"""

import os
import sys
import uuid
from decimal import Decimal

MAX_LINE_QUANTITY = 99  # units of one product per order line


def check(condition: bool, what: str) -> None:
    if not condition:
        sys.exit(f"python client: FAILED: {what}")
    print(f"python client: ok: {what}")


# region: token
from shop_client import AuthenticatedClient, Client
from shop_client.api.auth import token_obtain
from shop_client.models import CredentialsRequest, Token

SHOP_URL = os.environ.get("SHOP_URL", "http://127.0.0.1:8000")
credentials = CredentialsRequest(
    username=os.environ["SHOP_USERNAME"], password=os.environ["SHOP_PASSWORD"]
)
answer = token_obtain.sync(client=Client(base_url=SHOP_URL), body=credentials)
if not isinstance(answer, Token):
    sys.exit(f"no token: {answer.error.code}: {answer.error.message}")
shop = AuthenticatedClient(base_url=SHOP_URL, token=answer.token, prefix="Token")
# endregion
check(len(answer.token) >= 20, "a token for the customer")

# region: products
from shop_client.api.products import product_list
from shop_client.models import ProductListOrdering

page = product_list.sync(
    client=shop, in_stock=True, ordering=ProductListOrdering.PRICE, page_size=10
)
for product in page.results:
    print(product.id, product.sku, product.name, product.price, product.currency)
# endregion
prices = [Decimal(product.price) for product in page.results]
check(page.results and all(p.in_stock for p in page.results), "in_stock=True lists products")
check(prices == sorted(prices), "ordering=price sorts by price")
sold_out = product_list.sync(client=shop, in_stock=False, page_size=100)
check(not any(p.in_stock for p in sold_out.results), "in_stock=False lists only sold-out ones")

# region: pagination
products, number = [], 1
while True:
    page = product_list.sync(client=shop, in_stock=True, page=number, page_size=100)
    products += page.results
    if page.next_ is None:  # "next" in the answer
        break
    number += 1
# endregion
check(len(products) == page.count, f"{page.count} products in stock, page after page")

# region: quote
from shop_client.api.checkout import checkout_quote
from shop_client.models import AddressRequest, CheckoutQuoteRequest, OrderItemInputRequest

address = AddressRequest(
    name="Erika Mustermann",
    line1="Hauptstr. 1",
    city="Berlin",
    postal_code="10115",
    country="DE",
)
items = [OrderItemInputRequest(product=products[0].id, quantity=2)]
quote = checkout_quote.sync(
    client=shop, body=CheckoutQuoteRequest(items=items, shipping_address=address)
)
print(quote.subtotal, quote.discount, quote.shipping, quote.tax_total, quote.total)
# endregion
check(
    Decimal(quote.total)
    == Decimal(quote.subtotal) - Decimal(quote.discount) + Decimal(quote.shipping),
    f"the quote adds up to {quote.total} {quote.currency}",
)

# region: order
from shop_client.api.orders import order_get, order_place
from shop_client.models import PaymentInputRequest, PlaceOrderRequest

key = str(uuid.uuid4())  # one key per order: a retry with it never orders twice
body = PlaceOrderRequest(
    items=items,
    shipping_address=address,
    payment=PaymentInputRequest(token="tok_visa"),
    expected_total=quote.total,  # 409 price_changed, and no order, if the total moved
)
placed = order_place.sync_detailed(client=shop, body=body, idempotency_key=key)
order = placed.parsed
print(placed.status_code, order.number, order.status, order.total)

retried = order_place.sync_detailed(client=shop, body=body, idempotency_key=key)
print(retried.parsed.id == order.id, retried.headers.get("Idempotent-Replayed"))

order = order_get.sync(client=shop, id=order.id)
print(order.number, order.status, [(line.sku, line.quantity) for line in order.lines])
# endregion
check(placed.status_code == 201 and order.total == quote.total, f"order {order.number} placed")
check(retried.status_code == 201 and retried.parsed.id == order.id, "a retry is the same order")
check(retried.headers.get("Idempotent-Replayed") == "true", "the retry says it was replayed")
check([line.product for line in order.lines] == [products[0].id], "the order reads back")
other = order_place.sync_detailed(
    client=shop,
    body=PlaceOrderRequest(
        items=[OrderItemInputRequest(product=products[0].id, quantity=1)],
        shipping_address=address,
        payment=body.payment,
    ),
    idempotency_key=key,
)
check(
    other.status_code == 409 and other.parsed.error.code == "idempotency_conflict",
    "the same key with another body is idempotency_conflict",
)

from shop_client.api.products import product_get

product_id = next(  # a product with fewer units left than one line may order
    p.id
    for p in products
    if product_get.sync(client=shop, id=p.id).available_quantity < MAX_LINE_QUANTITY
)

# region: errors
from shop_client.api.products import product_get
from shop_client.models import OrderConflictError, OrderConflictErrorCode

product = product_get.sync(client=shop, id=product_id)
too_many = PlaceOrderRequest(
    items=[OrderItemInputRequest(product=product.id, quantity=product.available_quantity + 1)],
    shipping_address=address,
    payment=PaymentInputRequest(token="tok_visa"),
)
refused = order_place.sync_detailed(client=shop, body=too_many, idempotency_key=str(uuid.uuid4()))
if isinstance(refused.parsed, OrderConflictError):
    error = refused.parsed.error
    if error.code == OrderConflictErrorCode.INSUFFICIENT_STOCK:
        print("not enough in stock:", error.message, error.details.to_dict())
# endregion
check(
    refused.status_code == 409
    and isinstance(refused.parsed, OrderConflictError)
    and refused.parsed.error.code == OrderConflictErrorCode.INSUFFICIENT_STOCK,
    "one unit more than in stock is a clean 409 insufficient_stock",
)
print("python client: all checks passed")
