"""Only `mailtriage.clock` reads the wall clock.

A hidden `datetime.now()` once made the suite pass on weekends and fail on Monday evenings:
every decision about time (due dates, the digest, retention, Date headers) must come from the
clock the composition root hands out, so tests and faketime runs can choose the instant. This
test reads the source, so a new wall-clock read fails here with its file and line, before any
calendar has to catch it. Monotonic timers measure durations and are allowed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import mailtriage

SOURCE = Path(mailtriage.__file__).parent
WALL_CLOCK_CALLS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "time_ns"),
    ("time", "localtime"),
    ("time", "gmtime"),
    ("utils", "formatdate"),
}


def wall_clock_reads(tree: ast.AST) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        owner = node.func.value
        name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
        if (name, node.func.attr) in WALL_CLOCK_CALLS:
            found.append((node.lineno, f"{name}.{node.func.attr}()"))
    return found


def test_the_detector_finds_the_forms_a_wall_clock_read_takes() -> None:
    sample = "import datetime as dt, time\nx = dt.datetime.now(dt.UTC)\ny = time.time()\n"
    assert [call for _, call in wall_clock_reads(ast.parse(sample))] == [
        "datetime.now()",
        "time.time()",
    ]


def test_no_module_but_the_clock_reads_the_wall_clock() -> None:
    offenders = [
        f"{path.relative_to(SOURCE)}:{line}: {call}"
        for path in sorted(SOURCE.rglob("*.py"))
        if path.name != "clock.py" or path.parent != SOURCE
        for line, call in wall_clock_reads(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert offenders == []
    clock_source = (SOURCE / "clock.py").read_text(encoding="utf-8")
    assert wall_clock_reads(ast.parse(clock_source)), "clock.py is where the one read lives"
