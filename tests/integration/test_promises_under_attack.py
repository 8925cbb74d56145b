"""Two promises an attacker broke (issue 10): staff copies that name the reporter, and one
slow recipient that holds up every reply queued after it.

Staff mailboxes outlive the purge, so a staff notification must not carry the reporter's
address or name in any field, however the report wrote them (a URL's query string encodes
them as `%40` and `+`). And a researcher's acknowledgement must not wait because someone
else's mail server answers 450 at RCPT. Both run against a real Dovecot and a real SMTP
server on loopback.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.policy
from email import message_from_bytes
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.support.desk import STAFF_NOTIFY, Desk
from tests.support.dovecot import Dovecot
from tests.support.mails import make_mail
from tests.support.smtp import Received, SmtpServer

pytestmark = pytest.mark.integration


def decoded(mail: Received) -> str:
    """Every header and text part, decoded, so no transfer encoding hides a match."""
    message = message_from_bytes(mail.raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    parts = [f"{name}: {value}" for name, value in message.items()]
    parts.extend(
        str(part.get_content()) for part in message.walk() if part.get_content_maintype() == "text"
    )
    return "\n".join(parts)


# --------------------------------------------------------------------- 2. staff copies

SANNE = "Sanne Visser <sanne.visser@example.test>"
SANNE_URL = (
    "https://portal.example.nl/wachtwoord/reset?user=sanne.visser%40example.test"
    "&name=Sanne+Visser&alias=Sanne%20Visser&mail=sanne.visser%2540example.test"
)
SANNE_FORMS = (
    "sanne.visser",
    "sanne.visser%40example.test",
    "sanne.visser%2540example.test",
    "Sanne+Visser",
    "Sanne%20Visser",
    "Visser",
    "Sanne",
)


def test_a_staff_notification_masks_the_reporter_in_every_field_and_encoding(
    tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer
) -> None:
    desk = Desk(tmp_path, dovecot, smtp)
    desk.deliver(
        make_mail(
            sender=SANNE,
            subject="Reset-link lekt gegevens: sanne.visser%40example.test",
            body=(
                "Hallo,\n\nDe reset-link bevat mijn gegevens en belandt in logs van derden:\n"
                f"{SANNE_URL}\n"
                "Gezien op 24-11-2026 om 07:15.\n\nGroet,\nSanne\n"
            ),
        )
    )
    desk.run_once()

    notices = [m for m in desk.sent_to(STAFF_NOTIFY) if "New report" in m.message["Subject"]]
    assert len(notices) == 1, [m.message["Subject"] for m in desk.sent_to(STAFF_NOTIFY)]
    text = decoded(notices[0])
    assert "portal.example.nl/wachtwoord/reset" in text, "the URL itself stays for staff"
    for mail_text in (text, notices[0].raw.decode("ascii", "replace")):
        found = [form for form in SANNE_FORMS if form.lower() in mail_text.lower()]
        assert found == [], f"the staff copy names the reporter: {found}"


# --------------------------------------------------------------------- 3. one slow recipient

REPORT = (
    "Hallo,\n\nOp https://portal.example.nl/api/v1/meters/4411 kan ik zonder inloggen de "
    "meterstanden van andere klanten opvragen. Gezien op 24-11-2026 om 07:05.\n\nGroet\n"
)


def outbox(desk: Desk) -> list[tuple[str, str, str]]:
    with contextlib.closing(desk.db()) as db:
        return list(db.execute("select kind, recipient, status from outbox order by id"))


def test_recipients_answering_450_delay_only_their_own_mail(
    tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer
) -> None:
    desk = Desk(tmp_path, dovecot, smtp)
    slow = [f"traag{i}@greylist.example.test" for i in range(5)]
    smtp.defer.update(slow)
    for i, address in enumerate(slow):
        desk.deliver(make_mail(sender=f"Melder {i} <{address}>", subject=f"Lek {i}", body=REPORT))
    researcher = "Ruben Jansen <ruben.jansen@example.nl>"
    desk.deliver(make_mail(sender=researcher, subject="IDOR in meter-API", body=REPORT))

    desk.run_once()

    assert len(desk.sent_to("ruben.jansen@example.nl")) == 1, "acknowledged in the first pass"
    new_cases = [m for m in desk.sent_to(STAFF_NOTIFY) if "New report" in m.message["Subject"]]
    assert len(new_cases) == 6, "every staff notification went out in the same pass"
    rows = outbox(desk)
    assert sorted(r for _, r, s in rows if s == "pending") == sorted(slow), rows
    assert all(desk.sent_to(address) == [] for address in slow)

    # Once the slow servers take mail again, the deferred rows go at their next attempt.
    smtp.defer.clear()
    desk.clock.advance(dt.timedelta(seconds=2))
    desk.run_once()
    assert all(len(desk.sent_to(address)) == 1 for address in slow)
    assert {s for _, _, s in outbox(desk)} == {"sent"}


def test_a_421_ends_the_round_and_the_rest_waits_for_the_next_attempt(
    tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer
) -> None:
    """421 closes the connection whatever recipient it came with: the server is going away,
    and trying every further row against it would only count failed attempts."""
    desk = Desk(tmp_path, dovecot, smtp)
    first = "eerste@example.test"
    smtp.shut_on.add(first)
    desk.deliver(make_mail(sender=f"Eerste Melder <{first}>", body=REPORT))
    desk.deliver(make_mail(sender="Tweede Melder <tweede@example.test>", body=REPORT))

    desk.run_once()

    assert smtp.received == [], "nothing after the 421 in that round"
    assert {s for _, _, s in outbox(desk)} == {"pending"}
    smtp.shut_on.clear()
    desk.clock.advance(dt.timedelta(seconds=2))
    desk.run_once()
    assert len(desk.sent_to(first)) == 1 and len(desk.sent_to("tweede@example.test")) == 1
