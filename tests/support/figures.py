"""A store with chosen timings, written the way the desk writes it, for the report tests."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
from pathlib import Path

from mailtriage.config import load_config
from mailtriage.policy.workdays import first_response_due
from mailtriage.service.cli import main
from mailtriage.store import Store
from mailtriage.store.models import Case, MessageStatus, OutboxMail, OutboxStatus, StoredMessage
from tests.support.clock import FakeClock, local
from tests.support.config import write_config

NOW = local(2026, 12, 1, 10, 0)


class Builder:
    """Writes cases, acknowledgements and automated mail the way the desk stores them."""

    def __init__(self, root: Path) -> None:
        self.config_path = write_config(root, {"cases": {"staff_notify": "team@example.nl"}})
        self.config = load_config(self.config_path)
        self.store = Store(self.config.store.url)
        self.store.upgrade()
        self.seq = 0

    def case(
        self,
        received: dt.datetime,
        *,
        ack_minutes: float | None = None,
        answered: dt.datetime | None = None,
        closed: dt.datetime | None = None,
        reason: str | None = None,
        category: str = "report",
        purged: bool = False,
    ) -> None:
        self.seq += 1
        with self.store.session() as session:
            case = Case(
                ref=f"PZEM-SEC-2026-{self.seq:04d}",
                year=2026,
                seq=self.seq,
                state="closed" if closed else ("triaged" if answered else "acknowledged"),
                close_reason=reason,
                category=category,
                language="nl",
                reporter_address=None if purged else f"melder{self.seq}@example.test",
                subject=None if purged else "Kwetsbaarheid",
                received_at=received,
                first_response_due=(
                    first_response_due(received, self.config.deadlines)
                    if category == "report"
                    else None
                ),
                first_response_at=answered,
                closed_at=closed,
                purged_at=NOW if purged else None,
                legal_hold=False,
                created_at=received,
            )
            session.add(case)
            session.flush()
            if ack_minutes is not None:
                sent = received + dt.timedelta(minutes=ack_minutes)
                session.add(
                    OutboxMail(
                        case_id=case.id,
                        kind="acknowledgement",
                        language="nl",
                        context={},
                        automatic=True,
                        auto_submitted="auto-replied",
                        recipient=None if purged else f"melder{self.seq}@example.test",
                        message_id=f"ack{self.seq}@example.nl",
                        status=OutboxStatus.SENT,
                        created_at=received,
                        next_attempt_at=received,
                        sent_at=sent,
                    )
                )

    def automated(self, arrived: dt.datetime, status: str = MessageStatus.AUTO) -> None:
        self.seq += 1
        with self.store.session() as session:
            session.add(
                StoredMessage(
                    sha256=f"{self.seq:064d}",
                    size=100,
                    stored_at=arrived,
                    arrived_at=arrived,
                    status=status,
                    category="auto",
                )
            )

    def cli(self, *args: str) -> str:
        """`mailtriage --config X ARGS...` at NOW, in this process: its stdout."""
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = main(["--config", str(self.config_path), *args], clock=FakeClock(NOW))
        assert code == 0
        return out.getvalue()

    def report(self, *args: str) -> str:
        return self.cli("report", *args)
