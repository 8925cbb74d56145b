"""The read-only commands stay interactive: what the command line imports before it works.

Issue 14 asks for `mailtriage cases --overdue` within 0.3 s on a 100,000-case store, counted
as an operator sees it: the whole process, start-up included. Nearly all of a command's
start-up is imports, and the command line once imported the daemon, the whole desk, the
charts (matplotlib), OAuth2 (msal, google-auth, httpx), the scheduler and Alembic for every
command: half a second before `cases` read a row. Each command now imports what it uses, and
a store already at the newest schema is opened without Alembic.

These tests hold the property itself (which libraries a fresh process loads), never a time:
timings belong to bench/bigstore.py, where a loaded machine cannot fail the suite.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import mailtriage
from mailtriage.service.cli import main
from mailtriage.store import Case, Store
from tests.support.config import write_config

# Heavy libraries none of the read-only commands needs; any one of them costs tens of
# milliseconds or more to import.
HEAVY = (
    "alembic",
    "apscheduler",
    "matplotlib",
    "msal",
    "google.auth",
    "httpx",
    "jinja2",
    "pyzipper",
    "holidays",
)
# The mailtriage modules that import the heavy ones (the desk, the daemon, the wiring).
HEAVY_OWN = (
    "mailtriage.service.daemon",
    "mailtriage.service.wiring",
    "mailtriage.desk.casework",
    "mailtriage.outgoing.charts",
    "mailtriage.intake.pipeline",
)

# Runs the command line in this fresh process and reports its exit code and which of the
# modules named in argv[1] (JSON) it loaded.
PROBE = """
import contextlib, io, json, sys
watched = json.loads(sys.argv[1])
code = None
if len(sys.argv) > 2:
    from mailtriage.service.cli import main
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(sys.argv[2:])
else:
    import mailtriage.service.cli
print(json.dumps({"code": code, "loaded": sorted(m for m in watched if m in sys.modules)}))
"""


def _fresh_process(*argv: str) -> dict[str, object]:
    """Run PROBE in a new interpreter that imports this very mailtriage package."""
    source_root = str(Path(mailtriage.__file__).resolve().parents[1])
    path = os.pathsep.join(p for p in (source_root, os.environ.get("PYTHONPATH")) if p)
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps([*HEAVY, *HEAVY_OWN]), *argv],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": path},
    )
    report: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return report


def test_importing_the_command_line_loads_no_heavy_library() -> None:
    assert _fresh_process()["loaded"] == []


@pytest.fixture
def current_store(tmp_path: Path) -> Path:
    """A config whose store is at the newest schema and holds one open case."""
    config = write_config(tmp_path, {})
    assert main(["--config", str(config), "db", "upgrade"]) == 0
    from mailtriage.config import load_config

    store = Store(load_config(config).store.url)
    received = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
    with store.session() as session:
        session.add(
            Case(
                ref="T-2026-0001",
                year=2026,
                seq=1,
                state="acknowledged",
                category="report",
                language="nl",
                received_at=received,
                first_response_due=received + dt.timedelta(days=7),
                created_at=received,
                legal_hold=False,
            )
        )
    store.dispose()
    return config


@pytest.mark.parametrize(
    "command",
    [
        ["cases", "--overdue"],
        ["cases", "--json"],
        ["case", "T-2026-0001"],
        ["case", "T-2026-0001", "--json"],
        ["status"],
        ["credits"],
        ["quarantine"],
    ],
)
def test_read_commands_on_a_current_store_load_no_heavy_library(
    current_store: Path, command: list[str]
) -> None:
    """Alembic included: a store at the newest revision is recognised by plain SQL."""
    report = _fresh_process("--config", str(current_store), *command)
    assert report == {"code": 0, "loaded": []}
