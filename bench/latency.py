"""How long a researcher waits for the acknowledgement. Run by hand:

    .venv/bin/python bench/latency.py [--mails 50]

A private Dovecot, an SMTP server on loopback (aiosmtpd, in this process) and `mailtriage run`
as its own process with IMAP IDLE. Each report is APPENDed to the INBOX and timed until its
acknowledgement reaches the SMTP server; the median and 95th percentile are printed.
Target (reported, never asserted in tests): 95th percentile under one second.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.config import write_config  # noqa: E402
from tests.support.dovecot import Dovecot  # noqa: E402
from tests.support.mails import make_mail  # noqa: E402
from tests.support.smtp import SmtpServer  # noqa: E402


def wait_until(condition, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        if condition():
            return True
        time.sleep(0.001)
    return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=50)
    args = parser.parse_args()
    latencies: list[float] = []
    with Dovecot() as dovecot, SmtpServer() as smtp, tempfile.TemporaryDirectory() as tmp:
        config = write_config(
            Path(tmp),
            {
                "mailbox": dovecot.mailbox_section(idle=True, poll_interval_seconds=300),
                "smtp": smtp.smtp_config(),
                "cases": {"staff_notify": "security-team@example.nl"},
            },
        )
        daemon = subprocess.Popen(
            [sys.executable, "-m", "mailtriage", "--config", str(config), "run"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=os.environ.copy(),
        )
        try:
            if not wait_until(lambda: (Path(tmp) / "store.sqlite").exists(), 30):
                print("the daemon did not start")
                return 1
            time.sleep(2)  # the first pass, then IDLE
            with dovecot.client() as client:
                for i in range(args.mails):
                    reporter = f"researcher{i}@example.test"
                    raw = make_mail(sender=reporter, subject=f"Finding {i}",
                                    body=f"XSS on https://app{i}.example.nl/ at 14:{i % 60:02d}.")
                    start = time.perf_counter()
                    client.append("INBOX", raw)
                    if not wait_until(lambda r=reporter: bool(smtp.to(r)), 30):
                        print(f"mail {i}: no acknowledgement within 30 s")
                        return 1
                    latencies.append(time.perf_counter() - start)
                    time.sleep(0.2)  # the next report finds the daemon idle again
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=30)
    latencies.sort()
    p95 = latencies[max(0, round(0.95 * len(latencies)) - 1)]
    print(f"APPEND -> acknowledgement at the SMTP server, {len(latencies)} mails:")
    print(f"  median {statistics.median(latencies) * 1000:.0f} ms, "
          f"95th percentile {p95 * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms")
    print(f"  target: 95th percentile under 1000 ms: {'met' if p95 < 1 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
