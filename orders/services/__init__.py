"""Every operation that changes carts and orders. Split by subdomain; import from here."""

from orders.services.cart import (
    cart_add_item,
    cart_clear,
    cart_get,
    cart_get_or_create,
    cart_merge,
    cart_remove_item,
    cart_restore_from_order,
    cart_set_quantity,
)
from orders.services.checkout import (
    idempotent_call,
    order_number_new,
    order_place,
    order_quote,
    request_fingerprint,
)
from orders.services.emails import order_email_due, order_email_send, order_emails_send_due
from orders.services.guests import orders_claim
from orders.services.invoices import (
    credit_note_issue,
    credit_note_issue_for_return,
    invoice_issue,
)
from orders.services.lifecycle import (
    order_cancel,
    order_deliver,
    order_process,
    order_ship,
    orders_resume_stuck,
)
from orders.services.maintenance import idempotency_records_purge
from orders.services.reconciliation import money_differences, payments_reconcile
from orders.services.refunds import RefundQuote, order_refund_quote
from orders.services.returns import (
    order_delivered_at,
    order_returnable_units,
    return_approve,
    return_receive,
    return_refund_settle,
    return_reject,
    return_request,
    return_window_ends,
    returns_settle_pending,
)

__all__ = [
    "RefundQuote",
    "cart_add_item",
    "cart_clear",
    "cart_get",
    "cart_get_or_create",
    "cart_merge",
    "cart_remove_item",
    "cart_restore_from_order",
    "cart_set_quantity",
    "credit_note_issue",
    "credit_note_issue_for_return",
    "idempotency_records_purge",
    "idempotent_call",
    "invoice_issue",
    "money_differences",
    "order_cancel",
    "order_delivered_at",
    "order_email_due",
    "order_email_send",
    "order_emails_send_due",
    "order_deliver",
    "order_number_new",
    "order_place",
    "order_quote",
    "order_refund_quote",
    "order_returnable_units",
    "orders_claim",
    "order_process",
    "order_ship",
    "orders_resume_stuck",
    "payments_reconcile",
    "request_fingerprint",
    "return_approve",
    "return_receive",
    "return_refund_settle",
    "return_reject",
    "return_request",
    "return_window_ends",
    "returns_settle_pending",
]
