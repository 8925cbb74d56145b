"""`make demo`: a fresh desk in demo/run, seeded with sample mail, run once, cases printed.

Everything stays inside demo/run: the SQLite store, the Maildir spool the samples are
delivered into, and the Maildir outbox that replies are written to.
"""

from __future__ import annotations

import email
import email.policy
import shutil
import sys
from pathlib import Path

from mailtriage.mailbox.maildir import ensure_maildir
from mailtriage.service.cli import main

HERE = Path(__file__).resolve().parent
RUN = HERE / "run"

CONFIG = """\
[mailbox]
source = "maildir"
path = "spool"

[smtp]
transport = "maildir"
path = "outbox"
from_address = "security@example.nl"
from_name = "PZEM Security Team (demo)"

[store]
url = "sqlite:///mailtriage.sqlite"

[cases]
staff = ["analyst@example.nl"]
staff_notify = "security-team@example.nl"
# A staff mail counts only with an Authentication-Results header from this MX on top. The
# demo has no MX, so no seeded mail is staff mail; a real desk lists its own MX here.
trusted_authserv_ids = ["mx.example.nl"]
"""


def seed() -> Path:
    if RUN.exists():
        shutil.rmtree(RUN)
    spool = RUN / "spool"
    ensure_maildir(spool)
    ensure_maildir(RUN / "outbox")
    for sample in sorted((HERE / "seed").glob("*.eml")):
        shutil.copyfile(sample, spool / "new" / sample.name)
    config = RUN / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    return config


def show_outbox(lines_per_mail: int = 14) -> None:
    """Print what the desk wrote: every mail in the outbox Maildir, the start of its text."""
    written = sorted((RUN / "outbox" / "new").iterdir(), key=lambda p: p.stat().st_mtime_ns)
    print(f"\n{len(written)} mails written to {RUN / 'outbox'}:")
    for path in written:
        mail = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        # The text part: some mails carry attachments (the monthly figures, their charts).
        text = mail.get_body(("plain",))
        content = text.get_content() if text is not None else ""
        body = content.replace("\r\n", "\n").strip().splitlines()
        print("\n" + "=" * 78)
        for header in ("To", "Subject", "In-Reply-To", "Auto-Submitted"):
            if mail[header]:
                print(f"{header}: {mail[header]}")
        print()
        print("\n".join(body[:lines_per_mail]))
        if len(body) > lines_per_mail:
            print(f"[... {len(body) - lines_per_mail} more lines]")


def run() -> int:
    config = str(seed())
    print(f"demo desk in {RUN}: {len(list((HERE / 'seed').glob('*.eml')))} sample mails seeded\n")
    code = main(["--config", config, "run", "--once"])
    if code != 0:
        return code
    print()
    code = main(["--config", config, "cases"])
    show_outbox()
    return code


if __name__ == "__main__":
    sys.exit(run())
