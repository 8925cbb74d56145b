"""Intake end to end over a real Maildir and a real SQLite store, driven through the CLI.

What a user would notice: a report becomes a case with a reference, a reporter's reply joins
it, automated mail opens nothing, nothing is stored twice, and a mail that cannot be handled
is kept and listed in quarantine instead of being lost or blocking the rest.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from mailtriage.mailbox.maildir import ensure_maildir
from mailtriage.service.cli import main
from tests.support.clock import QUIET_WORKDAY_MORNING, FakeClock
from tests.support.config import write_config
from tests.support.mails import make_mail
from tests.support.postgres import connect_store, sqlite_only

pytestmark = pytest.mark.integration


class Desk:
    """A config, a Maildir inbox and a store in one temporary folder; the desk's time is
    `clock`, and a delivered file's modification time (its arrival) is that instant."""

    def __init__(self, root: Path, **sections: dict) -> None:
        self.root = root
        self.clock = FakeClock(QUIET_WORKDAY_MORNING)
        self.inbox = root / "inbox"
        ensure_maildir(self.inbox)
        self.config = write_config(root, sections)
        self._n = 0

    def deliver(self, raw: bytes, name: str | None = None) -> Path:
        self._n += 1
        path = self.inbox / "new" / (name or f"{self._n:06d}.test")
        path.write_bytes(raw)
        arrival = self.clock.now.timestamp()
        os.utime(path, (arrival, arrival))
        return path

    def cli(self, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
        code = main(["--config", str(self.config), *args], clock=self.clock)
        out, err = capsys.readouterr()
        return code, out, err

    def cases(self, capsys: pytest.CaptureFixture[str]) -> list[dict]:
        code, out, _ = self.cli(capsys, "cases", "--json")
        assert code == 0
        return json.loads(out)

    def db(self) -> sqlite3.Connection:
        return connect_store(self.root)  # type: ignore[no-any-return]

    def folder(self, name: str) -> list[Path]:
        return sorted((self.inbox / f".{name}" / "cur").glob("*"))

    def waiting(self) -> list[Path]:
        return sorted([*(self.inbox / "new").glob("*"), *(self.inbox / "cur").glob("*")])


@pytest.fixture
def desk(tmp_path: Path) -> Desk:
    return Desk(tmp_path)


def test_a_report_opens_a_case_with_a_reference(desk: Desk, capsys) -> None:
    desk.deliver(make_mail())
    desk.deliver(
        make_mail(
            sender="bob@example.test",
            subject="SQL injection in login",
            body="I found an SQL injection at https://www.example.nl/login.",
        )
    )
    code, _, err = desk.cli(capsys, "run", "--once")
    assert code == 0, err
    cases = desk.cases(capsys)
    assert [c["ref"][-4:] for c in cases] == ["0001", "0002"]
    first = cases[0]
    assert first["ref"].startswith("PZEM-SEC-20")
    assert first["reporter"] == "alice@example.test"
    assert first["state"] == "acknowledged"
    assert first["language"] == "nl"
    assert cases[1]["language"] == "en"
    assert first["messages"] == 1
    assert first["first_response_due"].endswith(("T23:59:59+01:00", "T23:59:59+02:00"))
    for key in (
        "close_reason",
        "category",
        "subject",
        "received_at",
        "first_response_at",
        "next_update_due",
        "closed_at",
        "purged_at",
        "severity",
        "credit_name",
    ):
        assert key in first
    assert desk.waiting() == [], "handled mail must leave the inbox"
    assert len(desk.folder("Processed")) == 2


def test_reporter_replies_join_by_tag_or_thread_but_a_stranger_opens_a_new_case(
    desk: Desk, capsys
) -> None:
    desk.deliver(make_mail(message_id="<report-1@example.test>"))
    desk.cli(capsys, "run", "--once")
    ref = desk.cases(capsys)[0]["ref"]

    desk.deliver(make_mail(subject=f"Re: [{ref}] aanvulling", body="Nog een screenshot."))
    desk.deliver(make_mail(subject="Re: mijn melding", in_reply_to="<report-1@example.test>"))
    desk.deliver(make_mail(sender="mallory@example.test", subject=f"Re: [{ref}] hijack"))
    desk.cli(capsys, "run", "--once")

    cases = desk.cases(capsys)
    assert len(cases) == 2
    assert cases[0]["messages"] == 3
    assert cases[1]["reporter"] == "mallory@example.test"
    _, out, _ = desk.cli(capsys, "case", cases[1]["ref"], "--json")
    timeline = json.loads(out)["timeline"]
    assert timeline[0]["kind"] == "opened"
    assert timeline[0]["detail"]["foreign_thread_ref"] == ref


def test_automated_mail_is_stored_but_opens_no_case(desk: Desk, capsys) -> None:
    desk.deliver(make_mail(subject="Afwezig", headers={"Auto-Submitted": "auto-replied"}))
    desk.deliver(make_mail(sender="list@example.test", headers={"List-Id": "<x.example.test>"}))
    desk.deliver(make_mail(headers={"X-Spam-Flag": "YES"}))
    desk.cli(capsys, "run", "--once")
    assert desk.cases(capsys) == []
    statuses = [r[0] for r in desk.db().execute("select status from messages")]
    assert statuses == ["auto", "auto", "auto"]
    assert len(desk.folder("Processed")) == 3


def test_the_same_mail_twice_is_stored_once_and_opens_one_case(desk: Desk, capsys) -> None:
    raw = make_mail(message_id="<same@example.test>")
    desk.deliver(raw)
    desk.deliver(raw)  # the very same bytes delivered twice
    # ... and once more by another route: an extra trace header, same Message-ID and body
    desk.deliver(b"Received: from relay.example.test by mx.example.nl; Fri, 27 Nov 2026\r\n" + raw)
    desk.cli(capsys, "run", "--once")
    cases = desk.cases(capsys)
    assert len(cases) == 1
    rows = desk.db().execute("select status from messages order by id").fetchall()
    assert [r[0] for r in rows] == ["case", "duplicate"]
    assert desk.db().execute("select count(*) from mailbox_sightings").fetchone()[0] == 3
    assert desk.waiting() == []


def test_an_oversized_mail_is_kept_raw_and_quarantined_unparsed(tmp_path: Path, capsys) -> None:
    desk = Desk(tmp_path, cases={"max_message_bytes": 2048})
    big = make_mail(body="A" * 5000)
    desk.deliver(big)
    desk.deliver(make_mail())
    code, _, _ = desk.cli(capsys, "run", "--once")
    assert code == 0
    assert len(desk.cases(capsys)) == 1, "the rest of the batch goes on"
    code, out, _ = desk.cli(capsys, "quarantine", "--json")
    [item] = json.loads(out)
    assert "max_message_bytes" in item["reason"]
    assert item["subject"] is None, "an oversized mail is not parsed"
    raw = (
        desk.db()
        .execute("select raw from message_raw where message_id=?", (item["id"],))
        .fetchone()[0]
    )
    assert raw == big
    assert len(desk.folder("Quarantine")) == 1
    assert len(desk.folder("Processed")) == 1


def test_quarantine_retry_processes_the_mail_once_the_cause_is_gone(tmp_path: Path, capsys) -> None:
    desk = Desk(tmp_path, cases={"max_message_bytes": 2048})
    desk.deliver(make_mail(body="B" * 4000))
    desk.cli(capsys, "run", "--once")
    code, out, _ = desk.cli(capsys, "quarantine", "retry", "--all")
    assert code == 1 and "1 still quarantined" in out
    attempts = desk.db().execute("select attempts from messages").fetchone()[0]
    assert attempts == 2

    write_config(tmp_path, {"cases": {"max_message_bytes": 100_000}})
    code, out, _ = desk.cli(capsys, "quarantine", "retry", "1")
    assert code == 0, out
    assert len(desk.cases(capsys)) == 1
    _, out, _ = desk.cli(capsys, "quarantine")
    assert "quarantine is empty" in out


def test_an_empty_file_is_quarantined_with_a_clear_reason(desk: Desk, capsys) -> None:
    desk.deliver(b"")
    desk.deliver(make_mail())
    assert desk.cli(capsys, "run", "--once")[0] == 0
    _, out, _ = desk.cli(capsys, "quarantine", "--json")
    [item] = json.loads(out)
    assert item["size"] == 0
    assert "empty" in item["reason"]
    assert len(desk.cases(capsys)) == 1


def test_a_message_left_unprocessed_by_a_crash_is_finished_on_the_next_pass(
    desk: Desk, capsys
) -> None:
    from mailtriage.config import load_config
    from mailtriage.intake.pipeline import IntakeReport
    from mailtriage.mailbox.maildir import MaildirMailbox
    from mailtriage.service.wiring import build

    app = build(load_config(desk.config), desk.clock)
    desk.deliver(make_mail())
    mailbox = MaildirMailbox(desk.inbox, "Processed", "Quarantine")
    # Step 1 only, as if the process died right after committing the raw bytes.
    try:
        app.intake._store_batch(list(mailbox.fetch_new()), IntakeReport())
    finally:
        app.close()
    assert desk.cases(capsys) == []
    assert len(desk.waiting()) == 1

    desk.cli(capsys, "run", "--once")
    assert len(desk.cases(capsys)) == 1
    assert desk.db().execute("select count(*) from messages").fetchone()[0] == 1
    assert desk.waiting() == []


def test_ingest_reads_a_file_or_stdin_and_exits_0_once_stored(
    desk: Desk, capsys, monkeypatch, tmp_path: Path
) -> None:
    mail_file = tmp_path / "report.eml"
    mail_file.write_bytes(make_mail())
    assert desk.cli(capsys, "ingest", str(mail_file))[0] == 0

    import io

    class Stdin:
        buffer = io.BytesIO(make_mail(sender="carol@example.test"))

    monkeypatch.setattr("sys.stdin", Stdin)
    assert desk.cli(capsys, "ingest")[0] == 0
    # The same bytes piped again are recognised, not stored twice.
    assert desk.cli(capsys, "ingest", str(mail_file))[0] == 0
    assert len(desk.cases(capsys)) == 2
    assert desk.db().execute("select count(*) from messages").fetchone()[0] == 2


@sqlite_only(
    "BEGIN EXCLUSIVE locks the whole SQLite file; PostgreSQL has no store-wide write lock "
    "(an unreachable PostgreSQL is test_ingest_exits_75_while_postgresql_is_unreachable)"
)
def test_ingest_exits_75_while_the_store_is_locked_and_writes_nothing(
    tmp_path: Path, capsys
) -> None:
    desk = Desk(tmp_path, store={"busy_timeout_seconds": 1})
    desk.cli(capsys, "db", "upgrade")
    mail_file = tmp_path / "report.eml"
    mail_file.write_bytes(make_mail())
    holder = sqlite3.connect(tmp_path / "store.sqlite", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        code, _, err = desk.cli(capsys, "ingest", str(mail_file))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert code == 75
    assert len(err.strip().splitlines()) == 1
    assert "locked" in err
    assert desk.db().execute("select count(*) from messages").fetchone()[0] == 0
    assert desk.cli(capsys, "ingest", str(mail_file))[0] == 0  # the MTA's retry succeeds


def test_a_full_disk_is_a_clear_error_and_leaves_the_store_consistent(
    tmp_path: Path, capsys
) -> None:
    import subprocess

    disk = tmp_path / "tiny"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(disk)], check=True)
    try:
        desk = Desk(tmp_path, store={"url": f"sqlite:///{disk / 'store.sqlite'}"})
        small = tmp_path / "small.eml"
        small.write_bytes(make_mail())
        assert desk.cli(capsys, "ingest", str(small))[0] == 0
        huge = tmp_path / "huge.eml"
        huge.write_bytes(make_mail(body="x" * 2_000_000))
        code, _, err = desk.cli(capsys, "ingest", str(huge))
        assert code == 75
        assert len(err.strip().splitlines()) == 1
        assert "full" in err
        db = sqlite3.connect(disk / "store.sqlite")
        assert db.execute("pragma integrity_check").fetchone()[0] == "ok"
        assert db.execute("select count(*) from messages").fetchone()[0] == 1
        assert db.execute("select count(*) from cases").fetchone()[0] == 1
        db.close()
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_ingest_exits_75_while_postgresql_is_unreachable(tmp_path: Path, capsys) -> None:
    """An MTA pipe into a desk whose PostgreSQL is down: 75, so the MTA keeps the mail."""
    gone = tmp_path / "no-server-here"
    desk = Desk(tmp_path, store={"url": f"postgresql+psycopg://mailtriage@/desk?host={gone}"})
    mail_file = tmp_path / "report.eml"
    mail_file.write_bytes(make_mail())
    code, _, err = desk.cli(capsys, "ingest", str(mail_file))
    assert code == 75
    assert "store" in err.lower()
