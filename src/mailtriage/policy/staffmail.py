"""What of a staff mail may reach the reporter: one pure decision, read before anything acts.

Why a module of its own: a staff mail is the only way text written inside the organisation
leaves it, so "what would be relayed" must be one function that can be tested on thousands of
generated mails (tests/unit/test_staffmail_property.py), not a side effect of the desk.

`read_staff_mail` reads the command block at the top (`commands.parse_commands`), the staff
member's own text below it (`quotes.new_text` cuts the quoted history, `signatures` the
sign-off) and decides the relay. Fail safe: when there is any doubt whether the text may
leave, `relay` is "" and `problems` says why, so the desk applies nothing and gives the text
back to the sender. Doubts, each a problem:

- a command line the parser refused (`#stauts`, `#credit` without a name);
- a `#command`-shaped line anywhere in what staff wrote below the top block, their signature
  included ("Team,\\n#note\\nIntern: …" is a note, not a greeting followed by text): commands
  are read only at the very top, so such a line is either a misplaced command or text
  that looks like one, and neither may be guessed at;
- `#note` anywhere above the desk's own quoted notification (any case, inside a sentence,
  after the signature, on a quoted line) when the mail is not a note: it may well be meant
  as internal;
- a staff address (one in the staff domains) still in the text after the signature is cut:
  staff addresses never reach reporters;
- an answer written between quoted lines (Thunderbird, Gmail, Apple Mail): only the text
  above the quote can be relayed safely (`quotes`), so relaying that alone would drop the
  answers without anyone noticing.

"What staff wrote" is everything above the quoted history (`quotes.history_start`): the
signature delimiter and phone footers do not end it, so nothing typed there escapes the scan.

Pure: no I/O, no logging (the text is staff and reporter content).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from mailtriage.inbound.quotes import history_start, new_text
from mailtriage.inbound.signatures import strip_signature
from mailtriage.policy.commands import ParsedCommands, Vocabulary, parse_commands

# The first lines of the desk's own mails to staff: wherever a mail client left them, what
# follows is the desk's text (a masked report, a timeline), never something to relay.
NOTIFICATION_OPENINGS: tuple[str, ...] = (
    "A new case has been opened:",
    "Your mail on case",
    "The first assessment of case",
    "Someone other than the reporter of",
)

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
# A line that starts like a command: "#", then (after optional blanks) a letter or nothing.
_COMMAND_SHAPE = re.compile(r"#\s*(?:[^\W\d_]|$)")
_NOTE = re.compile(r"#\s*note", re.IGNORECASE)
_ADDRESS = re.compile(r"[\w.%+\-]{1,64}@([\w\-]{1,63}(?:\.[\w\-]{1,63}){1,8})")
_MAX_ECHO = 120


@dataclass(frozen=True)
class StaffReading:
    """What a staff mail says, and what of it may go to the reporter."""

    parsed: ParsedCommands
    # The staff member's own words below the commands: quoted history and signature cut.
    # The relay when all is well; the note's text for `#note`.
    own_text: str
    # Exactly what goes to the reporter; "" means nothing does.
    relay: str
    # Why the mail must not be acted on (besides `parsed.unknown`): nothing is applied,
    # nothing relayed, and the sender gets `written` back.
    problems: tuple[str, ...]
    # Everything the staff member wrote above the quoted history, commands included: what
    # is given back to them when the mail is refused.
    written: str
    # Whether quoted history or a signature was cut below `own_text`.
    cut_below: bool

    @property
    def refused(self) -> bool:
        return bool(self.problems or self.parsed.unknown)


def read_staff_mail(
    text: str,
    vocabulary: Vocabulary,
    *,
    staff_domains: Iterable[str] = (),
    markers: Iterable[str] = NOTIFICATION_OPENINGS,
) -> StaffReading:
    """Decide what of the staff mail `text` may reach the reporter (module docstring)."""
    markers = tuple(markers)
    parsed = parse_commands(text, vocabulary)
    written_lines = _written_lines(parsed.rest, markers)
    above_quote = new_text(parsed.rest, markers=markers)
    own = strip_signature(above_quote)
    problems = [*_stray_commands(written_lines)]
    if not parsed.note and not problems and _mentions_note(parsed.rest, markers):
        problems.append(
            "your text mentions #note: it may be meant as internal, so nothing was sent to "
            "the reporter. For an internal note put #note alone on the first line"
        )
    if not parsed.note:
        problems.extend(_staff_addresses(own, staff_domains))
        if _answers_between_quotes(parsed.rest, len(written_lines), markers):
            problems.append(
                "you answered between the quoted lines; only text above the quoted mail can "
                "be relayed, so nothing was sent. Put your whole answer above the quote"
            )
    refused = bool(problems or parsed.unknown)
    relay = "" if refused or parsed.note else own
    return StaffReading(
        parsed=parsed,
        own_text=own,
        relay=relay,
        problems=tuple(problems),
        written=_written(text, parsed.rest, written_lines),
        cut_below=_squash(own) != _squash(parsed.rest),
    )


def _normal(line: str) -> str:
    """The line as a reader sees it: compatibility forms folded ("＃note"), invisible
    characters and no-break spaces gone, surrounding blanks stripped."""
    folded = unicodedata.normalize("NFKC", line.translate(_INVISIBLE))
    return folded.replace("\xa0", " ").strip()


def _written_lines(rest: str, markers: tuple[str, ...]) -> list[str]:
    lines = rest.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return lines[: history_start(rest, markers=markers)]


def _stray_commands(lines: list[str]) -> list[str]:
    """A problem for each command-shaped line below the top block."""
    problems: list[str] = []
    for line in lines:
        plain = _normal(line)
        if _COMMAND_SHAPE.match(plain):
            problems.append(
                f'"{_echo(plain)}": a command line below the top of the mail is not read as '
                "a command. Commands go at the very top, one per line, before any other text "
                "(a greeting too); a line of text may not start with '#'"
            )
    return problems


def _answers_between_quotes(rest: str, start: int, markers: tuple[str, ...]) -> bool:
    """Whether unquoted text sits between two ">"-quoted lines below `start` (and above the
    desk's own quoted notification, whose lines are all quoted anyway)."""
    folded = tuple(m.casefold() for m in markers)
    lines = rest.replace("\r\n", "\n").replace("\r", "\n").split("\n")[start:]
    quoted_seen = False
    unquoted_after_quote = False
    for line in lines:
        plain = _normal(line)
        if not plain:
            continue
        if plain.startswith(">"):
            if unquoted_after_quote:
                return True
            quoted_seen = True
            continue
        if plain.casefold().startswith(folded):
            return False
        if quoted_seen:
            unquoted_after_quote = True
    return False


def _mentions_note(rest: str, markers: tuple[str, ...]) -> bool:
    """`#note` anywhere above the desk's own quoted notification, quoted lines included:
    a note quoted from an earlier mail, or typed below a line the quote cutter took for a
    quote, is still a sign the text may be internal. The desk's own mails (the confirmation
    lists the commands) start with one of `markers`, at any quote depth, and end the scan."""
    folded = tuple(m.casefold() for m in markers)
    for line in rest.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        plain = _normal(line)
        if _NOTE.search(plain):
            return True
        if folded and plain.lstrip("> ").casefold().startswith(folded):
            return False
    return False


def _staff_addresses(text: str, staff_domains: Iterable[str]) -> list[str]:
    domains = {d.strip().lower().lstrip("@") for d in staff_domains if d.strip()}
    if not domains:
        return []
    for match in _ADDRESS.finditer(text):
        domain = match.group(1).lower()
        if domain in domains or any(domain.endswith("." + d) for d in domains):
            return [
                "your text names a staff address, and staff addresses never reach reporters: "
                "leave it out (the reporter answers the team address)"
            ]
    return []


def _written(text: str, rest: str, written_lines: list[str]) -> str:
    """The commands and the staff member's text, without the quoted history."""
    head = text.removeprefix("\ufeff")
    commands = head[: len(head) - len(rest)] if rest and head.endswith(rest) else head
    if not rest:
        return commands.strip("\n")
    body = "\n".join(line.rstrip() for line in written_lines)
    if not commands.strip():
        return body.strip("\n")
    return (commands.rstrip("\n") + "\n" + body).strip("\n")


def _squash(text: str) -> str:
    return " ".join(text.split())


def _echo(text: str) -> str:
    return text if len(text) <= _MAX_ECHO else text[: _MAX_ECHO - 1] + "…"
