"""SIGKILL at random moments during a backlog, then one pass: every reporter acknowledged
exactly once, nothing left running. Run by hand:

    .venv/bin/python bench/soak.py [--reports 300] [--kills 12] [--seed 14]

N reports are APPENDed to a private Dovecot; `mailtriage run` (a process of its own, as
systemd runs it) is started and SIGKILLed at a random moment, again and again; then one
`run --once`. Reported: acknowledgements per reporter (none missing, none doubled: the sender
process finishes the mail in hand and logs what the server accepted, see
outgoing/transport/sender.py), how long the final pass took (a dead daemon's claims are taken
over at once, so it does not wait out the 5-minute lease), and any child process of a killed
daemon still running.
"""

from __future__ import annotations

import argparse
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.config import write_config  # noqa: E402
from tests.support.dovecot import Dovecot  # noqa: E402
from tests.support.mails import make_mail  # noqa: E402
from tests.support.processes import descendants, running  # noqa: E402
from tests.support.smtp import SmtpServer  # noqa: E402

STAFF = "security-team@example.nl"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=300)
    parser.add_argument("--kills", type=int, default=12)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--spread", type=float, default=3.0, help="seconds of the random moment")
    parser.add_argument("--keep", type=Path, help="keep the store in DIR, to look into it")
    args = parser.parse_args()
    chance = random.Random(args.seed)
    with Dovecot() as server, SmtpServer() as smtp, tempfile.TemporaryDirectory() as scratch:
        tmp = args.keep or scratch
        with server.client() as client:
            for i in range(args.reports):
                client.append(
                    "INBOX",
                    make_mail(
                        sender=f"Onderzoeker {i} <onderzoeker{i}@example.test>",
                        subject=f"Kwetsbaarheid {i}",
                        body=f"Op https://portaal{i}.example.nl/login zit een lek ({i}).",
                    ),
                )
        config = write_config(
            Path(tmp),
            {
                "mailbox": server.mailbox_section(idle=True, poll_interval_seconds=30),
                "smtp": smtp.smtp_config(),
                "cases": {"staff_notify": STAFF},
            },
        )
        orphans: list[int] = []
        for kill in range(args.kills):
            daemon = subprocess.Popen(
                [sys.executable, "-m", "mailtriage", "--config", str(config), "run"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            # A random moment once the daemon is at work (its parse pool is up; on a loaded
            # machine the interpreter alone can take seconds to start), or of its delivery.
            deadline = time.monotonic() + 15
            while not descendants(daemon.pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(chance.uniform(0.0, args.spread))
            children = descendants(daemon.pid)
            daemon.send_signal(signal.SIGKILL)
            daemon.wait()
            time.sleep(2.0)
            left = [pid for pid in children if running(pid)]
            orphans.extend(left)
            acks = _acks(smtp)
            print(
                f"kill {kill + 1:2}: {len(acks):3} reporters acknowledged so far, "
                f"{len(children)} children, {len(left)} still running 2 s later"
            )
        started = time.monotonic()
        subprocess.run(
            [sys.executable, "-m", "mailtriage", "--config", str(config), "run", "--once"],
            check=True,
            capture_output=True,
        )
        final = time.monotonic() - started
        acks = _acks(smtp)
    expected = {f"onderzoeker{i}@example.test" for i in range(args.reports)}
    missing = expected - set(acks)
    doubled = {a: n for a, n in acks.items() if n > 1}
    print(f"final run --once: {final:.1f} s")
    print(
        f"reporters: {len(expected)}, acknowledged: {len(set(acks) & expected)}, "
        f"missing: {len(missing)}, doubled: {len(doubled)} ({sum(doubled.values()) - len(doubled)}"
        f" extra mails)"
    )
    print(f"child processes of killed daemons still running: {len(orphans)}")
    if missing:
        print("missing:", ", ".join(sorted(missing)))
    return 0 if not (missing or doubled or orphans) else 1


def _acks(smtp: SmtpServer) -> Counter[str]:
    return Counter(
        r.recipients[0]
        for r in list(smtp.received)
        if "auto-replied" in (r.message["Auto-Submitted"] or "")
    )


if __name__ == "__main__":
    sys.exit(main())
