"""Shared machinery of the benchmarks: the production-like environment, the server processes
(gunicorn, Celery) and the load generators (wrk, or a small threaded Python client).

Everything talks to 127.0.0.1 only, uses the database ``shop_bench`` and Redis database 5 (or
``BENCH_DATABASE_URL``, ``BENCH_REDIS_URL`` and ``BENCH_BASE_PORT`` when set), and
every process started here is stopped again (its whole process group) when the block ends.
"""

import base64
import contextlib
import http.client
import json
import os
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python") if (VENV_BIN / "python").exists() else sys.executable
HOST = "127.0.0.1"
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/shop_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5")
BASE_PORT = int(os.environ.get("BENCH_BASE_PORT", "18300"))
NCPU = os.cpu_count() or 1
WORKERS = int(os.environ.get("BENCH_GUNICORN_WORKERS", 2 * NCPU + 1))
WORKER_CLASS = os.environ.get("BENCH_GUNICORN_CLASS", "sync")
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
WRK_INSTALL_HINT = "wrk is not installed: `sudo apt-get update && sudo apt-get install -y wrk`"

_SECRET = secrets.token_urlsafe(48)[:64]
_FERNET = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
_TMP = Path(tempfile.mkdtemp(prefix="shop-bench-"))


def bench_env(**extra: str) -> dict[str, str]:
    """The environment of every process of the benchmark: production settings on loopback."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=DATABASE_URL,
        REDIS_URL=REDIS_URL,
        DJANGO_SETTINGS_MODULE="bench.settings",
        DJANGO_SECRET_KEY=_SECRET,
        DJANGO_DEBUG="0",
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_SECURE_SSL_REDIRECT="0",
        DJANGO_SECURE_COOKIES="0",
        DJANGO_HSTS_SECONDS="0",
        DJANGO_LOG_LEVEL="WARNING",
        FIELD_ENCRYPTION_KEYS=_FERNET,
        # Throttles stay on (they are part of every API request's cost), with rates no bench
        # client reaches. Per second, not per minute: DRF keeps each client's request times of
        # the last period in its cache entry, and the bench is one client (127.0.0.1) sending
        # hundreds of requests a second; a minute of them would be a list of ~50,000 times that
        # no real client, held to 300/min, ever has.
        THROTTLE_ANON_RATE="100000000/s",
        THROTTLE_USER_RATE="100000000/s",
        THROTTLE_ORDERS_RATE="100000000/s",
        THROTTLE_LOGIN_RATE="100000/s",
        AXES_FAILURE_LIMIT="1000000",
        CACHE_KEY_PREFIX="shop-bench",
        TASK_RETRY_BACKOFF="1",
        # The bench pays with the test gateway's tokens, on purpose (system check shop.E002).
        PAYMENT_ALLOW_TEST_GATEWAY="1",
        PROMETHEUS_MULTIPROC_DIR=str(_TMP / "prometheus"),
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


def ensure_database() -> None:
    """Create the database ``shop_bench`` if this PostgreSQL server does not have it yet."""
    import psycopg

    admin_url = DATABASE_URL.rsplit("/", 1)[0] + "/postgres"
    name = DATABASE_URL.rsplit("/", 1)[1]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            say(f"creating database {name}")
            conn.execute(f'CREATE DATABASE "{name}"')


def vacuum_analyze() -> None:
    """VACUUM ANALYZE the bench database (statistics and visibility map, as autovacuum keeps)."""
    import psycopg

    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def drop_queued_tasks() -> int:
    """Empty the broker's queues of what a setup step queued (``load_demo`` queues the picture
    renditions): a bench request names renditions without opening them and never fetches a
    picture, and a worker drawing them later would take CPU from the figures being measured."""
    from shop.celery import app

    return app.control.purge() or 0


def _admin_connection():
    import psycopg

    return psycopg.connect(DATABASE_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True)


def fingerprint(*paths: str, extra: str = "") -> str:
    """A digest of these files (a folder: every .py file below it) and ``extra``: what a built
    database depends on, so a copy of it is reused only while none of it changed."""
    import hashlib

    digest = hashlib.sha256(extra.encode())
    for name in paths:
        path = ROOT / name
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for file in files:
            digest.update(str(file.relative_to(ROOT)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:32]


def template_name(key: str) -> str:
    return f"{DATABASE_URL.rsplit('/', 1)[1]}_{key}"


def restore_template(key: str, digest: str) -> bool:
    """Replace the bench database by the copy saved under ``key`` if that copy was made from
    the same code (``digest``): CREATE DATABASE ... TEMPLATE copies its files in seconds, where
    building it again takes minutes. False (nothing changed) when there is no such copy."""
    from django.db import connections

    template = template_name(key)
    with _admin_connection() as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            (template,),
        ).fetchone()
        if row is None or row[0] != digest:
            return False
        connections.close_all()
        name = DATABASE_URL.rsplit("/", 1)[1]
        # FORCE: a bench process killed earlier may have left a connection behind.
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return True


def save_template(key: str, digest: str) -> None:
    """Keep a copy of the bench database under ``key``, marked with ``digest``. A copy is only
    a saving for the next run: if the database stays busy (a backend of a process that just
    ended can take seconds to exit on a loaded machine), the run goes on without one."""
    import psycopg
    from django.db import connections

    template = template_name(key)
    name = DATABASE_URL.rsplit("/", 1)[1]
    connections.close_all()  # a template must have no other session while it is copied
    with _admin_connection() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{template}"')
        for attempt in range(6):
            try:
                conn.execute(f'CREATE DATABASE "{template}" TEMPLATE "{name}"')
                break
            except psycopg.errors.ObjectInUse as busy:
                if attempt == 5:
                    say(f"  no copy kept as {template}: {busy}")
                    return
                time.sleep(5)  # PostgreSQL itself waited 5 s for the other sessions first
        conn.execute(f"COMMENT ON DATABASE \"{template}\" IS '{digest}'")


def setup_django() -> None:
    """Point this process at the bench database and start Django (for setup and checks)."""
    os.environ.update(bench_env())
    (_TMP / "prometheus").mkdir(exist_ok=True)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def manage(*args: str, timeout: float = 900) -> float:
    """Run a management command against the bench database; returns its wall time in seconds."""
    started = time.perf_counter()
    subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=bench_env(),
        check=True,
        timeout=timeout,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- processes ------------------------------------------------------------------------------
@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path

    def children(self) -> list[int]:
        """Pids of the direct children (gunicorn workers, Celery pool processes)."""
        path = Path(f"/proc/{self.popen.pid}/task/{self.popen.pid}/children")
        try:
            return [int(pid) for pid in path.read_text().split()]
        except OSError:
            return []


def _start(name: str, command: list[str], env: dict[str, str]) -> Process:
    log = _TMP / f"{name}.log"
    handle = open(log, "wb")  # noqa: SIM115 (the process keeps it)
    popen = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )
    return Process(name, popen, log)


def _stop(process: Process, timeout: float = 15) -> None:
    if process.popen.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.popen.pid, signal.SIGTERM)
    try:
        process.popen.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.popen.pid, signal.SIGKILL)
        process.popen.wait(timeout=timeout)


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex((HOST, port)) != 0


def wait_for_health(port: int, process: Process, timeout: float = 60, host: str = HOST) -> None:
    """Until /health/ answers at all (degraded is fine: the bench runs no beat)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise RuntimeError(f"{process.name} exited: {process.log.read_text()[-2000:]}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            conn = http.client.HTTPConnection(host, port, timeout=5)
            conn.request("GET", "/health/")
            status = conn.getresponse().status
            conn.close()
            if status in (200, 503):
                return
        time.sleep(0.2)
    raise RuntimeError(f"{process.name} did not answer /health/ within {timeout:.0f} s")


WARM_UP_PATHS = ["/api/products/?page_size=1", "/api/categories/", "/health/"]


def warm_up(ports: list[int], workers: int) -> None:
    """A short burst so every worker has loaded the URLconf and every app module (Django does
    that on a worker's first request, not at boot) before anything is measured."""
    for port in ports:
        load(Scenario(paths=WARM_UP_PATHS), [port], seconds=2, connections=max(2 * workers, 4))


def gunicorn_command(port: int, workers: int, worker_class: str, host: str = HOST) -> list[str]:
    command = [
        str(VENV_BIN / "gunicorn"),
        "shop.wsgi:application",
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        worker_class,
        "--backlog",
        "2048",
        "--timeout",
        "60",
        "--log-level",
        "warning",
    ]
    if worker_class == "gthread":
        command += ["--threads", os.environ.get("BENCH_GUNICORN_THREADS", "4")]
    return command


@contextlib.contextmanager
def servers(
    *,
    web: int = 1,
    celery: int = 0,
    workers: int = WORKERS,
    worker_class: str = WORKER_CLASS,
    base_port: int = BASE_PORT,
    celery_concurrency: int = 2,
) -> Iterator[dict]:
    """``web`` gunicorn instances on consecutive ports and ``celery`` Celery workers."""
    started: list[Process] = []
    try:
        shutil.rmtree(_TMP / "prometheus", ignore_errors=True)
        (_TMP / "prometheus").mkdir()
        env = bench_env()
        for index in range(celery):
            started.append(
                _start(
                    f"celery{index}",
                    [
                        str(VENV_BIN / "celery"),
                        "-A",
                        "shop",
                        "worker",
                        "--loglevel=WARNING",
                        f"--concurrency={celery_concurrency}",
                        f"--hostname=bench{index}@%h",
                        "--without-gossip",
                        "--without-mingle",
                    ],
                    env,
                )
            )
        ports = [base_port + index for index in range(web)]
        for port in ports:
            if not port_free(port):
                raise RuntimeError(f"port {port} is taken: is an earlier bench server still up?")
        webs = [
            _start(f"gunicorn{port}", gunicorn_command(port, workers, worker_class), env)
            for port in ports
        ]
        started.extend(webs)
        for port, process in zip(ports, webs, strict=True):
            wait_for_health(port, process)
        warm_up(ports, workers)
        yield {"ports": ports, "web": webs, "celery": started[:celery]}
    finally:
        for process in reversed(started):
            _stop(process)


def process_cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of these processes so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def rss_kib(pid: int) -> tuple[int, int]:
    """(current RSS, peak RSS) of a process in KiB."""
    values = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0])
    return values.get("VmRSS", 0), values.get("VmHWM", 0)


# --- load -----------------------------------------------------------------------------------
@dataclass
class Load:
    """One load run's outcome."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int  # non-2xx answers and socket errors
    generator: str
    generator_cpu: float = 0.0  # share of the machine's CPU used by the load generator
    extra: dict = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


@dataclass
class Scenario:
    """What to send: GETs cycling over ``paths``, or checkout POSTs.

    Checkout: ``tokens`` (one per client, cycled), ``products`` (one is chosen per request,
    cycling), an order body for one unit, and a fresh Idempotency-Key per request."""

    paths: list[str] = field(default_factory=list)
    checkout: bool = False
    tokens: list[str] = field(default_factory=list)
    products: list[int] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)


ORDER_BODY = {
    "items": [{"product": 0, "quantity": 1}],
    "shipping_address": {
        "name": "Bench Buyer",
        "line1": "1 Load Street",
        "city": "Loopback",
        "postal_code": "12345",
        "country": "DE",
    },
    "payment": {"method": "card", "token": "tok_visa"},
}


def have_wrk() -> bool:
    return shutil.which("wrk") is not None and os.environ.get("BENCH_LOAD", "") != "python"


def generator_name() -> str:
    return "wrk" if have_wrk() else "python (threads + http.client)"


def _lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid Lua string literal here


def _lua_script(scenario: Scenario, ports: list[int]) -> str:
    """A wrk script: thread i talks to ports[i % len(ports)] (round-robin across instances);
    reports exact counts and latency percentiles as one JSON line."""
    lines = [
        "local ports = {" + ",".join(str(p) for p in ports) + "}",
        "local counter = 0",
        "local threads = {}",
        "function setup(thread)",
        "  local n = #threads",
        "  thread:set('id', n)",
        "  local port = ports[(n % #ports) + 1]",
        f"  thread.addr = wrk.lookup('{HOST}', tostring(port))[1]",
        "  table.insert(threads, thread)",
        "end",
        "function init(args)",
        "  wrk.thread_id = id",
        "end",
    ]
    headers = "".join(
        f"  h[{_lua_string(k)}] = {_lua_string(v)}\n" for k, v in scenario.headers.items()
    )
    if scenario.checkout:
        prefix, suffix = json.dumps(ORDER_BODY).split('"product": 0', 1)
        lines += [
            "local tokens = {" + ",".join(_lua_string(t) for t in scenario.tokens) + "}",
            "local products = {" + ",".join(str(p) for p in scenario.products) + "}",
            f"local prefix = {_lua_string(prefix)}",
            f"local suffix = {_lua_string(suffix)}",
            "local run = tostring(math.random(1, 2^30)) .. tostring(os.time())",
            "function request()",
            "  counter = counter + 1",
            "  local n = counter * 1000 + wrk.thread_id",
            "  local h = {}",
            headers,
            "  h['Content-Type'] = 'application/json'",
            "  h['Authorization'] = 'Token ' .. tokens[(n % #tokens) + 1]",
            "  h['Idempotency-Key'] = 'bench-' .. run .. '-' .. wrk.thread_id .. '-' .. counter",
            "  local body = prefix .. '\"product\": ' .. products[(n % #products) + 1] .. suffix",
            "  return wrk.format('POST', '/api/orders/', h, body)",
            "end",
        ]
    else:
        lines += [
            "local paths = {" + ",".join(_lua_string(p) for p in scenario.paths) + "}",
            "function request()",
            "  counter = counter + 1",
            "  local h = {}",
            headers,
            "  return wrk.format('GET', paths[(counter % #paths) + 1], h)",
            "end",
        ]
    lines += [
        "function done(summary, latency, requests)",
        "  local e = summary.errors",
        '  io.write(string.format(\'BENCHJSON {"requests":%d,"us":%d,"p50":%d,"p99":%d,'
        '"status":%d,"socket":%d}\\n\', summary.requests, summary.duration,'
        " latency:percentile(50), latency:percentile(99), e.status,"
        " e.connect + e.read + e.write + e.timeout))",
        "end",
    ]
    return "\n".join(lines) + "\n"


def pinned() -> bool:
    """Whether wrk runs pinned to the last CPU (taskset, more than one CPU, BENCH_PIN=1)."""
    return bool(shutil.which("taskset")) and NCPU > 1 and os.environ.get("BENCH_PIN", "1") == "1"


def _wrk(scenario: Scenario, ports: list[int], seconds: float, connections: int) -> Load:
    script = _TMP / f"load-{secrets.token_hex(4)}.lua"
    script.write_text(_lua_script(scenario, ports))
    threads = max(len(ports), 2 if connections >= 2 else 1)
    command = [
        "wrk",
        "-t",
        str(threads),
        "-c",
        str(max(connections, threads)),
        "-d",
        f"{max(int(seconds), 1)}s",
        "--timeout",
        "30s",
        "-s",
        str(script),
        f"http://{HOST}:{ports[0]}",
    ]
    if pinned():
        command = ["taskset", "-c", str(NCPU - 1), *command]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120)
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    line = next((x for x in result.stdout.splitlines() if x.startswith("BENCHJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed: {result.stdout[-1500:]} {result.stderr[-1500:]}")
    data = json.loads(line.split(" ", 1)[1])
    return Load(
        requests=data["requests"],
        seconds=data["us"] / 1e6,
        p50_ms=data["p50"] / 1000,
        p99_ms=data["p99"] / 1000,
        errors=data["status"] + data["socket"],
        generator="wrk",
        generator_cpu=cpu / (wall * NCPU),
    )


def _python_load(scenario: Scenario, ports: list[int], seconds: float, connections: int) -> Load:
    """The fallback: ``connections`` threads, each with its own keep-alive connection."""
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections
    start_gate = threading.Barrier(connections + 1)
    stop_at = [0.0]
    run = secrets.token_hex(6)
    prefix = ORDER_BODY

    def client(index: int) -> None:
        port = ports[index % len(ports)]
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        counter = 0
        start_gate.wait()
        while time.perf_counter() < stop_at[0]:
            counter += 1
            headers = dict(scenario.headers)
            if scenario.checkout:
                body_data = json.loads(json.dumps(prefix))
                n = counter * 1000 + index
                body_data["items"][0]["product"] = scenario.products[n % len(scenario.products)]
                body = json.dumps(body_data)
                headers.update(
                    {
                        "Content-Type": "application/json",
                        "Authorization": f"Token {scenario.tokens[n % len(scenario.tokens)]}",
                        "Idempotency-Key": f"bench-{run}-{index}-{counter}",
                    }
                )
                method, path = "POST", "/api/orders/"
            else:
                method, path, body = "GET", scenario.paths[counter % len(scenario.paths)], None
            began = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status >= 400:
                    errors[index] += 1
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException):
                errors[index] += 1
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=30)
                continue
            latencies[index].append(time.perf_counter() - began)
        conn.close()

    pool = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(connections)]
    for thread in pool:
        thread.start()
    cpu_before = time.process_time()
    began = time.perf_counter()
    stop_at[0] = began + seconds
    start_gate.wait(timeout=30)
    for thread in pool:
        thread.join(timeout=seconds + 60)
    wall = time.perf_counter() - began
    cpu = time.process_time() - cpu_before
    samples = sorted(x for per in latencies for x in per)
    if not samples:
        raise RuntimeError("the Python load generator got no answer at all")
    return Load(
        requests=len(samples) + sum(errors),
        seconds=wall,
        p50_ms=samples[len(samples) // 2] * 1000,
        p99_ms=samples[min(int(len(samples) * 0.99), len(samples) - 1)] * 1000,
        errors=sum(errors),
        generator="python",
        generator_cpu=cpu / (wall * NCPU),
    )


def load(scenario: Scenario, ports: list[int], *, seconds: float, connections: int) -> Load:
    if have_wrk():
        return _wrk(scenario, ports, seconds, connections)
    return _python_load(scenario, ports, seconds, connections)


def get(port: int, path: str, headers: dict | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


# --- figures --------------------------------------------------------------------------------
def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def repeat(measure: Callable[[], dict[str, float]], runs: int = RUNS) -> dict[str, float]:
    """Median over ``runs`` of each figure ``measure`` returns."""
    samples = [measure() for _ in range(runs)]
    return {key: median([s[key] for s in samples]) for key in samples[0]}


def tmp_dir() -> Path:
    return _TMP


# --- profiles -------------------------------------------------------------------------------
def profile_start(pid: int, seconds: float, name: str) -> tuple[subprocess.Popen, Path] | None:
    """py-spy sampling the process and its children (gunicorn workers) for ``seconds``."""
    spy = VENV_BIN / "py-spy"
    if not spy.exists():
        say("py-spy is not installed (.venv/bin/pip install -r requirements-dev.txt): no profile")
        return None
    out = _TMP / f"{name}.collapsed"
    command = [
        str(spy),
        "record",
        "--pid",
        str(pid),
        "--subprocesses",
        "--duration",
        str(max(int(seconds), 1)),
        "--rate",
        "50",
        "--format",
        "raw",
        "--output",
        str(out),
    ]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), out


def profile_summary(started: tuple[subprocess.Popen, Path] | None, top: int = 18) -> str:
    """The frames holding most samples (inclusive) and the hottest leaves (own time)."""
    if started is None:
        return ""
    popen, out = started
    try:
        popen.wait(timeout=120)
    except subprocess.TimeoutExpired:
        popen.kill()
    if not out.exists():
        return "(py-spy wrote no profile)"
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for line in out.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [f for f in stack.split(";") if f and not f.startswith("process ")]
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + n
        if frames:
            own[frames[-1]] = own.get(frames[-1], 0) + n
    if not total:
        return "(no samples)"

    def block(title: str, counts: dict[str, int]) -> list[str]:
        rows = sorted(counts.items(), key=lambda kv: -kv[1])[:top]
        return [title] + [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in rows]

    return "\n".join(
        [f"{total} samples"]
        + block("inclusive (time in the frame and below):", inclusive)
        + block("own time (leaf frames):", own)
    )


# Where a worker's samples are, inclusive (a sample counts for every group its stack touches).
PROFILE_GROUPS = {
    "Redis round trips (redis-py)": "redis/",
    "PostgreSQL round trips (psycopg)": "psycopg/",
    "DRF (views, throttles, serializers, rendering)": "rest_framework/",
    "JSON encoding": "json/encoder.py",
    "pickle (cache values)": "serializers/pickle.py",
    "Django ORM (building queries, making objects)": "django/db/models/",
    "gunicorn (accept, parse, write, close)": "gunicorn/",
}


def profile_shares(started: tuple[subprocess.Popen, Path] | None) -> dict[str, float]:
    """Share of the samples (of request-handling stacks) that touch each PROFILE_GROUPS module.

    Only stacks inside a request (``handle_request``) count, so idle workers waiting in
    ``accept`` do not dilute the shares."""
    if started is None or not started[1].exists():
        return {}
    total = 0
    counts = dict.fromkeys(PROFILE_GROUPS, 0)
    for line in started[1].read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit() or "handle_request" not in stack:
            continue
        total += int(count)
        for label, needle in PROFILE_GROUPS.items():
            if needle in stack:
                counts[label] += int(count)
    return {label: n / total for label, n in counts.items()} if total else {}


def profile_hot_frames(
    started: tuple[subprocess.Popen, Path] | None, top: int = 5
) -> list[tuple[str, float]]:
    """The leaf frames (own time) holding most of the request-handling samples, each with its
    share of those samples: where a request's time goes, without the idle workers' waits."""
    if started is None or not started[1].exists():
        return []
    total = 0
    own: dict[str, int] = {}
    for line in started[1].read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit() or "handle_request" not in stack:
            continue
        frames = [f for f in stack.split(";") if f and not f.startswith("process ")]
        total += int(count)
        own[frames[-1]] = own.get(frames[-1], 0) + int(count)
    if not total:
        return []
    rows = sorted(own.items(), key=lambda kv: -kv[1])[:top]
    return [(frame, n / total) for frame, n in rows]


@contextlib.contextmanager
def count_round_trips() -> Iterator[dict[str, int]]:
    """Counts SQL statements and Redis round trips (a pipeline is one) made in this process."""
    from django.db import connection
    from redis.connection import AbstractConnection

    counts = {"sql": 0, "redis": 0}
    original = AbstractConnection.send_packed_command

    def counting(self, *args, **kwargs):
        counts["redis"] += 1
        return original(self, *args, **kwargs)

    def sql(execute, statement, params, many, context):
        counts["sql"] += 1
        return execute(statement, params, many, context)

    AbstractConnection.send_packed_command = counting
    try:
        with connection.execute_wrapper(sql):
            yield counts
    finally:
        AbstractConnection.send_packed_command = original
