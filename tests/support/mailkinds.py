"""A realistic typed payload for every outgoing mail kind, as its builder makes them from a
stored case (reporter data already masked in staff payloads).

Shared by the kind tests and the template tests; a new kind adds its example here, and
`test_mailkinds` fails until it does.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from mailtriage.desk.staffcommands import help_lines
from mailtriage.outgoing.mailkinds import Payload
from mailtriage.outgoing.mailkinds._shared import AttachmentLine
from mailtriage.outgoing.mailkinds.acknowledgement import AcknowledgementPayload
from mailtriage.outgoing.mailkinds.closing import ClosingPayload
from mailtriage.outgoing.mailkinds.duplicate_notice import DuplicateNoticePayload
from mailtriage.outgoing.mailkinds.embargo_notice import EmbargoNoticePayload
from mailtriage.outgoing.mailkinds.progress_update import ProgressPayload
from mailtriage.outgoing.mailkinds.redirect import RedirectPayload
from mailtriage.outgoing.mailkinds.relay import RelayPayload
from mailtriage.outgoing.mailkinds.staff_attachments import AttachmentsPayload, FileLine
from mailtriage.outgoing.mailkinds.staff_case_view import CaseViewPayload, TimelineLine
from mailtriage.outgoing.mailkinds.staff_certificate_expiry import CertificateExpiryPayload
from mailtriage.outgoing.mailkinds.staff_confirmation import ConfirmationPayload
from mailtriage.outgoing.mailkinds.staff_deadline import DeadlineLine, DeadlinePayload
from mailtriage.outgoing.mailkinds.staff_delivery_failed import DeliveryFailedPayload
from mailtriage.outgoing.mailkinds.staff_digest import (
    DigestLine,
    DigestPayload,
    EmbargoLine,
    ObligationLine,
)
from mailtriage.outgoing.mailkinds.staff_embargo_reminder import EmbargoReminderPayload
from mailtriage.outgoing.mailkinds.staff_monthly_report import MonthlyPayload
from mailtriage.outgoing.mailkinds.staff_new_case import (
    EarlierCase,
    MaskedIndicators,
    NewCasePayload,
)
from mailtriage.outgoing.mailkinds.staff_obligation import ObligationPayload, StepLine
from mailtriage.outgoing.mailkinds.staff_purge_incomplete import PurgeIncompletePayload
from mailtriage.outgoing.mailkinds.staff_quarantine import QuarantinePayload
from mailtriage.outgoing.mailkinds.staff_reporter_reply import ClosedNote, ReporterReplyPayload
from mailtriage.outgoing.mailkinds.staff_spoof_warning import SpoofWarningPayload
from mailtriage.outgoing.mailkinds.staff_stranger_on_case import StrangerPayload
from mailtriage.policy.metrics import MonthFigures

REF = "PZEM-SEC-2026-0007"
CET = dt.timezone(dt.timedelta(hours=1))
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
EMBARGO_END = dt.datetime(2026, 12, 31, 23, 59, 59, tzinfo=AMSTERDAM)
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

INCIDENT_START = dt.datetime(2026, 11, 27, 17, 0, tzinfo=CET)
OBLIGATION = ObligationPayload(
    ref=REF,
    kind="incident",
    law="a significant incident (NIS2 art. 23, Cyberbeveiligingswet)",
    step="early-warning",
    notice="due-soon",
    started_at=INCIDENT_START,
    due=INCIDENT_START + dt.timedelta(hours=24),
    reported_at=None,
    steps=(
        StepLine("early-warning", INCIDENT_START + dt.timedelta(hours=24), None),
        StepLine("notification", INCIDENT_START + dt.timedelta(hours=72), None),
        StepLine("final", dt.datetime(2026, 12, 27, 17, 0, tzinfo=CET), None),
    ),
    subject="Storing in het klantportaal",
    severity="critical",
    owner="anna@example.nl",
)

NOVEMBER = MonthFigures(
    month="2026-11",
    reports=6,
    redirected=1,
    automated=3,
    acknowledgement_minutes_median=3.5,
    acknowledgement_minutes_p90=10.0,
    first_assessment_workdays_median=3.0,
    first_assessment_workdays_p90=6.0,
    close_workdays_median=4.0,
    close_workdays_p90=5.0,
    first_assessment_within_promise=0.6,
    open=3,
    overdue=1,
    outcomes={"open": 3, "fixed": 2, "duplicate": 1},
)

# A realistic payload per kind, as its builder makes them from a stored case.
EXAMPLES: dict[str, Payload] = {
    "staff_monthly_report": MonthlyPayload(
        month="2026-11",
        month_name="November 2026",
        figures=NOVEMBER,
        promise_workdays=5,
        chart_months=(MonthFigures(month="2026-10", reports=1), NOVEMBER),
    ),
    "staff_obligation_reminder": OBLIGATION,
    "staff_obligation_escalation": OBLIGATION,
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
    "duplicate_notice": DuplicateNoticePayload(ref=REF, credit_name="Sanne de Vries"),
    "embargo_notice": EmbargoNoticePayload(ref=REF, until=EMBARGO_END),
    "staff_embargo_reminder": EmbargoReminderPayload(
        ref=REF,
        until=EMBARGO_END,
        workdays_left=10,
        subject="XSS in het klantportaal",
        state="fixing",
        severity="high",
        owner=None,
        cve="CVE-2026-12345",
    ),
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
        today=dt.date(2026, 12, 7),
        overdue=(DIGEST_LINE,),
        due_soon=(),
        open=(DIGEST_LINE,),
        embargoes=(EmbargoLine(REF, EMBARGO_END, "fixing"),),
        obligations=(
            ObligationLine(REF, "incident", "notification", INCIDENT_START, True),
            ObligationLine(REF, "exploited", "final", None, False),
        ),
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
    "staff_attachments": AttachmentsPayload(
        ref=REF,
        part=1,
        parts=2,
        zip_name=f"{REF}-attachments-1-of-2.zip",
        files=(FileLine("poc_idor.py", 388, "text/x-python"),),
        report_included=True,
        password_hint='"infected"',
        max_mail_bytes=10_000_000,
    ),
    "staff_case_view": CaseViewPayload(
        ref=REF,
        state="fixing",
        close_reason=None,
        category="report",
        language="nl",
        subject="XSS in het klantportaal",
        owner="anna@example.nl",
        severity="critical",
        cvss_vector="CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        cvss_score=9.8,
        cvss_rating="Critical",
        cwe="CWE-79",
        cve=None,
        received_at=DUE - dt.timedelta(days=7),
        first_response_due=DUE,
        first_response_at=DUE - dt.timedelta(days=2),
        next_update_due=DUE + dt.timedelta(days=14),
        closed_at=None,
        purged_at=None,
        embargo_until=EMBARGO_END,
        duplicate_of=None,
        duplicates=("PZEM-SEC-2026-0009",),
        legal_hold=False,
        credit_name=None,
        messages=3,
        timeline=(
            TimelineLine(DUE - dt.timedelta(days=7), "state", "from=new, to=acknowledged"),
            TimelineLine(DUE - dt.timedelta(days=3), "note", "Hosting gebeld.\nFix dinsdag."),
        ),
        timeline_cut=0,
    ),
    "staff_purge_incomplete": PurgeIncompletePayload(wal_bytes=1_048_576, attempts=4),
    "staff_certificate_expiry": CertificateExpiryPayload(
        expires_at=DUE,
        days_left=7,
        subject="CN=mailtriage security desk",
        thumbprint="5e1f0c3a9b7d2e4f6a8c0b1d3e5f7a9c1b3d5e7f",
        certificate_file="/etc/mailtriage/entra-app.pem",
        client_id="3b7c9d2e-0000-4000-8000-0000000a9911",
        tenant_id="8f0e4b1c-0000-4000-8000-00000000c0de",
    ),
}
