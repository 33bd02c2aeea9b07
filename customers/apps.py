from django.apps import AppConfig


class CustomersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "customers"
    verbose_name = "Customers: accounts and address books"

    def ready(self):
        from customers.alerts import stock_available_received
        from inventory.signals import stock_available

        stock_available.connect(stock_available_received, dispatch_uid="customers-stock-alerts")

        from customers import receivers  # noqa: F401 - connects the login receiver
        from customers.checkout import CheckoutAddressBook
        from orders.hooks import register_address_book

        register_address_book(CheckoutAddressBook())
