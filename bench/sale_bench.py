"""The sale: how fast the catalog's list pages stay while orders sell products out, and how fast
the storefront's HTML pages are (list and detail, anonymous, warm).

A catalog of 2,000 products (``load_demo --products 2000``), one gunicorn instance, one Celery
worker. SALE_PRODUCTS of the cheapest products are on sale. Three phases, each a wrk run
of STREAM_SECONDS over the list pages (the all-products list and every root category's, API and
HTML in separate runs), measured right after a warm-up:

- quiet: no orders (the first round only: no goal is judged on it);
- sell-out stream: ORDERS_PER_SECOND orders of one unit each, every one for another sale
  product that has exactly one unit left, so each order sells a product out;
- the same stream without sell-outs: the same orders on the same products, which now have
  plenty of units.

The goal: the list under the sell-out stream >= 0.9x the list under the stream without
sell-outs. Part of ``make bench`` (bench/run_all.py, ``sale``); it empties the bench
database and loads its own catalog, so it runs after the parts that need theirs.
"""

import http.client
import json
import os
import threading
import time

from bench import harness as h

PRODUCTS = 2_000
SALE_PRODUCTS = 200
ORDERS_PER_SECOND = 20
STREAM_SECONDS = 10
CONNECTIONS = 16
BUYERS = 8
PLENTY = 1_000
GOAL = 0.9
APPS = ("catalog", "customers", "inventory", "orders", "payments", "pricing", "recommendations")


# --- setup ----------------------------------------------------------------------------------
# What the catalog in the database is made from: a copy of it (h.restore_template) is reused
# while none of these changed. Every app's migrations, the packages (their migrations), and
# the code that loads the demo catalog and its pictures.
CATALOG_INPUTS = (
    "requirements.txt",
    *(f"{app}/migrations" for app in APPS),
    "catalog/models.py",
    "catalog/services.py",
    "catalog/demo_data.py",
    "catalog/demo_images.py",
    "catalog/renditions.py",
    "catalog/management",
    "inventory/models.py",
    "inventory/services.py",
    "pricing/models.py",
    "pricing/defaults.py",
)
TEMPLATE = "sale"


def prepare() -> dict:
    """An empty bench database with the 2,000-product demo catalog, buyers with API tokens, the
    sale products and the pages to load."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    from catalog.models import Category, Product
    from pricing import defaults

    if os.environ.get("BENCH_SALE_KEEP") == "1" and Product.objects.count() >= PRODUCTS:
        # Comparing two versions of the code: the catalog of the run before is reused.
        h.say("sale: keeping the catalog of the last run (BENCH_SALE_KEEP=1)")
    else:
        digest = h.fingerprint(*CATALOG_INPUTS, extra=f"load_demo --products {PRODUCTS}")
        began = time.perf_counter()
        if h.restore_template(TEMPLATE, digest):
            h.say(
                f"sale: the {PRODUCTS:,}-product catalog copied from {h.template_name(TEMPLATE)}"
                f" (built by an earlier run from the same code) in"
                f" {time.perf_counter() - began:.1f} s"
            )
        else:
            h.say(f"sale: emptying shop_bench, load_demo --products {PRODUCTS}")
            call_command("flush", interactive=False, verbosity=0)
            defaults.install()
            h.manage("load_demo", "--products", str(PRODUCTS), "--no-progress")
            # Pages name renditions without looking for their files, and no bench request
            # fetches a picture: the renditions load_demo queued are dropped, not drawn.
            h.drop_queued_tasks()
            h.vacuum_analyze()
            h.save_template(TEMPLATE, digest)
            h.say(
                f"  built in {time.perf_counter() - began:.1f} s,"
                f" kept as {h.template_name(TEMPLATE)}"
            )
    tokens = []
    for n in range(BUYERS):
        user, _ = get_user_model().objects.get_or_create(
            username=f"sale-buyer-{n}", defaults={"email": f"sale{n}@example.com"}
        )
        tokens.append(Token.objects.get_or_create(user=user)[0].key)
    listable = Product.objects.filter(is_active=True, parent__isnull=True, structure="standalone")
    sale = list(listable.order_by("price", "id").values_list("id", flat=True)[:SALE_PRODUCTS])
    roots = list(
        Category.objects.filter(parent__isnull=True).order_by("id").values_list("slug", flat=True)
    )
    details = [
        Product.objects.get(pk=pk).get_absolute_url()
        for pk in listable.order_by("id").values_list("id", flat=True)[:200]
    ]
    return {
        "tokens": tokens,
        "sale": sale,
        "api_lists": ["/api/products/?page_size=24"]
        + [f"/api/products/?category={slug}&page_size=24" for slug in roots],
        "html_lists": ["/products/"] + [f"/products/?category={slug}" for slug in roots],
        "html_details": details,
    }


def _set_available(product_ids: list[int], units: int) -> None:
    """Bring every product to exactly ``units`` available, through the stock services."""
    from inventory.models import StockItem
    from inventory.services import stock_adjust

    for item in StockItem.objects.filter(product_id__in=product_ids).order_by("product_id"):
        delta = units - item.available
        if delta:
            stock_adjust(product_id=item.product_id, delta=delta, reason="sale benchmark")


# --- the order stream -----------------------------------------------------------------------
def _stream(port: int, tokens: list[str], products: list[int], outcome: dict) -> None:
    """ORDERS_PER_SECOND orders for STREAM_SECONDS, paced, one unit each, product i of the sale
    for order i (so with one unit each, every order sells a product out)."""
    conn = http.client.HTTPConnection(h.HOST, port, timeout=30)
    total = ORDERS_PER_SECOND * STREAM_SECONDS
    began = time.perf_counter()
    run = f"{time.time_ns()}"
    for n in range(total):
        due = began + n / ORDERS_PER_SECOND
        wait = due - time.perf_counter()
        if wait > 0:
            time.sleep(wait)  # pacing the generator to the order rate
        body = json.loads(json.dumps(h.ORDER_BODY))
        body["items"][0]["product"] = products[n % len(products)]
        try:
            conn.request(
                "POST",
                "/api/orders/",
                body=json.dumps(body),
                headers={
                    "Content-Type": "application/json",
                    "Authorization": f"Token {tokens[n % len(tokens)]}",
                    "Idempotency-Key": f"sale-{run}-{n}",
                },
            )
            response = conn.getresponse()
            response.read()
            outcome["placed" if response.status == 201 else "refused"] += 1
        except (OSError, http.client.HTTPException):
            outcome["refused"] += 1
            conn.close()
            conn = http.client.HTTPConnection(h.HOST, port, timeout=30)
    conn.close()
    outcome["seconds"] = time.perf_counter() - began


def _under_stream(
    ports: list[int], paths: list[str], data: dict, *, stream: bool
) -> tuple[h.Load, dict]:
    from bench import checkout_bench
    from orders.models import Order

    for path in paths:  # warm: every page once, then a short burst
        h.get(ports[0], path)
    h.load(h.Scenario(paths=paths), ports, seconds=2, connections=CONNECTIONS)
    outcome = {"placed": 0, "refused": 0, "seconds": 0.0}
    first = (Order.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    thread = None
    if stream:
        thread = threading.Thread(
            target=_stream, args=(ports[0], data["tokens"], data["sale"], outcome), daemon=True
        )
        thread.start()
    result = h.load(h.Scenario(paths=paths), ports, seconds=STREAM_SECONDS, connections=CONNECTIONS)
    if thread is not None:
        thread.join(timeout=STREAM_SECONDS + 60)
        checkout_bench.drain(first)
    return result, outcome


def _sold_out(product_ids: list[int]) -> int:
    from inventory.models import StockItem

    return sum(
        1 for item in StockItem.objects.filter(product_id__in=product_ids) if not item.available
    )


def measure(ports: list[int], data: dict, *, quiet: bool) -> dict:
    """One round: HTML list and detail pages quiet, then each list kind (with ``quiet``, quiet
    first) under the sell-out stream and under the stream without sell-outs."""
    figures: dict = {}
    html_list, _ = _under_stream(ports, data["html_lists"][:1], data, stream=False)
    html_detail, _ = _under_stream(ports, data["html_details"], data, stream=False)
    figures["html_list"] = html_list.rps
    figures["html_detail"] = html_detail.rps
    for kind in ("api", "html"):
        paths = data[f"{kind}_lists"]
        if quiet:
            _set_available(data["sale"], PLENTY)
            quiet_run, _ = _under_stream(ports, paths, data, stream=False)
            figures[f"{kind}_quiet"] = quiet_run.rps
            figures[f"{kind}_quiet_errors"] = quiet_run.errors
        _set_available(data["sale"], 1)
        selling_out, sell_outs = _under_stream(ports, paths, data, stream=True)
        sold_out = _sold_out(data["sale"])
        _set_available(data["sale"], PLENTY)
        no_sell_out, plain = _under_stream(ports, paths, data, stream=True)
        figures[f"{kind}_sellout"] = selling_out.rps
        figures[f"{kind}_plain"] = no_sell_out.rps
        figures[f"{kind}_errors"] = selling_out.errors + no_sell_out.errors
        figures[f"{kind}_orders_sellout"] = sell_outs["placed"] / max(sell_outs["seconds"], 1e-9)
        figures[f"{kind}_orders_plain"] = plain["placed"] / max(plain["seconds"], 1e-9)
        figures[f"{kind}_sold_out"] = sold_out
        h.say(
            f"  {kind} lists: quiet {figures.get(f'{kind}_quiet', float('nan')):,.0f}/s,"
            f" sell-out stream {selling_out.rps:,.0f}/s ({sold_out} sold out),"
            f" without sell-outs {no_sell_out.rps:,.0f}/s"
        )
    h.say(f"  HTML list {html_list.rps:,.0f}/s, HTML detail {html_detail.rps:,.0f}/s (quiet)")
    return figures


def rounds(ports: list[int], data: dict) -> dict:
    """The median of RUNS rounds of each figure. The quiet lists are measured in the first
    round only: no goal is judged on them (they show what the streams cost), and each quiet run
    takes a warm-up, a run and two stock resets, some 15 s."""
    results = [measure(ports, data, quiet=n == 0) for n in range(h.RUNS)]
    figures = {key: h.median([r[key] for r in results if key in r]) for key in results[0]}
    for kind in ("api", "html"):
        figures[f"{kind}_errors"] += figures.pop(f"{kind}_quiet_errors")
    return figures


def sale(table, details: dict) -> None:
    """The sale part of ``make bench``: figures into ``details["sale"]``, rows into ``table``."""
    data = prepare()
    with h.servers(web=1, celery=1) as running:
        figures = rounds(running["ports"], data)
    details["sale"] = figures
    table.add(
        "Storefront HTML list /products/, anonymous, warm: req/s",
        figures["html_list"],
        "",
        unit="/s",
    )
    table.add(
        "Storefront HTML product page, anonymous, warm: req/s",
        figures["html_detail"],
        "",
        unit="/s",
    )
    goal_rows(figures)
    for kind, label in (("api", "API"), ("html", "HTML")):
        sellout, plain = figures[f"{kind}_sellout"], figures[f"{kind}_plain"]
        table.add(
            f"Sale: {label} list pages under {ORDERS_PER_SECOND} orders/s that sell products out,"
            " vs the same stream without sell-outs: req/s",
            sellout,
            plain,
            unit="/s",
            goal=f">= {GOAL}x",
            met=bool(plain) and sellout >= GOAL * plain,
        )


def goal_rows(figures: dict) -> None:
    """The goals of the storefront pages and of the sale, in the report's goal table."""
    from bench import report

    baseline = report.load_baseline()["figures"]
    before = baseline["storefront_list_rps"]
    report.add_goal(
        "storefront_list",
        "Storefront HTML list (GET /products/), anonymous, warm: req/s",
        target=">= 3x the baseline",
        before=before,
        after=figures["html_list"],
        unit="/s",
        met=figures["html_list"] >= 3 * before,
        why=f"{figures['html_list'] / before:.2f}x the baseline's {before} req/s",
    )
    report.add_goal(
        "storefront_detail",
        "Storefront HTML product page, anonymous, warm: req/s",
        target=">= 3x the baseline",
        after=figures["html_detail"],
        unit="/s",
        met=None,
        why="the baseline has no product-page figure to compare with",
    )
    ratios = {
        kind: figures[f"{kind}_sellout"] / figures[f"{kind}_plain"]
        for kind in ("api", "html")
        if figures[f"{kind}_plain"]
    }
    if ratios:
        worst = min(ratios, key=ratios.get)
        report.add_goal(
            "sale",
            "List pages under a sell-out stream vs the same stream without sell-outs"
            f" (the lower of API and HTML: {worst.upper()})",
            target=f">= {GOAL}x",
            after=round(ratios[worst], 2),
            unit="x",
            met=all(ratio >= GOAL for ratio in ratios.values()),
            why="Under the sell-out stream against the same stream without sell-outs: "
            + ", ".join(f"{kind.upper()} lists {ratio:.2f}x" for kind, ratio in ratios.items())
            + ".",
            next_step=(
                f"the {worst.upper()} list pages that show a product selling out are rebuilt"
                " at each sell-out: keep them and overlay each product's availability from a"
                " per-product key instead of dropping them"
            )
            if ratios[worst] < GOAL
            else "",
        )


def markdown(details: dict) -> list[str]:
    """The sale section of BENCHMARKS.md (empty when the part did not run)."""
    figures = details.get("sale")
    if not figures:
        return []
    lines = [
        "## The sale (bench/sale_bench.py)",
        "",
        f"{PRODUCTS:,} products, one gunicorn instance, one Celery worker; {SALE_PRODUCTS} of the"
        f" cheapest products on sale; {ORDERS_PER_SECOND} orders/s of one unit for"
        f" {STREAM_SECONDS} s; wrk with {CONNECTIONS} connections over the all-products list"
        " and every root category's list.",
        "",
        "| List pages | quiet req/s (first round) | sell-out stream req/s"
        " | stream without sell-outs req/s | ratio (goal >= 0.9x)"
        " | orders/s (sell-out / plain) | sold out |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind, label in (("api", "API `/api/products/`"), ("html", "HTML `/products/`")):
        plain = figures[f"{kind}_plain"]
        ratio = figures[f"{kind}_sellout"] / plain if plain else float("nan")
        lines.append(
            f"| {label} | {figures[f'{kind}_quiet']:,.0f} | {figures[f'{kind}_sellout']:,.0f} |"
            f" {plain:,.0f} | {ratio:.2f}x | {figures[f'{kind}_orders_sellout']:.1f} /"
            f" {figures[f'{kind}_orders_plain']:.1f} | {figures[f'{kind}_sold_out']:.0f} |"
        )
    lines += [
        "",
        f"Storefront pages, anonymous, warm, quiet: HTML list `/products/`"
        f" {figures['html_list']:,.0f} req/s, HTML product page {figures['html_detail']:,.0f}"
        " req/s (200 product pages in turn).",
        "",
    ]
    return lines


if __name__ == "__main__":  # .venv/bin/python -m bench.sale_bench
    h.ensure_database()
    h.setup_django()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)

    class _Rows:
        def add(self, *args, **kwargs):
            pass

    found: dict = {}
    sale(_Rows(), found)
    print("\n".join(markdown(found)))
