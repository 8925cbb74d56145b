"""`#show`: the case as staff need it, mailed to the staff member who asked.

State, owner, severity and CVSS, CWE, CVE, deadlines, embargo, duplicate links, and the
whole timeline including internal notes: what `mailtriage case REF` shows on the server, for
staff who work from their mailbox. Built at delivery from the case as it is then. Like every
staff copy it outlives the purge, so everything taken from a mail or a note is masked with
the reporter's address and name, and the reporter is named only as "the reporter".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from mailtriage.outgoing.mailkinds._base import LetterError, MailKind, Payload, Source
from mailtriage.outgoing.mailkinds._shared import masked_subject, masker

MAX_TIMELINE = 500  # lines; a case longer than this shows its newest
MAX_DETAIL = 2000  # characters of one event's detail (a long note is cut, the case has it)


@dataclass(frozen=True)
class TimelineLine:
    at: dt.datetime  # local
    kind: str
    detail: str  # "key=value, ...", masked; a note's text in full (up to MAX_DETAIL)


@dataclass(frozen=True)
class CaseViewPayload(Payload):
    ref: str
    state: str
    close_reason: str | None
    category: str
    language: str
    subject: str  # masked
    owner: str | None
    severity: str | None
    cvss_vector: str | None
    cvss_score: float | None
    cvss_rating: str | None
    cwe: str | None
    cve: str | None
    received_at: dt.datetime
    first_response_due: dt.datetime | None
    first_response_at: dt.datetime | None
    next_update_due: dt.datetime | None
    closed_at: dt.datetime | None
    purged_at: dt.datetime | None
    embargo_until: dt.datetime | None
    duplicate_of: str | None
    duplicates: tuple[str, ...]
    legal_hold: bool
    credit_name: str | None  # only with consent
    messages: int
    timeline: tuple[TimelineLine, ...]
    timeline_cut: int  # older lines left out


class StaffCaseView(MailKind[CaseViewPayload]):
    name = "staff_case_view"
    audience = "staff"
    guard = "none"
    forms = ("en",)

    def build(self, source: Source) -> CaseViewPayload:
        case = source.case()
        staff = {a.lower() for a in source.config.cases.staff}
        if (source.row.recipient or "").lower() not in staff:
            raise LetterError("staff_case_view: the recipient is not (or no longer) staff")
        mask = masker(case)

        def local(value: dt.datetime | None) -> dt.datetime | None:
            return value.astimezone(source.tz) if value is not None else None

        events = case.events[-MAX_TIMELINE:]
        timeline = tuple(
            TimelineLine(
                at=e.at.astimezone(source.tz),
                kind=e.kind,
                detail=mask(_detail(e.detail or {}))[:MAX_DETAIL],
            )
            for e in events
        )
        return CaseViewPayload(
            ref=case.ref,
            state=case.state,
            close_reason=case.close_reason,
            category=case.category,
            language=case.language,
            subject=masked_subject(case) if case.purged_at is None else "(purged)",
            owner=case.owner,
            severity=case.severity,
            cvss_vector=case.cvss_vector,
            cvss_score=case.cvss_score,
            cvss_rating=case.cvss_rating,
            cwe=case.cwe,
            cve=case.cve,
            received_at=case.received_at.astimezone(source.tz),
            first_response_due=local(case.first_response_due),
            first_response_at=local(case.first_response_at),
            next_update_due=local(case.next_update_due),
            closed_at=local(case.closed_at),
            purged_at=local(case.purged_at),
            embargo_until=local(case.embargo_until),
            duplicate_of=case.duplicate_of.ref if case.duplicate_of else None,
            duplicates=tuple(d.ref for d in case.duplicates),
            legal_hold=bool(case.legal_hold),
            credit_name=case.credit_name if case.credit_consent else None,
            messages=len(case.messages),
            timeline=timeline,
            timeline_cut=max(0, len(case.events) - MAX_TIMELINE),
        )


def _detail(detail: dict[str, object]) -> str:
    text = detail.get("text")
    rest = ", ".join(f"{k}={v}" for k, v in detail.items() if k != "text")
    if isinstance(text, str):
        return f"{rest}\n{text}".strip() if rest else text
    return rest


KINDS = (StaffCaseView,)
