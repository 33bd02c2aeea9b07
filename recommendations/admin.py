"""Staff screens: model versions (read-only, with a chart of quality over time), interactions,
reviews."""

from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html

from recommendations.models import Interaction, ModelVersion, Review

CHART_METRICS = (("ndcg", "#1f77b4"), ("precision", "#ff7f0e"), ("recall", "#2ca02c"))


def metrics_chart(versions, *, width: int = 720, height: int = 240) -> dict:
    """Lines of validation metrics over versions (oldest first), as SVG coordinates."""
    pad = 32
    points = [v for v in versions if v.metrics.get("validation")]
    lines = []
    top = max(
        [v.metrics["validation"].get(m, 0.0) for v in points for m, _ in CHART_METRICS] + [0.1]
    )
    step = (width - 2 * pad) / max(len(points) - 1, 1)
    for metric, colour in CHART_METRICS:
        coords = [
            (
                pad + i * step,
                height - pad - (height - 2 * pad) * v.metrics["validation"].get(metric, 0.0) / top,
            )
            for i, v in enumerate(points)
        ]
        lines.append(
            {
                "metric": metric,
                "colour": colour,
                "points": " ".join(f"{x:.1f},{y:.1f}" for x, y in coords),
                "dots": [
                    {"x": x, "y": y, "label": f"{v.algorithm} #{v.pk}"}
                    for (x, y), v in zip(coords, points, strict=True)
                ],
            }
        )
    return {"width": width, "height": height, "pad": pad, "top": round(top, 3), "lines": lines}


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "algorithm",
        "status",
        "is_serving",
        "is_active",
        "ndcg",
        "trained_at",
        "duration_seconds",
        "n_users",
        "n_items",
        "n_interactions",
    ]
    list_filter = ["algorithm", "status", "is_active"]
    readonly_fields = [f.name for f in ModelVersion._meta.fields]
    change_list_template = "admin/recommendations/modelversion/change_list.html"

    @admin.display(description="NDCG@10")
    def ndcg(self, version):
        value = version.metrics.get("validation", {}).get("ndcg")
        return format_html("{}", f"{value:.4f}") if value is not None else "-"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # versions_prune keeps the serving ones and drops the rest

    def get_urls(self):
        return [
            path(
                "chart/",
                self.admin_site.admin_view(self.chart_view),
                name="recommendations_modelversion_chart",
            ),
            *super().get_urls(),
        ]

    def chart_view(self, request):
        algorithm = request.GET.get("algorithm") or None
        qs = ModelVersion.objects.filter(status=ModelVersion.Status.READY)
        if algorithm:
            qs = qs.filter(algorithm=algorithm)
        versions = list(qs.order_by("trained_at", "id")[:200])
        context = {
            **self.admin_site.each_context(request),
            "title": "Recommendation quality over versions",
            "opts": self.model._meta,
            "chart": metrics_chart(versions),
            "algorithms": sorted(set(ModelVersion.objects.values_list("algorithm", flat=True))),
            "algorithm": algorithm,
        }
        return TemplateResponse(request, "admin/recommendations/modelversion/chart.html", context)


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    """Recorded by the shop and by customers through the services (a rating only by a buyer):
    shown here, never written."""

    list_display = ["at", "user", "product", "kind", "value", "source"]
    list_filter = ["kind"]
    search_fields = ["user__username", "product__name", "product__sku"]
    list_select_related = ["user", "product"]
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    """A customer's words: staff moderate by deleting a review, never by writing one or
    rewording it (``review_create`` is the only way in: buyers only, once each)."""

    list_display = ["created_at", "product", "user", "rating", "title"]
    list_filter = ["rating"]
    search_fields = ["product__name", "user__username", "title", "text"]
    list_select_related = ["user", "product"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
