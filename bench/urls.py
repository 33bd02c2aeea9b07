"""The shop's URLs plus ``/bench/floor/``, for the benchmark server only (bench.settings)."""

from django.urls import include, path

from bench import floor

urlpatterns = [
    path("bench/floor/", floor.floor_view, name="bench-floor"),
    path("", include("shop.urls")),
]

handler404 = "shop.views.not_found"
handler500 = "shop.views.server_error"
