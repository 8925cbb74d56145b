"""`make demo`: a fresh desk in demo/run, seeded with sample mail, run once, cases printed.

Everything stays inside demo/run: the SQLite store, the Maildir spool the samples are
delivered into, and the Maildir outbox that replies are written to.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from mailtriage.cli import main
from mailtriage.mailbox.maildir import ensure_maildir

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


def run() -> int:
    config = str(seed())
    print(f"demo desk in {RUN}: {len(list((HERE / 'seed').glob('*.eml')))} sample mails seeded\n")
    code = main(["--config", config, "run", "--once"])
    if code != 0:
        return code
    print()
    return main(["--config", config, "cases"])


if __name__ == "__main__":
    sys.exit(run())
