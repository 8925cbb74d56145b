"""The desk on a Microsoft 365 mailbox read and written through Microsoft Graph.

No real Graph runs offline: these tests talk to `tests.support.graph.GraphStandIn`, a local
HTTP server that follows Graph's documented shapes (paging by `@odata.nextLink`, MIME from
`/$value`, `/move` giving a new regular id but keeping the immutable one, sendMail with
base64 MIME, 429 with Retry-After). The daemon runs as an operator runs it,
`mailtriage --config X run --once`, and the tests look at what the mailbox holds afterwards
and at what was sent.

The OAuth2 token source is the one part put in by the test (`[oauth2]` is built apart): a
fixed token the stand-in accepts, and a new one when asked to refresh.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import email.policy
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

import mailtriage.mailbox.graphapi
import mailtriage.service.wiring
from mailtriage.service.cli import main
from tests.support.clock import QUIET_WORKDAY_MORNING, FakeClock
from tests.support.config import write_config
from tests.support.graph import GraphStandIn
from tests.support.mails import make_mail
from tests.support.postgres import connect_store

pytestmark = pytest.mark.integration

TEAM = "security@example.nl"
STAFF_NOTIFY = "security-team@example.nl"
REPORTERS = [f"onderzoeker{i}@example.test" for i in range(1, 6)]


class Tokens:
    """A token source as `mailtriage.mailbox.oauth2` will provide it: token-N, N+1 on a refresh."""

    def __init__(self, first: int = 1) -> None:
        self.number = first
        self.refreshes = 0

    def token(self, *, force_refresh: bool = False) -> str:
        if force_refresh:
            self.number += 1
            self.refreshes += 1
        return f"token-{self.number}"

    def expires_at(self) -> dt.datetime | None:
        return None


class GraphDesk:
    """A config reading and sending through `graph`, with its store in `root`."""

    def __init__(self, root: Path, graph: GraphStandIn, **sections: dict[str, Any]) -> None:
        self.root = root
        self.graph = graph
        self.clock = FakeClock(QUIET_WORKDAY_MORNING)
        self.config = write_config(
            root,
            {
                "mailbox": graph.mailbox_section(),
                "smtp": {"transport": "graph", "from_address": TEAM},
                "cases": {"staff_notify": STAFF_NOTIFY, **sections.pop("cases", {})},
                **sections,
            },
        )

    def deliver(self, *raws: bytes) -> None:
        for raw in raws:
            self.graph.deliver(raw, received=self.clock.now)

    def cli(self, *args: str) -> tuple[int, str]:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = main(["--config", str(self.config), *args], clock=self.clock)
        return code, out.getvalue()

    def cases(self) -> list[dict[str, Any]]:
        code, out = self.cli("cases", "--json")
        assert code == 0
        result: list[dict[str, Any]] = json.loads(out)
        return result

    def sent_to(self, address: str) -> list[EmailMessage]:
        found = []
        for sent in self.graph.sent:
            message = email.message_from_bytes(sent.mime, policy=email.policy.default)
            if address in str(message["To"]):
                found.append(message)
        return found  # type: ignore[return-value]


@pytest.fixture
def graph() -> Iterator[GraphStandIn]:
    with GraphStandIn(user=TEAM) as server:
        yield server


@pytest.fixture
def tokens(monkeypatch: pytest.MonkeyPatch) -> Tokens:
    source = Tokens()
    monkeypatch.setattr(
        mailtriage.service.wiring, "_graph_token_source", lambda config, clock: source
    )
    return source


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The pauses the Graph client made, recorded instead of slept."""
    made: list[float] = []
    monkeypatch.setattr(mailtriage.mailbox.graphapi, "pause", made.append)
    return made


def report(reporter: str) -> bytes:
    return make_mail(sender=f"Onderzoeker <{reporter}>", subject=f"Lek gevonden ({reporter})")


def test_reports_are_stored_acknowledged_through_sendmail_and_filed(
    graph: GraphStandIn, tokens: Tokens, waits: list[float], tmp_path: Path
) -> None:
    desk = GraphDesk(tmp_path, graph)
    desk.deliver(*(report(r) for r in REPORTERS))
    inbox_ids = {m.immutable_id for m in graph.in_folder("inbox")}
    graph.page_limit = 2  # five messages come in three pages
    graph.throttle(1, retry_after_seconds=3)

    code, out = desk.cli("check")
    assert code == 0, out
    assert "mailbox: ok (graph)" in out and "smtp: ok (graph)" in out
    code, _ = desk.cli("run", "--once")
    assert code == 0

    # Every report opened one case and was acknowledged once, through sendMail, as MIME.
    assert sorted(c["reporter"] for c in desk.cases()) == sorted(REPORTERS)
    for reporter, case in zip(
        sorted(REPORTERS), sorted(desk.cases(), key=lambda c: c["reporter"]), strict=True
    ):
        acks = desk.sent_to(reporter)
        assert len(acks) == 1, reporter
        assert f"[{case['ref']}]" in str(acks[0]["Subject"])
        assert acks[0]["Auto-Submitted"] == "auto-replied"
        assert acks[0]["From"].addresses[0].addr_spec == TEAM
    assert all(s.content_type.startswith("text/plain") for s in graph.sent)

    # Filed into a Processed folder the desk created, under the same immutable ids.
    assert graph.in_folder("inbox") == []
    assert "Processed" in graph.folder_names()
    assert {m.immutable_id for m in graph.in_folder("Processed")} == inbox_ids

    # Graph's throttling was waited out as it asked; paging followed @odata.nextLink; every
    # call asked for immutable ids.
    assert waits == [3.0]
    listings = [c for c in graph.calls if c.path.endswith("/messages") and c.status == 200]
    assert len(listings) >= 3 and any("$skip" in c.query for c in listings)
    assert all("$select" in c.query for c in listings)
    assert all(c.immutable for c in graph.calls)

    # A second pass finds nothing new and sends nothing.
    sent_before = len(graph.sent)
    code, _ = desk.cli("run", "--once")
    assert code == 0
    assert len(desk.cases()) == len(REPORTERS)
    assert len(graph.sent) == sent_before


def test_a_revoked_token_is_renewed_once_and_the_pass_goes_on(
    graph: GraphStandIn,
    tokens: Tokens,
    waits: list[float],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    desk = GraphDesk(tmp_path, graph)
    desk.deliver(report(REPORTERS[0]))
    graph.accepted_tokens = {"token-2"}  # the token the desk holds was revoked

    code, _ = desk.cli("--verbose", "run", "--once")

    assert code == 0
    assert tokens.refreshes == 1
    assert len(desk.sent_to(REPORTERS[0])) == 1
    assert len(graph.in_folder("Processed")) == 1
    # Neither token, nor the reporter's address, is in the log, even at debug level.
    logged = capsys.readouterr().err
    assert "401" in logged
    assert "token-1" not in logged and "token-2" not in logged
    assert REPORTERS[0] not in logged


def test_sendmail_refusals_keep_the_acknowledgement_unless_graph_rejects_the_mail(
    graph: GraphStandIn, tokens: Tokens, waits: list[float], tmp_path: Path
) -> None:
    desk = GraphDesk(tmp_path, graph)

    def outbox_row(reporter: str) -> tuple[str, str | None]:
        with contextlib.closing(connect_store(tmp_path)) as db:
            row = db.execute(
                "SELECT status, last_error FROM outbox WHERE recipient = ?", (reporter,)
            ).fetchone()
        return row[0], row[1]

    # Mail.Send not granted, or the access policy leaves this mailbox out: the operator's
    # to fix, and the acknowledgement waits for it instead of being given up.
    desk.deliver(report(REPORTERS[0]))
    graph.send_error = (403, "ErrorAccessDenied")
    desk.cli("run", "--once")
    assert desk.sent_to(REPORTERS[0]) == []
    status, error = outbox_row(REPORTERS[0])
    assert status == "pending" and error is not None and "403" in error

    graph.send_error = None
    desk.clock.advance(dt.timedelta(hours=1))
    desk.cli("run", "--once")
    assert len(desk.sent_to(REPORTERS[0])) == 1

    # Graph refusing this very mail (400) is final for it, as a 5xx reply at RCPT is.
    desk.deliver(report(REPORTERS[1]))
    graph.send_error = (400, "ErrorInvalidRecipients")
    desk.cli("run", "--once")
    status, error = outbox_row(REPORTERS[1])
    assert status == "failed" and error is not None and "ErrorInvalidRecipients" in error


def test_a_failed_move_after_storing_loses_and_doubles_nothing(
    graph: GraphStandIn, tokens: Tokens, waits: list[float], tmp_path: Path
) -> None:
    desk = GraphDesk(tmp_path, graph)
    desk.deliver(*(report(r) for r in REPORTERS[:3]))
    graph.fail_moves = True

    desk.cli("run", "--once")

    # Stored and answered, but still in the inbox: Graph would not move them.
    assert len(desk.cases()) == 3
    assert len(graph.in_folder("inbox")) == 3
    sent = len(graph.sent)

    graph.fail_moves = False
    code, _ = desk.cli("run", "--once")
    assert code == 0
    assert len(desk.cases()) == 3, "a message seen again must not open a second case"
    assert len(graph.sent) == sent, "nor be acknowledged twice"
    assert graph.in_folder("inbox") == []
    assert len(graph.in_folder("Processed")) == 3


CRASHING_RUN = textwrap.dedent(
    """
    import datetime as dt, sys
    import mailtriage.service.wiring
    from mailtriage.service.cli import main

    class Tokens:
        def token(self, *, force_refresh=False):
            return "token-1"
        def expires_at(self):
            return None

    mailtriage.service.wiring._graph_token_source = lambda config, clock: Tokens()
    now = dt.datetime.fromisoformat(sys.argv[2])
    sys.exit(main(["--config", sys.argv[1], "run", "--once"], clock=lambda: now))
    """
)


def test_a_crash_between_storing_and_moving_loses_and_doubles_nothing(
    graph: GraphStandIn, tokens: Tokens, waits: list[float], tmp_path: Path
) -> None:
    desk = GraphDesk(tmp_path, graph)
    desk.deliver(*(report(r) for r in REPORTERS[:3]))
    graph.hold_moves.set()

    # The daemon is killed while Graph is moving the first stored message.
    process = subprocess.Popen(
        [sys.executable, "-c", CRASHING_RUN, str(desk.config), desk.clock.now.isoformat()],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        assert graph.move_requested.wait(timeout=60), "the run never came to filing"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    # Killed after the store committed and before anything was moved or sent.
    with contextlib.closing(connect_store(tmp_path)) as db:
        assert db.execute("SELECT count(*) FROM messages").fetchone() == (3,)
    assert len(graph.in_folder("inbox")) == 3
    assert graph.sent == []
    # The move in flight may still be carried out by Graph, as it may be for real.
    graph.release_moves()

    code, _ = desk.cli("run", "--once")

    assert code == 0
    assert sorted(c["reporter"] for c in desk.cases()) == sorted(REPORTERS[:3])
    for reporter in REPORTERS[:3]:
        assert len(desk.sent_to(reporter)) == 1, reporter
    assert graph.in_folder("inbox") == []
    assert len(graph.in_folder("Processed")) == 3


def test_a_mail_that_cannot_be_processed_is_moved_to_quarantine(
    graph: GraphStandIn, tokens: Tokens, waits: list[float], tmp_path: Path
) -> None:
    desk = GraphDesk(tmp_path, graph, cases={"max_message_bytes": 2048})
    oversized = make_mail(sender=f"Onderzoeker <{REPORTERS[0]}>", body="x" * 4000 + "\n")
    desk.deliver(oversized, report(REPORTERS[1]))

    code, _ = desk.cli("run", "--once")

    assert code == 0
    assert [m.mime for m in graph.in_folder("Quarantine")] == [oversized]
    assert len(graph.in_folder("Processed")) == 1
    assert graph.in_folder("inbox") == []
    assert [c["reporter"] for c in desk.cases()] == [REPORTERS[1]]


def test_the_purge_erases_filed_mail_from_the_mailbox_by_its_immutable_id(
    graph: GraphStandIn, tokens: Tokens, waits: list[float], tmp_path: Path
) -> None:
    desk = GraphDesk(tmp_path, graph, retention={"ignored_purge_days": 1})
    out_of_office = make_mail(
        sender="Lotte Jansen <lotte.jansen@example.test>",
        subject="Afwezig: uw bericht",
        body="Ik ben tot maandag afwezig. Bel 06-11223344 bij spoed.\n",
        headers={"Auto-Submitted": "auto-replied"},
    )
    kept = report(REPORTERS[0])
    desk.deliver(out_of_office, kept)
    desk.cli("run", "--once")
    assert len(graph.in_folder("Processed")) == 2

    desk.clock.advance(dt.timedelta(days=2))
    code, _ = desk.cli("purge")

    # Moved into Processed, found there by the key it was stored under, and gone for good
    # (not into Deleted Items); the open case's report stays.
    assert code == 0
    assert [m.mime for m in graph.in_folder("Processed")] == [kept]
    assert graph.in_folder("deleteditems") == []
    assert any(c.path.endswith("/permanentDelete") for c in graph.calls)
