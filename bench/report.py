"""`mailtriage report` speed on a large store. Run by hand:

    .venv/bin/python bench/report.py [--cases 20000] [--months 24]

Why it exists: the report reads every case of the range and computes its figures in Python
(working days are counted day by day on the Dutch calendar), and `--html` draws two charts
with matplotlib. A desk with years of history must still get its figures in seconds. This
script fills a temporary SQLite store through the real migrations with `--cases` report
cases (each with a sent acknowledgement, most answered and closed) and a third as many
automated mails, spread over `--months` months, then times `report --json` and
`report --html` in this process (best of 3). Figures are printed, never asserted.

Measured on the 2-core shared machine (20000 cases over 24 months, 6666 automated mails):
`report --json` 2.5 s, `report --json --html FILE` 3.9 s (page 144 kB).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import random
import sys
import tempfile
import time
from pathlib import Path

from mailtriage.config import load_config
from mailtriage.policy.workdays import first_response_due
from mailtriage.service.cli import main
from mailtriage.store import Store
from mailtriage.store.models import Case, MessageStatus, OutboxMail, OutboxStatus, StoredMessage

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.clock import FakeClock, local  # noqa: E402
from tests.support.config import write_config  # noqa: E402


def fill(root: Path, cases: int, months: int) -> Path:
    config_path = write_config(root, {"cases": {"staff_notify": "team@example.nl"}})
    config = load_config(config_path)
    store = Store(config.store.url)
    store.upgrade()
    rng = random.Random(17)
    start = local(2025, 1, 1, 0, 0)
    span = dt.timedelta(days=30 * months)
    with store.session() as session:
        for seq in range(1, cases + 1):
            received = start + span * rng.random()
            answered = received + dt.timedelta(hours=rng.uniform(1, 240))
            closed = (
                answered + dt.timedelta(days=rng.uniform(1, 60)) if rng.random() < 0.8 else None
            )
            case = Case(
                ref=f"PZEM-SEC-{received.year}-{seq:06d}",
                year=received.year,
                seq=seq,
                state="closed" if closed else "triaged",
                close_reason=rng.choice(("fixed", "duplicate", "informative")) if closed else None,
                category="report",
                language="nl",
                received_at=received,
                first_response_due=first_response_due(received, config.deadlines),
                first_response_at=answered if rng.random() < 0.9 else None,
                closed_at=closed,
                legal_hold=False,
                created_at=received,
            )
            session.add(case)
            session.flush()
            session.add(
                OutboxMail(
                    case_id=case.id,
                    kind="acknowledgement",
                    language="nl",
                    context={},
                    automatic=True,
                    auto_submitted="auto-replied",
                    message_id=f"ack{seq}@example.nl",
                    status=OutboxStatus.SENT,
                    created_at=received,
                    next_attempt_at=received,
                    sent_at=received + dt.timedelta(seconds=rng.uniform(5, 600)),
                )
            )
        for n in range(cases // 3):
            arrived = start + span * rng.random()
            session.add(
                StoredMessage(
                    sha256=f"{n:064d}",
                    size=100,
                    stored_at=arrived,
                    arrived_at=arrived,
                    status=MessageStatus.AUTO,
                    category="auto",
                )
            )
    return config_path


def timed(config_path: Path, *args: str) -> float:
    best = float("inf")
    for _ in range(3):
        began = time.monotonic()
        with contextlib.redirect_stdout(io.StringIO()):
            code = main(
                ["--config", str(config_path), "report", *args],
                clock=FakeClock(local(2027, 1, 15, 9, 0)),
            )
        best = min(best, time.monotonic() - began)
        assert code == 0
    return best


def run() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=20000)
    parser.add_argument("--months", type=int, default=24)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        began = time.monotonic()
        config_path = fill(root, args.cases, args.months)
        print(f"filled {args.cases} cases over {args.months} months in "
              f"{time.monotonic() - began:.1f} s")  # fmt: skip
        print(f"report --json:              {timed(config_path, '--json'):.2f} s (best of 3)")
        page = root / "report.html"
        with_page = timed(config_path, "--json", "--html", str(page))
        size = page.stat().st_size // 1024
        print(f"report --json --html FILE:  {with_page:.2f} s (best of 3; page {size} kB)")


if __name__ == "__main__":
    run()
