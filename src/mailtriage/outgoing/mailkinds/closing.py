"""The closing: the report is complete, credit as agreed, and the day its data is erased.

It may open with a staff member's last words (see `Replies.closing`); then it carries their
attachments like a relay.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from mailtriage.outgoing.mailkinds._base import MailKind, Payload, Source
from mailtriage.outgoing.render import RenderedMail, Renderer

STAFF_WORDS_RULE = "-" * 72  # between staff words and the desk's own notice in one mail


@dataclass(frozen=True)
class ClosingPayload(Payload):
    ref: str
    close_reason: str
    purge_date: dt.date  # local day the case's data is erased
    credit_name: str | None  # only with the reporter's consent
    text: str | None  # a staff member's last words, if they wrote any


class Closing(MailKind[ClosingPayload]):
    name = "closing"
    audience = "reporter"
    guard = "recipient"  # once per case, on staff's decision: no daily cap
    forms = ("nl", "en")

    def build(self, source: Source) -> ClosingPayload:
        case = source.case()
        saved = source.saved
        # A duplicate's reporter is told when the original is fixed: that reason, and the
        # purge counting from then (`duplicates.purge_start`).
        closed = source.local(saved["purge_from"]) if "purge_from" in saved else None
        closed = closed or case.closed_at or source.now
        days = dt.timedelta(days=source.config.retention.purge_after_closed_days)
        return ClosingPayload(
            ref=case.ref,
            close_reason=saved.get("close_reason") or case.close_reason or "",
            purge_date=(closed + days).astimezone(source.tz).date(),
            credit_name=case.credit_name if case.credit_consent else None,
            text=source.saved.get("text"),
        )

    def carries_staff_words(self, payload: ClosingPayload) -> bool:
        return bool(payload.text)

    def render(self, renderer: Renderer, language: str, payload: ClosingPayload) -> RenderedMail:
        """To a reporter of unsure language the staff words come once, above the bilingual
        notice: a person wrote one text, and sending it in both halves doubles it
        (observed)."""
        if payload.text and language == "unsure":
            notice = super().render(renderer, language, replace(payload, text=None))
            body = f"{payload.text.rstrip()}\n\n{STAFF_WORDS_RULE}\n\n{notice.body}"
            return RenderedMail(subject=notice.subject, body=body)
        return super().render(renderer, language, payload)


KINDS = (Closing,)
