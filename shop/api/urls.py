from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from shop.api import auth

urlpatterns = [
    path("auth/token/", auth.TokenView.as_view(), name="api-token"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("catalog.api_urls")),
    path("", include("inventory.api_urls")),
    path("", include("payments.api_urls")),
    path("", include("pricing.api_urls")),
    path("", include("orders.api_urls")),
    path("", include("recommendations.api_urls")),
    path("", include("customers.api_urls")),
]
