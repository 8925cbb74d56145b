"""Intake against a real Dovecot: every mail kept, none twice, whatever the mail or the crash.

Mail is delivered with IMAP APPEND, the daemon runs as a separate process exactly as an
operator would start it, and the tests look at the store and at the IMAP folders afterwards.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from tests.support.config import write_config
from tests.support.dovecot import Dovecot
from tests.support.mails import make_mail
from tests.support.postgres import connect_store

pytestmark = pytest.mark.integration

PROJECT_CORPUS = Path(__file__).resolve().parents[1] / "corpus"
HANDLED = {"case", "auto", "duplicate", "quarantined"}


def corpus_files(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.rglob("*") if p.is_file() and p.suffix != ".md" and p.name[0] != "."
    )


def corpora() -> list[str]:
    names = ["project"]
    if os.environ.get("MAILTRIAGE_CORPUS"):
        names.append("shared")
    return names


def imap_config(tmp_path: Path, server: Dovecot, **mailbox: object) -> Path:
    return write_config(
        tmp_path,
        {"mailbox": server.mailbox_section(**{"poll_interval_seconds": 1, **mailbox})},
    )


def mailtriage(config: Path, *args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mailtriage", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=600,
        **kwargs,  # type: ignore[arg-type]
    )


def folder_count(server: Dovecot, folder: str) -> int:
    with server.client() as client:
        if not client.folder_exists(folder):
            return 0
        return int(client.folder_status(folder, [b"MESSAGES"])[b"MESSAGES"])


def store(tmp_path: Path) -> sqlite3.Connection:
    return connect_store(tmp_path)  # type: ignore[no-any-return]


@pytest.mark.parametrize("corpus", corpora())
def test_every_corpus_mail_is_stored_and_sorted_none_left_behind(
    corpus: str, dovecot: Dovecot, tmp_path: Path
) -> None:
    folder = PROJECT_CORPUS if corpus == "project" else Path(os.environ["MAILTRIAGE_CORPUS"])
    files = corpus_files(folder)
    assert files, f"no mail found in {folder}"
    config = imap_config(tmp_path, dovecot)

    appended, piped = 0, 0
    with dovecot.client() as client:
        for path in files:
            raw = path.read_bytes()
            if raw:
                client.append("INBOX", raw)
                appended += 1
            else:
                # Dovecot refuses to save a zero-byte message; an MTA pipe can still hand one
                # over, and it must be kept and given a clear answer too.
                result = mailtriage(config, "ingest", str(path))
                assert result.returncode == 0, result.stderr
                piped += 1

    result = mailtriage(config, "run", "--once")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr

    db = store(tmp_path)
    sightings = db.execute(
        "select count(*) from mailbox_sightings where source like 'imap://%'"
    ).fetchone()[0]
    assert sightings == appended, "every delivered mail is stored (or recognised) once"
    assert db.execute("select count(*) from mailbox_sightings").fetchone()[0] == len(files)
    statuses = dict(db.execute("select status, count(*) from messages group by status"))
    assert set(statuses) <= HANDLED, f"unhandled messages: {statuses}"
    orphans = db.execute(
        "select count(*) from messages where status = 'case' and case_id is null"
    ).fetchone()[0]
    assert orphans == 0
    without_bytes = db.execute(
        "select count(*) from messages m left join message_raw r on r.message_id = m.id"
        " where r.message_id is null"
    ).fetchone()[0]
    assert without_bytes == 0, "every stored message keeps its raw bytes"
    assert folder_count(dovecot, "INBOX") == 0, "nothing may be left behind in INBOX"
    filed = folder_count(dovecot, "Processed") + folder_count(dovecot, "Quarantine")
    assert filed == appended
    if piped:
        quarantined = db.execute(
            "select count(*) from messages where size = 0 and status = 'quarantined'"
        ).fetchone()[0]
        assert quarantined == piped


def test_sigkill_in_the_middle_of_200_messages_loses_and_doubles_nothing(
    dovecot: Dovecot, tmp_path: Path
) -> None:
    config = imap_config(tmp_path, dovecot)
    total = 200
    with dovecot.client() as client:
        for i in range(total):
            client.append(
                "INBOX",
                make_mail(
                    sender=f"researcher{i}@example.test",
                    subject=f"Finding number {i}",
                    body=f"Finding {i}: see https://app{i}.example.nl/ for details.",
                ),
            )
    mailtriage(config, "db", "upgrade").check_returncode()

    daemon = subprocess.Popen(
        [sys.executable, "-m", "mailtriage", "--config", str(config), "run", "--once"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    stored_at_kill = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and daemon.poll() is None:
        try:
            with contextlib.closing(connect_store(tmp_path)) as db:
                stored_at_kill = db.execute("select count(*) from messages").fetchone()[0]
        except (sqlite3.OperationalError, psycopg.OperationalError):
            stored_at_kill = 0
        if stored_at_kill > 0:
            daemon.send_signal(signal.SIGKILL)
            break
        time.sleep(0.005)
    daemon.wait(timeout=10)
    assert daemon.returncode == -signal.SIGKILL, "the test must kill it mid-way"
    assert 0 < stored_at_kill < 2 * total
    left_in_inbox = folder_count(dovecot, "INBOX")
    assert left_in_inbox > 0, "the kill came after the whole run; nothing was interrupted"

    result = mailtriage(config, "run", "--once")
    assert result.returncode == 0, result.stderr

    db = store(tmp_path)
    assert db.execute("select count(*) from messages").fetchone()[0] == total
    assert db.execute("select count(distinct sha256) from messages").fetchone()[0] == total
    assert db.execute("select count(*) from cases").fetchone()[0] == total
    per_case = db.execute(
        "select max(n) from (select count(*) n from messages group by case_id) as per_case"
    ).fetchone()[0]
    assert per_case == 1
    assert db.execute("select count(*) from messages where status != 'case'").fetchone()[0] == 0
    assert folder_count(dovecot, "INBOX") == 0
    assert folder_count(dovecot, "Processed") == total


def test_a_uidvalidity_change_rereads_the_folder_without_duplicates(
    dovecot: Dovecot, tmp_path: Path
) -> None:
    config = imap_config(tmp_path, dovecot, folder="security")
    first = [make_mail(sender=f"r{i}@example.test", subject=f"Report {i}") for i in range(3)]
    with dovecot.client() as client:
        client.create_folder("security")
        for raw in first:
            client.append("security", raw)
        validity_before = client.folder_status("security", [b"UIDVALIDITY"])[b"UIDVALIDITY"]
    assert mailtriage(config, "run", "--once").returncode == 0

    # The folder is recreated (a restore from backup, a migration): new UIDVALIDITY, the same
    # three mails again, plus one new one.
    with dovecot.client() as client:
        client.delete_folder("security")
        client.create_folder("security")
        for raw in [*first, make_mail(sender="r9@example.test", subject="Report 9")]:
            client.append("security", raw)
        validity_after = client.folder_status("security", [b"UIDVALIDITY"])[b"UIDVALIDITY"]
    assert validity_after != validity_before
    result = mailtriage(config, "run", "--once")
    assert result.returncode == 0, result.stderr

    db = store(tmp_path)
    assert db.execute("select count(*) from cases").fetchone()[0] == 4
    assert db.execute("select count(*) from messages").fetchone()[0] == 4
    validities = {r[0] for r in db.execute("select distinct validity from mailbox_sightings")}
    assert validities == {validity_before, validity_after}
    assert folder_count(dovecot, "security") == 0
    assert folder_count(dovecot, "Processed") == 7


def test_unreachable_imap_is_one_clear_line_and_nothing_written(tmp_path: Path) -> None:
    from tests.support.dovecot import free_port

    config = write_config(
        tmp_path,
        {
            "mailbox": {
                "source": "imap",
                "host": "127.0.0.1",
                "port": free_port(),
                "tls": "none",
                "username": "desk@example.test",
                "password": "x",
                "timeout_seconds": 3,
            }
        },
    )
    result = mailtriage(config, "run", "--once")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("mailtriage: error: mailbox:")
    db = store(tmp_path)
    assert db.execute("select count(*) from messages").fetchone()[0] == 0
