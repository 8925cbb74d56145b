"""The erasure promise, checked on the bytes it is about (issue 6).

The disclosure policy promises the reporter that their personal data is erased once their
report is completed. That promise is only kept if, after the purge, no byte of it is left
anywhere the desk keeps things: not in the SQLite file, not in its WAL or journal (where
"deleted" rows linger), not in any folder of the IMAP mailbox on disk (INBOX, Processed,
Quarantine), and never in a log line. A row set to NULL proves none of that, so these tests
run a real case end to end (a real Dovecot, a real SMTP server on loopback, the command line
exactly as an operator runs it), then read the raw files and the captured stderr for the
reporter's address, name, phone number and a phrase only her report contained.

They also pin the rest of the contract around the purge: what stays (reference, dates,
states, severity, close reason, a consented credit name), the legal hold, the dry run that
changes nothing, the retention periods for redirected and automated mail, and a purge killed
half-way that the next run completes without purging anything twice.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import email.policy
import hashlib
import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from mailtriage.config import load_config
from mailtriage.desk.purge import PurgeReport
from mailtriage.outgoing.dates import format_date
from mailtriage.service.wiring import build
from tests.support.desk import STAFF_NOTIFY, Desk
from tests.support.dovecot import Dovecot
from tests.support.mails import make_mail
from tests.support.postgres import connect_store, on_postgres, table_files
from tests.support.smtp import Received, SmtpServer

pytestmark = pytest.mark.integration

# The reporter, and everything that would identify her.
SANNE = "Sanne de Vries <sanne.devries@example.test>"
SANNE_ADDRESS = "sanne.devries@example.test"
PHONE = "06-12345678"
PHRASE = "paarse-olifant-7731"
SANNE_TRACES = (SANNE_ADDRESS, "Sanne", "Vries", PHONE, PHONE.replace("-", ""), PHRASE)

REPORT_BODY = (
    "Hallo,\n\nOp https://portal.example.nl/account/export kan ik na het inloggen de export "
    "van een ander klantnummer downloaden door het nummer in de URL te verhogen (IDOR). "
    f"Vandaag om 10:12 vastgesteld. Mijn testaccount heet {PHRASE}.\n\n"
    f"Bel me gerust op {PHONE} als iets onduidelijk is.\n\n"
    "Met vriendelijke groet,\nSanne de Vries\n"
)

# Staff work the desk by mail; the MX vouches for them in a trusted Authentication-Results.
STAFF = "Marieke Bos <marieke.bos@example.nl>"
STAFF_ADDRESS = "marieke.bos@example.nl"
TRUSTED_MX = "mx.example.nl"
AUTH_RESULTS = (
    f"Authentication-Results: {TRUSTED_MX}; dkim=pass header.d=example.nl header.s=sel1; "
    "spf=pass smtp.mailfrom=example.nl\n"
).encode()
STAFF_CASES = {"staff": [STAFF_ADDRESS], "trusted_authserv_ids": [TRUSTED_MX]}


# --------------------------------------------------------------------------- the rig


@dataclass
class Run:
    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str


@dataclass
class Operator:
    """`mailtriage --config X [-v] COMMAND` as separate processes, as an operator runs them.

    A process of its own per command, so that its stderr is everything it logged (its parse
    worker included), and so that a purge can be killed like a real one."""

    config: Path
    verbose: bool = False
    runs: list[Run] = field(default_factory=list)

    def argv(self, *args: str) -> list[str]:
        flags = ["-v"] if self.verbose else []
        return [sys.executable, "-m", "mailtriage", "--config", str(self.config), *flags, *args]

    def __call__(self, *args: str, expect: int = 0) -> Run:
        done = subprocess.run(
            self.argv(*args),
            capture_output=True,
            text=True,
            timeout=60,
            cwd=self.config.parent,
            check=False,
        )
        run = Run(tuple(args), done.returncode, done.stdout, done.stderr)
        self.runs.append(run)
        assert run.code == expect, f"mailtriage {' '.join(args)} exited {run.code}:\n{run.stderr}"
        return run

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.argv(*args),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=self.config.parent,
        )

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "--json").stdout)

    @property
    def stderr(self) -> str:
        return "".join(r.stderr for r in self.runs)


def make_desk(root: Path, dovecot: Dovecot, smtp: SmtpServer, **retention: int) -> Desk:
    """A desk with staff who authenticate by DKIM; writing it again changes the config only."""
    return Desk(root, dovecot, smtp, cases=STAFF_CASES, retention=retention)


def staff_mail(ref: str, body: str, subject: str = "Re: je melding") -> bytes:
    """An authenticated staff mail on case `ref`, as our MX hands it over (its header on top)."""
    return AUTH_RESULTS + make_mail(sender=STAFF, subject=f"{subject} [{ref}]", body=body)


def reporter_reply(person: str, ref: str, body: str) -> bytes:
    """A reporter's reply as our MX hands it over: their provider signed it with DKIM, and
    the MX's Authentication-Results on top says so (credit consent needs that, issue 10)."""
    domain = address(person).rpartition("@")[2]
    results = (
        f"Authentication-Results: {TRUSTED_MX}; dkim=pass header.d={domain} header.s=sel1; "
        f"dmarc=pass header.from={domain}\n"
    ).encode()
    return results + make_mail(
        sender=person, subject=f"Re: [{ref}] Ontvangstbevestiging", body=body
    )


def report(person: str, body: str = REPORT_BODY, **kwargs: Any) -> bytes:
    return make_mail(
        sender=person, subject="Kwetsbaarheid: export van andere klanten", body=body, **kwargs
    )


def purge_at(desk: Desk, moment: dt.datetime) -> PurgeReport:
    """The purge as the daemon runs it, with the desk's clock moved to `moment`."""
    desk.clock.set(moment)
    app = build(load_config(desk.config), desk.clock)
    try:
        return app.purger.run()
    finally:
        app.close()


def desk_tz(desk: Desk) -> dt.tzinfo:
    return load_config(desk.config).deadlines.tz


def address(person: str) -> str:
    return person.split("<", 1)[1].rstrip(">")


def ref_of(desk: Desk, reporter_address: str) -> str:
    found = [c["ref"] for c in desk.cases() if c["reporter"] == reporter_address]
    assert len(found) == 1, f"expected one case for {reporter_address}: {found}"
    return found[0]


# --------------------------------------------------------------------------- where data hides


def store_files(desk: Desk) -> list[Path]:
    """The database and every sidecar SQLite keeps next to it (-wal, -journal, -shm); on
    PostgreSQL, after a CHECKPOINT, every file of the desk's database in the data directory
    (tables, TOAST, indexes)."""
    if on_postgres():
        return table_files(desk.root)
    return sorted(desk.root.glob("store.sqlite*"))


def files_under(*roots: Path) -> list[Path]:
    found: list[Path] = []
    for root in roots:
        found.extend(p for p in sorted(root.rglob("*")) if p.is_file())
    return found


def desk_files(desk: Desk) -> list[Path]:
    """Everything the desk itself keeps: its directory (store, WAL, journal, config) and
    every file of the mailbox user's Maildir on disk, all folders and Dovecot's indexes."""
    return files_under(desk.root, desk.dovecot.maildir())


def traces_in_bytes(data: bytes, needles: Iterable[str]) -> list[str]:
    low = data.lower()
    return [n for n in needles if n.lower().encode() in low]


def traces_in_files(paths: Iterable[Path], needles: Sequence[str]) -> list[str]:
    """'path: needle' for every needle (case-insensitive, raw bytes) found in a file."""
    found: list[str] = []
    for path in paths:
        found.extend(f"{path}: {n!r}" for n in traces_in_bytes(path.read_bytes(), needles))
    return found


def readable_text(mail: Received) -> str:
    """Headers decoded and every text part decoded (quoted-printable or base64 undone), so a
    soft line break cannot hide a phone number from the check."""
    message = email.message_from_bytes(mail.raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    parts = [f"{name}: {value}" for name, value in message.items()]
    for part in message.walk():
        if part.get_content_maintype() == "text":
            parts.append(str(part.get_content()))
    return "\n".join(parts)


def staff_copies(smtp: SmtpServer) -> list[Received]:
    """The mails the desk sent to staff (notifications and confirmations)."""
    staff = {STAFF_NOTIFY, STAFF_ADDRESS}
    return [m for m in smtp.received if set(m.recipients) <= staff]


def staff_mail_traces(smtp: SmtpServer, needles: Sequence[str]) -> list[str]:
    """Personal data in any mail sent to staff: staff copies outlive the purge, so they must
    never have carried it (checked raw and decoded, so that no encoding hides a match)."""
    found: list[str] = []
    for mail in staff_copies(smtp):
        subject = mail.message["Subject"]
        for needle in traces_in_bytes(mail.raw, needles):
            found.append(f"raw mail to {mail.recipients} ({subject}): {needle!r}")
        for needle in traces_in_bytes(readable_text(mail).encode(), needles):
            found.append(f"decoded mail to {mail.recipients} ({subject}): {needle!r}")
    return found


def query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    """Rows of one read on its own short-lived connection (no lock outlives the call)."""
    if on_postgres():  # `db` names the test's folder, whose database this is
        with contextlib.closing(connect_store(db.parent)) as conn:
            return conn.execute(sql).fetchall()
    with contextlib.closing(sqlite3.connect(db, timeout=10)) as conn:
        return conn.execute(sql).fetchall()


def table_names(db: Path) -> list[str]:
    if on_postgres():
        sql = "select table_name from information_schema.tables where table_schema = 'public'"
        return sorted(r[0] for r in query(db, sql))
    return [
        r[0]
        for r in query(
            db, "select name from sqlite_master where type = 'table' and name not like 'sqlite_%'"
        )
    ]


def row_counts(db: Path) -> dict[str, int]:
    tables = table_names(db)
    return {t: query(db, f'select count(*) from "{t}"')[0][0] for t in tables}


class Collector(logging.Handler):
    """Every log record of an in-process purge, at debug level, whatever handlers are set."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self._level = logging.NOTSET

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname} {record.name}: {record.getMessage()}")
        if record.exc_info:
            self.lines.append(logging.Formatter().formatException(record.exc_info))

    def __enter__(self) -> Collector:
        root = logging.getLogger()
        self._level = root.level
        root.addHandler(self)
        root.setLevel(logging.DEBUG)
        return self

    def __exit__(self, *exc: object) -> None:
        root = logging.getLogger()
        root.removeHandler(self)
        root.setLevel(self._level)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def mail_files(dovecot: Dovecot) -> list[Path]:
    """The message files in every folder of the mailbox user (Maildir cur/, new/, tmp/)."""
    root = dovecot.maildir()
    return [p for p in files_under(root) if p.parent.name in ("cur", "new", "tmp")]


def text_of(mail: Received) -> str:
    return readable_text(mail).replace("\r\n", "\n")


# --------------------------------------------------------------------- 1. a whole case


def test_a_completed_case_leaves_no_byte_of_the_reporter_in_store_mailbox_or_logs(
    tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer
) -> None:
    desk = make_desk(tmp_path, dovecot, smtp)  # the default 90 days after closing
    operator = Operator(desk.config)

    desk.deliver(report(SANNE))
    operator("run", "--once")
    ref = next(c["ref"] for c in operator.json("cases") if c["reporter"] == SANNE_ADDRESS)
    # She adds something (her number again, written without the dash); staff answer her,
    # quoting the masked notification they got (which still carries the report's text), and
    # note a phone call in the timeline.
    desk.deliver(
        reporter_reply(
            SANNE,
            ref,
            f"Aanvulling: klantnummer 1002 lukt ook. Mijn nummer: {PHONE.replace('-', '')}.\n"
            "\nGroet, Sanne\n",
        ),
        staff_mail(
            ref,
            "Beste melder,\n\nDank je wel. We hebben het lek kunnen bevestigen en werken aan "
            "een oplossing.\n\nOp 27-11-2026 schreef security@example.nl:\n"
            f"> Vandaag om 10:12 vastgesteld. Mijn testaccount heet {PHRASE}.\n",
        ),
        staff_mail(ref, f"#note\nSanne de Vries gebeld op {PHONE}: account {PHRASE} gewist.\n"),
    )
    operator("run", "--once")
    desk.deliver(staff_mail(ref, "#severity high\n#close fixed\n"))
    operator("run", "--once")

    case = operator.json("case", ref)
    assert (case["state"], case["close_reason"], case["severity"]) == ("closed", "fixed", "high")
    assert case["reporter"] == SANNE_ADDRESS and case["purged_at"] is None
    assert "note" in [e["kind"] for e in case["timeline"]]
    closed_at = dt.datetime.fromisoformat(case["closed_at"])
    to_sanne = [text_of(m) for m in desk.sent_to(SANNE_ADDRESS)]
    assert any("het lek kunnen bevestigen" in t for t in to_sanne), "the staff reply relayed"
    closing = [t for t in to_sanne if "afgerond" in t]
    assert len(closing) == 1, to_sanne
    erasure_day = (closed_at + dt.timedelta(days=90)).astimezone(desk_tz(desk)).date()
    assert format_date(erasure_day, "nl") in " ".join(closing[0].split()), closing[0]

    # The search below finds what it looks for: before the purge it is all there.
    assert traces_in_files(store_files(desk), SANNE_TRACES)
    assert traces_in_files(mail_files(dovecot), SANNE_TRACES)

    with Collector() as logs:
        early = purge_at(desk, closed_at + dt.timedelta(days=89))
        assert early.cases == [], "closed 89 days ago: not yet"
        done = purge_at(desk, closed_at + dt.timedelta(days=91))
    assert done.cases == [ref]

    after = operator("case", ref, "--json")
    case = json.loads(after.stdout)
    assert case["reporter"] is None and case["subject"] is None
    assert case["purged_at"] is not None
    assert (case["state"], case["close_reason"], case["severity"]) == ("closed", "fixed", "high")
    assert case["closed_at"] is not None and case["received_at"] is not None
    assert [e["kind"] for e in case["timeline"]].count("purged") == 1
    assert traces_in_bytes(after.stdout.encode(), SANNE_TRACES) == []
    assert "nothing to purge" in operator("purge").stdout

    assert mail_files(dovecot) == [], "every folder of the mailbox is empty"
    assert traces_in_files(desk_files(desk), SANNE_TRACES) == []
    assert traces_in_bytes((operator.stderr + logs.text).encode(), SANNE_TRACES) == []

    # Staff copies are beyond the purge: they carried the report (masked), never her.
    assert len(staff_copies(smtp)) >= 5, "new case, reply, three confirmations"
    assert any(PHRASE in text_of(m) for m in desk.sent_to(STAFF_NOTIFY)), "the report, masked"
    assert staff_mail_traces(smtp, SANNE_TRACES[:-1]) == []


# --------------------------------------------------------------------- 2. legal hold


def test_a_held_case_survives_the_purge_and_goes_at_the_first_run_after_release(
    tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer
) -> None:
    desk = make_desk(tmp_path, dovecot, smtp, purge_after_closed_days=0)
    desk.deliver(report(SANNE))
    desk.run_once()
    ref = ref_of(desk, SANNE_ADDRESS)
    # Closed and due at once (retention 0); the pass that closes it also runs the purge.
    desk.deliver(staff_mail(ref, "#hold\n#close fixed\n"))
    desk.run_once()

    code, out = desk.cli("purge")
    assert code == 0
    assert f"held (legal hold, not purged): {ref}" in out.splitlines()
    assert f"erased: {ref}" not in out
    case = desk.case(ref)
    assert case["legal_hold"] is True and case["purged_at"] is None
    assert case["reporter"] == SANNE_ADDRESS and case["subject"] is not None
    assert "purged" not in [e["kind"] for e in case["timeline"]]
    assert traces_in_files(store_files(desk), [SANNE_ADDRESS, PHRASE])
    assert traces_in_files(mail_files(dovecot), [SANNE_ADDRESS, PHRASE]), "still in the mailbox"

    desk.deliver(staff_mail(ref, "#release\n"))
    desk.run_once()  # the next purge run: part of every pass

    case = desk.case(ref)
    assert case["legal_hold"] is False
    assert case["purged_at"] is not None and case["reporter"] is None
    assert [e["kind"] for e in case["timeline"]].count("purged") == 1
    assert mail_files(dovecot) == []
    assert traces_in_files(desk_files(desk), SANNE_TRACES) == []


# --------------------------------------------------------------------- 3. dry run


def test_purge_dry_run_lists_what_would_go_and_changes_no_byte(
    tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer
) -> None:
    desk = make_desk(tmp_path, dovecot, smtp)
    desk.deliver(report(SANNE))
    desk.run_once()
    ref = ref_of(desk, SANNE_ADDRESS)
    desk.deliver(staff_mail(ref, "#close informative\n"))
    desk.run_once()
    make_desk(tmp_path, dovecot, smtp, purge_after_closed_days=0)  # the operator shortens it
    operator = Operator(desk.config)

    db = tmp_path / "store.sqlite"
    if not on_postgres():
        query(db, "pragma wal_checkpoint(truncate)")  # the WAL into the file: bytes compare fairly
    counts, hashes, mail = row_counts(db), store_bytes(desk), mail_files(dovecot)
    assert mail, "the report is in the mailbox"

    dry = operator("purge", "--dry-run")
    assert f"would erase: {ref}" in dry.stdout.splitlines()
    assert "erased:" not in dry.stdout.replace("would erase:", "")

    assert row_counts(db) == counts
    assert store_bytes(desk) == hashes, "not one byte of the store changed"
    assert mail_files(dovecot) == mail, "nothing left the mailbox"
    case = operator.json("case", ref)
    assert case["reporter"] == SANNE_ADDRESS and case["purged_at"] is None
    assert operator("purge", "--dry-run").stdout == dry.stdout, "and it says so again"

    real = operator("purge")
    assert f"erased: {ref}" in real.stdout.splitlines()
    assert operator.json("case", ref)["purged_at"] is not None


def store_bytes(desk: Desk) -> dict[str, str]:
    """Hashes of the database and its WAL and journal contents (a missing file is empty;
    the -shm index is shared memory for readers and is not data)."""
    result: dict[str, str] = {}
    if on_postgres():
        # PostgreSQL rewrites pages on its own (hint bits, pruning): compare every row instead.
        db = desk.root / "store.sqlite"
        for table in table_names(db):
            rows = query(db, f'select * from "{table}" order by 1')
            result[table] = hashlib.sha256(repr(rows).encode()).hexdigest()
        return result
    for suffix in ("", "-wal", "-journal"):
        path = desk.root / f"store.sqlite{suffix}"
        data = path.read_bytes() if path.exists() else b""
        result[suffix or "db"] = hashlib.sha256(data).hexdigest()
    return result


# --------------------------------------------------------------------- 4. credits


JORIS = "Joris Bakker <joris.bakker@example.test>"
NOOR = "Noor Visser <noor.visser@example.test>"


def test_a_consented_credit_name_outlives_the_purge_and_a_withdrawn_one_does_not(
    tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer
) -> None:
    desk = make_desk(tmp_path, dovecot, smtp, purge_after_closed_days=0)
    operator = Operator(desk.config)
    desk.deliver(
        report(SANNE),
        report(
            JORIS,
            body=REPORT_BODY.replace(PHRASE, "groene-giraf-2210").replace(
                "Sanne de Vries", "Joris Bakker"
            ),
        ),
        report(
            NOOR,
            body=REPORT_BODY.replace(PHRASE, "gele-neushoorn-5583").replace(
                "Sanne de Vries", "Noor Visser"
            ),
        ),
    )
    desk.run_once()
    sanne, joris, noor = (ref_of(desk, address(p)) for p in (SANNE, JORIS, NOOR))

    desk.deliver(
        reporter_reply(SANNE, sanne, "Graag vermeld.\n\nCREDIT: Sanne de Vries\n"),
        reporter_reply(JORIS, joris, "CREDIT: Joris Bakker\n"),
        staff_mail(noor, "#credit Noor Visser\n"),
    )
    desk.run_once()
    assert [c["ref"] for c in operator.json("credits")] == [sanne, joris, noor]

    # Withdrawn both ways: by staff on the reporter's word, and by the reporter herself.
    desk.deliver(
        staff_mail(joris, "#credit withdraw\n"),
        reporter_reply(NOOR, noor, "Toch liever niet.\n\nNO CREDIT\n"),
    )
    desk.run_once()
    assert operator.json("credits") == [{"name": "Sanne de Vries", "ref": sanne}]

    desk.deliver(*(staff_mail(ref, "#close fixed\n") for ref in (sanne, joris, noor)))
    desk.run_once()  # closes and, retention 0, purges

    for ref in (sanne, joris, noor):
        case = operator.json("case", ref)
        assert case["purged_at"] is not None and case["reporter"] is None, ref
    assert operator.json("case", sanne)["credit_name"] == "Sanne de Vries"
    assert operator.json("case", joris)["credit_name"] is None
    assert operator.json("case", noor)["credit_name"] is None
    assert operator.json("credits") == [{"name": "Sanne de Vries", "ref": sanne}]
    table = operator("credits").stdout
    assert "Sanne de Vries" in table and "Joris" not in table and "Noor" not in table

    closing = [text_of(m) for m in desk.sent_to(SANNE_ADDRESS) if "afgerond" in text_of(m)]
    assert len(closing) == 1 and "Sanne de Vries" in closing[0], "she is told how she is named"

    # The name she agreed to stays; her address, number and report do not, nor anything of
    # the two who did not want to be named.
    gone = (
        SANNE_ADDRESS, PHONE, PHRASE,
        address(JORIS), "Joris", "Bakker", "groene-giraf-2210",
        address(NOOR), "Noor", "Visser", "gele-neushoorn-5583",
    )  # fmt: skip
    assert traces_in_files(desk_files(desk), gone) == []
    assert traces_in_bytes(operator.stderr.encode(), (*gone, "Sanne", "Vries")) == []
    # Staff copies never had an address or a number; a credit name is for publication.
    contacts = (SANNE_ADDRESS, address(JORIS), address(NOOR), PHONE, PHONE.replace("-", ""))
    assert staff_mail_traces(smtp, contacts) == []

    # Consent can still be withdrawn after the purge, and then the name goes too.
    desk.deliver(staff_mail(sanne, "#credit withdraw\n"))
    desk.run_once()
    assert operator.json("credits") == []
    assert operator.json("case", sanne)["credit_name"] is None


# --------------------------------------------------------------------- 5. killed half-way


def closed_batch(
    root: Path, dovecot: Dovecot, smtp: SmtpServer, first: int, count: int
) -> dict[str, int]:
    """`count` reports from different people, each closed by staff; {ref: person number}.
    Worked under the default retention, then the config is set to purge them at once."""
    desk = make_desk(root, dovecot, smtp)
    people = range(first, first + count)
    desk.deliver(*(report(researcher(i), body=batch_body(i)) for i in people))
    desk.run_once()
    by_address = {c["reporter"]: c["ref"] for c in desk.cases()}
    refs = {by_address[address(researcher(i))]: i for i in people}
    desk.deliver(*(staff_mail(ref, "#severity low\n#close fixed\n") for ref in refs))
    desk.run_once()
    make_desk(root, dovecot, smtp, purge_after_closed_days=0)
    return refs


def researcher(i: int) -> str:
    return f"Onderzoeker Nummer{i:03d} <onderzoeker.{i:03d}@example.test>"


def batch_body(i: int) -> str:
    return (
        "Hallo,\n\nDe API op https://api.example.nl/v2/meter geeft zonder token de standen "
        f"van elke aansluiting terug. Gezien om 09:{i % 60:02d}. Kenmerk: zebra-{i:03d}-kleur.\n"
        "\nGroet,\nOnderzoeker\n"
    )


def batch_traces(i: int) -> tuple[str, ...]:
    return (address(researcher(i)), f"Nummer{i:03d}", f"zebra-{i:03d}-kleur")


def purge_state(db: Path) -> dict[str, tuple[bool, bool, int, int]]:
    """Per case: (purged, reporter kept, messages not yet erased, raw messages kept)."""
    rows = query(
        db,
        "select c.ref, c.purged_at is not null, c.reporter_address is not null, "
        "(select count(*) from messages m where m.case_id = c.id and m.status != 'purged'), "
        "(select count(*) from message_raw r join messages m on m.id = r.message_id "
        " where m.case_id = c.id) "
        "from cases c",
    )
    return {r[0]: (bool(r[1]), bool(r[2]), r[3], r[4]) for r in rows}


def purged_count(db: Path) -> int:
    return int(query(db, "select count(*) from cases where purged_at is not null")[0][0])


def test_a_purge_killed_half_way_is_completed_by_the_next_run_each_case_once(
    tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer
) -> None:
    db = tmp_path / "store.sqlite"
    operator = Operator(tmp_path / "config.toml")
    people: dict[str, int] = {}
    interrupted: tuple[int, int] | None = None
    batch = 30
    for _attempt in range(4):
        if not people or purged_count(db) == len(people):
            people |= closed_batch(tmp_path, dovecot, smtp, len(people) + 1, batch)
        before = purged_count(db)
        process = operator.start("purge")
        deadline = time.monotonic() + 20
        while process.poll() is None and time.monotonic() < deadline:
            if purged_count(db) > before:
                os.kill(process.pid, signal.SIGKILL)
                break
        process.wait(timeout=20)
        stdout, stderr = process.communicate()
        operator.runs.append(Run(("purge",), process.returncode, stdout, stderr))
        state = purge_state(db)
        for ref, (purged, reporter, unerased, raw) in state.items():
            # Every case is either untouched or wholly purged: never something in between.
            assert (purged, reporter) in ((False, True), (True, False)), (ref, state[ref])
            if purged:
                assert (unerased, raw) == (0, 0), (ref, state[ref])
            else:
                assert unerased > 0 and raw > 0, (ref, state[ref])
        done = sum(1 for s in state.values() if s[0])
        if process.returncode == -signal.SIGKILL and before < done < len(state):
            interrupted = (done, len(state))
            break
        batch *= 2  # too fast to catch: give the next attempt more to do
    assert interrupted, "no attempt killed the purge between its first and last case"

    finished = operator("purge")
    assert finished.stdout.count("erased: ") == interrupted[1] - interrupted[0]
    state = purge_state(db)
    assert all(s[0] and not s[1] and s[2] == 0 and s[3] == 0 for s in state.values()), state
    purged_events = dict(
        query(
            db,
            "select c.ref, count(e.id) from cases c left join case_events e "
            "on e.case_id = c.id and e.kind = 'purged' group by c.ref",
        )
    )
    assert set(purged_events.values()) == {1}, purged_events
    assert operator("purge").stdout.strip() == "nothing to purge"
    assert mail_files(dovecot) == []
    needles = [t for i in people.values() for t in batch_traces(i)]
    assert traces_in_files(desk_files_at(tmp_path, dovecot), needles) == []


def desk_files_at(root: Path, dovecot: Dovecot) -> list[Path]:
    return files_under(root, dovecot.maildir())


# --------------------------------------------------------------------- retention periods


KEES = "Kees Smit <kees.smit@example.test>"
LOTTE = "Lotte Vos <lotte.vos@example.test>"
CANCEL_CONTRACT = (
    "Beste,\n\nIk wil graag mijn energiecontract opzeggen per 1 januari. Ik stap over naar "
    "een andere leverancier. Klantnummer 30055512, telefoon 06-87654321.\n\nMvg,\nKees Smit\n"
)
OUT_OF_OFFICE = (
    "Ik ben afwezig tot en met 4 januari en lees mijn mail niet. Voor dringende zaken: "
    "bel 06-11223344.\n\nLotte Vos\n"
)


def test_redirected_automated_and_closed_mail_each_go_after_their_own_retention(
    tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer
) -> None:
    desk = make_desk(
        tmp_path,
        dovecot,
        smtp,
        purge_after_closed_days=30,
        redirected_purge_days=10,
        ignored_purge_days=20,
    )
    desk.deliver(
        make_mail(sender=KEES, subject="Opzeggen contract", body=CANCEL_CONTRACT),
        make_mail(
            sender=LOTTE,
            subject="Afwezig: uw bericht",
            body=OUT_OF_OFFICE,
            headers={"Auto-Submitted": "auto-replied"},
        ),
        report(SANNE),
    )
    desk.run_once()
    kees = ref_of(desk, address(KEES))
    assert desk.case(kees)["close_reason"] == "redirected"
    assert len(desk.cases()) == 2, "the out-of-office opens no case"
    sanne = ref_of(desk, SANNE_ADDRESS)
    desk.deliver(staff_mail(sanne, "#close duplicate\n"))
    desk.run_once()

    kees_traces = (address(KEES), "Kees", "30055512", "06-87654321")
    lotte_traces = (address(LOTTE), "Lotte", "06-11223344")
    start = desk.clock.now

    def purge_after(days: int) -> tuple[list[str], int]:
        done = purge_at(desk, start + dt.timedelta(days=days))
        return done.cases, done.loose_messages

    def left(needles: Sequence[str]) -> bool:
        return bool(traces_in_files(desk_files(desk), needles))

    assert purge_after(9) == ([], 0)
    assert left(kees_traces) and left(lotte_traces) and left(SANNE_TRACES)
    assert purge_after(11) == ([kees], 0), "redirected: after redirected_purge_days"
    assert not left(kees_traces) and left(lotte_traces) and left(SANNE_TRACES)
    assert purge_after(21) == ([], 1), "automated mail: after ignored_purge_days"
    assert not left(lotte_traces) and left(SANNE_TRACES)
    assert purge_after(29) == ([], 0), "closed 29 days ago: kept"
    assert left(SANNE_TRACES)
    assert purge_after(31) == ([sanne], 0)
    assert traces_in_files(desk_files(desk), (*kees_traces, *lotte_traces, *SANNE_TRACES)) == []
    assert mail_files(dovecot) == []


# --------------------------------------------------------------------- mail without an id


def test_a_report_without_message_id_also_leaves_the_mailbox(
    tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer
) -> None:
    """A Message-ID is optional (RFC 5322 says SHOULD); the purge must still find the mail
    after it was filed into Processed, where its inbox UID no longer names it."""
    desk = make_desk(tmp_path, dovecot, smtp, purge_after_closed_days=0)
    raw = report(SANNE)
    raw = b"".join(
        line
        for line in raw.splitlines(keepends=True)
        if not line.lower().startswith(b"message-id:")
    )
    desk.deliver(raw)
    desk.run_once()
    ref = ref_of(desk, SANNE_ADDRESS)
    desk.deliver(staff_mail(ref, "#close fixed\n"))
    desk.run_once()

    assert desk.case(ref)["purged_at"] is not None
    assert traces_in_files(mail_files(dovecot), SANNE_TRACES) == [], "left in a folder"
    assert traces_in_files(desk_files(desk), SANNE_TRACES) == []


# --------------------------------------------------------------------- 7. log hygiene


def test_debug_logs_of_a_whole_case_never_carry_the_reporter_or_her_text(
    tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer
) -> None:
    desk = make_desk(tmp_path, dovecot, smtp, purge_after_closed_days=0)
    operator = Operator(desk.config, verbose=True)
    desk.deliver(report(SANNE))
    operator("run", "--once")
    ref = next(c["ref"] for c in operator.json("cases") if c["reporter"] == SANNE_ADDRESS)
    operator("case", ref)
    desk.deliver(
        reporter_reply(SANNE, ref, f"CREDIT: Sanne de Vries\n\nBel gerust: {PHONE}.\n"),
        staff_mail(ref, f"Dank je, Sanne. We kijken naar {PHRASE}.\n"),
    )
    operator("run", "--once")
    desk.deliver(staff_mail(ref, "#note\nBelde met Sanne de Vries op 06-12345678.\n"))
    operator("run", "--once")
    operator("quarantine")
    operator("purge", "--dry-run")
    desk.deliver(staff_mail(ref, "#severity medium\n#close fixed\n"))
    operator("run", "--once")  # closes and purges (retention 0)
    operator("purge")
    operator("case", ref)
    operator("credits")

    assert operator.json("case", ref)["purged_at"] is not None
    assert " DEBUG " in operator.stderr, "the commands did log at debug level"
    assert traces_in_bytes(operator.stderr.encode(), SANNE_TRACES) == []


# --------------------------------------------------------------------- what purge says


def test_purge_reports_the_mailbox_copies_it_actually_removed(
    tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer
) -> None:
    """The operator reads "removed from the mailbox: N" as the number of mails erased."""
    desk = make_desk(tmp_path, dovecot, smtp)
    desk.deliver(report(SANNE))
    desk.run_once()
    ref = ref_of(desk, SANNE_ADDRESS)
    desk.deliver(staff_mail(ref, "#close fixed\n"))
    desk.run_once()
    make_desk(tmp_path, dovecot, smtp, purge_after_closed_days=0)
    in_mailbox = len(mail_files(dovecot))
    assert in_mailbox == 2, "the report and the staff mail, both in Processed"

    out = Operator(desk.config)("purge").stdout.splitlines()
    assert f"erased: {ref}" in out
    assert f"removed from the mailbox: {in_mailbox} message(s)" in out, out
    assert mail_files(dovecot) == []
