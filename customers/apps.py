from django.apps import AppConfig


class CustomersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "customers"
    verbose_name = "Customers: accounts and address books"

    def ready(self):
        from customers.alerts import stock_available_received
        from inventory.signals import stock_available

        stock_available.connect(stock_available_received, dispatch_uid="customers-stock-alerts")
