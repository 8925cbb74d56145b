"""Listing cases without holding them: `cases` at 100,000 cases in flat memory.

The rows come from the store in chunks (`yield_per`), each with its message count from a
correlated count (one index lookup per case) instead of a second query over every id, and
are written out as they come: JSON as one array written element by element (the same text
`json.dump(..., indent=2)` writes), the table in two passes over the query, the first only
measuring the columns, so no list of rows or case objects is ever built.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TextIO

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from mailtriage.service.views import CASES_HEADER, case_object, case_row
from mailtriage.store.models import Case, StoredMessage

CHUNK = 1000


def cases_with_counts(session: Session, query: Select[tuple[Case]]) -> Iterator[tuple[Case, int]]:
    """The cases `query` selects, each with its number of messages, streamed."""
    messages = (
        select(func.count())
        .where(StoredMessage.case_id == Case.id)
        .correlate(Case)
        .scalar_subquery()
    )
    rows = session.execute(query.add_columns(messages).execution_options(yield_per=CHUNK))
    # The session's identity map holds clean objects weakly: a case written out is freed.
    for row in rows:
        yield row[0], row[1]


def write_json_array(items: Iterable[Any], out: TextIO) -> None:
    """`json.dump(list(items), out, ensure_ascii=False, indent=2)` and a newline, without
    the list."""
    first = True
    for item in items:
        text = json.dumps(item, ensure_ascii=False, indent=2)
        out.write(("[\n" if first else ",\n") + "  " + text.replace("\n", "\n  "))
        first = False
    out.write("[]\n" if first else "\n]\n")


def write_cases_json(
    session: Session, query: Select[tuple[Case]], tz: dt.tzinfo, out: TextIO
) -> None:
    write_json_array(
        (case_object(case, count, tz) for case, count in cases_with_counts(session, query)), out
    )


def write_cases_table(
    rows: Callable[[], Iterable[tuple[Case, int]]], tz: dt.tzinfo, out: TextIO
) -> None:
    """The `cases` table (as `views.format_table` lays it out); `rows` is called twice."""
    widths = [len(title) for title in CASES_HEADER]
    any_row = False
    for case, count in rows():
        any_row = True
        for i, cell in enumerate(case_row(case, count, tz)):
            widths[i] = max(widths[i], len(cell))
    if not any_row:
        out.write("no cases\n")
        return

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip() + "\n"

    out.write(line(CASES_HEADER))
    for case, count in rows():
        out.write(line(case_row(case, count, tz)))
