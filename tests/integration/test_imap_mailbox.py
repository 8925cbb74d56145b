"""ImapMailbox against a real Dovecot: the IMAP facts intake relies on, checked on a server.

Each test gets its own Dovecot (tests/support/dovecot.py), delivers mail with APPEND, drives
ImapMailbox and then looks into the folders with a separate IMAP session. No mocks: UID MOVE,
UIDPLUS expunge, UIDVALIDITY, STARTTLS and certificate checks are what a mock gets wrong.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from mailtriage.mailbox.base import MailboxError, MessageKey
from mailtriage.mailbox.imap import ImapMailbox, fetch_groups, uid_set
from tests.support.dovecot import Dovecot, free_port

pytestmark = pytest.mark.integration

MakeMailbox = Callable[..., ImapMailbox]


def mail(n: int, *, sender: str = "Jan Jansen <jan.jansen@example.nl>", body: str = "") -> bytes:
    """A small report with CRLF line endings, as a message on the wire has."""
    lines = [
        f"From: {sender}",
        "To: security@example.test",
        f"Subject: Kwetsbaarheid nummer {n}",
        f"Message-ID: <report-{n}@example.nl>",
        "Date: Fri, 27 Nov 2026 14:00:00 +0100",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "",
        body or f"Beste team,\r\nIk vond een lek op https://portal.example.nl/{n}.\r\nGroet, Jan",
        "",
    ]
    return "\r\n".join(lines).encode()


def deliver(server: Dovecot, messages: list[bytes], folder: str = "INBOX") -> None:
    with server.client() as client:
        if not client.folder_exists(folder):
            client.create_folder(folder)
        for raw in messages:
            client.append(folder, raw)


def folder_uids(server: Dovecot, folder: str) -> list[int]:
    with server.client() as client:
        if not client.folder_exists(folder):
            return []
        client.select_folder(folder, readonly=True)
        return sorted(client.search("ALL"))


def folder_bodies(server: Dovecot, folder: str) -> list[bytes]:
    with server.client() as client:
        client.select_folder(folder, readonly=True)
        fetched = client.fetch(client.search("ALL"), ["BODY.PEEK[]"])
        return [fetched[uid][b"BODY[]"] for uid in sorted(fetched)]


@pytest.fixture
def make_mailbox() -> Iterator[MakeMailbox]:
    """Builds ImapMailbox instances and closes all of them after the test."""
    opened: list[ImapMailbox] = []

    def make(server: Dovecot, use_move: bool | None = None, **config: Any) -> ImapMailbox:
        options = {k: config.pop(k) for k in ("batch_size", "large_message_bytes") if k in config}
        mailbox = ImapMailbox(server.mailbox_config(**config), use_move=use_move, **options)
        opened.append(mailbox)
        return mailbox

    yield make
    for mailbox in opened:
        mailbox.close()


# -- reading ------------------------------------------------------------------------------


def test_fetch_new_yields_every_message_unchanged_by_uid_and_sets_no_flag(
    dovecot: Dovecot, make_mailbox: MakeMailbox
) -> None:
    sent = [mail(1), mail(2), mail(3)]
    deliver(dovecot, sent)
    mailbox = make_mailbox(dovecot)

    fetched = list(mailbox.fetch_new())

    assert [m.raw for m in fetched] == sent
    with dovecot.client() as client:
        status = client.select_folder("INBOX", readonly=True)
        validity = status[b"UIDVALIDITY"]
        uids = sorted(client.search("ALL"))
        flags = client.get_flags(uids)
    assert [m.key for m in fetched] == [
        MessageKey(mailbox.source, validity, str(uid)) for uid in uids
    ]
    assert all(b"\\Seen" not in f for f in flags.values()), "fetching must use BODY.PEEK"
    # Reading twice yields the same keys: nothing was consumed.
    assert [m.key for m in mailbox.fetch_new()] == [m.key for m in fetched]


def test_dovecot_hands_back_bare_lf_lines_as_crlf(
    dovecot: Dovecot, make_mailbox: MakeMailbox
) -> None:
    """What the store receives for a message that arrived with Unix line endings.

    imaplib turns every line ending into CRLF before APPEND, so this delivers the bytes by
    hand. Dovecot's Maildir keeps LF on disk and serves CRLF; a lone CR is left alone.
    """
    raw = b"From: jan.jansen@example.nl\nSubject: lf\n\nregel een\nregel twee\rnog\n"
    with socket.create_connection((dovecot.host, dovecot.port), timeout=5) as sock:
        reader = sock.makefile("rb")
        reader.readline()
        sock.sendall(f"a LOGIN {dovecot.user} {dovecot.password}\r\n".encode())
        assert reader.readline().startswith(b"a OK")
        sock.sendall(b"b APPEND INBOX {%d+}\r\n%s\r\n" % (len(raw), raw))
        assert reader.readline().startswith(b"b OK")

    (fetched,) = list(make_mailbox(dovecot).fetch_new())

    assert fetched.raw == raw.replace(b"\n", b"\r\n")


def test_small_batches_and_large_messages_keep_uid_order(
    dovecot: Dovecot, make_mailbox: MakeMailbox
) -> None:
    big = mail(3, body="x" * 4000)
    sent = [mail(1), mail(2), big, mail(4), big, mail(6), mail(7)]
    deliver(dovecot, sent)
    mailbox = make_mailbox(dovecot, batch_size=2, large_message_bytes=2000)

    fetched = list(mailbox.fetch_new())

    assert [m.raw for m in fetched] == sent
    uids = [int(m.key.uid) for m in fetched]
    assert uids == sorted(uids)


def test_empty_folder_yields_nothing(dovecot: Dovecot, make_mailbox: MakeMailbox) -> None:
    assert list(make_mailbox(dovecot).fetch_new()) == []


# -- filing -------------------------------------------------------------------------------


@pytest.mark.parametrize("use_move", [None, False], ids=["uid-move", "copy-expunge"])
def test_file_processed_and_quarantined_move_into_created_folders(
    dovecot: Dovecot, make_mailbox: MakeMailbox, use_move: bool | None
) -> None:
    sent = [mail(n) for n in range(1, 7)]
    deliver(dovecot, sent)
    mailbox = make_mailbox(dovecot, use_move=use_move)
    keys = [m.key for m in mailbox.fetch_new()]

    mailbox.file_processed(keys[:3])
    mailbox.file_quarantined(keys[3:])

    assert folder_uids(dovecot, "INBOX") == []
    assert folder_bodies(dovecot, "Processed") == sent[:3]
    assert folder_bodies(dovecot, "Quarantine") == sent[3:]
    # Filing again (a retry after a crash) is harmless: those UIDs are gone from INBOX.
    mailbox.file_processed(keys[:3])
    assert len(folder_uids(dovecot, "Processed")) == 3


@pytest.mark.parametrize("use_move", [None, False], ids=["uid-move", "copy-expunge"])
def test_filing_touches_only_the_given_uids(
    dovecot: Dovecot, make_mailbox: MakeMailbox, use_move: bool | None
) -> None:
    """Above all for COPY+EXPUNGE: a message someone else marked \\Deleted must stay."""
    deliver(dovecot, [mail(n) for n in range(1, 9)])
    mailbox = make_mailbox(dovecot, use_move=use_move)
    keys = [m.key for m in mailbox.fetch_new()]
    with dovecot.client() as client:
        client.select_folder("INBOX")
        client.add_flags([int(keys[7].uid)], [b"\\Deleted"])

    chosen = [keys[0], keys[2], keys[3], keys[4], keys[6]]  # scattered: "1,3:5,7"
    mailbox.file_processed(chosen)

    assert folder_uids(dovecot, "INBOX") == [int(keys[i].uid) for i in (1, 5, 7)]
    assert len(folder_uids(dovecot, "Processed")) == 5


def test_hundreds_of_messages_move_in_few_commands(
    dovecot: Dovecot, make_mailbox: MakeMailbox
) -> None:
    with dovecot.client() as client:
        client.multiappend("INBOX", [mail(n) for n in range(1, 1201)])
    mailbox = make_mailbox(dovecot, use_move=False)
    keys = [m.key for m in mailbox.fetch_new()]
    assert len(keys) == 1200

    mailbox.file_processed(keys[::2])
    mailbox.file_quarantined(keys[1::2])

    assert folder_uids(dovecot, "INBOX") == []
    assert len(folder_uids(dovecot, "Processed")) == 600
    assert len(folder_uids(dovecot, "Quarantine")) == 600


def test_a_server_without_move_uidplus_or_idle_still_gets_mail_filed(
    make_mailbox: MakeMailbox, caplog: pytest.LogCaptureFixture
) -> None:
    """Auto-detection: no MOVE means COPY+\\Deleted, no UIDPLUS means a plain EXPUNGE."""
    with Dovecot(imap_capability="IMAP4rev1 SASL-IR ID ENABLE LITERAL+ NAMESPACE") as old:
        deliver(old, [mail(1), mail(2), mail(3)])
        caplog.set_level(logging.DEBUG, logger="mailtriage")
        mailbox = make_mailbox(old)
        assert "MOVE" not in mailbox.capabilities()
        assert not mailbox.supports_idle()

        mailbox.file_processed([m.key for m in mailbox.fetch_new()])

        assert folder_uids(old, "INBOX") == []
        assert len(folder_uids(old, "Processed")) == 3
        assert "server lacks UIDPLUS" in caplog.text
        with pytest.raises(MailboxError, match="does not support IDLE"):
            mailbox.idle_wait(1)
        mailbox.close()


def test_keys_of_another_uidvalidity_or_source_are_ignored(
    dovecot: Dovecot, make_mailbox: MakeMailbox
) -> None:
    deliver(dovecot, [mail(1), mail(2)])
    mailbox = make_mailbox(dovecot)
    keys = [m.key for m in mailbox.fetch_new()]
    stale = [MessageKey(k.source, k.validity + 1, k.uid) for k in keys]
    foreign = [
        MessageKey("imap://other%40example.test@127.0.0.1:143/INBOX", k.validity, k.uid)
        for k in keys
    ]

    mailbox.file_processed(stale + foreign)

    assert len(folder_uids(dovecot, "INBOX")) == 2
    assert folder_uids(dovecot, "Processed") == []


def test_a_recreated_folder_gets_a_new_uidvalidity(
    dovecot: Dovecot, make_mailbox: MakeMailbox
) -> None:
    # Dovecot refuses to delete INBOX, so the watched folder here is "security".
    deliver(dovecot, [mail(1), mail(2)], folder="security")
    mailbox = make_mailbox(dovecot, folder="security")
    old = [m.key for m in mailbox.fetch_new()]
    mailbox.close()
    with dovecot.client() as client:
        client.delete_folder("security")
        client.create_folder("security")
    deliver(dovecot, [mail(3)], folder="security")

    new = [m.key for m in mailbox.fetch_new()]

    assert len(new) == 1
    assert new[0].validity != old[0].validity
    assert new[0].uid == "1", "UIDs start again in the new folder; only validity tells them apart"
    mailbox.file_processed(old)  # the old keys name nothing now
    assert folder_uids(dovecot, "security") == [1]
    mailbox.file_processed(new)
    assert folder_uids(dovecot, "security") == []


def test_source_names_user_host_port_and_folder(dovecot: Dovecot) -> None:
    mailbox = ImapMailbox(dovecot.mailbox_config(folder="Security Reports"))
    assert mailbox.source == (
        f"imap://security%40example.test@127.0.0.1:{dovecot.port}/Security%20Reports"
    )


def test_uid_set_forms_ranges_only_of_consecutive_uids() -> None:
    assert uid_set([9, 1, 2, 3, 7, 10, 3]) == "1:3,7,9:10"
    assert uid_set([5]) == "5"


def test_fetch_groups_bound_the_bytes_of_one_fetch() -> None:
    sizes = {1: 10, 2: 10, 3: 500, 4: 10, 5: 40, 6: 60, 7: 10}
    groups = list(fetch_groups([1, 2, 3, 4, 5, 6, 7], sizes, max_bytes=100))
    assert groups == [[1, 2], [3], [4, 5], [6, 7]]


# -- connection and TLS ------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["ssl", "starttls"])
def test_tls_modes_connect_and_fetch_with_the_right_ca(
    dovecot_tls: Dovecot, make_mailbox: MakeMailbox, mode: str
) -> None:
    deliver(dovecot_tls, [mail(1)])
    port = dovecot_tls.tls_port if mode == "ssl" else dovecot_tls.port
    mailbox = make_mailbox(dovecot_tls, tls=mode, port=port, ca_file=dovecot_tls.ca_file)

    assert [m.raw for m in mailbox.fetch_new()] == [mail(1)]


@pytest.mark.parametrize("mode", ["ssl", "starttls"])
def test_tls_modes_refuse_a_certificate_the_system_does_not_trust(
    dovecot_tls: Dovecot, make_mailbox: MakeMailbox, mode: str
) -> None:
    port = dovecot_tls.tls_port if mode == "ssl" else dovecot_tls.port
    mailbox = make_mailbox(dovecot_tls, tls=mode, port=port, ca_file=None)

    with pytest.raises(MailboxError, match="certificate not trusted"):
        mailbox.connect()
    assert not mailbox.connected


def test_host_name_is_checked_against_the_certificate(
    dovecot_tls: Dovecot, make_mailbox: MakeMailbox
) -> None:
    """The test certificate names localhost and 127.0.0.1; "127.1" reaches the same server
    under a name the certificate does not carry."""
    mailbox = make_mailbox(
        dovecot_tls,
        host="127.1",
        tls="ssl",
        port=dovecot_tls.tls_port,
        ca_file=dovecot_tls.ca_file,
    )
    with pytest.raises(MailboxError, match="certificate not trusted"):
        mailbox.connect()


def test_starttls_is_required_when_configured(dovecot: Dovecot, make_mailbox: MakeMailbox) -> None:
    mailbox = make_mailbox(dovecot, tls="starttls")  # this server offers no STARTTLS

    with pytest.raises(MailboxError, match="does not offer STARTTLS"):
        mailbox.connect()


def test_wrong_password_is_a_mailbox_error_without_the_password(
    dovecot: Dovecot, make_mailbox: MakeMailbox
) -> None:
    mailbox = make_mailbox(dovecot, password="Not-The-Password-42")

    with pytest.raises(MailboxError, match=r"login failed for user security@example\.test") as err:
        list(mailbox.fetch_new())
    assert "Not-The-Password-42" not in str(err.value)
    assert "\n" not in str(err.value)


def test_unreachable_server_fails_fast(make_mailbox: MakeMailbox, dovecot: Dovecot) -> None:
    mailbox = make_mailbox(dovecot, port=free_port(), timeout_seconds=5)
    started = time.monotonic()

    with pytest.raises(MailboxError, match="cannot connect"):
        mailbox.connect()
    assert time.monotonic() - started < 2


def test_survives_a_server_outage(dovecot: Dovecot, make_mailbox: MakeMailbox) -> None:
    deliver(dovecot, [mail(1)])
    mailbox = make_mailbox(dovecot)
    keys = [m.key for m in mailbox.fetch_new()]

    dovecot.stop()
    with pytest.raises(MailboxError):
        list(mailbox.fetch_new())
    with pytest.raises(MailboxError):
        mailbox.file_processed(keys)
    mailbox.close()  # a dead connection closes without complaint

    dovecot.start()
    assert [m.key for m in mailbox.fetch_new()] == keys
    mailbox.file_processed(keys)
    assert len(folder_uids(dovecot, "Processed")) == 1


def test_logs_carry_no_addresses_or_message_text(
    dovecot: Dovecot, make_mailbox: MakeMailbox, caplog: pytest.LogCaptureFixture
) -> None:
    deliver(dovecot, [mail(1), mail(2)])
    caplog.set_level(logging.DEBUG)
    mailbox = make_mailbox(dovecot, use_move=False)

    mailbox.file_quarantined([m.key for m in mailbox.fetch_new()])

    assert caplog.records, "the adapter should say what it did"
    for forbidden in ("jan.jansen", "Kwetsbaarheid", "portal.example.nl"):
        assert forbidden not in caplog.text


# -- waiting for mail --------------------------------------------------------------------


def test_idle_wait_times_out_quietly(dovecot: Dovecot, make_mailbox: MakeMailbox) -> None:
    mailbox = make_mailbox(dovecot)
    assert mailbox.supports_idle()
    list(mailbox.fetch_new())

    started = time.monotonic()
    assert mailbox.idle_wait(0.5) is False
    assert 0.4 < time.monotonic() - started < 3


@pytest.mark.timed_waits  # IDLE wait: stalls under libfaketime (see pyproject.toml)
def test_idle_wait_wakes_up_for_new_mail(dovecot: Dovecot, make_mailbox: MakeMailbox) -> None:
    mailbox = make_mailbox(dovecot)
    list(mailbox.fetch_new())
    delivery = threading.Timer(0.3, deliver, args=(dovecot, [mail(1)]))

    started = time.monotonic()
    delivery.start()
    try:
        assert mailbox.idle_wait(10) is True
    finally:
        delivery.join()
    assert time.monotonic() - started < 5
    assert len(list(mailbox.fetch_new())) == 1


@pytest.mark.timed_waits  # IDLE wait: stalls under libfaketime (see pyproject.toml)
def test_idle_wait_reports_mail_that_came_before_idle_began(
    dovecot: Dovecot, make_mailbox: MakeMailbox
) -> None:
    mailbox = make_mailbox(dovecot)
    list(mailbox.fetch_new())
    deliver(dovecot, [mail(1)])

    started = time.monotonic()
    assert mailbox.idle_wait(10) is True
    assert time.monotonic() - started < 2
