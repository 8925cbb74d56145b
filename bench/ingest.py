"""Intake throughput and memory, against a private Dovecot on loopback. Run by hand:

    .venv/bin/python bench/ingest.py [--mails 1000] [--big-mb 25]

Three measurements in one run:
- baseline: the same 1,000 mails fetched from Dovecot (BODY.PEEK[], batches of 100) and parsed
  with the stdlib `email` package, nothing else;
- pipeline: mailtriage's whole intake over those mails (store raw, commit, parse, triage,
  open cases, commit, move to the processed folder);
- big mail: one mail of about 25 MB ingested by a fresh process, its peak RSS.
Targets (reported, never asserted in tests): pipeline >= 0.5 x baseline; big mail < 150 MB.
"""

from __future__ import annotations

import argparse
import base64
import email
import email.policy
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.config import write_config  # noqa: E402
from tests.support.dovecot import Dovecot  # noqa: E402

REPORT_NL = (
    "Beste securityteam,\n\nOp https://portal{i}.example.nl/zoek?q= is een reflected XSS "
    "mogelijk: de parameter q wordt zonder escaping in de pagina gezet. Gevonden op "
    "27-11-2026 om 14:{m:02d}. Het verzoek en de respons staan in de bijlage.\n\n"
    "Stappen:\n1. Open de zoekpagina.\n2. Zoek op <script>alert(1)</script>.\n"
    "3. Het script wordt uitgevoerd.\n\nIk heb geen gegevens ingezien of bewaard.\n\n"
    "Met vriendelijke groet,\nOnderzoeker {i}\n"
)
REPORT_EN = (
    "Hello,\n\nThe host 192.0.2.{h} exposes an admin panel at http://192.0.2.{h}:8080/admin "
    "without authentication (seen 2026-11-27 09:{m:02d} UTC). Anyone can change the "
    "configuration of the service from there. Request and response are attached.\n\n"
    "I stopped after confirming the issue and kept no data.\n\nRegards,\nResearcher {i}\n"
)


def corpus(count: int) -> list[bytes]:
    """A realistic mix: plain text, text + HTML alternative, and reports with a PoC attached."""
    from email.message import EmailMessage
    from email.utils import make_msgid

    mails = []
    for i in range(count):
        text = (REPORT_NL if i % 2 else REPORT_EN).format(i=i, m=i % 60, h=i % 250 + 1)
        msg = EmailMessage()
        msg["From"] = f"Researcher {i} <researcher{i}@example.test>"
        msg["To"] = "security@example.nl"
        msg["Subject"] = f"Finding {i}: security issue"
        msg["Date"] = "Fri, 27 Nov 2026 14:00:00 +0100"
        msg["Message-ID"] = make_msgid(f"bench{i}", domain="example.test")
        msg.set_content(text)
        if i % 3 == 1:
            msg.add_alternative(
                f"<html><body><p>{text.replace(chr(10), '<br>')}</p></body></html>", subtype="html"
            )
        elif i % 3 == 2:
            poc = (
                f"GET /zoek?q=%3Cscript%3E HTTP/1.1\r\nHost: portal{i}.example.nl\r\n\r\n" * 20
            ).encode()
            msg.add_attachment(poc, maintype="text", subtype="plain", filename=f"poc-{i}.txt")
        mails.append(msg.as_bytes())
    return mails


def append_all(server: Dovecot, mails: list[bytes]) -> None:
    with server.client() as client:
        for raw in mails:
            client.append("INBOX", raw)


def baseline(server: Dovecot) -> tuple[int, float]:
    start = time.perf_counter()
    n = 0
    with server.client() as client:
        client.select_folder("INBOX", readonly=True)
        uids = client.search("ALL")
        for i in range(0, len(uids), 100):
            for data in client.fetch(uids[i : i + 100], [b"BODY.PEEK[]"]).values():
                msg = email.message_from_bytes(data[b"BODY[]"], policy=email.policy.default)
                body = msg.get_body(("plain", "html"))
                if body is not None:
                    body.get_content()
                n += 1
    return n, time.perf_counter() - start


def pipeline(server: Dovecot, workdir: Path) -> tuple[int, float]:
    from mailtriage.config import load_config
    from mailtriage.service.wiring import build

    app = build(load_config(_config(server, workdir)))
    mailbox = app.open_mailbox()
    start = time.perf_counter()
    report = app.intake.run_mailbox(mailbox)
    elapsed = time.perf_counter() - start
    mailbox.close()
    app.close()
    assert report.cases_opened == report.fetched, report
    return report.fetched, elapsed


def delivery(workdir: Path) -> tuple[int, float]:
    """The outbox the pipeline run filled (acknowledgements and staff notifications):
    rendered, composed and sent to an SMTP server on loopback."""
    from tests.support.config import write_config as rewrite
    from tests.support.smtp import SmtpServer

    from mailtriage.config import load_config
    from mailtriage.service.wiring import build

    with SmtpServer() as smtp:
        app = build(load_config(rewrite(workdir, {"smtp": smtp.smtp_config()})))
        start = time.perf_counter()
        report = app.sender.deliver_due(limit=100_000)
        elapsed = time.perf_counter() - start
        app.close()
        assert report.sent == len(smtp.received), report
    return report.sent, elapsed


def _config(server: Dovecot, workdir: Path) -> Path:
    return write_config(
        workdir,
        {
            "mailbox": server.mailbox_section(),
            "cases": {"staff_notify": "security-team@example.nl"},
        },
    )


def big_mail(megabytes: int) -> bytes:
    payload = base64.encodebytes(os.urandom(megabytes * 1024 * 1024 * 3 // 4))
    head = (
        b"From: Big Sender <big@example.test>\r\nTo: security@example.nl\r\n"
        b"Subject: Memory dump of the affected host\r\nMessage-ID: <big@example.test>\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\nThe dump is attached.\r\n"
        b"--b\r\nContent-Type: application/octet-stream\r\n"
        b'Content-Disposition: attachment; filename="dump.bin"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n"
    )
    return head + payload.replace(b"\n", b"\r\n") + b"\r\n--b--\r\n"


def big_mail_rss(server: Dovecot, workdir: Path, megabytes: int) -> tuple[int, float]:
    raw = big_mail(megabytes)
    append_all(server, [raw])
    config = _config(server, workdir)
    subprocess.run(
        [sys.executable, "-m", "mailtriage", "--config", str(config), "db", "upgrade"],
        check=True,
        capture_output=True,
    )
    # The child reports its own peak from VmHWM: ru_maxrss would carry over this (large)
    # parent's peak through fork and exec, and RUSAGE_CHILDREN would count Dovecot too.
    probe = (
        "import re, sys\n"
        "from mailtriage.service.cli import main\n"
        "code = main(sys.argv[1:])\n"
        "status = open('/proc/self/status').read()\n"
        "print(re.search(r'VmHWM:\\s+(\\d+)', status).group(1), file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, "--config", str(config), "run", "--once"],
        check=True,
        capture_output=True,
        text=True,
    )
    peak_kb = int(result.stderr.strip().splitlines()[-1])
    return len(raw), peak_kb / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=1000)
    parser.add_argument("--big-mb", type=int, default=25)
    args = parser.parse_args()
    mails = corpus(args.mails)
    with Dovecot() as server, tempfile.TemporaryDirectory() as tmp:
        append_all(server, mails)
        n_base, t_base = baseline(server)
        n_pipe, t_pipe = pipeline(server, Path(tmp))
        n_sent, t_sent = delivery(Path(tmp))
    base_rate, pipe_rate = n_base / t_base, n_pipe / t_pipe
    ratio = pipe_rate / base_rate
    print(
        f"baseline (IMAP fetch + email parse): {n_base} mails in {t_base:.2f} s "
        f"= {base_rate:.0f} mails/s"
    )
    print(
        f"pipeline (whole intake):             {n_pipe} mails in {t_pipe:.2f} s "
        f"= {pipe_rate:.0f} mails/s"
    )
    print(
        f"ratio pipeline/baseline: {ratio:.2f}  (target >= 0.50: "
        f"{'met' if ratio >= 0.5 else 'NOT met'})"
    )
    print(
        f"outbox (render + compose + SMTP on loopback): {n_sent} mails in {t_sent:.2f} s "
        f"= {n_sent / t_sent:.0f} mails/s"
    )
    with Dovecot() as server, tempfile.TemporaryDirectory() as tmp:
        size, peak_mb = big_mail_rss(server, Path(tmp), args.big_mb)
    print(
        f"big mail: {size / 1e6:.1f} MB ingested by a fresh process, peak RSS {peak_mb:.0f} MB "
        f"(target < 150 MB: {'met' if peak_mb < 150 else 'NOT met'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
