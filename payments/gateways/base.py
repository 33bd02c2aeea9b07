"""What the shop needs from a card gateway.

Every operation that moves money takes an idempotency key: the gateway answers a repeated key
with the first result and never charges twice, which is what lets the shop retry after a
timeout or a crash. Transient failures raise GatewayTransientError; declines are results.
A transient failure says nothing about whether the gateway did the work: the answer may have
been lost on the way back. ``lookup`` is how the shop finds out.

A card may need its holder's own authentication (3-D Secure) before the gateway authorizes
it: ``authorize`` then answers ``action_required`` with the page to send the customer to, and
``lookup`` reports ACTION_REQUIRED until the customer has finished (or given up)."""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


@dataclass(frozen=True)
class CardInfo:
    brand: str
    last4: str


@dataclass(frozen=True)
class Result:
    approved: bool
    reference: str = ""
    code: str = ""
    message: str = ""
    amount: Decimal = Decimal("0.00")
    # Not approved yet: the customer must authenticate first, at next_action_url (or in the
    # provider's browser script, with client_secret).
    action_required: bool = False
    next_action_url: str = ""
    client_secret: str = ""
    card: CardInfo | None = None


class GatewayStatus(StrEnum):
    """Where a payment stands at the gateway, as ``lookup`` reports it."""

    ACTION_REQUIRED = "action_required"
    AUTHORIZED = "authorized"
    CAPTURED = "captured"
    DECLINED = "declined"
    VOIDED = "voided"


@dataclass(frozen=True)
class Lookup:
    """Where the gateway's side of a payment stands: authorized, captured, declined, voided;
    with the amounts it captured and refunded (the reconciliation compares them)."""

    status: GatewayStatus
    reference: str = ""
    code: str = ""
    captured_amount: Decimal = Decimal("0.00")
    refunded_amount: Decimal = Decimal("0.00")
    next_action_url: str = ""
    client_secret: str = ""


class Gateway(ABC):
    @abstractmethod
    def describe(self, token: str) -> CardInfo | None:
        """Brand and last four digits of the card behind a token (None if unknown)."""

    @abstractmethod
    def authorize(
        self, amount: Decimal, currency: str, token: str, idempotency_key: str
    ) -> Result: ...

    @abstractmethod
    def capture(self, reference: str, amount: Decimal, idempotency_key: str) -> Result: ...

    @abstractmethod
    def refund(self, reference: str, amount: Decimal, idempotency_key: str) -> Result: ...

    @abstractmethod
    def void(self, reference: str) -> Result: ...

    @abstractmethod
    def lookup(self, idempotency_key: str) -> Lookup | None:
        """The state of the payment authorized with this key, or None if the gateway never
        saw it."""

    def records(self, *, since, until) -> list["Record"]:
        """Every payment the gateway made in the period (the reconciliation looks for ones the
        shop does not know). Gateways that cannot list their records return []."""
        return []


@dataclass(frozen=True)
class Record:
    """One payment as the gateway lists it: its key, and where it stands."""

    idempotency_key: str
    lookup: Lookup
