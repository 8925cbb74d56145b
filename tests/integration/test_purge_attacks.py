"""The erasure promise under attack (issue 10): mail that never reached its case, and a reader
that keeps SQLite from truncating its WAL.

Both attacks left the reporter's address on disk after a purge that said it was done. The
tests replay them against a real Dovecot, a real SMTP server and the SQLite files themselves,
and grep every byte the desk keeps (store, WAL, every mailbox folder) for her traces.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.test_purge import (
    PHONE,
    PHRASE,
    SANNE,
    SANNE_ADDRESS,
    SANNE_TRACES,
    STAFF_CASES,
    Operator,
    desk_files,
    mail_files,
    purge_at,
    ref_of,
    report,
    staff_mail,
    store_files,
    traces_in_files,
)
from tests.support.desk import STAFF_NOTIFY, Desk
from tests.support.dovecot import Dovecot
from tests.support.mails import make_mail
from tests.support.postgres import sqlite_only
from tests.support.smtp import SmtpServer

pytestmark = pytest.mark.integration

SIZE_LIMIT = 8192
# Enough lines to put a mail over SIZE_LIMIT: such a mail is quarantined and never parsed.
FILLER = "".join(f"regel {i:04d} van de logging, niets bijzonders\n" for i in range(300))
KEES = "Kees Smit <kees.smit@example.test>"
KEES_TRACES = ("kees.smit@example.test", "Kees", "06-87654321")


def quarantine_desk(root: Path, dovecot: Dovecot, smtp: SmtpServer, **retention: int) -> Desk:
    return Desk(
        root,
        dovecot,
        smtp,
        cases={**STAFF_CASES, "max_message_bytes": SIZE_LIMIT},
        retention=retention,
    )


def quarantined(desk: Desk) -> int:
    with contextlib.closing(desk.db()) as db:
        return int(
            db.execute("select count(*) from messages where status = 'quarantined'").fetchone()[0]
        )


def quarantine_folder_files(dovecot: Dovecot) -> list[Path]:
    return [p for p in mail_files(dovecot) if ".Quarantine" in p.parts or "Quarantine" in str(p)]


# --------------------------------------------------------------------- 1. quarantined mail


def test_a_reporters_quarantined_mail_is_purged_with_her_case_and_strangers_wait_for_their_own(
    tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer
) -> None:
    desk = quarantine_desk(tmp_path, dovecot, smtp, purge_after_closed_days=30)
    stored = desk.clock.now  # every mail of this test arrives now
    desk.deliver(report(SANNE))
    desk.run_once()
    ref = ref_of(desk, SANNE_ADDRESS)
    acknowledgement = desk.sent_to(SANNE_ADDRESS)[0].message["Message-ID"]

    # Three follow-ups over the size limit, each found another way: her tag and address, a
    # reply from another address of hers naming only our acknowledgement, and her address
    # alone. A stranger's oversized mail belongs to nobody's case.
    desk.deliver(
        make_mail(
            sender=SANNE,
            subject=f"Re: [{ref}] Ontvangstbevestiging",
            body=f"De logging zit erbij. Bel me op {PHONE}.\n{FILLER}",
        ),
        make_mail(
            sender="S. de Vries <s.devries@example.nl>",
            subject="Re: je bevestiging",
            in_reply_to=acknowledgement,
            body=f"Vanaf mijn werkadres: account {PHRASE}.\n{FILLER}",
        ),
        make_mail(
            sender=SANNE,
            subject="Nog een bestand",
            body=f"Groet, Sanne de Vries ({PHONE})\n{FILLER}",
        ),
        make_mail(
            sender=KEES,
            subject="Logbestanden",
            body=f"Zie bijlage. Kees, 06-87654321\n{FILLER}",
        ),
    )
    desk.run_once()
    assert quarantined(desk) == 4
    assert traces_in_files(quarantine_folder_files(dovecot), SANNE_TRACES)
    desk.deliver(staff_mail(ref, "#close fixed\n"))
    desk.run_once()
    closed_at = dt.datetime.fromisoformat(desk.case(ref)["closed_at"])

    done = purge_at(desk, closed_at + dt.timedelta(days=31))

    assert traces_in_files(desk_files(desk), SANNE_TRACES) == [], "her mail, quarantined too"
    assert done.cases == [ref] and done.quarantined == 0
    assert quarantined(desk) == 1, "the stranger's mail waits for the quarantine retention"
    assert traces_in_files(quarantine_folder_files(dovecot), KEES_TRACES)

    early = purge_at(desk, stored + dt.timedelta(days=89))
    assert early.quarantined == 0 and traces_in_files(desk_files(desk), KEES_TRACES)
    late = purge_at(desk, stored + dt.timedelta(days=91))
    assert late.quarantined == 1, "quarantine_purge_days: 90 by default"
    assert quarantined(desk) == 0
    assert traces_in_files(desk_files(desk), KEES_TRACES) == []
    assert mail_files(dovecot) == []


def test_a_quarantined_mail_of_a_reporter_with_another_open_case_stays_with_that_case(
    tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer
) -> None:
    """Her address alone does not tie a quarantined mail to the case being purged while she
    has another case open: it may be about that one."""
    desk = quarantine_desk(tmp_path, dovecot, smtp, purge_after_closed_days=0)
    desk.deliver(report(SANNE))
    desk.run_once()
    first = ref_of(desk, SANNE_ADDRESS)
    desk.deliver(staff_mail(first, "#close fixed\n#hold\n"))
    desk.run_once()
    desk.deliver(
        make_mail(sender=SANNE, subject="Tweede melding: open redirect", body=REPORT_TWO),
        make_mail(sender=SANNE, subject="Bijlage", body=f"{FILLER}"),
    )
    desk.run_once()
    assert quarantined(desk) == 1
    desk.deliver(staff_mail(first, "#release\n"))
    desk.run_once()

    assert desk.case(first)["purged_at"] is not None
    assert quarantined(desk) == 1, "kept: her other case is open"


REPORT_TWO = (
    "Hallo,\n\nOp https://www.example.nl/login?next= kan ik naar elke site doorsturen. "
    "Gezien op 24-11-2026 om 08:10.\n\nSanne\n"
)


# --------------------------------------------------------------------- 4. a reader holds the WAL

# A reader in a process of its own, as a backup job would be: the test process reads the
# store's files to grep them, and closing any descriptor of a file drops every POSIX lock
# this process holds on it, which would quietly end a reader held here.
READER = """
import sqlite3, sys
reader = sqlite3.connect(sys.argv[1], isolation_level=None)
reader.execute("begin")
reader.execute("select count(*) from messages").fetchone()
print("reading", flush=True)
sys.stdin.read()
reader.close()
"""


@contextlib.contextmanager
def reader_holding(db: Path) -> Iterator[None]:
    """A real sqlite3 read transaction on `db`, open until the block ends."""
    process = subprocess.Popen(
        [sys.executable, "-c", READER, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "reading"
        yield
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=10)


@sqlite_only(
    "a reader's snapshot keeping SQLite from truncating its WAL; on PostgreSQL the purge's "
    "VACUUM FULL waits for such a reader's lock instead, and pg_wal is the operator's (README)"
)
def test_purge_fails_loudly_while_a_reader_blocks_the_wal_and_finishes_once_it_is_gone(
    tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer
) -> None:
    desk = quarantine_desk(tmp_path, dovecot, smtp, purge_after_closed_days=30)
    operator = Operator(desk.config)
    desk.deliver(report(SANNE))
    desk.run_once()
    ref = ref_of(desk, SANNE_ADDRESS)
    desk.deliver(staff_mail(ref, "#close fixed\n"))
    desk.run_once()
    Desk(  # the same desk, retention 0: the next purge erases her
        tmp_path,
        dovecot,
        smtp,
        cases={**STAFF_CASES, "max_message_bytes": SIZE_LIMIT},
        retention={"purge_after_closed_days": 0},
    )

    # A backup job, say: a real read transaction on the store, open for the whole purge.
    with reader_holding(tmp_path / "store.sqlite"):
        blocked = operator("purge", expect=1)
        assert f"erased: {ref}" in blocked.stdout
        errors = [line for line in blocked.stderr.splitlines() if "error" in line]
        assert len(errors) == 1 and "purge incomplete" in errors[0], blocked.stderr
        assert traces_in_files(store_files(desk), (SANNE_ADDRESS,)), "the attack: still on disk"
        again = operator("purge", expect=1)
        assert "purge incomplete" in again.stderr

    assert operator("purge").stdout.strip() == "nothing to purge"
    assert traces_in_files(store_files(desk), SANNE_TRACES) == []
    wal = tmp_path / "store.sqlite-wal"
    assert not wal.exists() or wal.stat().st_size == 0
    operator("run", "--once")
    told = [m for m in desk.sent_to(STAFF_NOTIFY) if "Purge incomplete" in m.message["Subject"]]
    assert len(told) == 1, "staff are told once, not at every failed run"
    assert traces_in_files(desk_files(desk), SANNE_TRACES) == []


@sqlite_only(
    "a reader's snapshot keeping SQLite from truncating its WAL; on PostgreSQL the purge's "
    "VACUUM FULL waits for such a reader's lock instead, and pg_wal is the operator's (README)"
)
def test_the_daemons_purge_job_owes_the_truncation_to_its_next_run(
    tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer
) -> None:
    desk = quarantine_desk(tmp_path, dovecot, smtp, purge_after_closed_days=30)
    desk.deliver(report(SANNE))
    desk.run_once()
    ref = ref_of(desk, SANNE_ADDRESS)
    desk.deliver(staff_mail(ref, "#close fixed\n"))
    desk.run_once()
    closed_at = dt.datetime.fromisoformat(desk.case(ref)["closed_at"])

    with reader_holding(tmp_path / "store.sqlite"):
        blocked = purge_at(desk, closed_at + dt.timedelta(days=31))
    assert blocked.cases == [ref]

    later = purge_at(desk, closed_at + dt.timedelta(days=31, hours=1))
    assert traces_in_files(store_files(desk), SANNE_TRACES) == [], "the next run finished it"
    assert blocked.wal_incomplete and later.cases == [] and not later.wal_incomplete
    desk.run_once()
    assert [m for m in desk.sent_to(STAFF_NOTIFY) if "Purge incomplete" in m.message["Subject"]]
