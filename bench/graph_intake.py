"""One pass over a Graph mailbox, against the local stand-in. Run by hand:

    .venv/bin/python bench/graph_intake.py [--mails 300] [--page 100]

Delivers N reports into the stand-in's inbox and times `mailtriage run --once` (list, fetch
each MIME, store, triage, acknowledge through sendMail, move to Processed), and counts the
HTTP requests it took. The stand-in answers at once, so this measures the desk's own cost
per Graph call, not Microsoft 365's latency (which adds ~50-200 ms per call for real).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.clock import QUIET_WORKDAY_MORNING  # noqa: E402
from tests.support.config import write_config  # noqa: E402
from tests.support.graph import GraphStandIn  # noqa: E402
from tests.support.mails import make_mail  # noqa: E402

import mailtriage.service.wiring  # noqa: E402
from mailtriage.service.cli import main  # noqa: E402


class Tokens:
    def token(self, *, force_refresh: bool = False) -> str:
        return "token-1"

    def expires_at(self) -> dt.datetime | None:
        return None


def main_bench() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mails", type=int, default=300)
    parser.add_argument("--page", type=int, default=100, help="the stand-in's page limit")
    args = parser.parse_args()
    mailtriage.service.wiring._graph_token_source = lambda config, clock: Tokens()  # type: ignore[assignment]
    with tempfile.TemporaryDirectory() as tmp, GraphStandIn() as graph:
        graph.page_limit = args.page
        for i in range(args.mails):
            graph.deliver(
                make_mail(
                    sender=f"Onderzoeker {i} <onderzoeker{i}@example.test>",
                    subject=f"Kwetsbaarheid {i} in het klantportaal",
                ),
                received=QUIET_WORKDAY_MORNING,
            )
        config = write_config(
            Path(tmp),
            {
                "mailbox": graph.mailbox_section(),
                "smtp": {"transport": "graph", "from_address": "security@example.nl"},
                "cases": {"staff_notify": "security-team@example.nl"},
            },
        )
        started = time.monotonic()
        with contextlib.redirect_stdout(io.StringIO()):
            code = main(
                ["--config", str(config), "run", "--once"], clock=lambda: QUIET_WORKDAY_MORNING
            )
        took = time.monotonic() - started
        calls = Counter(c.path.rsplit("/", 1)[-1] for c in graph.calls)
        print(f"exit {code}; {args.mails} mails in {took:.1f} s ({args.mails / took:.1f} mails/s)")
        print(f"processed {len(graph.in_folder('Processed'))}, sent {len(graph.sent)}")
        print(f"requests {len(graph.calls)}: {dict(calls.most_common(6))}")


if __name__ == "__main__":
    main_bench()
