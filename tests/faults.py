"""Gateways with faults switched on and off from outside, across processes.

``FaultyGateway`` is the test gateway plus three faults (``FaultyStripeGateway`` the Stripe
gateway, talking to the local Stripe server, plus the same three), read from a small JSON
file named by the ``SHOP_FAULTS_FILE`` environment variable on every call, so the test and
the workers it starts see the same switches at the same moment:

- ``down``: every call fails with GatewayTransientError and the gateway does nothing;
- ``lose_first``: operations ("void", "refund") whose first answer per idempotency key is lost
  after the gateway did the work (the gateway's own records say whether a key is new, so the
  "first time" is the same for every process);
- ``pause``: a point ("authorize:after", "capture:before", "capture:after") where a call stops
  and waits, after noting the point and its key in a second file, for as long as the switch
  stays on: the test kills the worker there, or lets it go on.

Without the environment variable each behaves exactly like the gateway it extends.
"""

import json
import os
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import requests
from django.conf import settings

from payments.exceptions import GatewayTransientError
from payments.gateways.base import Lookup, Result
from payments.gateways.stripe import StripeGateway
from payments.gateways.test import TestGateway
from payments.models import TestGatewayCharge

ENV = "SHOP_FAULTS_FILE"
GATEWAY = "tests.faults.FaultyGateway"
STRIPE_GATEWAY = "tests.faults.FaultyStripeGateway"
PAUSE_POINTS = ("authorize:after", "capture:before", "capture:after")


class Faults:
    """The switches of FaultyGateway, kept in ``path`` (and what reached a pause, beside it)."""

    def __init__(self, path: Path, gateway: str = GATEWAY, env: dict[str, str] | None = None):
        self.path = Path(path)
        self.reached_path = self.path.with_suffix(".reached")
        self.gateway = gateway
        self.extra_env = dict(env or {})

    @classmethod
    def from_environment(cls) -> "Faults | None":
        path = os.environ.get(ENV)
        return cls(Path(path)) if path else None

    def env(self) -> dict[str, str]:
        """The environment a worker needs to use this gateway with these switches."""
        return {"PAYMENT_GATEWAY": self.gateway, ENV: str(self.path), **self.extra_env}

    def set(self, *, down: bool = False, lose_first=(), pause: str | None = None) -> None:
        """Replace every switch at once (written whole, then renamed: never read half-made)."""
        if pause is not None and pause not in PAUSE_POINTS:
            raise ValueError(f"{pause!r} is not a pause point: {PAUSE_POINTS}")
        switches = {"down": down, "lose_first": sorted(lose_first), "pause": pause}
        partial = self.path.with_suffix(".partial")
        partial.write_text(json.dumps(switches))
        os.replace(partial, self.path)

    def read(self) -> dict:
        try:
            return json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}

    def note_reached(self, point: str, key: str) -> None:
        with self.reached_path.open("a") as reached:
            reached.write(f"{point} {key}\n")

    def reached(self) -> list[tuple[str, str]]:
        """(point, idempotency key) of every call that stopped at a pause, in order."""
        try:
            lines = self.reached_path.read_text().splitlines()
        except FileNotFoundError:
            return []
        return [tuple(line.split(" ", 1)) for line in lines if line]


class Faulty:
    """The faults, around any gateway; ``_seen(key)`` asks the gateway's own records whether
    an idempotency key is known there (so "the first time" is the same for every process)."""

    def _seen(self, key: str) -> bool:
        raise NotImplementedError

    def _switches(self) -> dict:
        faults = Faults.from_environment()
        return faults.read() if faults else {}

    def _gate(self) -> None:
        if self._switches().get("down"):
            raise GatewayTransientError("The gateway is down.")

    def _pause(self, point: str, key: str) -> None:
        if self._switches().get("pause") != point:
            return
        Faults.from_environment().note_reached(point, key)
        while self._switches().get("pause") == point:
            time.sleep(0.05)

    def _lose_first(self, operation: str, key: str, call) -> Result:
        """Do the work; lose the answer if this was the first request with ``key``."""
        if operation not in self._switches().get("lose_first", ()):
            return call()
        first = not self._seen(key)
        result = call()
        if first:
            raise GatewayTransientError(f"The answer to the {operation} was lost on the way back.")
        return result

    def authorize(self, amount: Decimal, currency: str, token: str, idempotency_key: str) -> Result:
        self._gate()
        result = super().authorize(amount, currency, token, idempotency_key)
        self._pause("authorize:after", idempotency_key)
        return result

    def capture(self, reference: str, amount: Decimal, idempotency_key: str) -> Result:
        self._pause("capture:before", idempotency_key)
        self._gate()  # the gateway may have gone down during the pause
        result = super().capture(reference, amount, idempotency_key)
        self._pause("capture:after", idempotency_key)
        return result

    def refund(self, reference: str, amount: Decimal, idempotency_key: str) -> Result:
        self._gate()
        return self._lose_first(
            "refund",
            idempotency_key,
            lambda: super(Faulty, self).refund(reference, amount, idempotency_key),
        )

    def void(self, reference: str) -> Result:
        self._gate()
        # Both gateways key a void by its authorization: one void per authorization.
        return self._lose_first(
            "void", f"void:{reference}", lambda: super(Faulty, self).void(reference)
        )

    def lookup(self, idempotency_key: str) -> Lookup | None:
        self._gate()
        return super().lookup(idempotency_key)


class FaultyGateway(Faulty, TestGateway):
    __test__ = False

    def _seen(self, key: str) -> bool:
        return TestGatewayCharge.objects.filter(idempotency_key=key).exists()


class FaultyStripeGateway(Faulty, StripeGateway):
    """Asks the local Stripe server (tests/payments/stripe_server.py) whether it knows a key."""

    def _seen(self, key: str) -> bool:
        url = f"{settings.STRIPE_API_BASE}/_test/idempotency/{quote(key, safe='')}"
        return requests.get(url, timeout=10).json()["seen"]
