"""A burst of reports, end to end, as a reporter sees it. Run by hand:

    .venv/bin/python bench/e2e.py [--mails 1000]

N reports are APPENDed to a private Dovecot; then, in the same run:
- baseline: the same N mails fetched from Dovecot (BODY.PEEK[], batches of 100), parsed with
  the stdlib `email` package, and 2 N small mails (an answer and a notice per report)
  composed with the stdlib and sent over one SMTP connection;
- mailtriage: one `run --once` (in-process, as `cli.main`), timed until it returns, by which
  time every acknowledgement and staff notice has been accepted by the SMTP server.
The SMTP server is aiosmtpd in a process of its own (bench/smtpsink.py), which counts what
it accepted. Target (reported, never asserted in tests): mailtriage >= 0.5 x baseline.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import smtplib
import subprocess
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ingest import append_all, corpus  # noqa: E402
from tests.support.config import write_config  # noqa: E402
from tests.support.dovecot import Dovecot, free_port  # noqa: E402

STAFF = "security-team@example.nl"


class Sink:
    """bench/smtpsink.py in its own process."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "smtpsink.py"), str(self.port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "ready"

    def accepted(self) -> int:
        out, _ = self.proc.communicate("")
        return int(out.strip())


def baseline(server: Dovecot, port: int) -> tuple[int, int, float]:
    start = time.perf_counter()
    parsed = sent = 0
    with server.client() as client, smtplib.SMTP("127.0.0.1", port) as smtp:
        client.select_folder("INBOX", readonly=True)
        uids = client.search("ALL")
        for i in range(0, len(uids), 100):
            for data in client.fetch(uids[i : i + 100], [b"BODY.PEEK[]"]).values():
                msg = email.message_from_bytes(data[b"BODY[]"], policy=email.policy.default)
                body = msg.get_body(("plain", "html"))
                text = body.get_content() if body is not None else ""
                parsed += 1
                for to in (str(msg["From"].addresses[0].addr_spec), STAFF):
                    answer = EmailMessage()
                    answer["From"] = "security@example.nl"
                    answer["To"] = to
                    answer["Subject"] = f"Re: {msg['Subject']}"
                    answer.set_content(f"Thank you, we received your report.\n\n{text[:200]}")
                    smtp.sendmail("security@example.nl", [to], answer.as_bytes())
                    sent += 1
    return parsed, sent, time.perf_counter() - start


def desk(server: Dovecot, port: int, workdir: Path) -> tuple[float, str]:
    from mailtriage.service.cli import main

    config = write_config(
        workdir,
        {
            "mailbox": server.mailbox_section(),
            "smtp": {
                "transport": "smtp",
                "host": "127.0.0.1",
                "port": port,
                "tls": "none",
                "from_address": "security@example.nl",
                "from_name": "PZEM Security Team",
            },
            "cases": {"staff_notify": STAFF},
        },
    )
    assert main(["--config", str(config), "db", "upgrade"]) == 0
    start = time.perf_counter()
    assert main(["--config", str(config), "run", "--once"]) == 0
    elapsed = time.perf_counter() - start
    return elapsed, str(config)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=1000)
    args = parser.parse_args()
    mails = corpus(args.mails)
    with Dovecot() as server, tempfile.TemporaryDirectory() as tmp:
        append_all(server, mails)
        sink = Sink()
        n_base, sent_base, t_base = baseline(server, sink.port)
        assert sink.accepted() == sent_base
        sink = Sink()
        t_desk, _ = desk(server, sink.port, Path(tmp))
        sent_desk = sink.accepted()
    base_rate, desk_rate = n_base / t_base, args.mails / t_desk
    ratio = desk_rate / base_rate
    print(
        f"baseline (fetch + parse + {sent_base} mails over one connection): {n_base} reports "
        f"in {t_base:.2f} s = {base_rate:.0f} reports/s"
    )
    print(
        f"mailtriage run --once ({sent_desk} mails accepted by the SMTP server): "
        f"{args.mails} reports in {t_desk:.2f} s = {desk_rate:.0f} reports/s"
    )
    print(f"ratio: {ratio:.2f}  (target >= 0.50: {'met' if ratio >= 0.5 else 'NOT met'})")
    if sent_desk != 2 * args.mails:
        print(f"WARNING: expected {2 * args.mails} mails, the server accepted {sent_desk}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
