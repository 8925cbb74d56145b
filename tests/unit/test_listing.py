"""The streamed listing writes exactly what the list-building one wrote."""

from __future__ import annotations

import datetime as dt
import io
import json

from mailtriage.service.listing import write_cases_table, write_json_array
from mailtriage.service.views import cases_table
from mailtriage.store.models import Case

TZ = dt.timezone(dt.timedelta(hours=1))


def test_the_json_array_is_json_dump_with_indent_two() -> None:
    for items in ([], [{"a": 1}], [{"ref": "PZEM-1", "subject": "Lek ☃", "n": [1, 2]}, {}, 3]):
        out = io.StringIO()
        write_json_array(iter(items), out)
        assert out.getvalue() == json.dumps(items, ensure_ascii=False, indent=2) + "\n"


def test_the_table_is_the_same_table() -> None:
    received = dt.datetime(2026, 11, 27, 13, 0, tzinfo=dt.UTC)
    cases = [
        Case(
            id=n,
            ref=f"PZEM-SEC-2026-{n:04d}",
            state="closed" if n % 2 else "acknowledged",
            close_reason="fixed" if n % 2 else None,
            language="nl",
            severity="high" if n == 2 else None,
            owner="anna.bakker@example.nl" if n == 3 else None,
            received_at=received,
            first_response_due=received + dt.timedelta(days=7) if n != 4 else None,
            purged_at=None,
            subject="Een veel langer onderwerp dan de rest" if n == 1 else f"Lek {n}",
        )
        for n in range(1, 5)
    ]
    counts = {1: 3, 2: 1}
    out = io.StringIO()
    write_cases_table(lambda: ((c, counts.get(c.id, 0)) for c in cases), TZ, out)
    assert out.getvalue() == cases_table(cases, counts, TZ) + "\n"
