"""A store of 100,000 cases, and how the listing commands fare on it. Run by hand:

    .venv/bin/python bench/bigstore.py [--cases 100000] [--keep DIR] [--big-mb 30] [--repeat 5]

Generates a SQLite store (migrated to the current schema) with N cases as years of a busy
desk leave them: most closed, some open and overdue, one message and a few timeline events
each. Then runs, each in a fresh process as an operator would, and reports time and peak RSS:
`cases --overdue`, `cases`, `cases --json`, `case REF`, and `ingest` of one big mail from
stdin. Targets (reported, never asserted in tests): `cases --overdue` under 0.3 s,
`cases --json` and the big `ingest` under 150 MB peak RSS.

A command that runs in under a second is run `--repeat` times after one warm-up run, and its
median and best wall times are reported: on a shared machine one run says little. The child
processes keep their bytecode in DIR/pycache (PYTHONPYCACHEPREFIX), also when the caller set
PYTHONDONTWRITEBYTECODE: an installed package has its bytecode (pip compiles it), so compiling
every module afresh in each run is a cost no operator pays.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ingest import big_mail  # noqa: E402
from tests.support.config import write_config  # noqa: E402

from mailtriage.store.db import Store  # noqa: E402
from mailtriage.store.models import Case, CaseEvent, StoredMessage  # noqa: E402

STATES = ["closed"] * 90 + ["triaged"] * 6 + ["fixing"] * 4
OVERDUE_EVERY = 2000  # one case in 2,000 still waits for its first assessment: 50 overdue
CHUNK = 5000

# The child reports its own peak from VmHWM (ru_maxrss would carry over the parent's).
PROBE = (
    "import re, sys\n"
    "from mailtriage.service.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "status = open('/proc/self/status').read()\n"
    "print('VmHWM', re.search(r'VmHWM:\\s+(\\d+)', status).group(1), file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def generate(store: Store, count: int) -> None:
    start = dt.datetime(2021, 1, 4, 9, 0, tzinfo=dt.UTC)
    with store.session() as session:
        for base in range(0, count, CHUNK):
            cases, messages, events = [], [], []
            for i in range(base, min(base + CHUNK, count)):
                received = start + dt.timedelta(minutes=25 * i)
                state = "acknowledged" if i % OVERDUE_EVERY == 7 else STATES[i % len(STATES)]
                answered = None if state == "acknowledged" else received + dt.timedelta(days=3)
                cases.append(
                    {
                        "id": i + 1,
                        "ref": f"PZEM-SEC-{received.year}-{i + 1:06d}",
                        "year": received.year,
                        "seq": i + 1,
                        "state": state,
                        "close_reason": "fixed" if state == "closed" else None,
                        "category": "report",
                        "language": "nl" if i % 2 else "en",
                        "reporter_address": f"onderzoeker{i}@example.test",
                        "reporter_name": f"Onderzoeker {i}",
                        "subject": f"Kwetsbaarheid {i} in het klantportaal",
                        "received_at": received,
                        "first_response_due": received + dt.timedelta(days=7),
                        "first_response_at": answered,
                        "closed_at": received + dt.timedelta(days=30)
                        if state == "closed"
                        else None,
                        "severity": ("low", "medium", "high", None)[i % 4],
                        "owner": "anna.bakker@example.nl" if i % 3 == 0 else None,
                        "legal_hold": False,
                        "created_at": received,
                    }
                )
                messages.append(
                    {
                        "id": i + 1,
                        "sha256": hashlib.sha256(str(i).encode()).hexdigest(),
                        "size": 2000,
                        "stored_at": received,
                        "arrived_at": received,
                        "status": "case",
                        "category": "report",
                        "case_id": i + 1,
                        "header_message_id": f"bench{i}@example.test",
                        "from_address": f"onderzoeker{i}@example.test",
                        "subject": f"Kwetsbaarheid {i} in het klantportaal",
                        "text_body": "Op https://portaal.example.nl/zoek zit een lek. " * 20,
                        "attempts": 1,
                    }
                )
                for kind in ("opened", "mail-sent", "mail-sent"):
                    events.append(
                        {"case_id": i + 1, "at": received, "kind": kind, "detail": {"n": i}}
                    )
            session.execute(insert(Case), cases)
            session.execute(insert(StoredMessage), messages)
            session.execute(insert(CaseEvent), events)


def child_env(workdir: Path) -> dict[str, str]:
    """The environment of the measured processes: bytecode cached, as an installation has it."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(workdir / "pycache")
    return env


def run(config: Path, *args: str, stdin: bytes | None = None) -> tuple[float, float, int]:
    """Seconds, peak RSS (MB) and output size of one command in a fresh process."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", PROBE, "--config", str(config), *args],
        input=stdin,
        capture_output=True,
        check=True,
        env=child_env(config.parent),
    )
    elapsed = time.perf_counter() - started
    found = re.search(rb"VmHWM (\d+)", result.stderr)
    assert found is not None, result.stderr
    return elapsed, int(found.group(1)) / 1024, len(result.stdout)


def in_process_seconds(config: Path, *args: str) -> float:
    """The command's own time, without the interpreter's start-up and imports."""
    probe = (
        "import sys, time, io, contextlib\n"
        "from mailtriage.service.cli import main\n"
        "t = time.perf_counter()\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(sys.argv[1:])\n"
        "print(time.perf_counter() - t)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, "--config", str(config), *args],
        capture_output=True,
        check=True,
        text=True,
        env=child_env(config.parent),
    ).stdout
    return float(out.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="build the store in DIR and keep it")
    parser.add_argument("--big-mb", type=int, default=30)
    parser.add_argument(
        "--repeat", type=int, default=5, help="runs of each command under a second (median)"
    )
    args = parser.parse_args()
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="mailtriage-bigstore-"))
    workdir.mkdir(parents=True, exist_ok=True)
    config = write_config(
        workdir,
        {
            "mailbox": {"source": "maildir", "path": str(workdir / "maildir")},
            "smtp": {
                "transport": "maildir",
                "path": str(workdir / "outbox"),
                "from_address": "security@example.nl",
            },
            "cases": {"staff_notify": "security-team@example.nl"},
        },
    )
    store_file = workdir / "store.sqlite"
    if not store_file.exists():
        store = Store(f"sqlite:///{store_file}")
        store.upgrade()
        started = time.perf_counter()
        generate(store, args.cases)
        store.dispose()
        print(f"generated {args.cases} cases in {time.perf_counter() - started:.1f} s")
    else:
        run(config, "db", "upgrade")
    ref = f"PZEM-SEC-2023-{args.cases // 2:06d}"
    for label, command in (
        ("cases --overdue", ["cases", "--overdue"]),
        ("cases", ["cases"]),
        ("cases --json", ["cases", "--json"]),
        (f"case {ref}", ["case", ref]),
    ):
        seconds, peak, size = run(config, *command)
        own = in_process_seconds(config, *command)
        spread = ""
        if seconds < 1 and args.repeat > 1:
            # The first run was the warm-up (bytecode written, files in the page cache).
            walls = [run(config, *command)[0] for _ in range(args.repeat)]
            owns = [in_process_seconds(config, *command) for _ in range(args.repeat)]
            seconds, own = statistics.median(walls), statistics.median(owns)
            spread = f" (median of {args.repeat}, best {min(walls):.2f} s)"
        print(
            f"{label:28} {seconds:6.2f} s with start-up, {own:6.3f} s in the command, "
            f"peak RSS {peak:5.0f} MB, output {size / 1e6:6.1f} MB{spread}"
        )
    raw = big_mail(args.big_mb)
    seconds, peak, _ = run(config, "ingest", stdin=raw)
    print(
        f"ingest of {len(raw) / 1e6:.1f} MB from stdin  {seconds:6.2f} s, peak RSS {peak:5.0f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
