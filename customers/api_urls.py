from django.urls import path
from rest_framework.routers import SimpleRouter

from customers.account_api import AccountExportView, AccountView, NotifyMeView, WishlistViewSet
from customers.api import AddressViewSet, RegisterView

router = SimpleRouter()
router.register("account/addresses", AddressViewSet, basename="account-address")
router.register("wishlist", WishlistViewSet, basename="wishlist-item")

urlpatterns = [
    path("account/", AccountView.as_view(), name="api-account"),
    path("account/export/", AccountExportView.as_view(), name="api-account-export"),
    path("products/<int:pk>/notify-me/", NotifyMeView.as_view(), name="api-product-notify-me"),
    path("auth/register/", RegisterView.as_view(), name="api-register"),
    *router.urls,
]
