"""Turning a queued outbox row into the bytes that are sent.

Done at the first delivery attempt rather than at queue time: intake stays fast, the Date
header is the moment of sending, and a template fixed in the meantime applies to mail still
waiting. The template context is rebuilt from the case and the stored message; report text
shown to staff is masked here, because staff mailboxes keep it beyond any purge.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailtriage.compose import OutgoingFile, compose
from mailtriage.config import Config
from mailtriage.dates import format_date
from mailtriage.masking import mask_personal
from mailtriage.mime.files import attached_files
from mailtriage.render import RenderedMail, Renderer
from mailtriage.replytext import reporter_new_text
from mailtriage.staffcommands import help_lines
from mailtriage.store.models import Case, OutboxMail, StoredMessage
from mailtriage.store.rawstore import read_raw

INDICATOR_KINDS = ("urls", "hosts", "ipv4", "ipv6", "datetimes")
STAFF_WORDS_RULE = "-" * 72  # between staff words and the desk's own notice in one mail


class LetterError(Exception):
    """The row cannot be made into a mail (a missing case or message, a broken template)."""


class Letters:
    def __init__(self, config: Config, renderer: Renderer) -> None:
        self.config = config
        self.renderer = renderer

    def build(self, session: Session, row: OutboxMail, now: dt.datetime) -> bytes:
        """The complete message for `row`. Raises LetterError, ComposeError or RenderError."""
        assert row.recipient is not None
        context = self._context(session, row, now)
        rendered = self._render(row, context)
        carries_staff_words = row.kind == "relay" or (row.kind == "closing" and context["text"])
        files = self._relayed_files(session, row) if carries_staff_words else []
        return compose(
            from_address=self.config.smtp.from_address,
            from_name=self.config.smtp.from_name,
            to=row.recipient,
            subject=rendered.subject,
            body=rendered.body,
            message_id=f"<{row.message_id}>",
            in_reply_to=row.in_reply_to,
            references=row.references or (),
            auto_submitted=row.auto_submitted,
            date=now,
            attachments=files,
        )

    def _render(self, row: OutboxMail, context: dict[str, Any]) -> RenderedMail:
        """The rendered mail. A closing that carries staff words to a reporter of unsure
        language gets the words once, above the bilingual notice: a person wrote one text,
        and sending it in both halves doubles it (observed)."""
        language = row.language
        if row.kind == "closing" and context["text"] and language == "unsure":
            notice = self.renderer.render(row.kind, language, {**context, "text": None})  # type: ignore[arg-type]
            body = f"{context['text'].rstrip()}\n\n{STAFF_WORDS_RULE}\n\n{notice.body}"
            return RenderedMail(subject=notice.subject, body=body)
        return self.renderer.render(row.kind, language, context)  # type: ignore[arg-type]

    @staticmethod
    def _relayed_files(session: Session, row: OutboxMail) -> list[OutgoingFile]:
        """The staff member's attachments, which go along with their words."""
        staff_message = (row.context or {}).get("message")
        raw = read_raw(session, staff_message) if isinstance(staff_message, int) else None
        if not raw:
            return []
        return [OutgoingFile(name, ctype, data) for name, ctype, data in attached_files(raw)]

    def _context(self, session: Session, row: OutboxMail, now: dt.datetime) -> dict[str, Any]:
        saved = dict(row.context or {})
        case = row.case
        tz = self.config.deadlines.tz
        if row.kind == "staff_quarantine":
            message = self._message(session, saved["message"])
            return {"quarantine_id": message.id, "reason": message.quarantine_reason or ""}
        if row.kind == "staff_digest":
            return _digest_context(saved, tz, now)
        if row.kind == "staff_spoof_warning":
            return {
                "address": saved["address"],
                "reason": saved["reason"],
                "new_ref": case.ref if case else None,
            }
        if case is None and row.kind == "staff_confirmation":
            return _confirmation(saved, None)
        if row.kind == "staff_purge_incomplete":
            return {"wal_bytes": int(saved.get("wal_bytes", 0)), "attempts": saved.get("attempts")}
        if case is None:
            raise LetterError(f"{row.kind}: the case is gone")
        context: dict[str, Any] = {"ref": case.ref}
        if row.kind == "acknowledgement":
            if case.first_response_due is None:
                raise LetterError("acknowledgement: the case has no due date")
            context |= {
                "due_date": case.first_response_due.astimezone(tz),
                "missing_target": bool(saved.get("missing_target")),
                "missing_time": bool(saved.get("missing_time")),
                "first_response_workdays": self.config.deadlines.first_response_workdays,
            }
        elif row.kind == "redirect":
            context["contact_form_url"] = self.config.policy.contact_form_url
        elif row.kind == "staff_new_case":
            context |= self._new_case(session, case, saved["message"])
            context["earlier_cases"] = _earlier_cases(session, saved.get("earlier") or [])
        elif row.kind == "staff_stranger_on_case":
            context |= {"ref": saved["ref"], "new_ref": case.ref}
        elif row.kind in ("staff_reminder", "staff_escalation"):
            if case.first_response_due is None:
                raise LetterError(f"{row.kind}: the case has no due date")
            context |= {
                "due_date": case.first_response_due.astimezone(tz),
                "first_response_workdays": self.config.deadlines.first_response_workdays,
                "overdue_workdays": saved.get("overdue_workdays", 0),
                "subject": _masked_subject(case),
                "severity": case.severity,
                "owner": case.owner,
                "state": case.state,
            }
        elif row.kind in ("progress_update", "staff_update_sent"):
            context |= {
                "state": case.state,
                "next_update_date": dt.date.fromisoformat(saved["next_update_date"]),
                "update_interval_workdays": self.config.deadlines.update_interval_workdays,
            }
        elif row.kind == "relay":
            context["text"] = saved["text"]
        elif row.kind == "closing":
            closed = case.closed_at or now
            purge_day = (
                (closed + dt.timedelta(days=self.config.retention.purge_after_closed_days))
                .astimezone(tz)
                .date()
            )
            context |= {
                "close_reason": case.close_reason or "",
                "purge_date": purge_day,
                "credit_name": case.credit_name if case.credit_consent else None,
                "text": saved.get("text"),
            }
        elif row.kind == "staff_confirmation":
            context = _confirmation(saved, case)
        elif row.kind == "staff_reporter_reply":
            message = self._message(session, saved["message"])
            reporter = {"address": case.reporter_address, "name": case.reporter_name}
            new, cut = reporter_new_text(message.text_body or "")
            closed = saved.get("closed")
            context |= {
                "credit": saved.get("credit"),
                "how": saved.get("how") or "",
                "closed": (
                    {"reason": closed["reason"], "at": _local(closed["at"], tz)} if closed else None
                ),
                "cut": cut,
                "subject": mask_personal(message.subject or "", **reporter),
                "text": mask_personal(new, **reporter),
                "attachments": [
                    {
                        "filename": mask_personal(a.filename or "", **reporter),
                        "size": a.size,
                        "content_type": a.content_type,
                    }
                    for a in message.attachments
                ],
            }
        elif row.kind == "staff_delivery_failed":
            failed = session.get(OutboxMail, saved["outbox"])
            context |= {
                "permanent": bool(saved.get("permanent")),
                "reason": (failed.last_error if failed else None) or "unknown",
            }
        return context

    def _new_case(self, session: Session, case: Case, message_id: int) -> dict[str, Any]:
        message = self._message(session, message_id)

        def masked(text: str | None) -> str:
            return mask_personal(text or "", address=case.reporter_address, name=case.reporter_name)

        due = case.first_response_due or case.received_at
        return {
            "due_date": due.astimezone(self.config.deadlines.tz),
            "category": case.category,
            "language": case.language,
            "subject": masked(message.subject),
            "text": masked(message.text_body),
            # URLs carry the reporter too, percent-encoded in a query string: every field
            # taken from the report gets the reporter-aware mask, not just the text.
            "indicators": {
                kind: [masked(str(item)) for item in (message.indicators or {}).get(kind) or []]
                for kind in INDICATOR_KINDS
            },
            "attachments": [
                {"filename": masked(a.filename), "size": a.size, "content_type": a.content_type}
                for a in message.attachments
            ],
        }

    @staticmethod
    def _message(session: Session, message_id: int) -> StoredMessage:
        message = session.get(StoredMessage, message_id)
        if message is None:
            raise LetterError("the stored message is gone")
        return message


def _local(value: str, tz: dt.tzinfo) -> dt.datetime:
    return dt.datetime.fromisoformat(value).astimezone(tz)


def _masked_subject(case: Case) -> str:
    return mask_personal(case.subject or "", address=case.reporter_address, name=case.reporter_name)


def _earlier_cases(session: Session, refs: list[str]) -> list[dict[str, Any]]:
    """The sender's other open cases a new case may belong to, for staff to compare."""
    if not refs:
        return []
    found = session.scalars(select(Case).where(Case.ref.in_(refs)).order_by(Case.received_at))
    return [{"ref": c.ref, "state": c.state, "subject": _masked_subject(c)} for c in found]


def _digest_what(row: dict[str, Any], now: dt.datetime, tz: dt.tzinfo) -> str:
    """What is due or late for one case, in words. An answered case (first assessment given)
    is never "due" for it: only its next progress update can be."""
    if not row.get("answered") and row.get("due"):
        due = _local(row["due"], tz)
        late = "LATE, was due" if due < now else "due"
        return f"first assessment {late} {format_date(due, 'en')}"
    answered = "first assessment given" if row.get("answered") else "no first assessment due"
    if row.get("next_update"):
        update = _local(row["next_update"], tz)
        late = "LATE, was due" if update < now else "due"
        return f"{answered}; next update to the reporter {late} {format_date(update, 'en')}"
    return answered


def _digest_context(saved: dict[str, Any], tz: dt.tzinfo, now: dt.datetime) -> dict[str, Any]:
    def when(value: str | None) -> dt.datetime | None:
        return _local(value, tz) if value else None

    def rows(name: str) -> list[dict[str, Any]]:
        return [
            {
                "ref": r["ref"],
                "state": r["state"],
                "subject": r.get("subject") or "",
                "severity": r.get("severity"),
                "owner": r.get("owner"),
                "due": when(r["due"]) if not r.get("answered") else None,
                "next_update": when(r["next_update"]),
                "what": _digest_what(r, now, tz),
            }
            for r in saved.get(name, [])
        ]

    return {
        "today": dt.date.fromisoformat(saved["today"]),
        "overdue": rows("overdue"),
        "due_soon": rows("due_soon"),
        "open": rows("open"),
    }


def _confirmation(saved: dict[str, Any], case: Case | None) -> dict[str, Any]:
    return {
        "ref": case.ref if case else "no case",
        "results": saved.get("results", []),
        "unprocessed": saved.get("unprocessed", []),
        "ignored": saved.get("ignored", []),
        "not_applied": saved.get("not_applied", []),
        "relayed": saved.get("relayed", []),
        "relayed_more": saved.get("relayed_more", 0),
        "returned": saved.get("returned", []),
        "summary": _summary(saved),
        "state": case.state if case else "-",
        "close_reason": case.close_reason if case else None,
        "severity": case.severity if case else None,
        "owner": case.owner if case else None,
        # The reminder of the command language, from the command modules themselves.
        "commands": help_lines(),
    }


def _summary(saved: dict[str, Any]) -> str:
    if saved.get("unprocessed"):
        return "nothing changed, see Unprocessed"
    results = saved.get("results") or []
    return "; ".join(results)[:120] if results else "no changes"
