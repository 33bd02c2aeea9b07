ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "12 St James's Square",
    "city": "London",
    "postal_code": "SW1Y 4JH",
    "country": "GB",
    "phone": "+44 20 7946 0000",
}


def order_payload(*lines, token="tok_visa", **extra):
    return {
        "items": [{"product": product.id, "quantity": quantity} for product, quantity in lines],
        "shipping_address": ADDRESS,
        "payment": {"method": "card", "token": token},
        **extra,
    }
