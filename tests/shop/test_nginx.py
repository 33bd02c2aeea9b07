"""The nginx configuration of deploy/nginx/ in a real nginx (Debian's; .ci/run installs it).

nginx runs from deploy/nginx.sh in front of a small upstream that answers with whatever
Cache-Control a test asks for, so the micro-cache's rules are checked without the shop: it
keeps anonymous catalog GETs only as long as the upstream allows, and never shares an answer
with a signed-in browser or an API client with credentials."""

import http.client
import http.server
import os
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "nginx.sh"

pytestmark = pytest.mark.skipif(
    shutil.which("nginx") is None,
    reason="needs nginx (apt-get install -y nginx; .ci/run installs it)",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Upstream(http.server.ThreadingHTTPServer):
    """Counts the requests that reach it; answers with the Cache-Control of ?cc=..."""

    def __init__(self, port):
        self.hits: list[str] = []
        super().__init__(("127.0.0.1", port), UpstreamHandler)


class UpstreamHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.hits.append(self.path)
        body = f"answer {len(self.server.hits)}".encode()
        self.send_response(200)
        control = {"public": "public, max-age=30", "private": "private, max-age=30"}
        for key, value in control.items():
            if f"cc={key}" in self.path:
                self.send_header("Cache-Control", value)
        if "vary=shop" in self.path:  # what the shop's catalog API answers (shop/http_cache.py)
            self.send_header("Vary", "Accept, Cookie, Authorization")
            self.send_header("ETag", '"abc"')
        if "cookie=set" in self.path:
            self.send_header("Set-Cookie", "csrftoken=secret; Path=/")
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def proxy():
    """(nginx's port, the upstream, the static directory)."""
    # nginx's workers run as www-data under root: pytest's own temporary directories are
    # private to root, so these are made where they can reach them.
    base = Path(tempfile.mkdtemp(prefix="shop-nginx-test-"))
    base.chmod(0o755)
    run_dir, static = base / "run", base / "static"
    static.mkdir()
    (static / "app.css").write_text("body {}")
    upstream = Upstream(free_port())
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    port = free_port()
    env = {
        **os.environ,
        "NGINX_RUN_DIR": str(run_dir),
        "NGINX_LISTEN": f"127.0.0.1:{port}",
        "SHOP_UPSTREAMS": f"127.0.0.1:{upstream.server_address[1]}",
        "STATIC_ROOT": str(static),
        "MEDIA_ROOT": str(run_dir / "media"),
    }
    subprocess.run([str(SCRIPT), "start"], check=True, env=env, capture_output=True)
    try:
        yield port, upstream, static
    finally:
        subprocess.run([str(SCRIPT), "stop"], check=True, env=env, capture_output=True)
        upstream.shutdown()
        shutil.rmtree(base, ignore_errors=True)


def get(port, path, **headers) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    response.body = response.read()
    conn.close()
    return response


def test_anonymous_catalog_reads_are_cached_as_long_as_the_upstream_allows(proxy):
    port, upstream, _ = proxy
    first = get(port, "/api/products/?cc=public&n=1")
    second = get(port, "/api/products/?cc=public&n=1")
    assert first.getheader("X-Cache-Status") == "MISS"
    assert second.getheader("X-Cache-Status") == "HIT"
    assert second.body == first.body
    assert upstream.hits.count("/api/products/?cc=public&n=1") == 1


@pytest.mark.parametrize(
    "path", ["/?cc=public", "/products/?cc=public", "/api/v1/categories/?cc=public"]
)
def test_every_catalog_path_is_micro_cached(proxy, path):
    port, _, _ = proxy
    get(port, path)
    assert get(port, path).getheader("X-Cache-Status") == "HIT"


def test_the_shop_s_public_catalog_answers_are_cached_whatever_they_vary_on(proxy):
    port, upstream, _ = proxy
    path = "/api/products/?cc=public&vary=shop&n=4"
    first = get(port, path, Accept="application/json")
    second = get(port, path, Accept="application/json")

    assert first.getheader("X-Cache-Status") == "MISS"
    assert second.getheader("X-Cache-Status") == "HIT"
    assert second.getheader("ETag") == '"abc"'
    assert upstream.hits.count(path) == 1


def test_an_answer_that_sets_a_cookie_is_never_cached(proxy):
    port, upstream, _ = proxy
    path = "/products/a-lamp/?cc=public&cookie=set"
    get(port, path)
    response = get(port, path)

    assert response.getheader("X-Cache-Status") == "MISS"
    assert upstream.hits.count(path) == 2


def test_nothing_is_cached_that_the_upstream_did_not_allow(proxy):
    port, upstream, _ = proxy
    for path in ("/api/products/?n=2", "/api/products/?cc=private&n=2"):
        get(port, path)
        assert get(port, path).getheader("X-Cache-Status") == "MISS"
        assert upstream.hits.count(path) == 2


@pytest.mark.parametrize(
    "headers",
    [
        {"Cookie": "sessionid=abc"},
        {"Cookie": "theme=dark; shop_primary=1780000000"},
        {"Authorization": "Token abc"},
    ],
)
def test_signed_in_clients_bypass_the_cache(proxy, headers):
    port, upstream, _ = proxy
    path = "/api/products/?cc=public&n=3"
    get(port, path)  # cached for anonymous visitors
    before = len(upstream.hits)
    response = get(port, path, **headers)
    assert response.getheader("X-Cache-Status") == "BYPASS"
    assert len(upstream.hits) == before + 1


def test_other_paths_are_never_cached(proxy):
    port, upstream, _ = proxy
    get(port, "/cart/?cc=public")
    response = get(port, "/cart/?cc=public")
    assert response.getheader("X-Cache-Status") is None
    assert upstream.hits.count("/cart/?cc=public") == 2


def test_static_files_come_from_disk(proxy):
    port, upstream, _ = proxy
    response = get(port, "/static/app.css")
    assert response.status == 200
    assert response.body == b"body {}"
    assert response.getheader("Cache-Control") == "public, max-age=31536000, immutable"
    assert not any(path.startswith("/static/") for path in upstream.hits)


def test_client_forwarding_headers_are_replaced(proxy):
    """The shop trusts X-Forwarded-Proto: nginx must not pass a client's own value on."""
    port, _, _ = proxy
    seen = {}
    original = UpstreamHandler.do_GET

    def record(handler):
        seen.update(handler.headers)
        original(handler)

    UpstreamHandler.do_GET = record
    try:
        get(port, "/account/", **{"X-Forwarded-Proto": "https"})
    finally:
        UpstreamHandler.do_GET = original
    assert seen["X-Forwarded-Proto"] == "http"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl for a test certificate")
def test_the_production_tls_configuration_is_valid(tmp_path):
    conf = tmp_path / "conf"
    cert, key = tmp_path / "shop.pem", tmp_path / "shop.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=shop.test",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    env = {
        **os.environ,
        "SERVER_NAME": "shop.test",
        "TLS_CERT": str(cert),
        "TLS_KEY": str(key),
        "NGINX_RUN_DIR": str(tmp_path),
    }
    subprocess.run([str(SCRIPT), "render", str(conf)], check=True, env=env, capture_output=True)
    main = tmp_path / "nginx.conf"
    main.write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
        "events {}\n"
        f"http {{\n include /etc/nginx/mime.types;\n include {conf}/shop-http.conf;\n"
        f" include {conf}/shop-tls.conf;\n}}\n"
    )
    result = subprocess.run(
        ["nginx", "-t", "-p", str(tmp_path), "-e", str(tmp_path / "error.log"), "-c", str(main)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
