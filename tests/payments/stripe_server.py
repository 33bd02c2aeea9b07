"""A small local stand-in for the part of Stripe's REST API the shop's gateway uses.

Written from Stripe's API reference, it answers, with the documented object shapes (the
fields the shop reads, not every field Stripe sends):

- ``POST /v1/payment_intents`` (``confirm=true``, ``capture_method=manual``, ``metadata``,
  ``return_url``, ``expand[]=payment_method``); ``GET /v1/payment_intents/{id}``;
  ``POST /v1/payment_intents/{id}/capture`` (``amount_to_capture``) and ``/cancel``;
  ``GET /v1/payment_intents/search`` (only ``metadata['key']:'value'`` queries);
  ``GET /v1/payment_intents`` (``created[gte]``, ``created[lt]``, ``limit``, ``starting_after``);
- ``POST /v1/refunds`` (``payment_intent``, ``amount``), ``GET /v1/refunds``
  (``payment_intent``, ``limit``, ``starting_after``);
- idempotency keys as Stripe documents them: a replay answers the first answer (header
  ``Idempotent-Replayed: true``), the same key with other parameters is an
  ``idempotency_error``;
- errors as ``{"error": {"type", "code", "decline_code", "message", "payment_intent"}}``
  (402 for card errors, 400 for refused requests, 401 for a bad key);
- Stripe's test PaymentMethods ``pm_card_visa``, ``pm_card_mastercard``,
  ``pm_card_chargeDeclined``, ``pm_card_chargeDeclinedInsufficientFunds`` and
  ``pm_card_authenticationRequired`` (3-D Secure: ``requires_action`` with
  ``next_action.redirect_to_url`` to a challenge page served here, whose buttons complete or
  fail the authentication and send the browser to ``return_url``);
- events (``payment_intent.*``, ``charge.refunded``) recorded for each change, which a test
  signs with Stripe's scheme (``Stripe-Signature: t=...,v1=HMAC-SHA256``) and posts.

Faults, for the tests: ``pm_card_authorizeLost`` / ``pm_card_captureLost`` (not Stripe's: the
first answer to the authorization, or to its capture, is lost after the work is done);
``lose_answers(n)`` drops the next n answers of POSTs after doing the work; ``down`` drops
every connection before doing anything; ``GET /_test/idempotency/{key}`` says whether a key
was used (so faults in other processes know a first request from a repeated one). A lost
answer is a closed connection, as a network would lose it.

Not covered: other payment method types, Customers, SetupIntents, Checkout, Connect, disputes,
pagination of search results, asynchronous refunds (every refund succeeds at once), API
versions, rate limits, and every field the shop does not read.
"""

import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlencode, urlparse

# Stripe's test PaymentMethods: (brand, last4, what happens on confirmation).
CARDS = {
    "pm_card_visa": ("visa", "4242", "approve"),
    "pm_card_mastercard": ("mastercard", "4444", "approve"),
    "pm_card_chargeDeclined": ("visa", "0002", "generic_decline"),
    "pm_card_chargeDeclinedInsufficientFunds": ("visa", "9995", "insufficient_funds"),
    "pm_card_authenticationRequired": ("visa", "3155", "authenticate"),
    # Not Stripe's: faults for the tests.
    "pm_card_authorizeLost": ("visa", "0036", "approve"),
    "pm_card_captureLost": ("visa", "0028", "approve"),
}
LOSE_AUTHORIZE = "pm_card_authorizeLost"
LOSE_CAPTURE = "pm_card_captureLost"
CANCELLABLE = {
    "requires_payment_method",
    "requires_confirmation",
    "requires_action",
    "requires_capture",
    "processing",
}


def invalid(code: str, message: str, status: int = 400, **extra) -> "Refused":
    return Refused(
        status, {"type": "invalid_request_error", "code": code, "message": message, **extra}
    )


class Refused(Exception):
    def __init__(self, status: int, error: dict):
        super().__init__(error.get("message", ""))
        self.status, self.error = status, error


def nested(pairs) -> dict:
    """Stripe's form encoding (``a[b][0]=x``) back into dicts and lists."""
    out: dict = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        node = out
        for part, following in zip(parts, parts[1:], strict=False):
            node = node.setdefault(part, {})
            del following
        node[parts[-1]] = value
    return _lists(out)


def _lists(node):
    if isinstance(node, dict):
        node = {k: _lists(v) for k, v in node.items()}
        if node and all(k.isdigit() for k in node):
            return [node[k] for k in sorted(node, key=int)]
    return node


def sign(payload: str, secret: str, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header for ``payload``, by Stripe's documented scheme."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


class FakeStripe:
    """The server's state and behaviour; ``start()`` serves it on 127.0.0.1."""

    def __init__(self, api_key: str = "sk_test_local"):
        self.api_key = api_key
        self.lock = threading.RLock()
        self.intents: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        self.idempotency: dict[str, tuple] = {}
        self.events: list[dict] = []
        self.requests: list[tuple[str, str]] = []
        self.down = False
        self._lose = 0
        self._lost_once: set[str] = set()
        self.server: ThreadingHTTPServer | None = None

    # --- running ----------------------------------------------------------------------------
    def start(self) -> "FakeStripe":
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def lose_answers(self, count: int) -> None:
        self._lose = count

    def seen(self, key: str) -> bool:
        with self.lock:
            return key in self.idempotency

    def captures(self, intent_id: str) -> int:
        """How many captures went through (Stripe allows one per PaymentIntent)."""
        with self.lock:
            return sum(
                1
                for e in self.events
                if e["type"] == "payment_intent.succeeded"
                and e["data"]["object"]["id"] == intent_id
            )

    # --- objects ----------------------------------------------------------------------------
    def _event(self, kind: str, obj: dict) -> None:
        self.events.append(
            {
                "id": "evt_" + secrets.token_hex(12),
                "object": "event",
                "type": kind,
                "created": int(time.time()),
                "livemode": False,
                "api_version": "2026-10-28.endive",
                "data": {"object": json.loads(json.dumps(obj))},
            }
        )

    def _intent_view(self, intent: dict, expand=()) -> dict:
        view = dict(intent)
        method = intent["payment_method"]
        if "payment_method" in expand and method:
            brand, last4, _ = CARDS[method]
            view["payment_method"] = {
                "id": method,
                "object": "payment_method",
                "type": "card",
                "card": {"brand": brand, "last4": last4, "exp_month": 12, "exp_year": 2034},
            }
        return view

    def _intent(self, intent_id: str) -> dict:
        if intent_id not in self.intents:
            raise Refused(
                404,
                {
                    "type": "invalid_request_error",
                    "code": "resource_missing",
                    "message": f"No such payment_intent: '{intent_id}'",
                },
            )
        return self.intents[intent_id]

    def _unexpected(self, intent: dict, action: str) -> Refused:
        return Refused(
            400,
            {
                "type": "invalid_request_error",
                "code": "payment_intent_unexpected_state",
                "message": f"This PaymentIntent could not be {action} because it has a status of "
                f"{intent['status']}.",
                "payment_intent": dict(intent),
            },
        )

    # --- endpoints --------------------------------------------------------------------------
    def create_intent(self, p: dict) -> tuple[int, dict, bool]:
        method = p.get("payment_method", "")
        if method not in CARDS:
            raise Refused(
                400,
                {
                    "type": "invalid_request_error",
                    "code": "resource_missing",
                    "param": "payment_method",
                    "message": f"No such PaymentMethod: '{method}'",
                },
            )
        try:
            amount = int(p["amount"])
        except (KeyError, ValueError):
            raise invalid("parameter_missing", "Missing required param: amount.") from None
        intent_id = "pi_" + secrets.token_hex(12)
        intent = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_capturable": 0,
            "amount_received": 0,
            "currency": p.get("currency", "").lower(),
            "capture_method": p.get("capture_method", "automatic"),
            "client_secret": f"{intent_id}_secret_{secrets.token_hex(8)}",
            "created": int(time.time()),
            "metadata": p.get("metadata") or {},
            "payment_method": method,
            "status": "requires_confirmation",
            "next_action": None,
            "last_payment_error": None,
            "cancellation_reason": None,
            "latest_charge": None,
            "return_url": p.get("return_url"),
            "livemode": False,
        }
        self.intents[intent_id] = intent
        self._event("payment_intent.created", intent)
        expand = p.get("expand") or []
        if str(p.get("confirm")).lower() != "true":
            return 200, self._intent_view(intent, expand), False
        outcome = CARDS[method][2]
        if outcome == "approve":
            self._authorized(intent)
        elif outcome == "authenticate":
            intent["status"] = "requires_action"
            intent["next_action"] = {
                "type": "redirect_to_url",
                "redirect_to_url": {
                    "url": f"{self.url}/3ds/{intent_id}",
                    "return_url": intent["return_url"],
                },
            }
            self._event("payment_intent.requires_action", intent)
        else:
            self._declined(intent, "card_declined", outcome, "Your card was declined.")
            raise Refused(
                402,
                {
                    "type": "card_error",
                    "code": "card_declined",
                    "decline_code": outcome,
                    "message": "Your card was declined.",
                    "payment_intent": self._intent_view(intent, expand),
                },
            )
        return 200, self._intent_view(intent, expand), method == LOSE_AUTHORIZE

    def _authorized(self, intent: dict) -> None:
        intent["next_action"] = None
        intent["latest_charge"] = "ch_" + secrets.token_hex(12)
        if intent["capture_method"] == "manual":
            intent["status"] = "requires_capture"
            intent["amount_capturable"] = intent["amount"]
            self._event("payment_intent.amount_capturable_updated", intent)
        else:
            intent["status"] = "succeeded"
            intent["amount_received"] = intent["amount"]
            self._event("payment_intent.succeeded", intent)

    def _declined(self, intent: dict, code: str, decline: str | None, message: str) -> None:
        intent["status"] = "requires_payment_method"
        intent["next_action"] = None
        intent["last_payment_error"] = {
            "type": "card_error",
            "code": code,
            "decline_code": decline,
            "message": message,
        }
        self._event("payment_intent.payment_failed", intent)

    def capture(self, intent_id: str, p: dict) -> tuple[int, dict, bool]:
        intent = self._intent(intent_id)
        if intent["status"] != "requires_capture":
            raise self._unexpected(intent, "captured")
        amount = int(p.get("amount_to_capture", intent["amount_capturable"]))
        if amount > intent["amount_capturable"]:
            raise invalid("amount_too_large", "The amount to capture exceeds the capturable.")
        intent.update(status="succeeded", amount_received=amount, amount_capturable=0)
        self._event("payment_intent.succeeded", intent)
        return (
            200,
            self._intent_view(intent, p.get("expand") or []),
            (intent["payment_method"] == LOSE_CAPTURE),
        )

    def cancel(self, intent_id: str, p: dict) -> tuple[int, dict, bool]:
        intent = self._intent(intent_id)
        if intent["status"] not in CANCELLABLE:
            raise self._unexpected(intent, "canceled")
        intent.update(
            status="canceled",
            amount_capturable=0,
            next_action=None,
            cancellation_reason=p.get("cancellation_reason"),
        )
        self._event("payment_intent.canceled", intent)
        return 200, self._intent_view(intent, p.get("expand") or []), False

    def create_refund(self, p: dict) -> tuple[int, dict, bool]:
        intent = self._intent(p.get("payment_intent", ""))
        if intent["status"] != "succeeded":
            raise invalid("charge_not_captured", "This PaymentIntent has no captured charge.")
        refunded = sum(
            r["amount"] for r in self.refunds.values() if r["payment_intent"] == intent["id"]
        )
        left = intent["amount_received"] - refunded
        amount = int(p.get("amount", left))
        if amount <= 0 or amount > left:
            raise Refused(
                400,
                {
                    "type": "invalid_request_error",
                    "code": "amount_too_large",
                    "param": "amount",
                    "message": f"Refund amount ({amount}) is greater than unrefunded amount on "
                    f"charge ({left}).",
                },
            )
        refund = {
            "id": "re_" + secrets.token_hex(12),
            "object": "refund",
            "amount": amount,
            "currency": intent["currency"],
            "payment_intent": intent["id"],
            "charge": intent["latest_charge"],
            "status": "succeeded",
            "created": int(time.time()),
            "metadata": p.get("metadata") or {},
        }
        self.refunds[refund["id"]] = refund
        self._event(
            "charge.refunded",
            {
                "id": intent["latest_charge"],
                "object": "charge",
                "payment_intent": intent["id"],
                "amount_refunded": refunded + amount,
            },
        )
        return 200, refund, False

    def _page(self, items: list[dict], q: dict, url: str) -> dict:
        items = sorted(items, key=lambda o: (o["created"], o["id"]), reverse=True)
        after = q.get("starting_after")
        if after:
            ids = [o["id"] for o in items]
            items = items[ids.index(after) + 1 :] if after in ids else []
        limit = min(int(q.get("limit", 10)), 100)
        return {"object": "list", "data": items[:limit], "has_more": len(items) > limit, "url": url}

    def list_intents(self, q: dict) -> dict:
        created = q.get("created") or {}
        low, high = int(created.get("gte", 0)), int(created.get("lt", 2**62))
        items = [i for i in self.intents.values() if low <= i["created"] < high]
        return self._page([self._intent_view(i) for i in items], q, "/v1/payment_intents")

    def search_intents(self, q: dict) -> dict:
        match = re.fullmatch(r"metadata\['([^']+)'\]:'([^']*)'", q.get("query", "").strip())
        if not match:
            raise invalid("parameter_invalid", "Only metadata['key']:'value' is searched here.")
        key, value = match.groups()
        found = [
            self._intent_view(i) for i in self.intents.values() if i["metadata"].get(key) == value
        ]
        return {
            "object": "search_result",
            "data": found,
            "has_more": False,
            "next_page": None,
            "url": "/v1/payment_intents/search",
        }

    def list_refunds(self, q: dict) -> dict:
        wanted = q.get("payment_intent")
        items = [r for r in self.refunds.values() if not wanted or r["payment_intent"] == wanted]
        return self._page(items, q, "/v1/refunds")

    # --- 3-D Secure challenge ---------------------------------------------------------------
    def authenticate(self, intent_id: str, complete: bool) -> str:
        """The customer's answer on the challenge page; returns where the browser goes next."""
        intent = self._intent(intent_id)
        if intent["status"] == "requires_action":
            if complete:
                self._authorized(intent)
            else:
                self._declined(
                    intent,
                    "payment_intent_authentication_failure",
                    None,
                    "The customer failed 3-D Secure authentication.",
                )
        status = "succeeded" if intent["status"] in ("requires_capture", "succeeded") else "failed"
        query = urlencode(
            {
                "payment_intent": intent_id,
                "payment_intent_client_secret": intent["client_secret"],
                "redirect_status": status,
            }
        )
        return f"{intent['return_url']}?{query}"


CHALLENGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>3D Secure test authentication</title></head><body>
<h1>3D Secure test authentication</h1>
<p>Confirm the payment of {amount} {currency} (test mode: nothing is charged).</p>
<form method="post" action="/3ds/{id}/complete">
<button type="submit">Complete authentication</button></form>
<form method="post" action="/3ds/{id}/fail">
<button type="submit">Fail authentication</button></form>
</body></html>"""


IDEMPOTENCY_ERROR = {
    "type": "idempotency_error",
    "message": "Keys for idempotent requests can only be used with the same parameters they "
    "were first used with.",
}


def _handler(stripe: FakeStripe):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet
            pass

        def _send(self, status: int, body, *, headers=(), content_type="application/json"):
            data = (body if isinstance(body, str) else json.dumps(body)).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Request-Id", "req_" + secrets.token_hex(8))
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _drop(self):
            self.close_connection = True

        def _params(self) -> tuple[str, dict]:
            url = urlparse(self.path)
            pairs = parse_qsl(url.query, keep_blank_values=True)
            if self.command == "POST":
                length = int(self.headers.get("Content-Length") or 0)
                pairs += parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True)
            return url.path, nested(pairs)

        def do_GET(self):
            self._handle()

        def do_POST(self):
            self._handle()

        def _handle(self):
            if stripe.down:
                return self._drop()
            path, p = self._params()
            stripe.requests.append((self.command, path))
            if path.startswith("/3ds/"):
                return self._challenge(path)
            if path.startswith("/_test/idempotency/"):  # not Stripe's: for the fault tests
                key = unquote(path.removeprefix("/_test/idempotency/"))
                return self._send(200, {"seen": stripe.seen(key)})
            if self.headers.get("Authorization") != f"Bearer {stripe.api_key}":
                error = {"type": "invalid_request_error", "message": "Invalid API Key provided."}
                return self._send(401, {"error": error})
            key = self.headers.get("Idempotency-Key") if self.command == "POST" else None
            with stripe.lock:
                fingerprint = (path, json.dumps(p, sort_keys=True))
                if key and key in stripe.idempotency:
                    first, status, body = stripe.idempotency[key]
                    if first != fingerprint:
                        return self._send(400, {"error": IDEMPOTENCY_ERROR})
                    return self._send(status, body, headers=[("Idempotent-Replayed", "true")])
                try:
                    status, body, lose_first = self._route(path, p)
                except Refused as refused:
                    status, body, lose_first = refused.status, {"error": refused.error}, False
                if key:
                    stripe.idempotency[key] = (fingerprint, status, body)
                lose = self.command == "POST" and (
                    stripe._lose > 0 or (lose_first and key not in stripe._lost_once)
                )
                if lose:
                    if stripe._lose > 0:
                        stripe._lose -= 1
                    stripe._lost_once.add(key)
            if lose:
                return self._drop()
            return self._send(status, body)

        def _route(self, path: str, p: dict):
            get = self.command == "GET"
            if path == "/v1/payment_intents":
                return (200, stripe.list_intents(p), False) if get else stripe.create_intent(p)
            if path == "/v1/payment_intents/search" and get:
                return 200, stripe.search_intents(p), False
            if path == "/v1/refunds":
                return (200, stripe.list_refunds(p), False) if get else stripe.create_refund(p)
            match = re.fullmatch(r"/v1/payment_intents/(pi_\w+?)(?:/(capture|cancel))?", path)
            if match:
                intent_id, action = match.groups()
                if action == "capture" and not get:
                    return stripe.capture(intent_id, p)
                if action == "cancel" and not get:
                    return stripe.cancel(intent_id, p)
                if action is None and get:
                    intent = stripe._intent(intent_id)
                    return 200, stripe._intent_view(intent, p.get("expand") or []), False
            raise invalid("", f"Unrecognized request URL ({self.command}: {path}).", 404)

        def _challenge(self, path: str):
            match = re.fullmatch(r"/3ds/(pi_\w+?)(?:/(complete|fail))?", path)
            with stripe.lock:
                intent = stripe.intents.get(match.group(1)) if match else None
                if intent is None:
                    return self._send(404, "Not found", content_type="text/plain")
                if self.command == "GET":
                    page = CHALLENGE.format(
                        id=intent["id"], amount=intent["amount"], currency=intent["currency"]
                    )
                    return self._send(200, page, content_type="text/html; charset=utf-8")
                target = stripe.authenticate(intent["id"], match.group(2) == "complete")
            self.send_response(303)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler
