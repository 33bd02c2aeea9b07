from customers import services

ADDRESS = {
    "name": "Dana Weber",
    "line1": "Lindenstrasse 12",
    "line2": "",
    "city": "Berlin",
    "postal_code": "10969",
    "country": "DE",
    "phone": "+49 30 1234567",
}


def make_address(owner, **changes):
    """An address added through the service, as a customer adds one."""
    return services.address_create(owner=owner, **{**ADDRESS, **changes})
