"""The monthly figures mail (issue 17): on the first working day of a month, after the digest
time, once, `staff_notify` gets last month's figures with both charts attached as PNGs.

The desk is built as the daemon builds it (`wiring.build`) over a store with chosen timings,
sending through the Maildir transport, and the mail is read back from that Maildir.
"""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from pathlib import Path

from mailtriage.config import load_config
from mailtriage.service.wiring import build
from tests.support.clock import FakeClock, local
from tests.support.figures import Builder


def sent(root: Path) -> list[EmailMessage]:
    folder = root / "outbox" / "new"
    if not folder.exists():
        return []
    mails = [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for path in folder.iterdir()
    ]
    return sorted(mails, key=lambda m: m["Date"].datetime)  # type: ignore[return-value]


def test_last_months_figures_go_to_staff_on_the_first_working_day_with_the_charts(
    tmp_path: Path,
) -> None:
    b = Builder(tmp_path)
    b.case(local(2026, 11, 2, 9, 0), ack_minutes=1, answered=local(2026, 11, 3, 15, 0))
    b.case(local(2026, 11, 4, 9, 0), ack_minutes=3, answered=local(2026, 11, 16, 9, 0))
    clock = FakeClock(local(2026, 12, 1, 7, 30))  # Tuesday 1 December, before the digest
    app = build(load_config(b.config_path), clock)
    try:

        def run_at(moment: object) -> int:
            clock.set(moment)  # type: ignore[arg-type]
            queued = app.jobs.monthly_report().monthly_reports
            app.sender.deliver_due()
            return queued

        assert run_at(local(2026, 12, 1, 7, 30)) == 0
        assert run_at(local(2026, 12, 1, 8, 30)) == 1
        assert run_at(local(2026, 12, 1, 17, 0)) == 0  # once
        assert run_at(local(2026, 12, 2, 8, 30)) == 0  # not on the second working day
        # January: the 1st is New Year's Day, the 2nd and 3rd a weekend.
        assert run_at(local(2027, 1, 1, 9, 0)) == 0
        assert run_at(local(2027, 1, 4, 8, 30)) == 1
    finally:
        app.close()

    november, december = sent(tmp_path)
    assert november["To"] == "team@example.nl"
    assert november["Subject"] == "Security desk figures for November 2026: 2 reports received"
    text = november.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    # 1 and 3 minutes: median (1 + 3) / 2; the 90th percentile is rank ceil(1.8) = 2 of 2
    assert "median 2, 90th percentile 3" in text
    assert "within the promise: 50%" in text  # the second was answered after 8 working days
    charts = [
        part for part in november.iter_attachments() if part.get_content_type() == "image/png"
    ]
    assert [c.get_filename() for c in charts] == [
        "reports-2026-11.png",
        "first-assessment-2026-11.png",
    ]
    assert all(c.get_content().startswith(b"\x89PNG\r\n\x1a\n") for c in charts)
    assert december["Subject"].startswith("Security desk figures for December 2026: 0 reports")
