"""A realistic typed payload for every outgoing mail kind, as its builder makes them from a
stored case (reporter data already masked in staff payloads).

Shared by the kind tests and the template tests; a new kind adds its example here, and
`test_mailkinds` fails until it does.
"""

from __future__ import annotations

import datetime as dt

from mailtriage.mailkinds import Payload
from mailtriage.mailkinds._shared import AttachmentLine
from mailtriage.mailkinds.acknowledgement import AcknowledgementPayload
from mailtriage.mailkinds.closing import ClosingPayload
from mailtriage.mailkinds.progress_update import ProgressPayload
from mailtriage.mailkinds.redirect import RedirectPayload
from mailtriage.mailkinds.relay import RelayPayload
from mailtriage.mailkinds.staff_confirmation import ConfirmationPayload
from mailtriage.mailkinds.staff_deadline import DeadlineLine, DeadlinePayload
from mailtriage.mailkinds.staff_delivery_failed import DeliveryFailedPayload
from mailtriage.mailkinds.staff_digest import DigestLine, DigestPayload
from mailtriage.mailkinds.staff_new_case import EarlierCase, MaskedIndicators, NewCasePayload
from mailtriage.mailkinds.staff_purge_incomplete import PurgeIncompletePayload
from mailtriage.mailkinds.staff_quarantine import QuarantinePayload
from mailtriage.mailkinds.staff_reporter_reply import ClosedNote, ReporterReplyPayload
from mailtriage.mailkinds.staff_spoof_warning import SpoofWarningPayload
from mailtriage.mailkinds.staff_stranger_on_case import StrangerPayload
from mailtriage.staffcommands import help_lines

REF = "PZEM-SEC-2026-0007"
CET = dt.timezone(dt.timedelta(hours=1))
DUE = dt.datetime(2026, 12, 4, 23, 59, 59, tzinfo=CET)
STAFF_TEXT = "Dank je, we hebben het lek gedicht. Kun je het nog eens proberen?"
ATTACHMENT = AttachmentLine("poc.py", 2048, "text/x-python")
DIGEST_LINE = DigestLine(
    ref=REF,
    state="acknowledged",
    subject="XSS in het klantportaal",
    severity="high",
    owner=None,
    due=DUE,
    next_update=None,
    what="first assessment LATE, was due Friday 4 December 2026",
)
DEADLINE_LINE = DeadlineLine(
    ref=REF,
    due_date=DUE,
    overdue_workdays=2,
    subject="XSS in het klantportaal",
    severity=None,
    owner="anna@example.nl",
    state="new",
)
DEADLINE = DeadlinePayload(first_response_workdays=5, cases=(DEADLINE_LINE,))
PROGRESS = ProgressPayload(
    ref=REF, state="fixing", next_update_date=dt.date(2026, 12, 18), update_interval_workdays=10
)

# A realistic payload per kind, as its builder makes them from a stored case.
EXAMPLES: dict[str, Payload] = {
    "acknowledgement": AcknowledgementPayload(
        ref=REF, due_date=DUE, missing_target=True, missing_time=False, first_response_workdays=5
    ),
    "redirect": RedirectPayload(ref=REF, contact_form_url="https://www.example.nl/contact"),
    "progress_update": PROGRESS,
    "staff_update_sent": PROGRESS,
    "closing": ClosingPayload(
        ref=REF,
        close_reason="fixed",
        purge_date=dt.date(2027, 3, 1),
        credit_name="Sanne de Vries",
        text=None,
    ),
    "relay": RelayPayload(ref=REF, text=STAFF_TEXT),
    "staff_new_case": NewCasePayload(
        ref=REF,
        due_date=DUE,
        category="report",
        language="nl",
        subject="Lek in portaal",
        text="Ik kon inloggen als een andere klant.\nBel me: [phone]",
        indicators=MaskedIndicators(
            urls=("https://portaal.example.nl/login",),
            hosts=("portaal.example.nl",),
            ipv4=("192.0.2.10",),
            ipv6=(),
            datetimes=("2026-11-26 14:00",),
        ),
        attachments=(ATTACHMENT,),
        earlier_cases=(EarlierCase("PZEM-SEC-2026-0003", "acknowledged", "Ander lek"),),
    ),
    "staff_stranger_on_case": StrangerPayload(ref=REF, new_ref="PZEM-SEC-2026-0008"),
    "staff_reminder": DEADLINE,
    "staff_escalation": DEADLINE,
    "staff_digest": DigestPayload(
        today=dt.date(2026, 12, 7), overdue=(DIGEST_LINE,), due_soon=(), open=(DIGEST_LINE,)
    ),
    "staff_confirmation": ConfirmationPayload(
        ref=REF,
        results=("severity set to high",),
        unprocessed=(),
        ignored=("#frobnicate",),
        not_applied=(),
        relayed=("Dank je,",),
        relayed_more=3,
        returned=(),
        summary="severity set to high",
        state="triaged",
        close_reason=None,
        severity="high",
        owner=None,
        commands=tuple(help_lines()),
    ),
    "staff_quarantine": QuarantinePayload(quarantine_id=42, reason="MIME too deeply nested"),
    "staff_spoof_warning": SpoofWarningPayload(
        address="anna@example.nl", reason="dmarc=fail", new_ref=REF
    ),
    "staff_reporter_reply": ReporterReplyPayload(
        ref=REF,
        credit="Sanne de Vries",
        how="follow-up-by-reference",
        closed=ClosedNote("fixed", DUE),
        cut=True,
        subject="Re: [PZEM-SEC-2026-0007] Ontvangen",
        text="Het werkt nu niet meer, top!",
        attachments=(ATTACHMENT,),
    ),
    "staff_delivery_failed": DeliveryFailedPayload(
        ref=REF, permanent=True, reason="550 5.1.1 mailbox unavailable"
    ),
    "staff_purge_incomplete": PurgeIncompletePayload(wal_bytes=1_048_576, attempts=4),
}
