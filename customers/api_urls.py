from django.urls import path
from rest_framework.routers import SimpleRouter

from customers.api import AddressViewSet, RegisterView

router = SimpleRouter()
router.register("account/addresses", AddressViewSet, basename="account-address")

urlpatterns = [
    path("auth/register/", RegisterView.as_view(), name="api-register"),
    *router.urls,
]
