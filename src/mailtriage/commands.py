"""The staff command language: the `#command` lines at the top of a staff reply.

Staff work the desk by e-mail; the first lines of their reply may be commands (CONTRACT.md,
"Staff by email"). This module reads them and nothing else: it knows neither the case nor
the sender. Whether a command is allowed *now* is `mailtriage.states`' call; from there it
takes only the vocabulary (`#status` targets, close reasons) and `Command.action`'s values.

Reading rules (`parse_commands`), for the first text part of the mail:

- leading blank lines are skipped; a leading byte-order mark is dropped;
- then every line that starts with `#` (after optional whitespace) is a command line;
  blank lines between command lines are allowed; the first other line ends the block, and
  it and everything after it is `rest` (a `#` line further down is just text);
- at most `max_lines` command lines are read. A `#` line beyond that limit is *not* a
  command and stays in `rest`, but it is also listed in `unknown` ("too many command lines"),
  so a caller that refuses mail with unknown commands relays nothing: a `#note` written as the
  eleventh line must not send an internal note to the reporter;
- every `#` line at the top is an attempted command. One that is not a known command with a
  valid argument (`#stauts triaged`, `#close wontfix`, `#1 on our list`, `#`) goes to
  `unknown` with a reason naming what is allowed. When in doubt, nothing is relayed;
- command names and the values of `#status`, `#close`, `#severity`, `#lang` and `#credit withdraw`
  are case-insensitive and stored lower-case; a name may end in one `:` (`#status: fixing`).
  `#assign` and `#credit NAME` keep the argument as written (stripped; `<...>` around an
  address is dropped). A credit name that reads `withdraw` is the withdrawal.

Pure: no I/O, no logging (the lines can carry names and addresses).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from mailtriage.states import STAFF_CLOSE_REASONS, STATUS_ACTIONS, Action

SEVERITIES: tuple[str, ...] = ("low", "medium", "high", "critical")
STATUSES: tuple[str, ...] = tuple(STATUS_ACTIONS)
CLOSE_REASONS: tuple[str, ...] = STAFF_CLOSE_REASONS

NO_ARGUMENT: tuple[str, ...] = ("note", "reopen", "hold", "release")
KNOWN: tuple[str, ...] = (
    "note",
    "status",
    "close",
    "reopen",
    "severity",
    "assign",
    "credit",
    "hold",
    "release",
    "lang",
)
LANGUAGES: tuple[str, ...] = ("nl", "en")
CHOICES: dict[str, tuple[str, ...]] = {
    "status": STATUSES,
    "close": CLOSE_REASONS,
    "severity": SEVERITIES,
    "lang": LANGUAGES,
}

MAX_ADDRESS = 254
MAX_CREDIT_NAME = 100
MAX_ECHO = 200  # an unknown line is echoed back to staff at most this long

DEFAULT_MAX_LINES = 10


@dataclass(frozen=True)
class Command:
    """One recognised command. `name` is lower-case without `#`; `argument` is stripped
    (and lower-case for the commands with a fixed set of values); `line` is the line as
    written, stripped."""

    name: str
    argument: str
    line: str

    @property
    def action(self) -> Action:
        """The state-table action this command asks for."""
        if self.name == "status":
            return STATUS_ACTIONS[self.argument]
        if self.name == "credit" and self.argument == "withdraw":
            return Action.CREDIT_WITHDRAW
        return Action(self.name)


@dataclass(frozen=True)
class ParsedCommands:
    commands: tuple[Command, ...]  # recognised commands, in the order written
    unknown: tuple[tuple[str, str], ...]  # (line, reason) for each refused `#` line
    note: bool  # `#note` was among the commands: `rest` is internal
    rest: str  # the body after the command block: what may be relayed, unless `note`

    @property
    def actions(self) -> tuple[Action, ...]:
        return tuple(c.action for c in self.commands)


def parse_commands(text: str, max_lines: int = DEFAULT_MAX_LINES) -> ParsedCommands:
    """Read the command block at the top of `text` (see the module docstring)."""
    lines = text.removeprefix("\ufeff").splitlines(keepends=True)
    commands: list[Command] = []
    unknown: list[tuple[str, str]] = []
    seen = 0
    index = 0
    while index < len(lines):
        line = lines[index].strip()
        if not line:
            index += 1
            continue
        if not line.startswith("#"):
            break
        if seen >= max_lines:
            unknown.append(
                (
                    _echo(line),
                    f"too many command lines: at most {max_lines} are read, so this line "
                    "was not taken as a command",
                )
            )
            break
        seen += 1
        parsed = _parse_line(line)
        if isinstance(parsed, Command):
            commands.append(parsed)
        else:
            unknown.append((_echo(line), parsed))
        index += 1
    return ParsedCommands(
        commands=tuple(commands),
        unknown=tuple(unknown),
        note=any(c.name == "note" for c in commands),
        rest="".join(lines[index:]),
    )


def _parse_line(line: str) -> Command | str:
    """A `Command`, or the reason the line is not one."""
    words = line[1:].split(maxsplit=1)
    if not words:
        return "a line starting with '#' at the top of a reply must be a command; " + _known()
    head = words[0]
    name = head.lower().removesuffix(":")
    argument = words[1].strip() if len(words) > 1 else ""
    if name not in KNOWN:
        hint = difflib.get_close_matches(name, KNOWN, n=1, cutoff=0.6)
        maybe = f" (did you mean #{hint[0]}?)" if hint else ""
        return f"unknown command '#{_echo(head, 40)}'{maybe}; " + _known()
    if name in NO_ARGUMENT:
        if argument:
            extra = "; write the note below the command lines" if name == "note" else ""
            return f"#{name} takes no argument{extra}"
        return Command(name, "", line)
    if name in CHOICES:
        value = argument.lower()
        choices = CHOICES[name]
        if value not in choices:
            what = f"'{_echo(argument, 40)}'" if argument else "nothing"
            return f"#{name} takes one of: {', '.join(choices)} (got {what})"
        return Command(name, value, line)
    if name == "assign":
        address = argument.removeprefix("<").removesuffix(">").strip()
        problem = _address_problem(address)
        if problem:
            return f"#assign takes one e-mail address, like name@example.nl: {problem}"
        return Command(name, address, line)
    # credit
    if argument.lower() == "withdraw":
        return Command(name, "withdraw", line)
    problem = _credit_problem(argument)
    if problem:
        return f"#credit takes the name to credit, or 'withdraw': {problem}"
    return Command(name, argument, line)


def _address_problem(address: str) -> str | None:
    if not address:
        return "no address given"
    if len(address) > MAX_ADDRESS:
        return f"longer than {MAX_ADDRESS} characters"
    if any(c.isspace() or not c.isprintable() for c in address):
        return "it contains spaces or control characters"
    if any(c in address for c in '<>(),;:"[]\\'):
        return "give the bare address, without a name or brackets"
    local, at, domain = address.partition("@")
    if not at or "@" in domain:
        return "it must contain exactly one '@'"
    if not local or not domain or domain.startswith(".") or domain.endswith(".") or ".." in domain:
        return "it is not a complete address"
    return None


def _credit_problem(name: str) -> str | None:
    if not name:
        return "no name given"
    if len(name) > MAX_CREDIT_NAME:
        return f"longer than {MAX_CREDIT_NAME} characters"
    if not all(c.isprintable() for c in name):
        return "it contains control or invisible characters"
    return None


def _known() -> str:
    return "known commands: " + ", ".join(f"#{k}" for k in KNOWN)


def _echo(text: str, limit: int = MAX_ECHO) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
