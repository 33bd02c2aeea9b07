#!/usr/bin/env python
"""The production topology measured: nginx, web hosts, PgBouncer, split Celery queues.

Part ``topology`` of ``make bench`` (bench/run_all.py calls ``run``); on its own,

    .venv/bin/python bench/topology_bench.py [--products 1000]

builds a small shop in the bench database first (as run_all.py does) and prints the figures.

1. Scale-out across simulated hosts: 1, 2 and 4 web hosts (BENCH_TOPOLOGY_HOSTS), each a
   gunicorn in a network namespace of its own (bench/netns.py: a veth pair per namespace into
   a bridge in the root namespace, a private /24), behind nginx in the root namespace
   (deploy/nginx's configuration, rendered for the bench's ports) as the load balancer. The
   hosts reach PostgreSQL through PgBouncer and Redis on the bridge's address, as web hosts
   reach them over a network (PostgreSQL itself listens on loopback only). Checkout orders/s
   (consistency checked) and the product list's req/s per point, and the connections
   PostgreSQL saw; the largest point again without PgBouncer (the hosts connect to
   PostgreSQL's Unix socket, which a network namespace shares) for the connection count.
2. Checkout through PgBouncer (transaction mode) vs straight to PostgreSQL, one gunicorn on
   loopback: orders/s, p50, PostgreSQL's connections.
3. Checkout while the training queue's worker runs the nightly training (on a seeded
   dataset) vs without: orders/s, the ratio, and how long the orders took to settle.
4. The anonymous product list through nginx's micro-cache vs gunicorn alone: req/s, p50, and
   the micro-cache's status for a repeated request.

Everything started here is stopped, and the namespaces, veths and bridge removed, also on
Ctrl-C or SIGTERM. Ports BENCH_BASE_PORT+40 .. +43; names of namespaces and interfaces start
with ``shopb-``. Prints figures; asserts nothing.
"""

import argparse
import contextlib
import http.client
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness as h
from bench import netns

SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
HOSTS = [int(n) for n in os.environ.get("BENCH_TOPOLOGY_HOSTS", "1,2,4").split(",")]
# Sync workers per simulated web host (as the two-instance scale-out of run_all.py runs them).
HOST_WORKERS = int(os.environ.get("BENCH_TOPOLOGY_WORKERS", str(max(h.WORKERS // 2, 2))))
SUBNET = os.environ.get("BENCH_TOPOLOGY_SUBNET", f"10.231.{h.BASE_PORT % 250}")
# The seeded shop the nightly training learns from: customers x interactions each.
TRAINING_USERS = int(os.environ.get("BENCH_TRAINING_USERS", "1500"))
TRAINING_PER_USER = int(os.environ.get("BENCH_TRAINING_PER_USER", "20"))
TRAINING_PRODUCTS = 500
TRAINING_TIMEOUT = float(os.environ.get("BENCH_TRAINING_TIMEOUT", "120"))
LIST = "/api/products/?page_size=24"
# Sent with the scale-out's list requests: nginx passes every request carrying the
# read-your-writes cookie to a web host (deploy/nginx/shop-http.conf), so the figure is the
# hosts' whatever the shop's Cache-Control says; the hosts have no replica, so Django ignores it.
BYPASS_MICRO_CACHE = {"Cookie": "shop_primary=0"}


@dataclass(frozen=True)
class Ports:
    nginx: int
    pgbouncer: int
    redis: int
    web: int  # every web host's gunicorn (each host has its own address)


def ports(base: int = h.BASE_PORT) -> Ports:
    return Ports(nginx=base + 40, pgbouncer=base + 41, redis=base + 42, web=base + 43)


def database_url(*, host: str, port: int, name: str, user: str) -> str:
    """A PostgreSQL URL; ``host`` may be a socket directory (percent-encoded, as
    dj-database-url reads it; the port then names the socket file)."""
    where = quote(host, safe="") if host.startswith("/") else host
    return f"postgres://{user}@{where}:{port}/{name}"


def _server() -> tuple[str, int, str, str]:
    """(host, port, user, database) of the bench database."""
    parts = urlsplit(h.DATABASE_URL)
    return (
        parts.hostname or "127.0.0.1",
        parts.port or 5432,
        parts.username or "postgres",
        parts.path.lstrip("/"),
    )


def _run_dir(name: str) -> Path:
    """A directory the services' own users (postgres, www-data) can use."""
    path = Path(tempfile.mkdtemp(prefix=f"shopb-{name}-"))
    path.chmod(0o755)
    return path


# --- the services -----------------------------------------------------------------------------
@contextlib.contextmanager
def redis_server(listen: list[str], port: int) -> Iterator[str]:
    """A Redis of the bench's own on ``listen`` (the shared one listens on loopback only)."""
    command = ["redis-server", "--bind", *listen, "--port", str(port), "--save", ""]
    command += ["--appendonly", "no", "--protected-mode", "no", "--daemonize", "no"]
    process = h._start(f"redis{port}", command, dict(os.environ))
    try:
        import redis

        client = redis.Redis(host=listen[-1], port=port)
        deadline = time.monotonic() + 15
        while True:
            with contextlib.suppress(redis.ConnectionError):
                if client.ping():
                    break
            if time.monotonic() > deadline or process.popen.poll() is not None:
                raise RuntimeError(f"redis-server did not start: {process.log.read_text()[-800:]}")
            time.sleep(0.1)
        yield f"redis://{listen[-1]}:{port}/0"
    finally:
        h._stop(process)


@contextlib.contextmanager
def pgbouncer(listen: list[str], port: int) -> Iterator[None]:
    """deploy/pgbouncer.sh (transaction mode) on ``listen``, in front of the bench's server."""
    host, pg_port, user, _ = _server()
    run_dir = _run_dir("pgbouncer")
    env = dict(
        os.environ,
        PGBOUNCER_PORT=str(port),
        PGBOUNCER_LISTEN_ADDR=",".join(listen),
        PGBOUNCER_RUN_DIR=str(run_dir),
        PG_HOST=host,
        PG_PORT=str(pg_port),
        PG_USER=user,
    )
    script = str(h.ROOT / "deploy" / "pgbouncer.sh")
    try:
        subprocess.run([script, "start"], env=env, check=True, capture_output=True, timeout=60)
        yield
    finally:
        subprocess.run([script, "stop"], env=env, capture_output=True, timeout=60, check=False)
        shutil.rmtree(run_dir, ignore_errors=True)


def pool_reset(port: int) -> None:
    """Close PgBouncer's server connections to the bench database (KILL, then RESUME), so a
    run's connection count starts from nothing; called while no client is connected."""
    _, _, user, name = _server()
    for command in (f"KILL {name}", f"RESUME {name}"):
        subprocess.run(
            ["psql", f"host={h.HOST} port={port} user={user} dbname=pgbouncer", "-XAtqc", command],
            capture_output=True,
            check=True,
            timeout=30,
        )


@contextlib.contextmanager
def nginx(upstreams: list[str], port: int) -> Iterator[int]:
    """deploy/nginx.sh's loopback server (the shop's configuration, micro-cache included) on
    127.0.0.1:``port`` in front of ``upstreams``."""
    run_dir = _run_dir("nginx")
    env = dict(
        os.environ,
        NGINX_RUN_DIR=str(run_dir),
        NGINX_LISTEN=f"{h.HOST}:{port}",
        SHOP_UPSTREAMS=",".join(upstreams),
        STATIC_ROOT=str(h.ROOT / "staticfiles"),
        MEDIA_ROOT=str(run_dir / "media"),
    )
    script = str(h.ROOT / "deploy" / "nginx.sh")
    try:
        done = subprocess.run(
            [script, "start"], env=env, capture_output=True, text=True, timeout=60
        )
        if done.returncode != 0:
            raise RuntimeError(f"nginx did not start: {done.stdout} {done.stderr}")
        yield port
    finally:
        subprocess.run([script, "stop"], env=env, capture_output=True, timeout=60, check=False)
        shutil.rmtree(run_dir, ignore_errors=True)


def web_env(database: str, redis_url: str, *, pooled: bool, hosts: list[str]) -> dict[str, str]:
    """The bench's production settings with this topology's database and Redis; every web
    process sits behind nginx (NUM_PROXIES=1) and answers to the hosts' addresses."""
    return h.bench_env(
        DATABASE_URL=database,
        REDIS_URL=redis_url,
        DATABASE_PGBOUNCER="1" if pooled else "0",
        NUM_PROXIES="1",
        DJANGO_ALLOWED_HOSTS=",".join(["127.0.0.1", "localhost", *hosts]),
    )


def celery_command(name: str, queues: list[str], concurrency: int) -> list[str]:
    return [
        str(h.VENV_BIN / "celery"),
        "-A",
        "shop",
        "worker",
        "--loglevel=WARNING",
        f"--concurrency={concurrency}",
        f"--hostname={name}@%h",
        "-Q",
        ",".join(queues),
        "--without-gossip",
        "--without-mingle",
    ]


def order_queues() -> list[str]:
    """Every queue but training: what the order workers of production consume."""
    from django.conf import settings

    return [
        settings.CELERY_TASK_DEFAULT_QUEUE,
        settings.CELERY_QUEUE_ORDERS,
        settings.CELERY_QUEUE_EMAIL,
    ]


@contextlib.contextmanager
def started(specs: list[tuple[str, list[str]]], env: dict[str, str]) -> Iterator[list[h.Process]]:
    processes: list[h.Process] = []
    try:
        for name, command in specs:
            processes.append(h._start(name, command, env))
        yield processes
    finally:
        for process in reversed(processes):
            h._stop(process)


class ConnectionPeak:
    """The most backends PostgreSQL had on the bench database at once, sampled every 0.1 s
    (from a connection of its own, not counted) while the block runs."""

    def __init__(self):
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        import psycopg

        name = _server()[3]
        with psycopg.connect(h.DATABASE_URL, autocommit=True) as conn:
            while not self._stop.is_set():
                count = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = %s AND pid <> pg_backend_pid()",
                    (name,),
                ).fetchone()[0]
                self.peak = max(self.peak, count)
                self._stop.wait(0.1)

    def __enter__(self) -> "ConnectionPeak":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


# --- measurements -----------------------------------------------------------------------------
def checkout(entry: list[int], data: dict, seconds: float) -> dict:
    """One checkout run (32 clients over the 1,000 spread products), drained and checked."""
    from bench import checkout_bench

    with ConnectionPeak() as connections:
        result, rate, drained, check = checkout_bench.checkout_run(
            entry, data["tokens"], data["spread"], seconds
        )
    return {
        "rate": rate,
        "p50": result.p50_ms,
        "p99": result.p99_ms,
        "errors": result.errors,
        "drain_s": drained,
        "orders": check["orders"],
        "ok": check["ok"],
        "pg_connections": connections.peak,
    }


def product_list(entry: list[int], seconds: float, headers: dict | None = None) -> dict:
    """The anonymous product list under load, after a few requests that fill the catalog
    cache (and wait out whatever the server still had queued)."""
    for _ in range(3):
        h.get(entry[0], LIST, headers)
    result = h.load(
        h.Scenario(paths=[LIST], headers=headers or {}),
        entry,
        seconds=seconds,
        connections=CONNECTIONS,
    )
    h.say(
        f"  list: {result.rps:,.0f} req/s, p50 {result.p50_ms:.1f} ms,"
        f" p99 {result.p99_ms:.1f} ms, {result.errors} errors"
    )
    return {"rps": result.rps, "p50": result.p50_ms, "p99": result.p99_ms, "errors": result.errors}


def cache_status(port: int) -> str:
    """X-Cache-Status of an anonymous list request asked for twice in a row."""
    status = ""
    for _ in range(2):
        conn = http.client.HTTPConnection(h.HOST, port, timeout=30)
        try:
            conn.request("GET", LIST)
            response = conn.getresponse()
            response.read()
            status = response.getheader("X-Cache-Status") or "(none)"
        finally:
            conn.close()
    return status


def seed_training() -> dict:
    """Customers with a long-tailed history over 500 products, for the nightly training."""
    import numpy as np
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from catalog.models import Product
    from recommendations.models import Interaction

    user_model = get_user_model()
    user_model.objects.bulk_create(
        [user_model(username=f"bench-trainee-{n}") for n in range(TRAINING_USERS)],
        ignore_conflicts=True,
        batch_size=2000,
    )
    people = list(
        user_model.objects.filter(username__startswith="bench-trainee-").values_list(
            "id", flat=True
        )
    )
    items = list(
        Product.objects.filter(is_active=True)
        .exclude(structure=Product.Structure.PARENT)
        .order_by("id")
        .values_list("id", flat=True)[:TRAINING_PRODUCTS]
    )
    Interaction.objects.filter(user_id__in=people).delete()
    rng = np.random.default_rng(11)
    appeal = rng.pareto(1.2, len(items)) + 0.05
    appeal /= appeal.sum()
    now = timezone.now()
    per_user = min(TRAINING_PER_USER, len(items))
    rows = [
        Interaction(
            user_id=user_id,
            product_id=items[int(pick)],
            kind=str(rng.choice(["view", "cart", "purchase"], p=[0.7, 0.2, 0.1])),
            at=now - timezone.timedelta(days=float(rng.uniform(0, 60))),
        )
        for user_id in people
        for pick in rng.choice(len(items), size=per_user, replace=False, p=appeal)
    ]
    Interaction.objects.bulk_create(rows, batch_size=5000)
    return {"customers": len(people), "products": len(items), "interactions": len(rows)}


def _training_state(since) -> tuple[int, int]:
    """(versions begun, versions still training) by trainings started after ``since``."""
    from recommendations.models import ModelVersion

    versions = ModelVersion.objects.filter(trained_at__gte=since)
    return versions.count(), versions.filter(status=ModelVersion.Status.TRAINING).count()


def start_training(env: dict[str, str]):
    """Enqueue the nightly training on its queue; wait (bounded) until its worker began it."""
    from django.conf import settings
    from django.utils import timezone

    since = timezone.now()
    subprocess.run(
        [
            str(h.VENV_BIN / "celery"),
            "-A",
            "shop",
            "call",
            "recommendations.tasks.training_run_task",
            "--queue",
            settings.CELERY_QUEUE_TRAINING,
        ],
        cwd=h.ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    deadline = time.monotonic() + 60
    while _training_state(since)[0] == 0:
        if time.monotonic() > deadline:
            raise RuntimeError("the training worker did not begin the nightly training in 60 s")
        time.sleep(0.2)
    return since


def training_finished(since) -> bool:
    from django.conf import settings

    begun, training = _training_state(since)
    return begun >= len(settings.RECOMMENDATIONS_ALGORITHMS) and training == 0


# --- the parts --------------------------------------------------------------------------------
def loopback_parts(data: dict, redis_url: str, pooled_url: str, at: Ports, seconds: float) -> dict:
    """Parts 2, 3 and 4: one gunicorn (2 x cores + 1 workers) on loopback, an order worker
    (every queue but training) and, with PgBouncer, a training worker. The PgBouncer checkout
    run is also the baseline of the training run that follows it."""
    out: dict = {}
    for mode, url in (("direct", h.DATABASE_URL), ("pgbouncer", pooled_url)):
        pooled = mode == "pgbouncer"
        if pooled:
            pool_reset(at.pgbouncer)
        env = web_env(url, redis_url, pooled=pooled, hosts=[])
        specs = [
            ("web", h.gunicorn_command(at.web, h.WORKERS, h.WORKER_CLASS)),
            ("orders-worker", celery_command("orders", order_queues(), 2)),
        ]
        if pooled:
            specs.append(("training-worker", celery_command("training", ["training"], 1)))
        with started(specs, env) as processes:
            h.wait_for_health(at.web, processes[0])
            h.warm_up([at.web], h.WORKERS)
            if pooled:
                h.say("topology: anonymous product list, gunicorn alone and through nginx")
                out["django_list"] = product_list([at.web], seconds)
                with nginx([f"{h.HOST}:{at.web}"], at.nginx):
                    out["cache_status"] = cache_status(at.nginx)
                    out["nginx_list"] = product_list([at.nginx], seconds)
            h.say(f"topology: checkout on loopback, {'through PgBouncer' if pooled else 'direct'}")
            out[mode] = checkout([at.web], data, seconds)
            if not pooled:
                continue
            h.say("topology: checkout while the training worker runs the nightly training")
            since = start_training(env)
            began = time.monotonic()
            out["training_during"] = checkout([at.web], data, seconds)
            out["training_overlapped"] = not training_finished(since)
            while not training_finished(since) and time.monotonic() - began < TRAINING_TIMEOUT:
                time.sleep(0.5)
            out["training_s"] = time.monotonic() - began
            out["training_done"] = training_finished(since)
            h.say(
                f"  nightly training took {out['training_s']:.0f} s from its start"
                f" (finished: {out['training_done']}; still running after the checkout run:"
                f" {out['training_overlapped']})"
            )
    out["training_baseline"] = out["pgbouncer"]
    return out


def scale_point(
    network: netns.Network,
    count: int,
    database: str,
    redis_url: str,
    *,
    pooled: bool,
    at: Ports,
    data: dict,
    seconds: float,
    with_list: bool,
) -> dict:
    """``count`` web hosts behind nginx and one order worker: a checkout run (and the list)."""
    addresses = network.addresses[:count]
    env = web_env(database, redis_url, pooled=pooled, hosts=addresses)
    specs = [
        (
            f"web-{network.namespace(i)}",
            network.exec_prefix(i)
            + h.gunicorn_command(at.web, HOST_WORKERS, h.WORKER_CLASS, host=addresses[i]),
        )
        for i in range(count)
    ]
    specs.append(("orders-worker", celery_command("orders", order_queues(), 2)))
    how = "PgBouncer" if pooled else "PostgreSQL's socket, no PgBouncer"
    if pooled:
        pool_reset(at.pgbouncer)
    h.say(f"topology: {count} web host(s) in namespaces behind nginx ({how})")
    with started(specs, env) as processes:
        for i, address in enumerate(addresses):
            h.wait_for_health(at.web, processes[i], host=address)
        with nginx([f"{address}:{at.web}" for address in addresses], at.nginx):
            h.load(
                h.Scenario(paths=h.WARM_UP_PATHS),
                [at.nginx],
                seconds=2,
                connections=max(2 * HOST_WORKERS * count, 4),
            )
            point = {"hosts": count, "workers": HOST_WORKERS * count, "pooled": pooled}
            point["checkout"] = checkout([at.nginx], data, seconds)
            if with_list:
                point["list"] = product_list([at.nginx], seconds, BYPASS_MICRO_CACHE)
    return point


def socket_directory() -> str | None:
    """Where PostgreSQL's Unix socket is, if it has one on this machine."""
    import psycopg

    with psycopg.connect(h.DATABASE_URL, autocommit=True) as conn:
        value = conn.execute("SHOW unix_socket_directories").fetchone()[0]
    first = value.split(",")[0].strip()
    return first if first and Path(first).is_dir() else None


def measure(data: dict, seconds: float = SECONDS) -> dict:
    """Every part; what cannot run here is skipped with its reason."""
    missing = [tool for tool in ("nginx", "pgbouncer", "redis-server") if not shutil.which(tool)]
    if missing:
        reason = f"{', '.join(missing)} not installed (apt-get install -y nginx pgbouncer redis)"
        h.say(f"topology: skipped: {reason}")
        return {"skipped": reason}
    at = ports()
    _, pg_port, user, name = _server()
    result: dict = {
        "seconds": seconds,
        "host_workers": HOST_WORKERS,
        "web_workers": h.WORKERS,
        "hosts": HOSTS,
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
    }
    began = time.monotonic()
    h.say(f"topology: seeding the nightly training's data ({TRAINING_USERS:,} customers)")
    result["training_data"] = seed_training()
    network = netns.plan(str(h.BASE_PORT), max(HOSTS), SUBNET)
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(netns.hosts(network))
            listen = [h.HOST, network.bridge_address]
        except netns.Unavailable as reason:
            h.say(f"topology: no network namespaces ({reason}): the scale-out part is skipped")
            result["scale_out_skipped"] = str(reason)
            network, listen = None, [h.HOST]
        redis_url = stack.enter_context(redis_server(listen, at.redis))
        stack.enter_context(pgbouncer(listen, at.pgbouncer))
        pooled_url = database_url(host=listen[-1], port=at.pgbouncer, name=name, user=user)
        result.update(loopback_parts(data, redis_url, pooled_url, at, seconds))
        if network is not None:
            result["scale_out"] = [
                scale_point(
                    network,
                    count,
                    pooled_url,
                    redis_url,
                    pooled=True,
                    at=at,
                    data=data,
                    seconds=seconds,
                    with_list=True,
                )
                for count in HOSTS
            ]
            socket = socket_directory()
            if socket is None:
                result["direct_skipped"] = "PostgreSQL has no Unix socket directory here"
            else:
                direct_url = database_url(host=socket, port=pg_port, name=name, user=user)
                result["scale_out_direct"] = scale_point(
                    network,
                    max(HOSTS),
                    direct_url,
                    redis_url,
                    pooled=False,
                    at=at,
                    data=data,
                    seconds=seconds,
                    with_list=False,
                )
    result["elapsed_s"] = time.monotonic() - began
    return result


# --- the report -------------------------------------------------------------------------------
def _ok(run: dict) -> str:
    return "exact" if run["ok"] else "BROKEN"


def add_rows(table, result: dict) -> None:
    """The summary rows of BENCHMARKS.md's table (run_all.Table)."""
    if "skipped" in result:
        return
    direct, pooled = result["direct"], result["pgbouncer"]
    table.add(
        "Topology: checkout through PgBouncer (transaction mode) vs direct, 1 instance",
        pooled["rate"],
        direct["rate"],
        unit="orders/s",
        goal="exactly consistent",
        met=pooled["ok"] and direct["ok"],
    )
    table.add(
        "Topology: checkout p50, PgBouncer vs direct / PostgreSQL connections (peak)",
        f"{pooled['p50']:.0f} ms / {pooled['pg_connections']}",
        f"{direct['p50']:.0f} ms / {direct['pg_connections']}",
    )
    base, during = result["training_baseline"], result["training_during"]
    ratio = during["rate"] / base["rate"] if base["rate"] else 0.0
    table.add(
        "Topology: checkout while the training worker runs the nightly training (vs without)",
        during["rate"],
        base["rate"],
        unit="orders/s",
        goal=">= 0.9x (training still running at the end)",
        met=ratio >= 0.9 and during["ok"] and result["training_overlapped"],
    )
    table.add(
        "Topology: anonymous product list through nginx's micro-cache vs gunicorn alone"
        f" (cache status: {result['cache_status']})",
        result["nginx_list"]["rps"],
        result["django_list"]["rps"],
        unit="req/s",
    )
    points = result.get("scale_out") or []
    if points:
        first = points[0]
        for point in points:
            table.add(
                f"Topology: checkout, {point['hosts']} web host(s) in network namespaces"
                " behind nginx (vs 1 host)",
                point["checkout"]["rate"],
                first["checkout"]["rate"],
                unit="orders/s",
                goal="exactly consistent",
                met=point["checkout"]["ok"],
            )
        for point in points[1:]:
            table.add(
                f"Topology: product list, {point['hosts']} web hosts behind nginx (vs 1 host)",
                point["list"]["rps"],
                first["list"]["rps"],
                unit="req/s",
            )
        direct_point = result.get("scale_out_direct")
        if direct_point:
            largest = points[-1]
            table.add(
                f"Topology: PostgreSQL connections (peak), checkout on {largest['hosts']} web"
                " hosts: through PgBouncer vs direct",
                largest["checkout"]["pg_connections"],
                direct_point["checkout"]["pg_connections"],
                unit="connections",
            )


def markdown(result: dict) -> list[str]:
    """BENCHMARKS.md's section of this part."""
    lines = ["## Production topology (bench/topology_bench.py)", ""]
    if "skipped" in result:
        return lines + [f"Skipped: {result['skipped']}.", ""]
    load = " ".join(result["loadavg"])
    lines += [
        f"This part took {result['elapsed_s'] / 60:.1f} min; load average at its start: {load}."
        f" Each run {result['seconds']:.0f} s,"
        " one run per figure; checkout: 32 clients over 1,000 products, each run drained and"
        " checked for consistency; PostgreSQL connections: the most backends on the bench"
        " database at once (sampled every 0.1 s during the run and the drain, the bench's own"
        " checking connection included).",
        "",
        "### Checkout through PgBouncer vs direct; during the nightly training",
        "",
        f"One gunicorn on loopback ({result['web_workers']} workers), an order worker (every"
        " queue but training, concurrency 2); the training worker (queue training,"
        " concurrency 1) beside them in the PgBouncer runs.",
        "",
        "| Run | Orders/s | p50 ms | p99 ms | errors | drain s | orders | PG connections |"
        " consistent |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    runs = [
        ("direct to PostgreSQL", result["direct"]),
        ("through PgBouncer (no training: the baseline)", result["pgbouncer"]),
        ("through PgBouncer, nightly training running", result["training_during"]),
    ]
    lines += [
        f"| {label} | {r['rate']:.1f} | {r['p50']:.0f} | {r['p99']:.0f} | {r['errors']} |"
        f" {r['drain_s']:.1f} | {r['orders']} | {r['pg_connections']} | {_ok(r)} |"
        for label, r in runs
    ]
    base, during = result["training_baseline"], result["training_during"]
    seeded = result["training_data"]
    lines += [
        "",
        f"Nightly training (every algorithm of RECOMMENDATIONS_ALGORITHMS) on"
        f" {seeded['customers']:,} customers x {seeded['products']:,} products,"
        f" {seeded['interactions']:,} interactions: {result['training_s']:.0f} s from its start"
        f" ({'finished' if result['training_done'] else 'not finished within the bound'});"
        f" still running when the checkout run ended: {result['training_overlapped']}."
        f" Orders/s during it / without: {during['rate'] / base['rate']:.2f}x.",
        "",
        "### Anonymous product list: nginx's micro-cache vs gunicorn alone",
        "",
        "| Path | req/s | p50 ms | p99 ms | errors |",
        "|---|---|---|---|---|",
    ]
    for label, key in (("gunicorn alone", "django_list"), ("through nginx", "nginx_list")):
        r = result[key]
        lines.append(
            f"| {label} | {r['rps']:,.0f} | {r['p50']:.1f} | {r['p99']:.1f} | {r['errors']} |"
        )
    hit = result["cache_status"] == "HIT"
    lines += [
        "",
        f"`GET {LIST}`, {CONNECTIONS} connections, the same gunicorn. The micro-cache's status"
        f" for the same anonymous request asked for twice: **{result['cache_status']}**."
        + (
            " nginx answered from its cache."
            if hit
            else " nginx keeps only what the shop's `Cache-Control` allows, and the product list"
            " is sent without one, so every request went on to gunicorn: the figure is the cost"
            " of nginx's hop, not the micro-cache's gain."
        ),
        "",
        "### Scale-out across simulated hosts",
        "",
    ]
    if result.get("scale_out_skipped"):
        return lines + [f"Skipped: {result['scale_out_skipped']}.", ""]
    lines += [
        f"Each web host is a network namespace with its own address, running gunicorn with"
        f" {result['host_workers']} workers; nginx in the root namespace balances over them;"
        " PgBouncer and a Redis of the bench's own listen on the bridge's address; one order"
        " worker (concurrency 2). All on the same cores: more hosts add processes, not CPU.",
        "",
        "| Web hosts | web workers | database path | checkout orders/s | p50 ms | errors |"
        " PG connections | consistent | list req/s | list p50 ms |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    points = list(result.get("scale_out") or [])
    if result.get("scale_out_direct"):
        points.append(result["scale_out_direct"])
    for point in points:
        co, listing = point["checkout"], point.get("list")
        path = "PgBouncer" if point["pooled"] else "direct (Unix socket)"
        rps = f"{listing['rps']:,.0f}" if listing else "—"
        p50 = f"{listing['p50']:.1f}" if listing else "—"
        lines.append(
            f"| {point['hosts']} | {point['workers']} | {path} | {co['rate']:.1f} |"
            f" {co['p50']:.0f} | {co['errors']} | {co['pg_connections']} | {_ok(co)} |"
            f" {rps} | {p50} |"
        )
    if result.get("direct_skipped"):
        lines += ["", f"Without PgBouncer: skipped ({result['direct_skipped']})."]
    lines.append("")
    return lines


def run(table, details: dict, data: dict) -> None:
    """bench/run_all.py's part ``topology``: measure, add the summary rows, keep the details."""
    result = measure(data)
    details["topology"] = result
    add_rows(table, result)


def _stop_on_signal(signum, frame):
    raise SystemExit(f"stopped by signal {signum}")  # unwinds: every process and namespace goes


def main() -> int:
    signal.signal(signal.SIGTERM, _stop_on_signal)
    signal.signal(signal.SIGHUP, _stop_on_signal)
    # Ctrl-C unwinds too, even when started from a shell that had SIGINT ignored (`... &`).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=1000, help="demo catalog size")
    args = parser.parse_args()
    from bench import checkout_bench, run_all

    h.ensure_database()
    h.setup_django()
    run_all.prepare_database()
    run_all.load_products(args.products)
    data = checkout_bench.prepare()
    table = run_all.Table()
    details: dict = {}
    run(table, details, data)
    print("\n".join(markdown(details["topology"])))
    for row in table.rows:
        print(
            f"- {row['figure']}: {run_all.fmt(row['ours'], row['unit'])}"
            f" vs {run_all.fmt(row['reference'], row['unit'])}"
            + (
                f" (goal {row['goal']}: {'met' if row['met'] else 'NOT met'})"
                if row["goal"]
                else ""
            )
        )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        if os.environ.get("BENCH_KEEP_TMP") != "1":
            shutil.rmtree(h.tmp_dir(), ignore_errors=True)
