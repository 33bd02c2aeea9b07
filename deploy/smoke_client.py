"""The smoke test's customer, over plain HTTP with the standard library only: sign in, order
with a test card, wait until the payment completes, and check /health/.

Run by deploy/smoke.sh; exits non-zero with the failed step's reason. Requests carry
``X-Forwarded-Proto: https``, as the TLS terminator in front of the shop sets it.
"""

import argparse
import json
import time
import urllib.error
import urllib.request
import uuid

ADDRESS = {
    "name": "Smoke Test",
    "line1": "1 Loopback Road",
    "city": "Berlin",
    "postal_code": "10115",
    "country": "DE",
    "phone": "+49 30 1234567",
}


class Failed(Exception):
    pass


def call(base: str, method: str, path: str, body=None, token="", headers=None):
    """(status, parsed JSON body or None) of one request; never raises for an HTTP status."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Accept", "application/json")
    request.add_header("X-Forwarded-Proto", "https")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Token {token}")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, {"unparsed": raw[:300].decode(errors="replace")}


def wait_for_web(base: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status, _ = call(base, "GET", "/health/")
            if status in (200, 503):
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise Failed(f"the web server did not answer /health/ within {timeout:.0f} s")


def sign_in(base: str, username: str, password: str) -> str:
    status, body = call(
        base, "POST", "/api/auth/token/", {"username": username, "password": password}
    )
    if status != 200 or not (body or {}).get("token"):
        raise Failed(f"POST /api/auth/token/ answered {status}: {body}")
    return body["token"]


def place_order(base: str, token: str, product: int) -> dict:
    body = {
        "items": [{"product": product, "quantity": 2}],
        "shipping_address": ADDRESS,
        "payment": {"method": "card", "token": "tok_visa"},
    }
    status, order = call(
        base, "POST", "/api/orders/", body, token, {"Idempotency-Key": str(uuid.uuid4())}
    )
    if status != 201:
        raise Failed(f"POST /api/orders/ answered {status}: {order}")
    return order


def wait_until_paid(base: str, token: str, order_id: int, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    order: dict = {}
    while time.monotonic() < deadline:
        status, order = call(base, "GET", f"/api/orders/{order_id}/", token=token)
        if status != 200:
            raise Failed(f"GET /api/orders/{order_id}/ answered {status}: {order}")
        payment = order.get("payment") or {}
        if payment.get("status") == "completed":
            return order
        if payment.get("status") in ("failed", "refunded") or order["status"] == "cancelled":
            raise Failed(f"the order ended {order['status']}, payment {payment}")
        time.sleep(0.5)
    raise Failed(
        f"the payment was not completed within {timeout:.0f} s: order {order.get('status')}, "
        f"payment {order.get('payment')}"
    )


def wait_until_healthy(base: str, timeout: float) -> dict:
    """/health/ is ok once beat has sent a heartbeat and a worker has run it (every 30 s)."""
    deadline = time.monotonic() + timeout
    status, body = 0, None
    while time.monotonic() < deadline:
        status, body = call(base, "GET", "/health/")
        if status == 200 and (body or {}).get("status") == "ok":
            return body
        time.sleep(1)
    raise Failed(f"/health/ answered {status} {body} for {timeout:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", required=True, help="e.g. http://127.0.0.1:18080")
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--product", type=int, required=True)
    parser.add_argument("--payment-timeout", type=float, default=60)
    parser.add_argument("--health-timeout", type=float, default=90)
    args = parser.parse_args()
    started = time.monotonic()
    try:
        wait_for_web(args.base, 30)
        token = sign_in(args.base, args.username, args.password)
        order = place_order(args.base, token, args.product)
        print(f"order {order['number']} placed: {order['status']}, total {order['total']}")
        order = wait_until_paid(args.base, token, order["id"], args.payment_timeout)
        paid_after = time.monotonic() - started
        print(f"order {order['number']} paid after {paid_after:.1f} s: {order['status']}")
        health = wait_until_healthy(args.base, args.health_timeout)
        print(f"/health/ 200: {json.dumps(health['checks'])}")
    except (Failed, OSError) as failure:  # OSError: the server went away mid-request
        print(f"failed: {failure}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
