"""Text-work speed: parsing, the redirect classifier, indicator scanning and masking. Run by hand:

    .venv/bin/python bench/textwork.py [--corpus /work/shared/corpus] [--rounds 3]

Why it exists: the project measures speed in benchmarks, never as timed assertions in tests.
The unit tests feed the same hostile input (megabyte lines, malformed mails) to these functions
and assert what comes out; a catastrophic-backtracking regression shows there as a hung test.
This script puts figures on it:
- parse_message per mail over the shared corpus (--corpus, or MAILTRIAGE_CORPUS) and over
  tests/corpus: mean, median and the worst file;
- redirect_reason per typical mail (tests/classifier/*.eml) and the worst of those files,
  the worst malformed mail, and the worst megabyte line (redirect_reason + explain);
- extract_indicators + detect_language on megabyte hostile lines, the worst one;
- mask_personal on the hostile text of the render test;
- the poison inputs of issue 10 (POISON): HTML built to be quadratic, blank lines for forward
  detection, long References headers. Measured on the 2-core shared machine, best of 3:

      input                                        before (main 034d920)   after
      html_to_text "<a" * 50k (100 kB)             18.6 s                  0.005 s
      html_to_text "<!--" * 25k (100 kB)           10.9 s                  0.002 s
      html_to_text 2 MB of "<a" / "<!--" / '<a "'  minutes (quadratic)     0.05 / 0.05 / 0.14 s
      forwarded_sender, 30k / 60k blank lines      30.9 s / 138 s          0.009 s (1 MB: 0.013 s)
      message_ids, 60 References of 64 kB         13 s (issue 10)          0.24 s
Each input is run once to warm up (compiled patterns, caches), then --rounds times; an input's
time is its fastest round. Targets are printed next to the figures, never asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from email.message import EmailMessage
from pathlib import Path

from mailtriage.inbound.forwards import forwarded_sender
from mailtriage.inbound.message import InboundMail, ParseError, parse_message
from mailtriage.inbound.mime.header_fields import message_ids
from mailtriage.inbound.textscan import detect_language, extract_indicators, html_to_text
from mailtriage.outgoing.masking import mask_personal
from mailtriage.policy.redirects import explain, redirect_reason

ROOT = Path(__file__).resolve().parents[1]
PROJECT_CORPUS = ROOT / "tests" / "corpus"
CLASSIFIER_SET = ROOT / "tests" / "classifier"

# The megabyte lines of tests/unit/test_textscan.py (HOSTILE_LINES), built on demand.
SCAN_LINES: dict[str, Callable[[], str]] = {
    "dots": lambda: "a." * 500_000,
    "one-word": lambda: "a" * 1_000_000,
    "colons": lambda: "1:" * 500_000,
    "hex-colons": lambda: "ab:" * 333_333,
    "schemes": lambda: "http://" * 150_000,
    "broken-schemes": lambda: "hxxp:/" * 160_000,
    "one-url": lambda: "http://" + "a" * 1_000_000,
    "defanged-dots": lambda: "[.]" * 333_333,
    "dates": lambda: "4 december " * 90_000,
    "times-with-uur": lambda: "14.05 " * 160_000,
    "address-parts": lambda: "a.b@" * 250_000,
    "ipv4-parts": lambda: "1.1.1." * 160_000,
}

# The megabyte lines of tests/unit/test_redirects.py, put in subject (first 1,000) and text.
CLASSIFIER_LINES: dict[str, Callable[[], str]] = {
    "letters": lambda: "a" * 1_000_000,
    "dashes": lambda: "-" * 1_000_000,
    "spaces": lambda: " " * 1_000_000,
    "words": lambda: "is " * 330_000,
    "header": lambda: "from: " + "x" * 1_000_000,
    "headers": lambda: "from: x\n" * 120_000,
    "quoted-headers": lambda: ("van: x\n" + "   > > y\n" * 5) * 30_000,
    "url": lambda: "https://" + "a/" * 500_000,
    "topics": lambda: "klacht factuur " * 70_000,
    "phish": lambda: "phishing " * 110_000,
}


# Issue 10's poison inputs: quadratic (seconds to minutes) before, linear after.
POISON: dict[str, Callable[[], Callable[[], object]]] = {
    "html <a 2 MB": lambda: functools.partial(html_to_text, "<a" * 1_000_000),
    "html <!-- 2 MB": lambda: functools.partial(html_to_text, "<!--" * 500_000),
    "html unclosed quotes 2 MB": lambda: functools.partial(html_to_text, '<a "' * 500_000),
    "forwards 1 MB blank lines": lambda: functools.partial(forwarded_sender, b"", "\n" * 1_000_000),
    "message_ids 60 x 64 kB": lambda: functools.partial(
        message_ids, [" ".join(f"<{h}.{i}@example.test>" for i in range(3_200)) for h in range(60)]
    ),
}


def poison(rounds: int) -> Row:
    items = [(name, make()) for name, make in POISON.items()]
    return time_each("issue 10 poison inputs", items, rounds, "linear; well under 1 s each")


def masking_text() -> str:
    """The hostile text of tests/unit/test_render.py (masking on hostile text)."""
    return ("a" * 200_000) + ("0" * 200_000) + ("a.b-" * 50_000) + ("+31 " * 50_000)


@dataclasses.dataclass(frozen=True)
class Row:
    what: str
    seconds: list[float]  # one figure per input
    worst: str  # the input that took longest
    target: str


def best_of(call: Callable[[], object], rounds: int) -> float:
    """The fastest of `rounds` runs after one warm-up run, in seconds."""
    call()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times)


def _parse(raw: bytes) -> None:
    # An empty file is refused with ParseError; refusing is timed too.
    with contextlib.suppress(ParseError):
        parse_message(raw)


def mail_files(root: Path) -> list[Path]:
    """Every mail under `root`, as tests/unit/test_message.py collects them (no README)."""
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix != ".md")


def time_each(
    what: str, items: Sequence[tuple[str, Callable[[], object]]], rounds: int, target: str
) -> Row:
    if not items:
        raise SystemExit(f"{what}: no input found")
    seconds = [best_of(call, rounds) for _, call in items]
    worst = items[max(range(len(items)), key=seconds.__getitem__)][0]
    return Row(what, seconds, worst, target)


def parsing(label: str, root: Path, rounds: int) -> Row:
    items = [
        (p.relative_to(root).as_posix(), functools.partial(_parse, p.read_bytes()))
        for p in mail_files(root)
    ]
    return time_each(f"parse_message, {label}", items, rounds, "< 5 s per mail (old test bound)")


def classifying_typical(rounds: int) -> Row:
    items = [
        (p.name, functools.partial(redirect_reason, parse_message(p.read_bytes())))
        for p in sorted(CLASSIFIER_SET.glob("*.eml"))
    ]
    return time_each(
        "redirect_reason, typical (tests/classifier)", items, rounds, "~0.2 ms; test bound was 2 ms"
    )


def classifying_malformed(root: Path, label: str, rounds: int) -> Row:
    items = []
    for path in sorted(root.glob("*.eml")):
        try:
            parsed = parse_message(path.read_bytes())
        except ParseError:
            continue  # nothing to classify
        items.append((path.name, functools.partial(redirect_reason, parsed)))
    return time_each(
        f"redirect_reason, {label}", items, rounds, "< 500 ms per mail (old test bound)"
    )


def _line_mail(line: str) -> InboundMail:
    msg = EmailMessage()
    msg["From"] = "Piet Klant <piet@example.test>"
    msg["To"] = "security@example.nl"
    msg["Subject"] = "x"
    msg.set_content("x")
    return dataclasses.replace(parse_message(msg.as_bytes()), subject=line[:1_000], text=line)


def _classify_and_explain(mail: InboundMail) -> None:
    redirect_reason(mail)
    explain(mail)


def classifying_lines(rounds: int) -> Row:
    items = [
        (name, functools.partial(_classify_and_explain, _line_mail(make())))
        for name, make in CLASSIFIER_LINES.items()
    ]
    return time_each(
        "redirect_reason + explain, 1 MB lines", items, rounds, "< 1 s per line (old test bound)"
    )


def _scan(text: str) -> None:
    extract_indicators(text)
    detect_language(text)


def scanning(rounds: int) -> Row:
    items = [(name, functools.partial(_scan, make())) for name, make in SCAN_LINES.items()]
    return time_each(
        "extract_indicators + detect_language, 1 MB lines",
        items,
        rounds,
        "well under 0.5 s; test bound was 5 s",
    )


def masking(rounds: int) -> Row:
    call = functools.partial(
        mask_personal, masking_text(), address="a@example.test", name="Aaa Bbb " * 50
    )
    return time_each(
        "mask_personal, 800 kB hostile text",
        [("render test", call)],
        rounds,
        "< 5 s (old test bound)",
    )


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f}"


def print_table(rows: list[Row]) -> None:
    header = ("measurement", "n", "mean ms", "median ms", "worst ms", "worst input", "target")
    body = [
        (
            row.what,
            str(len(row.seconds)),
            _ms(statistics.fmean(row.seconds)),
            _ms(statistics.median(row.seconds)),
            _ms(max(row.seconds)),
            row.worst,
            row.target,
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in (header, *body)) for i in range(len(header))]
    right = {1, 2, 3, 4}  # numbers
    for line in (header, *body):
        cells = [
            cell.rjust(width) if i in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(line, widths, strict=True))
        ]
        print("  ".join(cells).rstrip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--corpus",
        type=Path,
        default=os.environ.get("MAILTRIAGE_CORPUS") or None,
        help="the shared corpus (default: $MAILTRIAGE_CORPUS; without it, tests/corpus only)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="timed runs per input (best counts)")
    args = parser.parse_args()
    if args.corpus is not None and not args.corpus.is_dir():
        parser.error(f"--corpus {args.corpus}: not a directory")

    rows: list[Row] = []
    if args.corpus is not None:
        rows.append(parsing("shared corpus", args.corpus, args.rounds))
    rows.append(parsing("tests/corpus", PROJECT_CORPUS, args.rounds))
    rows.append(classifying_typical(args.rounds))
    if args.corpus is not None:
        malformed = args.corpus / "malformed"
        rows.append(classifying_malformed(malformed, "shared corpus malformed/", args.rounds))
    rows.append(classifying_malformed(PROJECT_CORPUS, "tests/corpus", args.rounds))
    rows.append(classifying_lines(args.rounds))
    rows.append(scanning(args.rounds))
    rows.append(masking(args.rounds))
    rows.append(poison(args.rounds))

    print(f"python {sys.version.split()[0]}, best of {args.rounds} rounds after a warm-up")
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
