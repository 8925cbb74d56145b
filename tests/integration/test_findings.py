"""Everything an analyst records about a finding, by mail (issue 16): duplicates, CVSS, CWE,
CVE, embargo, the attachments and the case as staff need it.

Through the whole daemon as in `test_staff.py`: reports and staff replies go into a real
Dovecot over IMAP (staff mail with the Authentication-Results header our MX would add), one
`mailtriage run --once` per step, and what a real SMTP server on loopback received and what
`mailtriage case REF --json` says are read back. Refusals are part of each test: a command
that is refused changes nothing and the confirmation says why.
"""

from __future__ import annotations

import datetime as dt
import random
import subprocess
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest

from mailtriage.config import load_config
from mailtriage.service.wiring import build
from tests.integration.test_purge import desk_files, traces_in_files
from tests.integration.test_staff import (
    ANALYST,
    BAS,
    EMMA,
    LEAD,
    PIETER,
    TAG,
    Reported,
    confirmation,
    credits,
    report,
    send,
    squeeze,
    staff_says,
    subject,
    text,
    to,
)
from tests.support.clock import local
from tests.support.desk import STAFF_NOTIFY, Desk
from tests.support.dovecot import Dovecot
from tests.support.mails import make_mail
from tests.support.smtp import Received, SmtpServer

pytestmark = pytest.mark.integration

VECTOR = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"


def address(person: str) -> str:
    return person.split("<", 1)[1].rstrip(">")


@pytest.fixture
def desk(tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer) -> Desk:
    return Desk(
        tmp_path,
        dovecot,
        smtp,
        cases={
            "staff": [address(ANALYST), address(LEAD)],
            "staff_notify": STAFF_NOTIFY,
            "trusted_authserv_ids": ["mx.example.nl"],
        },
    )


def refused(mails: list, ref: str) -> str:
    answer, said = confirmation(mails, ref)
    assert "nothing changed" in subject(answer), subject(answer)
    return squeeze(said)


def test_a_duplicate_pair_is_linked_scored_told_of_the_fix_and_outlives_the_purge(
    desk: Desk,
) -> None:
    original = report(desk, PIETER)  # Dutch
    second = report(desk, EMMA, "en")

    # Refusals first: an unknown case, the case itself, a vector and ids that do not parse.
    said = refused(
        staff_says(desk, second.notification, "#duplicate PZEM-SEC-2026-0999"), second.ref
    )
    assert "there is no case PZEM-SEC-2026-0999" in said
    said = refused(staff_says(desk, second.notification, f"#duplicate {second.ref}"), second.ref)
    assert "is this case itself" in said
    said = refused(
        staff_says(desk, original.notification, "#severity CVSS:3.1/AV:N/AC:L\n#cwe XSS"),
        original.ref,
    )
    assert "not a valid CVSS vector" in said and "like CWE-79" in said
    said = refused(staff_says(desk, original.notification, "#cve CVE-26-1"), original.ref)
    assert "like CVE-2026-12345" in said
    assert desk.case(second.ref)["state"] == "acknowledged"
    assert desk.case(original.ref)["severity"] is None

    # The finding scored and named on the original.
    mails = staff_says(
        desk,
        original.notification,
        f"#severity {VECTOR.lower()}\n#cwe cwe-639\n#cve CVE-2026-12345\n#credit P. Jansen",
    )
    _, said = confirmation(mails, original.ref)
    assert f"severity: critical (CVSS 3.1 base score 9.8, Critical: {VECTOR})" in said
    assert "weakness: CWE-639" in said and "CVE: CVE-2026-12345" in said
    case = desk.case(original.ref)
    assert (case["severity"], case["cvss_vector"], case["cvss_score"], case["cvss_rating"]) == (
        "critical",
        VECTOR,
        9.8,
        "Critical",
    )
    assert (case["cwe"], case["cve"]) == ("CWE-639", "CVE-2026-12345")

    # The second report duplicates it: closed, linked both ways, its reporter told in English.
    mails = staff_says(
        desk, second.notification, f"#duplicate {original.ref.lower()}\n#credit Emma C."
    )
    _, said = confirmation(mails, second.ref)
    assert f"closed as a duplicate of {original.ref}" in said
    (notice,) = to(mails, second.reporter)
    assert "already known to us" in subject(notice) and f"[{second.ref}]" in subject(notice)
    assert "We will let you know when the vulnerability has been resolved" in squeeze(text(notice))
    assert original.ref not in text(notice)  # an internal number, of someone else's report
    assert to(mails, original.reporter) == []
    dup = desk.case(second.ref)
    assert (dup["state"], dup["close_reason"], dup["duplicate_of"]) == (
        "closed",
        "duplicate",
        original.ref,
    )
    assert desk.case(original.ref)["duplicates"] == [second.ref]
    code, shown = desk.cli("case", original.ref)
    assert code == 0 and f"duplicates:          {second.ref}" in shown
    # One finding, every consenting finder: the duplicate's finder under the original.
    assert credits(desk) == [
        {"name": "P. Jansen", "ref": original.ref},
        {"name": "Emma C.", "ref": original.ref},
    ]

    # The case as staff need it, to the one who asked: links, score, notes; nobody else.
    mails = staff_says(
        desk, original.notification, "#show\n#note\nHosting gebeld, fix staat voor dinsdag."
    )
    views = [m for m in mails if "Case view" in subject(m)]
    assert [m.recipients for m in views] == [(address(ANALYST),)]
    view = squeeze(text(views[0]))
    assert f"Duplicates: {second.ref}" in view and f"CVSS: {VECTOR} (base score 9.8" in view
    assert "CWE: CWE-639" in view and "Credit: P. Jansen" in view
    assert "note message=" in view and "Hosting gebeld, fix staat voor dinsdag." in view
    assert "Pieter" not in view and address(PIETER) not in view

    # The original is resolved: the duplicate's reporter hears of it (in English); then
    # the original's own reporter gets the closing, and nobody is told twice.
    mails = staff_says(desk, original.notification, "#status resolved")
    _, said = confirmation(mails, original.ref)
    assert "the reporter of 1 duplicate case was sent the closing message" in said
    (closing_en,) = to(mails, second.reporter)
    assert to(mails, original.reporter) == []
    assert "the vulnerability has been fixed" in squeeze(text(closing_en))
    assert "Emma C." in text(closing_en)  # her own consent, on her own case
    mails = staff_says(desk, original.notification, "#close fixed")
    (closing_nl,) = to(mails, original.reporter)
    assert "de kwetsbaarheid is verholpen" in squeeze(text(closing_nl))
    assert to(mails, second.reporter) == []
    kinds = [e["kind"] for e in desk.case(second.ref)["timeline"]]
    assert kinds.count("duplicate-resolved") == 1

    # A third finder, after the fix: linked to the fixed case, told at once that it is fixed.
    third = report(desk, BAS)
    mails = staff_says(desk, third.notification, f"#duplicate {second.ref}")
    _, said = confirmation(mails, third.ref)
    assert f"closed as a duplicate of {original.ref} (via {second.ref})" in said
    (closing,) = to(mails, third.reporter)
    assert "de kwetsbaarheid is verholpen" in squeeze(text(closing))
    assert desk.case(original.ref)["duplicates"] == [second.ref, third.ref]

    # After the purge of both: the finding stays, the finders' data does not.
    desk.clock.set(desk.clock.now + dt.timedelta(days=91))
    app = build(load_config(desk.config), desk.clock)
    try:
        purged = app.purger.run()
    finally:
        app.close()
    assert sorted(purged.cases) == sorted([original.ref, second.ref, third.ref])
    case, dup = desk.case(original.ref), desk.case(second.ref)
    assert case["purged_at"] and dup["purged_at"]
    assert case["reporter"] is None and dup["reporter"] is None
    assert (case["cvss_vector"], case["cvss_score"], case["cwe"], case["cve"]) == (
        VECTOR,
        9.8,
        "CWE-639",
        "CVE-2026-12345",
    )
    assert case["duplicates"] == [second.ref, third.ref] and dup["duplicate_of"] == original.ref
    assert credits(desk) == [
        {"name": "P. Jansen", "ref": original.ref},
        {"name": "Emma C.", "ref": original.ref},
    ]
    traces = [address(p) for p in (PIETER, EMMA, BAS)]
    traces += ["Pieter Jansen", "Emma Clarke", "Bas Hendriks", "98765432"]
    assert traces_in_files(desk_files(desk), traces) == []

    # A CVE id often comes after publication: still taken on the purged case, and #show too.
    mails = staff_says(desk, original.notification, "#cve CVE-2027-0042\n#show")
    (view_mail,) = [m for m in mails if "Case view" in subject(m)]
    view = squeeze(text(view_mail))
    assert "CVE: CVE-2027-0042" in view and "Subject: (purged)" in view
    assert f"Duplicates: {second.ref}, {third.ref}" in view


def test_an_embargo_is_told_to_the_reporter_shown_lifted_and_reminded_in_working_days(
    desk: Desk,
) -> None:
    reported = report(desk, PIETER)  # Tuesday 24 November 2026, 07:30

    said = refused(staff_says(desk, reported.notification, "#embargo 2026-11-20"), reported.ref)
    assert "that day is over" in said
    said = refused(staff_says(desk, reported.notification, "#embargo 31-12-2026"), reported.ref)
    assert "YYYY-MM-DD" in said
    said = refused(staff_says(desk, reported.notification, "#embargo none"), reported.ref)
    assert "no embargo to lift" in said
    assert desk.sent_to(reported.reporter) == [reported.ack]

    mails = staff_says(desk, reported.notification, "#embargo 2026-12-31")
    _, said = confirmation(mails, reported.ref)
    assert "embargo until Thursday 31 December 2026 23:59 (Europe/Amsterdam)" in said
    (notice,) = to(mails, reported.reporter)
    assert "Afgesproken publicatiedatum" in subject(notice)
    assert "donderdag 31 december 2026 23:59 (Europe/Amsterdam)" in text(notice)
    assert desk.case(reported.ref)["embargo_until"] == "2026-12-31T23:59:59+01:00"
    code, table = desk.cli("cases")
    assert code == 0 and "EMBARGO" in table and "2026-12-31" in table

    mails = staff_says(desk, reported.notification, "#embargo none")
    (lifted,) = to(mails, reported.reporter)
    assert "Publicatiedatum vervallen" in subject(lifted)
    assert desk.case(reported.ref)["embargo_until"] is None
    staff_says(desk, reported.notification, "#embargo 2026-12-31")

    def reminders_at(moment: dt.datetime) -> list[str]:
        mark = len(desk.smtp.received)
        desk.clock.set(moment)
        desk.run_once()
        return [
            subject(m)
            for m in to(desk.smtp.received[mark:], STAFF_NOTIFY)
            if "Embargo ends" in subject(m)
        ]

    # 10 working days before 31 December, Christmas and Boxing Day not counted: the 16th.
    assert reminders_at(local(2026, 12, 15, 9)) == []
    mark = len(desk.smtp.received)
    assert reminders_at(local(2026, 12, 16, 9)) == [
        f"[{reported.ref}] Embargo ends in 10 working days: "
        "Thursday 31 December 2026 23:59 (Europe/Amsterdam)"
    ]
    (digest,) = [m for m in to(desk.smtp.received[mark:], STAFF_NOTIFY) if "digest" in subject(m)]
    assert "until Thursday 31 December 2026 23:59 (Europe/Amsterdam)" in text(digest)
    assert reminders_at(local(2026, 12, 16, 15)) == []  # once
    assert reminders_at(local(2026, 12, 28, 9)) == []
    assert reminders_at(local(2026, 12, 29, 9)) == [
        f"[{reported.ref}] Embargo ends in 2 working days: "
        "Thursday 31 December 2026 23:59 (Europe/Amsterdam)"
    ]
    assert reminders_at(local(2027, 1, 4, 9)) == []  # over


# --------------------------------------------------------------------------- the evidence

POC = b"import requests\n# IDOR: any order id answers\nfor i in range(1000, 1010):\n    print(requests.get(f'https://portal.example.nl/api/orders/{i}').text)\n"
TRACE = random.Random(16).randbytes(150_000)  # incompressible
SHOT = random.Random(61).randbytes(150_000)
FILES = {
    "poc_idor.py": POC,
    "trace.bin": TRACE,
    "screenshot.png": SHOT,
    "report.txt": b"my notes\n",
}
PHRASE = "answers for every order id"


def report_with_files(desk: Desk, person: str) -> Reported:
    message = EmailMessage()
    message["From"] = person
    message["To"] = "security@example.nl"
    message["Subject"] = "IDOR in the order API"
    message["Date"] = format_datetime(desk.clock.now)
    message["Message-ID"] = make_msgid("report", domain="example.test")
    message.set_content(
        f"Hello,\n\nhttps://portal.example.nl/api/orders/1001 {PHRASE} on 23 November 2026 "
        f"at 14:05. Proof of concept attached.\n\nRegards,\n{person.split('<')[0].strip()}\n"
        "+31 6 98765432\n"
    )
    for name, data in FILES.items():
        message.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    mails = send(desk, message.as_bytes())
    (ack,) = to(mails, address(person))
    ref = TAG.search(subject(ack))
    assert ref
    (notice,) = [m for m in to(mails, STAFF_NOTIFY) if "New report" in subject(m)]
    return Reported(ref.group(1), address(person), str(message["Message-ID"]), ack, notice)


def zips_in(mail: Received) -> list[tuple[str, bytes]]:
    return [
        (part.get_filename() or "", part.get_payload(decode=True))
        for part in mail.message.walk()
        if part.get_content_type() == "application/zip"
    ]


def seven_zip(archive: bytes, folder: Path, password: str) -> subprocess.CompletedProcess[bytes]:
    folder.mkdir()
    path = folder / "in.zip"
    path.write_bytes(archive)
    return subprocess.run(
        ["7z", "x", f"-p{password}", f"-o{folder / 'out'}", "-y", str(path)],
        capture_output=True,
        check=False,
    )


def test_attachments_reach_the_asking_staff_member_only_in_an_encrypted_zip_and_export(
    tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer
) -> None:
    (tmp_path / "desk").mkdir()
    desk = Desk(
        tmp_path / "desk",
        dovecot,
        smtp,
        cases={
            "staff": [address(ANALYST), address(LEAD)],
            "staff_notify": STAFF_NOTIFY,
            "trusted_authserv_ids": ["mx.example.nl"],
            "attachment_mail_max_bytes": 300_000,
        },
    )
    reported = report_with_files(desk, EMMA)

    # The reporter writing the command on her own case gets nothing of the sort.
    mails = send(
        desk,
        make_mail(
            sender=EMMA,
            subject=f"Re: [{reported.ref}] We have received your report",
            body="#attachments\n\nCould you send me the files back?",
        ),
    )
    assert [zips_in(m) for m in mails] == [[] for _ in mails]

    mails = staff_says(desk, reported.notification, "#attachments", language="en")
    _, said = confirmation([m for m in mails if "Done:" in subject(m)], reported.ref)
    assert "4 attachments and report.txt sent to you only, AES-encrypted ZIP in 2 mails" in said
    carrying = [m for m in mails if zips_in(m)]
    assert all(m.recipients == (address(ANALYST),) for m in carrying), [
        m.recipients for m in carrying
    ]
    assert to(mails, reported.reporter) == [] and to(mails, STAFF_NOTIFY) == []
    archives = [z for m in carrying for z in zips_in(m)]
    assert [name for name, _ in archives] == [
        f"{reported.ref}-attachments-1-of-2.zip",
        f"{reported.ref}-attachments-2-of-2.zip",
    ]
    assert all(len(m.raw) < 300_000 for m in carrying)

    unpacked: dict[str, bytes] = {}
    for number, (_, archive) in enumerate(archives):
        assert seven_zip(archive, tmp_path / f"wrong{number}", "guess").returncode != 0
        done = seven_zip(archive, tmp_path / f"zip{number}", "infected")
        assert done.returncode == 0, done.stderr
        for path in (tmp_path / f"zip{number}" / "out").iterdir():
            unpacked[path.name] = path.read_bytes()
    expected = {**FILES, "report (2).txt": FILES["report.txt"]}
    del expected["report.txt"]
    report_txt = unpacked.pop("report.txt").decode()
    assert unpacked == expected  # every byte, and names made unique beside report.txt
    assert PHRASE in report_txt
    for trace in (address(EMMA), "Emma Clarke", "98765432"):
        assert trace not in report_txt

    # The same on the server, unencrypted, with every message's text.
    export = tmp_path / "export"
    code, out = desk.cli("case", reported.ref, "--export", str(export))
    assert code == 0, out
    files = {p.name: p.read_bytes() for p in export.iterdir() if p.is_file()}
    assert files == {**expected, "report.txt": report_txt.encode()}
    texts = sorted(p.name for p in (export / "messages").iterdir())
    assert texts == ["001-reporter.txt", "002-reporter.txt", "003-staff.txt"]
    assert PHRASE in (export / "messages" / "001-reporter.txt").read_text()
    assert oct(export.stat().st_mode & 0o777) == oct(0o700)
    code, _ = desk.cli("case", reported.ref, "--export", str(export))
    assert code != 0  # never into (or over) an existing folder
