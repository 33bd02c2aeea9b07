from django.urls import path
from rest_framework.routers import SimpleRouter

from orders.api import CartItemsView, CartItemView, CartView, OrderViewSet, QuoteView
from orders.api_returns import ReturnViewSet

router = SimpleRouter()
router.register("orders", OrderViewSet, basename="order")
router.register("returns", ReturnViewSet, basename="return")

urlpatterns = [
    path("cart/", CartView.as_view(), name="api-cart"),
    path("cart/items/", CartItemsView.as_view(), name="api-cart-items"),
    path("cart/items/<int:product_id>/", CartItemView.as_view(), name="api-cart-item"),
    path("checkout/quote/", QuoteView.as_view(), name="api-checkout-quote"),
    *router.urls,
]
