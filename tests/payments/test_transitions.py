"""Every transition of the payment state machine: the allowed ones and the refused ones."""

from decimal import Decimal

import pytest

from payments.models import Payment, PaymentEvent
from payments.services import TRANSITIONS, payment_transition
from shop.exceptions import InvalidTransition

pytestmark = pytest.mark.django_db

STATES = [s.value for s in Payment.Status]
ALLOWED = {
    ("pending", "start"): "processing",
    ("processing", "authorize"): "authorized",
    ("processing", "require_action"): "action_required",  # 3-D Secure
    ("action_required", "authorize"): "authorized",
    ("action_required", "fail"): "failed",
    ("authorized", "complete"): "completed",
    ("pending", "fail"): "failed",
    ("processing", "fail"): "failed",
    ("authorized", "fail"): "failed",
    ("authorized", "void"): "failed",
    ("completed", "refund"): "refunded",  # once everything captured was refunded
    ("failed", "recover"): "completed",  # the gateway holds a capture after all
}
REFUSED = [(s, t) for s in STATES for t in TRANSITIONS if (s, t) not in ALLOWED]


def in_state(payment: Payment, status: str, *, fully_refunded: bool = True) -> Payment:
    captured = payment.amount if status in ("completed", "refunded") else Decimal("0")
    refunded = captured if fully_refunded else Decimal("0")
    Payment.objects.filter(pk=payment.pk).update(
        status=status, captured_amount=captured, refunded_amount=refunded
    )
    return Payment.objects.get(pk=payment.pk)


@pytest.mark.parametrize(("source", "name"), sorted(ALLOWED))
def test_allowed_transition_changes_state_and_is_audited(new_payment, source, name):
    payment = in_state(new_payment(), source)

    payment = payment_transition(payment_id=payment.pk, transition=name)

    assert payment.status == ALLOWED[source, name]
    assert Payment.objects.get(pk=payment.pk).status == ALLOWED[source, name]
    event = PaymentEvent.objects.filter(payment=payment, kind="transition").last()
    assert (event.name, event.from_status, event.to_status) == (
        name,
        source,
        ALLOWED[source, name],
    )


@pytest.mark.parametrize(("source", "name"), REFUSED)
def test_refused_transition_is_invalid_transition_and_changes_nothing(new_payment, source, name):
    payment = in_state(new_payment(), source)
    events = PaymentEvent.objects.filter(payment=payment).count()

    with pytest.raises(InvalidTransition) as caught:
        payment_transition(payment_id=payment.pk, transition=name)

    assert caught.value.code == "invalid_transition" and caught.value.status_code == 409
    assert Payment.objects.get(pk=payment.pk).status == source
    assert PaymentEvent.objects.filter(payment=payment).count() == events


def test_a_partly_refunded_payment_cannot_be_marked_refunded(new_payment):
    payment = in_state(new_payment(), "completed", fully_refunded=False)
    with pytest.raises(InvalidTransition):
        payment_transition(payment_id=payment.pk, transition="refund")
    assert Payment.objects.get(pk=payment.pk).status == "completed"


def test_the_status_cannot_be_assigned_directly(new_payment):
    payment = new_payment()
    with pytest.raises(AttributeError):
        payment.status = "completed"


def test_every_refusal_is_covered():
    assert len(REFUSED) + len(ALLOWED) == len(STATES) * len(TRANSITIONS)
