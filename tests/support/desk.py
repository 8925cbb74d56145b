"""A whole security desk for a test: a real Dovecot inbox, a real SMTP server, a store.

Tests about the mail the daemon sends need the same three things every time: mail delivered
into IMAP with APPEND, the daemon run for one pass exactly as an operator would run it
(`mailtriage --config X run --once`, here in-process through `mailtriage.service.cli.main`), and a
look at what the SMTP server received and at what `mailtriage case REF --json` says.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import email.policy
import io
import json
import sqlite3
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from mailtriage.service.cli import main
from tests.support.clock import QUIET_WORKDAY_MORNING, FakeClock
from tests.support.config import write_config
from tests.support.dovecot import Dovecot
from tests.support.postgres import connect_store
from tests.support.smtp import Received, SmtpServer

STAFF_NOTIFY = "security-team@example.nl"
TEAM_ADDRESS = "security@example.nl"  # SmtpServer.smtp_config()'s from_address


class Desk:
    """A config pointing at `dovecot` (IMAP) and `smtp` (SMTP), with its store in `root`.

    The desk's time is `clock`, which starts at `now` and moves only when the test sets it;
    mail delivered without an explicit time arrives at that instant too.
    """

    def __init__(
        self,
        root: Path,
        dovecot: Dovecot,
        smtp: SmtpServer,
        now: dt.datetime = QUIET_WORKDAY_MORNING,
        **sections: dict[str, Any],
    ) -> None:
        self.root = root
        self.clock = FakeClock(now)
        self.dovecot = dovecot
        self.smtp = smtp
        cases = {"staff_notify": STAFF_NOTIFY, **sections.pop("cases", {})}
        self.config = write_config(
            root,
            {
                "mailbox": dovecot.mailbox_section(),
                "smtp": {**smtp.smtp_config(), "timeout_seconds": 5},
                "cases": cases,
                **sections,
            },
        )

    # -- mail in ---------------------------------------------------------------------------

    def deliver(self, *raws: bytes, received: dt.datetime | None = None) -> None:
        """APPEND each message to INBOX; `received` (default: the desk's now) sets the
        INTERNALDATE, the arrival time every deadline counts from."""
        with self.dovecot.client() as client:
            for raw in raws:
                client.append("INBOX", raw, flags=(), msg_time=received or self.clock.now)

    # -- the daemon ------------------------------------------------------------------------

    def cli(self, *args: str) -> tuple[int, str]:
        """`mailtriage --config X ARGS...` in this process: (exit code, stdout)."""
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = main(["--config", str(self.config), *args], clock=self.clock)
        return code, out.getvalue()

    def run_once(self) -> None:
        code, _ = self.cli("run", "--once")
        assert code == 0, f"run --once exited {code}"

    def cases(self) -> list[dict[str, Any]]:
        code, out = self.cli("cases", "--json")
        assert code == 0
        result: list[dict[str, Any]] = json.loads(out)
        return result

    def case(self, ref: str) -> dict[str, Any]:
        code, out = self.cli("case", ref, "--json")
        assert code == 0, f"no case {ref}"
        result: dict[str, Any] = json.loads(out)
        return result

    def case_of(self, reporter: str) -> dict[str, Any]:
        """The one case opened for mail from `reporter`, with its timeline."""
        found = [c for c in self.cases() if c["reporter"] == reporter]
        assert len(found) == 1, f"expected one case for {reporter}, got {len(found)}"
        return self.case(found[0]["ref"])

    def db(self) -> sqlite3.Connection:
        """The store, for a look inside: SQLite, or PostgreSQL through the same calls."""
        return connect_store(self.root)  # type: ignore[no-any-return]

    # -- mail out --------------------------------------------------------------------------

    def sent_to(self, address: str) -> list[Received]:
        return self.smtp.to(address)


def parsed(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def body_text(raw: bytes) -> str:
    """The decoded text of a single-part mail (quoted-printable undone by the stdlib)."""
    content = parsed(raw).get_content()
    assert isinstance(content, str)
    return content


def header_names(raw: bytes) -> list[str]:
    """The field names of the header block exactly as written, in order."""
    head = raw.split(b"\r\n\r\n", 1)[0]
    names: list[str] = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            continue  # a folded continuation
        name, sep, _ = line.partition(b":")
        assert sep, f"a header line without a colon: {line[:80]!r}"
        names.append(name.decode("ascii"))
    return names
