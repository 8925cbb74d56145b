"""The one place the wall clock is read.

Every promise the desk keeps is a matter of time — a due date, a digest on a working-day
morning, a purge after retention — so nothing below the composition root (`wiring.build`)
asks the operating system what time it is: each collaborator is handed a `Clock` and calls
it. Tests and `faketime` runs then decide the instant, and a test that passes on a Saturday
passes on a Monday evening too.

Timeouts and pacing (how long to wait for IMAP, when to ping the watchdog) measure durations,
not instants; they use `time.monotonic()` where they are, which no calendar can disturb.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

Clock = Callable[[], dt.datetime]
"""Returns the current instant, timezone-aware (UTC)."""


def system_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
