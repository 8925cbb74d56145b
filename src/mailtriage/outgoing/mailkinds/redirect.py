"""The redirect: this is not a security report; where such questions go instead."""

from __future__ import annotations

from dataclasses import dataclass

from mailtriage.outgoing.mailkinds._base import MailKind, Payload, Source


@dataclass(frozen=True)
class RedirectPayload(Payload):
    ref: str
    contact_form_url: str | None  # None: the templates name "the contact form" in words


class Redirect(MailKind[RedirectPayload]):
    name = "redirect"
    audience = "reporter"
    guard = "automatic"
    forms = ("nl", "en")

    def build(self, source: Source) -> RedirectPayload:
        return RedirectPayload(
            ref=source.case().ref, contact_form_url=source.config.policy.contact_form_url
        )


KINDS = (Redirect,)
