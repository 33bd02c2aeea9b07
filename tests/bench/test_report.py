"""The benchmark report's conclusions follow the figures they are given (bench/report.py)."""

import copy

import pytest

from bench import report

BASELINE = report.load_baseline()


def _details(*, order_rate, p50, sql_request, sql_worker, warm_rps, redis, peak, search_large):
    return {
        "costs_order": {
            "request": {"sql": sql_request, "redis": 6},
            "processing": {"sql": sql_worker, "redis": 2},
        },
        "checkout": {
            "hot": [{"rate": order_rate, "p50": p50, "p99": p50 * 1.5}] * 3,
            "spread": [{"rate": order_rate, "p50": p50, "p99": p50 * 1.5}] * 3,
            "checks": [{"kind": "hot", "ok": True, "orders": 300}],
        },
        "shares_checkout": {
            "PostgreSQL round trips (psycopg)": 0.47,
            "Django ORM (building queries, making objects)": 0.21,
        },
        "hot_frames_checkout": [("ClientCursorMixin._execute_send (psycopg)", 0.31)],
        "read": {
            "warm_list_rps": warm_rps,
            "floor_list_rps": 2000.0,
            "detail_rps": 1500.0,
            "floor_detail_rps": 2000.0,
        },
        "costs_catalog": {
            "floor": {"sql": 0, "redis": 0},
            "warm list": {"sql": 0, "redis": redis},
            "detail (cached)": {"sql": 0, "redis": 1},
        },
        "shares_warm_list": {"Redis round trips (redis-py)": 0.6},
        "hot_frames_warm_list": [("SocketBuffer._read_from_socket (redis)", 0.27)],
        "scale": {
            1000: {
                "search_vs_floor": 4.0,
                "search_p50": 16.0,
                "list_cold_vs_floor": 4.0,
            },
            100000: {
                "search_vs_floor": search_large,
                "search_p50": 16.0 * search_large / 4.0,
                "list_cold_vs_floor": 4.1,
            },
        },
        "search_matches": {"lamp": 3119, "novel": 0},
        "memory": {
            "peak_mib": peak,
            "growth_ratio": 1.0,
            "samples": [{"max_rss_mib": peak}],
        },
        "minutes": 11.5,
        "complete": True,
        "durations": {"catalog": 300.0, "checkout": 200.0},
    }


FAST = {
    "order_rate": 120.0,
    "p50": 250.0,
    "sql_request": 14,
    "sql_worker": 19,
    "warm_rps": 1500.0,
    "redis": 1,
    "peak": 100.0,
    "search_large": 5.0,
}
SLOW = {
    "order_rate": 40.0,
    "p50": 790.0,
    "sql_request": 44,
    "sql_worker": 63,
    "warm_rps": 800.0,
    "redis": 3,
    "peak": 190.0,
    "search_large": 16.0,
}


def _goals(figures, added=()):
    return {g.key: g for g in report.issue_goals(_details(**figures), BASELINE, added=added)}


def _note(figures):
    details = _details(**figures)
    return "\n".join(report.closing_note(report.issue_goals(details, BASELINE, added=()), details))


@pytest.mark.parametrize(
    "key",
    [
        "checkout_sql_request",
        "checkout_sql_worker",
        "checkout_hot_rps",
        "checkout_spread_rps",
        "checkout_hot_p50",
        "warm_list_vs_floor",
        "search_scale_ratio",
        "worker_peak_mib",
    ],
)
def test_a_goal_met_by_one_run_is_missed_by_the_other(key):
    assert _goals(FAST)[key].met is True
    assert _goals(SLOW)[key].met is False


def test_the_note_names_each_missed_goal_with_this_runs_numbers():
    note = _note(SLOW)

    assert "**not met**: Checkout, one-line order: SQL statements in the order request: 44" in note
    assert "44 statements in the order request, 29 over the goal of 15" in note
    assert "63 statements in order processing, 43 over the goal of 20" in note
    assert "40.00 orders/s against 97.08/s wanted" in note
    assert "47% of the request samples wait on PostgreSQL" in note
    assert "800 req/s against the floor's 2,000 (0.40x)" in note
    assert "peak 190 MiB" in note
    assert "4.00x (raw p50 16.0 ms at 1,000, 64.0 ms at 100,000)" in note
    assert "lamp, matches 3,119 products" in note


def test_the_note_says_which_goals_are_met_and_counts_them():
    fast, slow = _note(FAST), _note(SLOW)

    assert "- met: Checkout, one-line order: SQL statements in the order request: 14" in fast
    assert "**not met**" not in fast.split("## Closing note")[1].split("not measured")[0]
    assert fast != slow
    fast_goals = report.issue_goals(_details(**FAST), BASELINE, added=())
    met = sum(1 for g in fast_goals if g.met)
    judged = sum(1 for g in fast_goals if g.met is not None)
    assert f"{met} of {judged} goals measured in this run are met" in fast
    assert met == judged


def test_the_next_step_is_chosen_from_the_figures():
    slow = _note(SLOW)
    assert "bring the Redis round trips from 3 to 1" in slow
    assert "cut the order request's statements first (44 now, goal 15)" in slow

    # Same slow throughput, but the request within its statement goal: the profile decides.
    within = dict(SLOW, sql_request=14)
    note = _note(within)
    assert "cut the order request's statements first" not in note
    assert "PostgreSQL holds 47% of the request samples" in note


def test_a_missed_goal_carries_the_hottest_frames_of_its_profile():
    slow = _note(SLOW)
    assert "ClientCursorMixin._execute_send (psycopg) 31%" in slow
    assert "SocketBuffer._read_from_socket (redis) 27%" in slow


def test_latency_that_the_throughput_explains_is_called_queueing():
    # 32 clients at 40 orders/s wait 800 ms each (Little's law); the p50 is 790 ms.
    note = _note(SLOW)
    assert "a request waits 800 ms on average (Little's law)" in note

    lonely = dict(SLOW, p50=2000.0)
    assert "so the rest is in single slow requests" in _note(lonely)


def test_rows_added_by_other_modules_fill_their_pending_goal():
    pending = _goals(FAST)
    assert pending["storefront_list"].met is None

    row = report.Goal(
        key="storefront_list",
        goal="Storefront HTML list (GET /products/): req/s",
        target=">= 3x the baseline",
        before=120,
        after=300.0,
        met=False,
    )
    goals = report.issue_goals(_details(**FAST), BASELINE, added=[row])
    assert [g.key for g in goals].count("storefront_list") == 1
    note = "\n".join(report.closing_note(goals, _details(**FAST)))
    assert "**not met**: Storefront HTML list (GET /products/): req/s: 300" in note


def test_add_goal_and_add_section_feed_the_report():
    report.clear()
    try:
        report.add_goal(
            "sale", "Storefront under a sale", target=">= 0.9x", after=0.95, met=True, unit="x"
        )
        report.add_section("Sale", ["a line"])
        goals = report.issue_goals(copy.deepcopy(_details(**FAST)), BASELINE)
        assert next(g for g in goals if g.key == "sale").met is True
        assert report.added_sections() == [("Sale", ["a line"])]
    finally:
        report.clear()


def test_the_bench_time_is_judged_only_on_a_whole_run():
    details = _details(**FAST)
    details["complete"] = False
    goals = report.issue_goals(details, BASELINE, added=())
    goal = next(g for g in goals if g.key == "bench_minutes")
    assert goal.met is None


def test_the_baseline_names_its_date_and_source():
    assert BASELINE["date"] == "2026-11-25"
    assert "BENCHMARKS.md" in BASELINE["source"]
    assert BASELINE["figures"]["checkout_hot_rps"] == 48.54
    assert BASELINE["figures"]["checkout_spread_rps"] == 46.6


def test_judging_consistency_leaves_the_runs_checks_as_they_were():
    details = _details(**FAST)
    details["scale_out"] = {"rates": [40.0], "checks": [{"ok": True, "orders": 200}]}
    before = copy.deepcopy(details["checkout"]["checks"])

    report.issue_goals(details, BASELINE, added=())

    assert details["checkout"]["checks"] == before
