"""The triage table, without any I/O: automated mail is never answered, a reporter's reply
joins their case, and a tag alone is no credential."""

from __future__ import annotations

import dataclasses

import pytest

from mailtriage.inbound.message import Address, InboundMail, Indicators
from mailtriage.policy.triage import Action, KnownCase, TriageContext, automated_reason, decide

OWN = frozenset({"security@example.nl"})
CASE = KnownCase(id=7, ref="PZEM-SEC-2026-0007", reporter_address="alice@example.test")


def inbound(**overrides: object) -> InboundMail:
    base = InboundMail(
        sender=Address("Alice", "alice@example.test"),
        reply_to=(),
        return_path="alice@example.test",
        to=(Address("", "security@example.nl"),),
        cc=(),
        subject="Lek in portaal",
        date=None,
        message_id="m1@example.test",
        in_reply_to=(),
        references=(),
        content_type="text/plain",
        text="Ik heb een lek gevonden.",
        attachments=(),
        forwards_message=False,
        headers=(),
        defects=(),
        language="nl",
        indicators=Indicators(),
    )
    return dataclasses.replace(base, **overrides)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("headers", "rule"),
    [
        ((("auto-submitted", "auto-replied"),), "auto-submitted"),
        ((("auto-submitted", "auto-generated; foo"),), "auto-submitted"),
        ((("precedence", "bulk"),), "precedence"),
        ((("precedence", "junk"),), "precedence"),
        ((("list-id", "<dev.lists.example.test>"),), "list"),
        ((("x-spam-flag", "YES"),), "spam-flag"),
        ((("x-spam-status", "Yes, score=9.1"),), "spam-flag"),
        ((("x-autoreply", "yes"),), "vendor-autoreply"),
        (
            (("content-type", 'multipart/report; report-type="delivery-status"; boundary=x'),),
            "delivery-report",
        ),
    ],
)
def test_automated_mail_is_recognised_by_its_headers(
    headers: tuple[tuple[str, str], ...], rule: str
) -> None:
    content_type = "multipart/report" if rule == "delivery-report" else "text/plain"
    mail = inbound(headers=headers, content_type=content_type)
    assert automated_reason(mail, OWN) == rule
    assert decide(mail, TriageContext(OWN)).action is Action.IGNORE_AUTO


def test_auto_submitted_no_is_a_person() -> None:
    mail = inbound(headers=(("auto-submitted", "no"),))
    assert decide(mail, TriageContext(OWN)).action is Action.OPEN_CASE


def test_null_sender_daemon_and_own_address_are_automated() -> None:
    assert automated_reason(inbound(return_path=""), OWN) == "null-or-daemon-sender"
    daemon = inbound(sender=Address("Mail Delivery System", "mailer-daemon@example.test"))
    assert automated_reason(daemon, OWN) == "null-or-daemon-sender"
    ours = inbound(sender=Address("Security", "security@example.nl"))
    assert automated_reason(ours, OWN) == "own-address"


def test_out_of_office_subjects_in_dutch_and_english() -> None:
    for subject in (
        "Automatisch antwoord: uw melding",
        "Out of Office: re: report",
        "Undeliverable: [PZEM-SEC-2026-0001]",
    ):
        assert automated_reason(inbound(subject=subject), OWN) == "autoreply-subject"


def test_a_feedback_report_is_not_machine_noise() -> None:
    # ARF abuse reports are forwarded phishing reports, which people sent on purpose.
    mail = inbound(
        content_type="multipart/report",
        headers=(("content-type", "multipart/report; report-type=feedback-report"),),
    )
    assert automated_reason(mail, OWN) is None


def test_anonymous_mail_without_from_is_still_a_report() -> None:
    mail = inbound(sender=None, return_path=None)
    assert decide(mail, TriageContext(OWN)).action is Action.OPEN_CASE


def test_reporter_reply_joins_by_tag_and_by_thread() -> None:
    by_tag = decide(inbound(subject="Re: [PZEM-SEC-2026-0007]"), TriageContext(OWN, (CASE,)))
    assert (by_tag.action, by_tag.case_id) == (Action.APPEND, 7)
    by_thread = decide(inbound(in_reply_to=("ack@example.nl",)), TriageContext(OWN, (), (CASE,)))
    assert (by_thread.action, by_thread.case_id) == (Action.APPEND, 7)


def test_a_stranger_with_someone_elses_tag_opens_a_new_case() -> None:
    stranger = inbound(sender=Address("Mallory", "mallory@example.test"))
    decision = decide(stranger, TriageContext(OWN, (CASE,)))
    assert decision.action is Action.OPEN_CASE
    assert decision.foreign_thread_ref == "PZEM-SEC-2026-0007"


def test_a_bounce_of_our_mail_is_linked_to_its_case_but_not_answered() -> None:
    bounce = inbound(
        sender=Address("", "mailer-daemon@example.test"), in_reply_to=("ack@example.nl",)
    )
    decision = decide(bounce, TriageContext(OWN, (), (CASE,)))
    assert (decision.action, decision.case_id) == (Action.IGNORE_AUTO, 7)


def test_a_staff_address_that_fails_authentication_is_set_aside_not_opened() -> None:
    """Issue 11: a forged or unsigned mail from a staff address opens no case (no deadline,
    no acknowledgement to a colleague); the desk keeps it and warns staff."""
    forged = inbound(sender=Address("Jan Visser", "analyst@example.nl"))
    decision = decide(forged, TriageContext(OWN, (CASE,), claimed_staff=True))
    assert decision.action is Action.SPOOFED_STAFF
    assert decision.spoofed_staff and decision.case_id is None
    untagged = decide(forged, TriageContext(OWN, claimed_staff=True))
    assert untagged.action is Action.SPOOFED_STAFF


def test_a_second_copy_of_a_handled_mail_is_a_duplicate_whatever_else_it_is() -> None:
    """The copy goes where the first went, before any other rule: even an automated-looking
    or staff copy is not decided twice."""
    ctx = TriageContext(OWN, staff=True, earlier_copy=41, earlier_copy_case=CASE.id)
    auto = inbound(headers=(("auto-submitted", "auto-replied"),))
    decision = decide(auto, ctx)
    assert (decision.action, decision.duplicate_of, decision.case_id) == (
        Action.DUPLICATE,
        41,
        CASE.id,
    )
    first = decide(inbound(), TriageContext(OWN))
    assert first.action is Action.OPEN_CASE and first.duplicate_of is None


def test_staff_mail_naming_no_case_opens_one_only_for_a_forwarded_report() -> None:
    reporter = Address("Bob", "bob@example.test")
    forwarded = decide(inbound(), TriageContext(OWN, staff=True, forwarded_reporter=reporter))
    assert (forwarded.action, forwarded.reporter) == (Action.FORWARDED_REPORT, reporter)
    plain = decide(inbound(), TriageContext(OWN, staff=True))
    assert (plain.action, plain.case_id) == (Action.STAFF, None)
    on_case = TriageContext(OWN, staff=True, tagged_cases=(CASE,), forwarded_reporter=reporter)
    assert decide(inbound(), on_case).action is Action.STAFF, "the named case comes first"
    stranger = decide(inbound(), TriageContext(OWN, forwarded_reporter=reporter))
    assert stranger.action is Action.OPEN_CASE, "only authenticated staff forward reports"


FOLLOW_UP_TEXT = "Aanvulling op mijn melding van gisteren: ook de API lekt."
OTHER = KnownCase(id=9, ref="PZEM-SEC-2026-0009", reporter_address="alice@example.test")


def test_an_untagged_follow_up_joins_the_senders_one_open_case() -> None:
    decision = decide(inbound(text=FOLLOW_UP_TEXT), TriageContext(OWN, sender_open_cases=(CASE,)))
    assert (decision.action, decision.case_id) == (Action.FOLLOW_UP, 7)
    assert decision.reason == "follow-up-by-reference"


def test_a_follow_up_with_two_open_cases_opens_a_case_that_lists_both() -> None:
    context = TriageContext(OWN, sender_open_cases=(CASE, OTHER))
    decision = decide(inbound(text=FOLLOW_UP_TEXT), context)
    assert decision.action is Action.OPEN_CASE
    assert decision.earlier_cases == (7, 9)


def test_a_new_report_of_a_known_sender_is_a_new_case_not_a_follow_up() -> None:
    context = TriageContext(OWN, sender_open_cases=(CASE,))
    decision = decide(inbound(text="Tweede lek: de app stuurt wachtwoorden in de URL."), context)
    assert decision.action is Action.OPEN_CASE
    assert decision.earlier_cases == (7,), "staff are shown the sender's open case"


def test_a_credit_answer_counts_at_once_only_when_authenticated_and_certain() -> None:
    reply = inbound(subject="Re: [PZEM-SEC-2026-0007]", text="CREDIT: Alice Jansen\n")
    trusted = decide(reply, TriageContext(OWN, (CASE,), sender_authenticated=True))
    assert trusted.credit is not None and trusted.credit.apply
    assert trusted.credit.request.name == "Alice Jansen"
    claimed = decide(reply, TriageContext(OWN, (CASE,), sender_authenticated=False))
    assert claimed.credit is not None and not claimed.credit.apply, "staff confirm it"


def test_a_refusal_of_credit_never_given_counts_even_unauthenticated() -> None:
    reply = inbound(subject="Re: [PZEM-SEC-2026-0007]", text="Geen vermelding.\n")
    decision = decide(reply, TriageContext(OWN, (CASE,)))
    assert decision.credit is not None and decision.credit.apply
    consented = dataclasses.replace(CASE, credit_consent=True)
    withdrawal = decide(reply, TriageContext(OWN, (consented,)))
    assert withdrawal.credit is not None and not withdrawal.credit.apply, "a withdrawal waits"
