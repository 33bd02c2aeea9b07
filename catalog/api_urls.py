from rest_framework.routers import SimpleRouter

from catalog.api import CategoryViewSet, ProductImageViewSet, ProductViewSet

router = SimpleRouter()
router.register(
    r"products/(?P<product_id>[0-9]+)/images", ProductImageViewSet, basename="product-image"
)
router.register("products", ProductViewSet, basename="product")
router.register("categories", CategoryViewSet, basename="category")

urlpatterns = router.urls
