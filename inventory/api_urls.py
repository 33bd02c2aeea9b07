from rest_framework.routers import SimpleRouter

from inventory.api import ReorderRequestViewSet, StockViewSet

router = SimpleRouter()
# Before the stock routes, so "reorders" is never read as a product id.
router.register("inventory/reorders", ReorderRequestViewSet, basename="reorder-request")
router.register("inventory", StockViewSet, basename="stock")

urlpatterns = router.urls
