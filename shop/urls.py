from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path

from shop import views
from shop.admin import dashboard_view
from shop.security import throttle_login_posts

urlpatterns = [
    path("admin/dashboard/", admin.site.admin_view(dashboard_view), name="admin-dashboard"),
    path("admin/login/", throttle_login_posts(admin.site.login), name="admin-login"),
    path("admin/", admin.site.urls),
    # The JSON API, version 1 (docs/api.md). /api/ answers the same, for clients made before the
    # version was in the path; reverse() gives /api/ (the last of equal names wins).
    path("api/v1/", include("shop.api.urls")),
    path("api/", include("shop.api.urls")),
    path("health/", views.health, name="health"),
    path("metrics", views.metrics, name="metrics"),
    path("accounts/", include("customers.urls")),
    path("", include("orders.urls")),
    path("", include("payments.urls")),
    path("", include("recommendations.urls")),
    path("", include("catalog.urls")),
]

# Uploaded pictures: served by the shop itself only under DEBUG (`make run`); in production by
# the web server in front of it, or straight from the storage (docs/operations.md).
urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

handler404 = "shop.views.not_found"
handler500 = "shop.views.server_error"
