"""Staff attachments travel with a relayed reply: the reporter gets the very same bytes,
under a safe name, and the message still holds only the headers we set."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from email.message import EmailMessage

from mailtriage.inbound.mime.files import attached_files
from mailtriage.outgoing.compose import OutgoingFile, compose


def relay(files: list[OutgoingFile]) -> EmailMessage:
    raw = compose(
        from_address="security@example.nl",
        from_name="PZEM Security Team",
        to="sanne@example.test",
        subject="[PZEM-SEC-2026-0001] Reactie op je melding",
        body="Zie de bijlage voor onze analyse.",
        message_id="<relay-1@example.nl>",
        in_reply_to="<report-1@example.test>",
        auto_submitted="no",
        date=dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC),
        attachments=files,
    )
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def test_files_arrive_byte_for_byte_with_their_names() -> None:
    pdf = bytes(range(256)) * 40
    message = relay(
        [
            OutgoingFile("analyse-één.pdf", "application/pdf", pdf),
            OutgoingFile("patch.diff", "text/x-diff", b"--- a\n+++ b\n"),
        ]
    )
    assert message.get_content_type() == "multipart/mixed"
    assert message.get_body(("plain",)).get_content().strip() == "Zie de bijlage voor onze analyse."
    files = [
        (p.get_filename(), p.get_content_type(), p.get_content())
        for p in message.iter_attachments()
    ]
    assert files == [
        ("analyse-één.pdf", "application/pdf", pdf),
        ("patch.diff", "text/x-diff", "--- a\n+++ b\n"),
    ]
    assert sorted(k.lower() for k in message) == sorted(
        [
            "from",
            "to",
            "reply-to",
            "subject",
            "date",
            "message-id",
            "in-reply-to",
            "references",
            "auto-submitted",
            "mime-version",
            "content-type",
        ]
    )


def test_a_hostile_name_or_type_cannot_break_the_message() -> None:
    message = relay([OutgoingFile('x"\r\nBcc: a@example.test\r\n.exe', "text/html\r\nX: y", b"hi")])
    assert "bcc" not in {k.lower() for k in message}
    [part] = list(message.iter_attachments())
    assert part.get_content_type() == "application/octet-stream"
    assert "\n" not in part.get_filename()


def test_only_real_attachments_are_taken_from_a_staff_mail() -> None:
    staff = EmailMessage()
    staff["From"] = "analyst@example.nl"
    staff["Subject"] = "Re: [PZEM-SEC-2026-0001]"
    staff.set_content("Hierbij de fix.")
    staff.add_related(b"\x89PNG logo", maintype="image", subtype="png", cid="<logo@example.nl>")
    staff.add_attachment(b"fix", maintype="text", subtype="x-diff", filename="../../fix.diff")
    assert attached_files(staff.as_bytes()) == [("fix.diff", "text/x-diff", b"fix")]
