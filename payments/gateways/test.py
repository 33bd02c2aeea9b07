"""A gateway that behaves like a real card gateway for the test tokens of docs/API.md.

``tok_visa`` and ``tok_mastercard`` are approved, ``tok_chargeDeclined`` and
``tok_insufficientFunds`` are declined, ``tok_processingError`` fails transiently on every call,
any other token is declined as ``invalid_token``. Two tokens lose an answer: with
``tok_authorizeLost`` the authorization is made but its first answer never reaches the shop;
with ``tok_captureLost`` the same happens to the capture. Asking again with the same key, or
``lookup``, tells the truth.

Its records live in their own table, written over a separate autocommit connection: like a
remote gateway's, they survive the shop's rollbacks and crashes and are seen by every process.
(On SQLite, which allows one writer at a time, they share the shop's connection.)
"""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.utils import load_backend
from django.utils import timezone

from payments.exceptions import GatewayTransientError
from payments.gateways.base import CardInfo, Gateway, GatewayStatus, Lookup, Result
from payments.models import TestGatewayCharge

Op = TestGatewayCharge.Operation
CENT = Decimal("0.01")

# token: (brand, last four digits, decline code or None)
TOKENS = {
    "tok_visa": ("visa", "4242", None),
    "tok_mastercard": ("mastercard", "4444", None),
    "tok_chargeDeclined": ("visa", "0002", "card_declined"),
    "tok_insufficientFunds": ("visa", "9995", "insufficient_funds"),
    "tok_processingError": ("visa", "0119", None),
    "tok_authorizeLost": ("visa", "0036", None),
    "tok_captureLost": ("visa", "0028", None),
}
TRANSIENT_TOKENS = {"tok_processingError"}
# The first answer to this card's authorization, or to the capture of it, is lost.
AUTHORIZE_LOST = TOKENS["tok_authorizeLost"][1]
CAPTURE_LOST = TOKENS["tok_captureLost"][1]
MESSAGES = {
    "card_declined": "The card was declined.",
    "insufficient_funds": "The card has insufficient funds.",
    "invalid_token": "The card token is not known.",
    "no_authorization": "There is no approved authorization with this reference.",
    "authorization_voided": "The authorization was voided.",
    "already_captured": "The authorization was already captured.",
    "amount_too_large": "The amount exceeds what the authorization allows.",
    "refund_exceeds_capture": "The refund exceeds the captured amount not yet refunded.",
}
COLUMNS = (
    "idempotency_key",
    "operation",
    "reference",
    "parent_reference",
    "amount",
    "currency",
    "approved",
    "code",
    "card_brand",
    "card_last4",
    "created_at",
)
TABLE = TestGatewayCharge._meta.db_table


@contextmanager
def _connection() -> Iterator:
    """A connection of the gateway's own, outside any transaction of the caller."""
    default = connections[DEFAULT_DB_ALIAS]
    if default.vendor == "sqlite":
        yield default
        return
    backend = load_backend(default.settings_dict["ENGINE"])
    own = backend.DatabaseWrapper(dict(default.settings_dict), DEFAULT_DB_ALIAS)
    try:
        yield own
    finally:
        own.close()


def _row(values) -> TestGatewayCharge:
    record = TestGatewayCharge(**dict(zip(COLUMNS, values, strict=True)))
    record.amount = Decimal(str(record.amount)).quantize(CENT)
    record.approved = bool(record.approved)
    return record


def _select(conn, where: str, params: list) -> list[TestGatewayCharge]:
    with conn.cursor() as cursor:
        columns = ", ".join(COLUMNS)
        cursor.execute(f"SELECT {columns} FROM {TABLE} WHERE {where} ORDER BY id", params)
        return [_row(values) for values in cursor.fetchall()]


def _store(conn, **values) -> TestGatewayCharge:
    """Insert a record unless its key exists; either way return the record for the key."""
    values.setdefault("parent_reference", "")
    values.setdefault("currency", "")
    values.setdefault("code", "")
    values.setdefault("card_brand", "")
    values.setdefault("card_last4", "")
    values["amount"] = conn.ops.adapt_decimalfield_value(Decimal(values.get("amount", 0)), 12, 2)
    values["created_at"] = conn.ops.adapt_datetimefield_value(timezone.now())
    params = [values[c] for c in COLUMNS]
    with conn.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) "
            f"VALUES ({', '.join(['%s'] * len(COLUMNS))}) "
            "ON CONFLICT (idempotency_key) DO NOTHING",
            params,
        )
    return _select(conn, "idempotency_key = %s", [values["idempotency_key"]])[0]


def _result(record: TestGatewayCharge) -> Result:
    return Result(
        approved=record.approved,
        reference=record.reference,
        code=record.code,
        message=MESSAGES.get(record.code, ""),
        amount=record.amount,
    )


def _reference() -> str:
    return "tg_" + uuid.uuid4().hex[:24]


def _answer_once(idempotency_key: str, decide) -> Result:
    """The gateway's answer to one request, decided once per idempotency key.

    A key seen before gets the stored answer; otherwise ``decide(conn)`` returns the new
    record's fields (``code`` empty when approved; ``lose_answer`` true to do the work and then
    drop the answer, as a network would) and the record is stored under a fresh reference.
    """
    with _connection() as conn:
        existing = _select(conn, "idempotency_key = %s", [idempotency_key])
        if existing:
            return _result(existing[0])
        fields = decide(conn)
        lose_answer = fields.pop("lose_answer", False)
        record = _store(
            conn,
            idempotency_key=idempotency_key,
            reference=_reference(),
            approved=not fields["code"],
            **fields,
        )
        if lose_answer:
            raise GatewayTransientError("The gateway's answer was lost on the way back.")
        return _result(record)


class TestGateway(Gateway):
    __test__ = False  # not a pytest test class

    def describe(self, token: str) -> CardInfo | None:
        if token not in TOKENS:
            return None
        brand, last4, _ = TOKENS[token]
        return CardInfo(brand=brand, last4=last4)

    def authorize(self, amount: Decimal, currency: str, token: str, idempotency_key: str) -> Result:
        def decide(conn) -> dict:
            if token in TRANSIENT_TOKENS:
                raise GatewayTransientError("The test gateway had a processing error.")
            brand, last4, decline = TOKENS.get(token, ("", "", "invalid_token"))
            return {
                "operation": Op.AUTHORIZE,
                "amount": amount,
                "currency": currency,
                "code": decline or "",
                "card_brand": brand,
                "card_last4": last4,
                "lose_answer": last4 == AUTHORIZE_LOST,
            }

        return _answer_once(idempotency_key, decide)

    def _children(self, conn, reference: str) -> list[TestGatewayCharge]:
        return _select(conn, "parent_reference = %s", [reference])

    def capture(self, reference: str, amount: Decimal, idempotency_key: str) -> Result:
        def decide(conn) -> dict:
            auths = _select(conn, "reference = %s AND operation = %s", [reference, Op.AUTHORIZE])
            children = self._children(conn, reference)
            code = ""
            if not auths or not auths[0].approved:
                code = "no_authorization"
            elif any(c.operation == Op.VOID for c in children):
                code = "authorization_voided"
            elif any(c.operation == Op.CAPTURE and c.approved for c in children):
                code = "already_captured"
            elif Decimal(amount) > auths[0].amount:
                code = "amount_too_large"
            return {
                "operation": Op.CAPTURE,
                "parent_reference": reference,
                "amount": amount,
                "code": code,
                "lose_answer": not code and auths[0].card_last4 == CAPTURE_LOST,
            }

        return _answer_once(idempotency_key, decide)

    def refund(self, reference: str, amount: Decimal, idempotency_key: str) -> Result:
        def decide(conn) -> dict:
            children = [c for c in self._children(conn, reference) if c.approved]
            captured = sum((c.amount for c in children if c.operation == Op.CAPTURE), Decimal(0))
            refunded = sum((c.amount for c in children if c.operation == Op.REFUND), Decimal(0))
            code = "" if Decimal(amount) <= captured - refunded else "refund_exceeds_capture"
            return {
                "operation": Op.REFUND,
                "parent_reference": reference,
                "amount": amount,
                "code": code,
            }

        return _answer_once(idempotency_key, decide)

    def void(self, reference: str) -> Result:
        def decide(conn) -> dict:
            children = self._children(conn, reference)
            captured = any(c.operation == Op.CAPTURE and c.approved for c in children)
            return {
                "operation": Op.VOID,
                "parent_reference": reference,
                "code": "already_captured" if captured else "",
            }

        return _answer_once(f"void:{reference}", decide)

    def lookup(self, idempotency_key: str) -> Lookup | None:
        with _connection() as conn:
            found = _select(
                conn, "idempotency_key = %s AND operation = %s", [idempotency_key, Op.AUTHORIZE]
            )
            if not found:
                return None
            auth = found[0]
            if not auth.approved:
                return Lookup(
                    status=GatewayStatus.DECLINED, reference=auth.reference, code=auth.code
                )
            children = [c for c in self._children(conn, auth.reference) if c.approved]
            captured = sum((c.amount for c in children if c.operation == Op.CAPTURE), Decimal(0))
            refunded = sum((c.amount for c in children if c.operation == Op.REFUND), Decimal(0))
            if captured:
                return Lookup(
                    status=GatewayStatus.CAPTURED,
                    reference=auth.reference,
                    captured_amount=captured,
                    refunded_amount=refunded,
                )
            if any(c.operation == Op.VOID for c in children):
                return Lookup(status=GatewayStatus.VOIDED, reference=auth.reference)
            return Lookup(status=GatewayStatus.AUTHORIZED, reference=auth.reference)

    # --- for tests and the benchmark: what the "remote side" holds -------------------------
    @staticmethod
    def charges(reference: str) -> list[TestGatewayCharge]:
        """Approved captures made against an authorization."""
        with _connection() as conn:
            return _select(
                conn,
                "parent_reference = %s AND operation = %s AND approved = %s",
                [reference, Op.CAPTURE, True],
            )
