from rest_framework.routers import SimpleRouter

from customers.api import AddressViewSet

router = SimpleRouter()
router.register("account/addresses", AddressViewSet, basename="account-address")

urlpatterns = router.urls
