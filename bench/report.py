"""The goals of BENCHMARKS.md and its closing note, computed from the figures of one run.

Every conclusion the report states (a goal met or not, a share of the profile, a statement
count, the next step) is computed here from the run's ``details`` (what bench/run_all.py
measured) and the checked-in baseline (bench/baseline.json: the figures the goals are set
against, with their date and source). Nothing in the note is written in advance.

Other bench modules take part through two hooks, called while they measure:

- :func:`add_goal` adds a row to the goal table (a goal, the figure before and after, and
  whether it is met); a row whose ``key`` is one of :data:`PENDING` replaces that goal's
  "not measured in this run" row (bench/sale_bench.py: the storefront's pages and the sale).
- :func:`add_section` adds a section of its own to BENCHMARKS.md, printed before the note.
"""

import json
import re
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

BASELINE_FILE = Path(__file__).with_name("baseline.json")

# Limits of the issue "Speed, round two".
SQL_REQUEST_MAX = 15
SQL_WORKER_MAX = 20
CHECKOUT_RATE_FACTOR = 2.0  # orders/s, times the baseline's
CHECKOUT_P50_MAX_MS = 300.0
READ_VS_FLOOR_MIN = 0.6  # warm anonymous list and detail, Django alone
SCALE_MAX = 1.5  # search p50 at 100,000 products over the p50 at 1,000
SCALE_SIZES = (1_000, 100_000)
WORKER_RSS_MAX_MIB = 120.0
BENCH_MAX_MINUTES = 15.0
CLIENTS = 32  # checkout clients (bench/checkout_bench.py)

# Goals whose rows other bench modules add with add_goal(key=...); until one does, the goal
# table says which module measures it and that this run did not.
PENDING = {
    "storefront_list": (
        "Storefront HTML list (GET /products/): req/s",
        ">= 3x the baseline",
        "bench/sale_bench.py",
    ),
    "storefront_detail": (
        "Storefront HTML product page: req/s",
        ">= 3x the baseline",
        "bench/sale_bench.py",
    ),
    "sale": (
        "Storefront under a sale: req/s vs without",
        ">= 0.9x",
        "bench/sale_bench.py",
    ),
}


@dataclass
class Goal:
    key: str
    goal: str  # what is measured
    target: str  # the goal, as the issue states it
    before: object = None
    after: object = None
    unit: str = ""
    met: bool | None = None  # None: not measured in this run
    why: str = ""  # the figures of this run behind a missed goal
    next_step: str = ""
    profile: str | None = None  # which profile of this run belongs to it ("checkout", ...)
    facts: dict = field(default_factory=dict)


_added_goals: list[Goal] = []
_added_sections: list[tuple[str, list[str]]] = []


def add_goal(
    key: str,
    goal: str,
    *,
    target: str,
    after: object,
    met: bool | None,
    before: object = None,
    unit: str = "",
    why: str = "",
    next_step: str = "",
) -> Goal:
    """A row of the goal table, from any bench module (see the module's docstring)."""
    row = Goal(
        key=key,
        goal=goal,
        target=target,
        before=before,
        after=after,
        unit=unit,
        met=met,
        why=why,
        next_step=next_step,
    )
    _added_goals.append(row)
    return row


def add_section(title: str, lines: Iterable[str]) -> None:
    """A section of BENCHMARKS.md (a ``## title`` and its lines), printed before the note."""
    _added_sections.append((title, list(lines)))


def added_sections() -> list[tuple[str, list[str]]]:
    return list(_added_sections)


def clear() -> None:
    """Forget the goals and sections added so far (one report per run)."""
    _added_goals.clear()
    _added_sections.clear()


def load_baseline(path: Path = BASELINE_FILE) -> dict:
    return json.loads(path.read_text())


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _pct(share: float | None) -> str:
    return f"{share:.0%}" if share is not None else "?"


def _num(value: object, unit: str = "") -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, float):
        text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"
    elif isinstance(value, int):
        text = f"{value:,}"
    else:
        text = str(value)
    return f"{text}x" if unit == "x" else f"{text} {unit}".strip()


def _frames(details: dict, profile: str | None, top: int = 3) -> str:
    frames = details.get(f"hot_frames_{profile}") if profile else None
    if not frames:
        return ""
    return ", ".join(f"{frame} {share:.0%}" for frame, share in frames[:top])


# --- the issue's goals ------------------------------------------------------------------------


def _checkout_goals(details: dict, base: dict) -> list[Goal]:
    goals = []
    order = details.get("costs_order") or {}
    for part, key, limit, label in (
        ("request", "checkout_sql_request", SQL_REQUEST_MAX, "in the order request"),
        ("processing", "checkout_sql_worker", SQL_WORKER_MAX, "in the worker, per order"),
    ):
        sql = (order.get(part) or {}).get("sql")
        goal = Goal(
            key=key,
            goal=f"Checkout, one-line order: SQL statements {label}",
            target=f"<= {limit}",
            before=base.get(key),
            after=sql,
            met=None if sql is None else sql <= limit,
            profile="checkout",
            facts={"sql": sql, "limit": limit, "redis": (order.get(part) or {}).get("redis")},
        )
        goals.append(goal)
    runs = details.get("checkout")
    shares = details.get("shares_checkout") or {}
    rates = {}
    for kind, label in (("hot", "one hot product"), ("spread", "1,000 products")):
        before = base.get(f"checkout_{kind}_rps")
        want = CHECKOUT_RATE_FACTOR * before if before else None
        rate = p50 = p99 = None
        if runs and runs.get(kind):
            rate = _median([r["rate"] for r in runs[kind]])
            p50 = _median([r["p50"] for r in runs[kind]])
            p99 = _median([r["p99"] for r in runs[kind]])
        rates[kind] = rate
        goals.append(
            Goal(
                key=f"checkout_{kind}_rps",
                goal=f"Checkout, {CLIENTS} clients, {label}: orders/s",
                target=f">= {CHECKOUT_RATE_FACTOR:g}x the baseline ({_num(want)}/s)",
                before=before,
                after=rate,
                unit="/s",
                met=None if rate is None or want is None else rate >= want,
                profile="checkout",
                facts={"rate": rate, "want": want, "kind": kind, "shares": shares},
            )
        )
        goals.append(
            Goal(
                key=f"checkout_{kind}_p50",
                goal=f"Checkout, {label}: p50 of POST /api/orders/",
                target=f"< {CHECKOUT_P50_MAX_MS:g} ms",
                before=base.get(f"checkout_{kind}_p50_ms"),
                after=p50,
                unit="ms",
                met=None if p50 is None else p50 < CHECKOUT_P50_MAX_MS,
                profile="checkout",
                facts={"p50": p50, "p99": p99, "rate": rate},
            )
        )
    for goal in goals:
        goal.facts["rates"] = rates
        goal.facts["sql_request"] = (order.get("request") or {}).get("sql")
        goal.facts["sql_worker"] = (order.get("processing") or {}).get("sql")
    checks = list((runs or {}).get("checks") or [])
    checks += (details.get("scale_out") or {}).get("checks") or []
    ok = all(c["ok"] for c in checks) if checks else None
    orders = sum(c["orders"] for c in checks)
    goals.append(
        Goal(
            key="consistency",
            goal="Checkout consistency (sold + available = initial, oversold 0, all settled)",
            target="exact",
            before=base.get("consistency"),
            after=None if ok is None else f"{'exact' if ok else 'BROKEN'} over {orders:,} orders",
            met=ok,
            facts={"failed": [c for c in checks if not c["ok"]]},
        )
    )
    return goals


def _read_goals(details: dict, base: dict) -> list[Goal]:
    read = details.get("read")
    costs = details.get("costs_catalog") or {}
    goals = []
    for key, name, label, cost in (
        ("warm_list_vs_floor", "warm_list", "Product list, warm cache, anonymous", "warm list"),
        ("detail_vs_floor", "detail", "Product detail, warm cache, anonymous", "detail (cached)"),
    ):
        floor = "floor_list" if name == "warm_list" else "floor_detail"
        ratio = None
        if read:
            ratio = read[f"{name}_rps"] / read[f"{floor}_rps"] if read[f"{floor}_rps"] else 0.0
        goals.append(
            Goal(
                key=key,
                goal=f"{label} (Django alone): req/s vs the floor",
                target=f">= {READ_VS_FLOOR_MIN:g}x the floor",
                before=base.get(key),
                after=ratio,
                unit="x",
                met=None if ratio is None else ratio >= READ_VS_FLOOR_MIN,
                profile="warm_list",
                facts={
                    "rps": read and read[f"{name}_rps"],
                    "floor_rps": read and read[f"{floor}_rps"],
                    "cost": costs.get(cost) or {},
                    "floor_cost": costs.get("floor") or {},
                    "shares": details.get("shares_warm_list") or {},
                },
            )
        )
    return goals


def _search_goal(details: dict, base: dict) -> Goal:
    small, large = SCALE_SIZES
    scale = {int(k): v for k, v in (details.get("scale") or {}).items()}
    goal = Goal(
        key="search_scale_ratio",
        goal=f"Search p50 (cold) at {large:,} products vs at {small:,} (x floor p50 of the round)",
        target=f"<= {SCALE_MAX:g}x",
        before=base.get("search_scale_ratio"),
        unit="x",
        profile=None,
    )
    if small in scale and large in scale:
        ratio = scale[large]["search_vs_floor"] / scale[small]["search_vs_floor"]
        goal.after = ratio
        goal.met = ratio <= SCALE_MAX
        goal.facts = {
            "ratio": ratio,
            "raw_ratio": scale[large]["search_p50"] / scale[small]["search_p50"],
            "p50_small": scale[small]["search_p50"],
            "p50_large": scale[large]["search_p50"],
            "list_cold_ratio": scale[large]["list_cold_vs_floor"]
            / scale[small]["list_cold_vs_floor"],
            "matches": details.get("search_matches") or {},
            "plan_ms": search_plan_ms(details.get("plans") or ""),
        }
    return goal


def _memory_goal(details: dict, base: dict) -> Goal:
    mem = details.get("memory")
    goal = Goal(
        key="worker_peak_mib",
        goal="gunicorn worker peak RSS after 10,000 mixed requests",
        target=f"< {WORKER_RSS_MAX_MIB:g} MiB",
        before=base.get("worker_peak_mib"),
        unit="MiB",
    )
    if mem:
        goal.after = float(mem["peak_mib"])
        goal.met = goal.after < WORKER_RSS_MAX_MIB
        goal.facts = {
            "peak": goal.after,
            "first": mem["samples"][0]["max_rss_mib"],
            "growth_ratio": mem["growth_ratio"],
            "start": mem.get("start_mib"),
        }
    return goal


def _bench_time_goal(details: dict, base: dict) -> Goal:
    goal = Goal(
        key="bench_minutes",
        goal="`make bench`, every part: minutes",
        target=f"< {BENCH_MAX_MINUTES:g} min",
        before=base.get("bench_minutes"),
        unit="min",
    )
    minutes = details.get("minutes")
    if minutes is not None and details.get("complete"):
        goal.after = minutes
        goal.met = minutes < BENCH_MAX_MINUTES
        goal.facts = {"minutes": minutes, "durations": details.get("durations") or {}}
    return goal


def issue_goals(details: dict, baseline: dict, added: Iterable[Goal] | None = None) -> list[Goal]:
    """The goal table: the issue's goals judged on this run's figures against the baseline,
    then the rows other modules added (:func:`add_goal`), which fill the PENDING goals."""
    base = baseline["figures"]
    added = list(_added_goals if added is None else added)
    goals = _checkout_goals(details, base) + _read_goals(details, base)
    by_key = {g.key: g for g in added}
    for key, (goal, target, module) in PENDING.items():
        if key not in by_key:
            goals.append(Goal(key=key, goal=goal, target=target, why=f"measured by {module}"))
    goals += added
    goals += [_search_goal(details, base), _memory_goal(details, base)]
    goals.append(_bench_time_goal(details, base))
    for goal in goals:
        if goal.met is False and not goal.next_step:
            why, goal.next_step = explain(goal, details)
            goal.why = why or goal.why  # a module's own figures stay when no rule knows better
    return goals


def search_plan_ms(plans: str) -> float | None:
    """Execution time of the search request's queries in the EXPLAIN ANALYZE output, summed."""
    if "-- search" not in plans:
        return None
    search = plans.split("-- search", 1)[1]
    times = [float(t) for t in re.findall(r"Execution Time: ([0-9.]+) ms", search)]
    return sum(times) if times else None


# --- why a goal is missed, and the next step, by rules over the figures ----------------------


def explain(goal: Goal, details: dict) -> tuple[str, str]:
    f = goal.facts
    key = goal.key
    if key in ("checkout_sql_request", "checkout_sql_worker"):
        over = f["sql"] - f["limit"]
        where = "the order request" if key == "checkout_sql_request" else "order processing"
        why = f"{f['sql']} statements in {where}, {over} over the goal of {f['limit']}."
        other = f["sql_worker"] if key == "checkout_sql_request" else f["sql_request"]
        other_limit = SQL_WORKER_MAX if key == "checkout_sql_request" else SQL_REQUEST_MAX
        step = f"take {over} statements out of {where}"
        if other is not None and other < other_limit:
            step += (
                f" (the {'worker' if key == 'checkout_sql_request' else 'request'} is at"
                f" {other}, {other_limit - other} under its goal: moving work there is an option)"
            )
        return why, step + "."
    if key in ("checkout_hot_rps", "checkout_spread_rps"):
        shares = f.get("shares") or {}
        pg = shares.get("PostgreSQL round trips (psycopg)")
        orm = shares.get("Django ORM (building queries, making objects)")
        why = f"{_num(f['rate'])} orders/s against {_num(f['want'])}/s wanted;"
        why += f" in the web workers' profile {_pct(pg)} of the request samples wait on"
        why += f" PostgreSQL and {_pct(orm)} are in the ORM."
        rates = f.get("rates") or {}
        hot, spread = rates.get("hot"), rates.get("spread")
        if f["sql_request"] is not None and f["sql_request"] > SQL_REQUEST_MAX:
            step = (
                f"cut the order request's statements first ({f['sql_request']} now, goal"
                f" {SQL_REQUEST_MAX}): each one is a round trip every client waits for"
            )
        elif f["kind"] == "hot" and hot and spread and hot < 0.8 * spread:
            step = (
                f"the hot product's row lock serialises orders ({_num(hot)}/s hot against"
                f" {_num(spread)}/s spread): hold the stock row's lock for less time"
            )
        elif pg is not None and pg >= 0.4:
            step = (
                f"PostgreSQL holds {_pct(pg)} of the request samples: look at what the"
                " statements wait for (pg_stat_activity wait events during the run)"
            )
        elif orm is not None and orm >= 0.3:
            step = f"the ORM holds {_pct(orm)}: build the order's rows with fewer model round trips"
        else:
            step = "start from the hottest frames of the profile"
        return why, step + "."
    if key in ("checkout_hot_p50", "checkout_spread_p50"):
        rate, p50 = f.get("rate"), f["p50"]
        implied = CLIENTS / rate * 1000 if rate else None
        why = f"p50 {_num(p50, 'ms')} (p99 {_num(f.get('p99'), 'ms')})."
        if implied and abs(p50 - implied) <= 0.5 * implied:
            why += (
                f" With {CLIENTS} clients at {_num(rate)} orders/s a request waits"
                f" {_num(implied, 'ms')} on average (Little's law): the latency is queueing"
                " behind the throughput."
            )
            step = (
                f"raise the throughput: {CLIENTS} clients need"
                f" {CLIENTS / (CHECKOUT_P50_MAX_MS / 1000):.0f} orders/s for a"
                f" {CHECKOUT_P50_MAX_MS:g} ms average"
            )
        else:
            why += (
                f" The throughput alone explains {_num(implied, 'ms')} (Little's law),"
                " so the rest is in single slow requests."
            )
            step = "profile the slowest requests (p99) rather than the throughput"
        return why, step + "."
    if key in ("warm_list_vs_floor", "detail_vs_floor"):
        cost, floor_cost, shares = f["cost"], f["floor_cost"], f["shares"]
        redis, sql = cost.get("redis"), cost.get("sql")
        why = (
            f"{_num(f['rps'])} req/s against the floor's {_num(f['floor_rps'])}"
            f" ({goal.after:.2f}x);"
            f" a request makes {redis if redis is not None else '?'} Redis round trips and"
            f" {sql if sql is not None else '?'} SQL statements (the floor"
            f" {floor_cost.get('redis', '?')} and {floor_cost.get('sql', '?')})."
        )
        if shares and goal.key == "warm_list_vs_floor":
            why += (
                f" Profile of the warm list: {_pct(shares.get('Redis round trips (redis-py)'))}"
                " of the request samples in redis-py,"
                f" {_pct(shares.get('DRF (views, throttles, serializers, rendering)'))} under DRF."
            )
        if redis is not None and redis > 1:
            step = (
                f"bring the Redis round trips from {redis} to 1 (throttle and cache read in"
                " one pipeline, or no throttle read on a cached anonymous answer)"
            )
        elif sql:
            step = f"answer it without SQL ({sql} statements now)"
        else:
            step = (
                "what is left is Django and DRF themselves: answer anonymous catalog reads"
                " before Django (an HTTP cache in front)"
            )
        return why, step + "."
    if key == "search_scale_ratio":
        why = (
            f"{f['ratio']:.2f}x (raw p50 {f['p50_small']:.1f} ms at {SCALE_SIZES[0]:,},"
            f" {f['p50_large']:.1f} ms at {SCALE_SIZES[1]:,})."
        )
        matches = f.get("matches") or {}
        if matches:
            term, most = max(matches.items(), key=lambda kv: kv[1])
            why += f" The broadest term, {term}, matches {most:,} products."
        plan = f.get("plan_ms")
        if f["list_cold_ratio"] > SCALE_MAX:
            step = (
                f"the cold list grows too ({f['list_cold_ratio']:.2f}x): the cost is not"
                " the search's own; look at the list's plan first"
            )
        elif plan is not None and plan < f["p50_large"] - f["p50_small"]:
            why += f" Its queries run {plan:.1f} ms in EXPLAIN ANALYZE (plans above)."
            step = (
                f"the database explains {plan:.1f} ms of the {f['p50_large'] - f['p50_small']:.1f}"
                " ms added: profile the search request under load (Python and waits, not plans)"
            )
        elif plan is not None:
            why += f" Its queries run {plan:.1f} ms in EXPLAIN ANALYZE (plans above)."
            step = "shrink the plan's costliest node (plans above): fewer rows read or ranked"
        else:
            step = "capture the search's query plans at the largest size (none in this run)"
        return why, step + "."
    if key == "worker_peak_mib":
        why = f"peak {f['peak']:.0f} MiB; largest worker {f['first']:.0f} MiB after 1,000 requests."
        if f["growth_ratio"] > 1.05:
            step = (
                f"it grows ({f['growth_ratio']:.2f}x from 2,000 to 10,000 requests): compare"
                " tracemalloc snapshots of a worker between two samples"
            )
        else:
            step = (
                "it does not grow, it starts big: cut what a worker imports and caches"
                " before its first request (`python -X importtime`, sys.modules after a mix)"
            )
        return why, step + "."
    if key == "bench_minutes":
        durations = f.get("durations") or {}
        why = f"{f['minutes']:.1f} min."
        if durations:
            part, seconds = max(durations.items(), key=lambda kv: kv[1])
            why += f" The longest part is {part} ({seconds / 60:.1f} min)."
            return why, f"shorten {part} first."
        return why, "time each part."
    if key == "consistency":
        return (
            f"{len(f.get('failed') or [])} checkout run(s) ended inconsistent.",
            "this is a bug in the shop, not a figure: the checkout runs table and"
            " bench/results.json say which check failed.",
        )
    return "", ""


# --- the markdown -----------------------------------------------------------------------------


def goal_table(goals: list[Goal], baseline: dict) -> list[str]:
    lines = [
        "## Goals",
        "",
        f"Before: {baseline['source']}. After: this run.",
        "",
        f"| Goal | Before ({baseline['date']}) | After (this run) | Target | Met? |",
        "|---|---|---|---|---|",
    ]
    for g in goals:
        met = {True: "yes", False: "**no**", None: "not measured"}[g.met]
        lines.append(
            f"| {g.goal} | {_num(g.before, g.unit)} | {_num(g.after, g.unit)} | {g.target}"
            f" | {met} |"
        )
    lines.append("")
    return lines


def closing_note(goals: list[Goal], details: dict, checks: Iterable[dict] = ()) -> list[str]:
    """Which goals this run met; for each it missed, its figures, the hottest frames of its
    profile in this run and a next step chosen from the figures. ``checks`` are the figure
    table's rows with a goal of their own (dicts with figure, goal, met)."""
    judged = [g for g in goals if g.met is not None]
    met = [g for g in judged if g.met]
    missed = [g for g in judged if not g.met]
    unmeasured = [g for g in goals if g.met is None]
    checks = [c for c in checks if c.get("met") is not None]
    out = ["## Closing note", ""]
    out.append(
        f"{len(met)} of {len(judged)} goals measured in this run are met"
        + (f"; {len(unmeasured)} not measured in this run." if unmeasured else ".")
    )
    out.append("")
    for g in met:
        out.append(f"- met: {g.goal}: {_num(g.after, g.unit)}, goal {g.target}")
    for g in missed:
        out.append(f"- **not met**: {g.goal}: {_num(g.after, g.unit)}, goal {g.target}")
    for g in unmeasured:
        out.append(f"- not measured: {g.goal}" + (f" ({g.why})" if g.why else ""))
    if checks:
        ok = [c for c in checks if c["met"]]
        out += ["", f"The bench's own checks: {len(ok)} of {len(checks)} hold."]
        out += [f"- **does not hold**: {c['figure']}, {c['goal']}" for c in checks if not c["met"]]
    out.append("")
    for g in missed:
        text = f"**{g.goal}: not met.** {g.why}".rstrip()
        frames = _frames(details, g.profile)
        if frames:
            text += f" Hottest frames of the {g.profile} profile in this run (own time): {frames}."
        elif g.profile:
            text += f" No {g.profile} profile in this run (py-spy missing or not run)."
        if g.next_step:
            text += f" Next step: {g.next_step}"
        out += [text, ""]
    return out
