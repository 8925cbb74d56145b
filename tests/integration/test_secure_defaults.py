"""Secure defaults (issue 10): a desk that would believe any From claiming staff does not run.

Each test is an attack that worked before: a stranger who writes a staff address in From,
on a desk configured with `cases.staff` but no `trusted_authserv_ids`, set a case's
severity, withdrew credit, relayed a malicious link to the reporter from the team address and
closed the case. Now `check`, `run` and `ingest` refuse such a config (exit 2, one line naming
`cases.trusted_authserv_ids`) unless the operator opts out explicitly, and the stricter
`staff_auth = "dkim"` refuses a mail that only an SPF pass backs. Real Dovecot, real SMTP,
the daemon run as an operator runs it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.support.clients import MX_ID, Original, authenticated, thunderbird_reply
from tests.support.desk import STAFF_NOTIFY, Desk
from tests.support.dovecot import Dovecot
from tests.support.mails import make_mail
from tests.support.smtp import Received, SmtpServer

pytestmark = pytest.mark.integration

TAG = re.compile(r"\[(PZEM-SEC-\d{4}-\d{4})\]")
ANALYST = "Jan Visser <analyst@example.nl>"
ANALYST_ADDRESS = "analyst@example.nl"
REPORTER = "Pieter Jansen <pieter.jansen@example.test>"
REPORTER_ADDRESS = "pieter.jansen@example.test"
SECURE_CASES = {"staff": [ANALYST_ADDRESS], "trusted_authserv_ids": [MX_ID]}
OPEN_CASES = {"staff": [ANALYST_ADDRESS]}  # what the demo and many old configs shipped
ATTACK = (
    "#severity low\n#credit withdraw\n#close fixed\n\n"
    "Your report is resolved. Please confirm your details at https://login.example.test/pzem"
)
KEY_LINE = "cases.trusted_authserv_ids"


def rewrite(desk: Desk, tmp_path: Path, **sections: dict[str, Any]) -> None:
    """Write the desk's config again with other sections (same servers, same store)."""
    desk.config = Desk(tmp_path, desk.dovecot, desk.smtp, **sections).config


def open_case(desk: Desk) -> tuple[str, Received]:
    """A reporter's report through the desk; its reference and the staff notification."""
    mark = len(desk.smtp.received)
    desk.deliver(make_mail(sender=REPORTER, body="XSS op https://portal.example.nl/zoek "
                           "gezien op 27-11-2026 om 14:05, CREDIT: Pieter Jansen\n"))
    desk.run_once()
    notices = [m for m in desk.smtp.received[mark:] if STAFF_NOTIFY in m.recipients]
    ref = TAG.search(str(notices[0].message["Subject"]))
    assert ref is not None
    return ref.group(1), notices[0]


def stranger_as_staff(notification: Received, results: str | None = None) -> bytes:
    """A stranger's reply to the staff notification, From the analyst, no MX backing it
    unless `results` (an Authentication-Results value) is given."""
    raw = thunderbird_reply(
        Original.of(notification.raw), sender=ANALYST, text=ATTACK, language="en"
    )
    return raw if results is None else authenticated(raw, results)


def assert_case_untouched(desk: Desk, ref: str, state: str = "acknowledged") -> None:
    case = desk.case(ref)
    assert case["state"] == state
    assert case["closed_at"] is None and case["severity"] is None
    assert case["first_response_at"] is None


def inbox_count(desk: Desk) -> int:
    with desk.dovecot.client() as client:
        client.select_folder("INBOX")
        return len(client.search("ALL"))


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1, err
    return err[0]


# ---------------------------------------------------------------- no trusted ids: refused


def test_daemon_refuses_to_act_on_a_stranger_claiming_staff_without_trusted_ids(
    tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer, capsys: pytest.CaptureFixture[str]
) -> None:
    desk = Desk(tmp_path, dovecot, smtp, cases=SECURE_CASES)
    ref, notification = open_case(desk)
    sent_before = len(smtp.received)
    rewrite(desk, tmp_path, cases=OPEN_CASES)  # the operator drops the trusted ids
    desk.deliver(stranger_as_staff(notification))
    capsys.readouterr()

    code, _ = desk.cli("run", "--once")

    assert code == 2
    assert KEY_LINE in one_error_line(capsys)
    assert len(smtp.received) == sent_before, "nothing relayed, nothing confirmed"
    assert inbox_count(desk) == 1, "the mail waits in the inbox for a fixed config"
    rewrite(desk, tmp_path, cases=SECURE_CASES)
    assert_case_untouched(desk, ref)


def test_check_fails_naming_the_key_when_staff_are_not_authenticated(
    tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer, capsys: pytest.CaptureFixture[str]
) -> None:
    desk = Desk(tmp_path, dovecot, smtp, cases=OPEN_CASES)
    capsys.readouterr()
    code, out = desk.cli("check")
    assert code == 2
    assert KEY_LINE in one_error_line(capsys)
    assert "config: ok" not in out


def test_ingest_refuses_a_stranger_claiming_staff_without_trusted_ids(
    tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer, capsys: pytest.CaptureFixture[str]
) -> None:
    desk = Desk(tmp_path, dovecot, smtp, cases=SECURE_CASES)
    ref, notification = open_case(desk)
    rewrite(desk, tmp_path, cases=OPEN_CASES)
    mail = tmp_path / "stranger.eml"
    mail.write_bytes(stranger_as_staff(notification))
    capsys.readouterr()

    code, _ = desk.cli("ingest", str(mail))

    assert code == 2
    assert KEY_LINE in one_error_line(capsys)
    rewrite(desk, tmp_path, cases=SECURE_CASES)
    assert_case_untouched(desk, ref)
    assert len(desk.case(ref)["message_list"]) == 1, "the stranger's mail was not stored"


def test_read_only_commands_keep_working_while_the_config_is_refused(
    tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer
) -> None:
    desk = Desk(tmp_path, dovecot, smtp, cases=SECURE_CASES)
    ref, _ = open_case(desk)
    rewrite(desk, tmp_path, cases=OPEN_CASES)
    assert [c["ref"] for c in desk.cases()] == [ref]
    assert desk.case(ref)["ref"] == ref
    for args in (("credits",), ("deadline", "2026-11-27T14:00"), ("security-txt",),
                 ("quarantine",)):
        assert desk.cli(*args)[0] == 0, args
    for args in (("purge", "--dry-run"), ("quarantine", "retry", "--all"), ("db", "upgrade")):
        assert desk.cli(*args)[0] == 2, args


# ---------------------------------------------------------------- the explicit opt-out


def test_the_opt_out_runs_with_one_warning_and_takes_a_staff_from_as_staff(
    tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer, capsys: pytest.CaptureFixture[str]
) -> None:
    desk = Desk(
        tmp_path, dovecot, smtp, cases={**OPEN_CASES, "allow_unauthenticated_staff": True}
    )
    ref, notification = open_case(desk)
    warnings = [line for line in capsys.readouterr().err.splitlines() if "WARNING" in line]
    assert len(warnings) == 1 and "cases.allow_unauthenticated_staff" in warnings[0]
    assert REPORTER_ADDRESS not in "".join(warnings)

    desk.deliver(stranger_as_staff(notification))
    desk.run_once()

    # What the operator accepted: without an MX to vouch, a staff From is staff.
    assert desk.case(ref)["state"] == "closed"


# ---------------------------------------------------------------- staff_auth = "dkim"


SPF_ONLY = f"{MX_ID}; dkim=none; spf=pass smtp.mailfrom={ANALYST_ADDRESS}"


def test_dkim_mode_refuses_a_staff_mail_that_only_passed_spf(
    tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer
) -> None:
    """Someone sending through a relay in the domain's SPF record (a vendor's, say) passes
    SPF for any example.nl sender; with staff_auth = "dkim" that is not enough."""
    desk = Desk(tmp_path, dovecot, smtp, cases={**SECURE_CASES, "staff_auth": "dkim"})
    ref, notification = open_case(desk)
    mark = len(smtp.received)

    desk.deliver(stranger_as_staff(notification, SPF_ONLY))
    desk.run_once()

    assert_case_untouched(desk, ref)
    sent = smtp.received[mark:]
    assert not [m for m in sent if REPORTER_ADDRESS in m.recipients]
    warnings = [m for m in sent if str(m.message["Subject"]).startswith("Warning:")]
    assert len(warnings) == 1
    assert "spf-not-accepted" in warnings[0].message.get_content()


def test_dkim_mode_still_takes_a_dkim_signed_staff_mail(
    tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer
) -> None:
    desk = Desk(tmp_path, dovecot, smtp, cases={**SECURE_CASES, "staff_auth": "dkim"})
    ref, notification = open_case(desk)
    desk.deliver(
        stranger_as_staff(notification, f"{MX_ID}; dkim=pass header.d=example.nl header.s=s1")
    )
    desk.run_once()
    assert desk.case(ref)["state"] == "closed"

