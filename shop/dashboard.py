"""Figures and server-side SVG charts for the staff dashboard (``/admin/dashboard/``).

Everything is read-only. Models of apps still being built (payments, reorder requests,
recommendation model versions) are optional: their panels say so when the model is missing.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from orders.models import OrderStatus
from shop import cache as shop_cache
from shop.metrics import _model, count_by


@dataclass
class Day:
    day: date
    orders: int
    revenue: dict[str, Decimal]  # by currency: amounts in different currencies never add up


def orders_per_day(*, days: int = 30, today: date | None = None) -> list[Day]:
    """Orders placed and revenue by currency (orders not cancelled) for each of the last
    ``days`` days."""
    Order = _model("orders", "Order")
    today = today or timezone.localdate()
    first = today - timedelta(days=days - 1)
    orders: dict[date, int] = defaultdict(int)
    revenue: dict[date, dict[str, Decimal]] = defaultdict(dict)
    if Order is not None:
        start = timezone.make_aware(datetime.combine(first, time.min))
        for row in (
            Order.objects.filter(created_at__gte=start)
            .annotate(day=TruncDate("created_at"))
            .values("day", "currency")
            .annotate(
                n=Count("pk"),
                revenue=Sum("total", filter=~Q(status=OrderStatus.CANCELLED), default=Decimal("0")),
            )
            .order_by("day", "currency")
        ):
            orders[row["day"]] += row["n"]
            revenue[row["day"]][row["currency"]] = row["revenue"]
    result = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        result.append(Day(day, orders.get(day, 0), revenue.get(day, {})))
    return result


def revenue_by_currency(days: list[Day], labels: list[str]) -> list[dict]:
    """One total and one chart per currency that earned something (the shop's own currency
    when none did)."""
    currencies = sorted({c for d in days for c, amount in d.revenue.items() if amount}) or [
        settings.SHOP_CURRENCY
    ]
    panels = []
    for currency in currencies:
        amounts = [d.revenue.get(currency, Decimal("0")) for d in days]
        panels.append(
            {
                "currency": currency,
                "total": sum(amounts, Decimal("0")),
                "chart": bar_chart(
                    amounts, labels, title=f"Revenue per day in {currency}, last 30 days"
                ),
            }
        )
    return panels


def payment_failure_rate() -> dict | None:
    """Failed payments among finished ones, or None without a payments model."""
    Payment = _model("payments", "Payment")
    if Payment is None:
        return None
    Status = Payment.Status
    counts = count_by(Payment)
    finished = sum(counts.get(s, 0) for s in (Status.COMPLETED, Status.FAILED, Status.REFUNDED))
    failed = counts.get(Status.FAILED, 0)
    return {
        "failed": failed,
        "finished": finished,
        "rate": failed / finished if finished else None,
        "by_status": counts,
    }


def low_stock(*, limit: int = 25) -> list:
    """Stock items at or below their reorder point, emptiest first."""
    StockItem = _model("inventory", "StockItem")
    if StockItem is None:
        return []
    return list(
        StockItem.objects.select_related("product")
        .annotate(available_units=F("quantity") - F("reserved"))
        .filter(available_units__lte=F("reorder_point"))
        .order_by("available_units", "product_id")[:limit]
    )


RECOMMENDATION_COLUMNS = ("algorithm", "status", "trained_at", "is_serving")


def _metric(value) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def recommendation_models(*, limit: int = 5) -> dict | None:
    """The newest trained model versions with their offline metrics, or None without the model.

    Each metric of the versions' ``metrics`` JSON (precision@k, recall, RMSE...) is a column.
    """
    ModelVersion = _model("recommendations", "ModelVersion")
    if ModelVersion is None:
        return None
    names = {f.name for f in ModelVersion._meta.concrete_fields}
    versions = list(ModelVersion.objects.order_by("-pk")[:limit])
    base = [n for n in RECOMMENDATION_COLUMNS if n in names] or [
        f.name for f in ModelVersion._meta.concrete_fields if f.name != "id"
    ][:6]
    metrics = {v.pk: getattr(v, "metrics", None) for v in versions}
    keys = sorted(
        {
            key
            for found in metrics.values()
            if isinstance(found, dict)
            for key, value in found.items()
            if isinstance(value, (int, float)) and not isinstance(value, bool)
        }
    )
    rows = []
    for version in versions:
        found = metrics[version.pk] if isinstance(metrics[version.pk], dict) else {}
        rows.append(
            [getattr(version, n) for n in base]
            + [_metric(found[k]) if k in found else "–" for k in keys]
        )
    return {"columns": [n.replace("_", " ") for n in base] + keys, "rows": rows}


def recommendations_in_the_shop() -> dict:
    """How recommendations do with customers: rates per slot and model version, and the A/B
    split's comparison (the numbers come from ``recommendations.selectors``)."""
    from recommendations import selectors

    return {"rows": selectors.recommendation_performance(), "ab": selectors.ab_result()}


def cache_areas() -> dict[str, dict]:
    return shop_cache.all_stats()


def bar_chart(
    values: list[float], labels: list[str], *, title: str, width: int = 720, height: int = 180
) -> SafeString:
    """A bar chart as inline SVG; every label is escaped, every number computed here."""
    pad_left, pad_bottom, pad_top = 48, 22, 10
    plot_w, plot_h = width - pad_left - 8, height - pad_bottom - pad_top
    top = max(values, default=0) or 1
    step = plot_w / max(len(values), 1)
    bar_w = max(step * 0.75, 1)
    bars = []
    for i, (value, label) in enumerate(zip(values, labels, strict=True)):
        h = plot_h * float(value) / float(top)
        x = pad_left + i * step
        y = pad_top + plot_h - h
        bars.append(
            format_html(
                '<rect x="{}" y="{}" width="{}" height="{}" fill="#417690">'
                "<title>{}: {}</title></rect>",
                f"{x:.1f}",
                f"{y:.1f}",
                f"{bar_w:.1f}",
                f"{h:.1f}",
                label,
                value,
            )
        )
    ticks = format_html_join(
        "",
        '<text x="{}" y="{}" font-size="10" text-anchor="middle" fill="#555">{}</text>',
        (
            (f"{pad_left + i * step + bar_w / 2:.1f}", height - 6, label)
            for i, label in enumerate(labels)
            if i % 5 == 0 or i == len(labels) - 1
        ),
    )
    axis = format_html(
        '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#999"/>'
        '<text x="{}" y="{}" font-size="10" text-anchor="end" fill="#555">{}</text>'
        '<text x="{}" y="{}" font-size="10" text-anchor="end" fill="#555">0</text>',
        pad_left - 2,
        pad_top + plot_h,
        width - 8,
        pad_top + plot_h,
        pad_left - 6,
        pad_top + 10,
        top,
        pad_left - 6,
        pad_top + plot_h,
    )
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{}" '
        'viewBox="0 0 {} {}" width="100%" preserveAspectRatio="xMinYMin meet">{}{}{}</svg>',
        title,
        width,
        height,
        axis,
        mark_safe("".join(bars)),  # each bar was built with format_html
        ticks,
    )


def context() -> dict:
    days = orders_per_day()
    labels = [d.day.strftime("%d %b") for d in days]
    Order = _model("orders", "Order")
    return {
        "days": days,
        "orders_chart": bar_chart(
            [d.orders for d in days], labels, title="Orders per day, last 30 days"
        ),
        "revenue": revenue_by_currency(days, labels),
        "orders_total": sum(d.orders for d in days),
        "orders_by_status": sorted(count_by(Order).items()),
        "payments": payment_failure_rate(),
        "low_stock": low_stock(),
        "cache_areas": cache_areas(),
        "recommendation_models": recommendation_models(),
        "recommendations_in_shop": recommendations_in_the_shop(),
    }
