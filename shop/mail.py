"""Every mail the shop sends: an HTML body with a plain-text part, both from templates.

A mail named ``<name>`` is three templates under ``templates/emails/``: ``<name>.txt`` (the text
part), ``<name>.html`` (the HTML part, which extends ``emails/_layout.html`` for the shop's
look) and, unless the caller passes ``subject``, ``<name>_subject.txt``. The message goes
through ``EMAIL_BACKEND``; the file backend writes it under ``EMAIL_FILE_PATH``."""

from collections.abc import Sequence

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def mail_render(
    *, template: str, context: dict, subject: str | None = None
) -> tuple[str, str, str]:
    """The subject, text part and HTML part of mail ``template`` for ``context``."""
    context = {"shop_name": settings.SHOP_NAME, "shop_url": settings.SHOP_URL, **context}
    if subject is None:
        subject = render_to_string(f"emails/{template}_subject.txt", context)
    # A header holds one line: a template's trailing newline or a stray break must not split it.
    subject = " ".join(subject.split())
    text = render_to_string(f"emails/{template}.txt", context)
    html = render_to_string(f"emails/{template}.html", context)
    return subject, text, html


def mail_send(
    *, to: Sequence[str], template: str, context: dict, subject: str | None = None
) -> None:
    """Send mail ``template`` to ``to``. Errors of the mail server propagate (callers that
    must not lose the mail retry it)."""
    subject, text, html = mail_render(template=template, context=context, subject=subject)
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, list(to))
    message.attach_alternative(html, "text/html")
    message.send()
