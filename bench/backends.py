"""Intake on SQLite and on PostgreSQL: the same mails, the same run. Run by hand:

    .venv/bin/python bench/backends.py [--mails 1000] [--big-mb 25]

For each backend: a fresh private Dovecot holding the same mails, mailtriage's whole intake
over them (store raw, commit, parse, triage, open cases, move), then the outbox it filled
delivered to an SMTP server on loopback, and one big mail ingested by a fresh process (its
peak RSS). PostgreSQL is a private server started by tests/support/postgres.py (fsync off, as
in the tests: the figures compare the code paths, not the disks).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ingest import append_all, big_mail_rss, corpus, delivery, pipeline  # noqa: E402
from tests.support.dovecot import Dovecot  # noqa: E402
from tests.support.postgres import BACKEND_VARIABLE  # noqa: E402


def one_backend(backend: str, mails: list[bytes], big_mb: int) -> dict[str, float]:
    os.environ[BACKEND_VARIABLE] = backend  # read by tests/support/config.py's store URL
    with Dovecot() as server, tempfile.TemporaryDirectory() as tmp:
        append_all(server, mails)
        n_pipe, t_pipe = pipeline(server, Path(tmp))
        n_sent, t_sent = delivery(Path(tmp))
    with Dovecot() as server, tempfile.TemporaryDirectory() as tmp:
        _, peak_mb = big_mail_rss(server, Path(tmp), big_mb)
    return {
        "mails": n_pipe,
        "intake_s": t_pipe,
        "intake_rate": n_pipe / t_pipe,
        "sent": n_sent,
        "outbox_s": t_sent,
        "outbox_rate": n_sent / t_sent,
        "big_peak_mb": peak_mb,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=1000)
    parser.add_argument("--big-mb", type=int, default=25)
    args = parser.parse_args()
    mails = corpus(args.mails)
    for backend in ("sqlite", "postgresql"):
        r = one_backend(backend, mails, args.big_mb)
        print(
            f"{backend:10s}: intake {r['mails']:.0f} mails in {r['intake_s']:.2f} s "
            f"= {r['intake_rate']:.0f} mails/s; outbox {r['sent']:.0f} mails in "
            f"{r['outbox_s']:.2f} s = {r['outbox_rate']:.0f} mails/s; "
            f"{args.big_mb} MB mail: peak RSS {r['big_peak_mb']:.0f} MB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
