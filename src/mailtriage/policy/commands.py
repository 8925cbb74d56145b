"""The staff command language: the `#command` lines at the top of a staff reply.

Staff work the desk by e-mail; the first lines of their reply may be commands (CONTRACT.md,
"Staff by email"). This module reads them and nothing else: it knows neither the case nor
the sender. Whether a command is allowed *now* is `mailtriage.policy.states`' call. What each
command is called, which arguments it takes and which `Action` it asks for is its own module's
(the desk's `staffcommands` package); this module only finds the command block and hands each
line to the vocabulary it is given. It is handed in rather than imported because the commands
also carry their effect on the store, which a pure parser must not import.

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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from mailtriage.policy.states import Action

__all__ = [
    "ArgumentError",
    "Command",
    "CommandSyntax",
    "ParsedCommands",
    "Vocabulary",
    "echo",
    "parse_commands",
]


class ArgumentError(ValueError):
    """The argument is not one this command takes; `str(error)` says why, for staff."""


class CommandSyntax(Protocol):
    """What the parser needs of one command: its name, its argument check, its action."""

    NAME: str

    def parse(self, argument: str) -> str:
        """The argument as stored, or `ArgumentError`."""
        ...

    def action(self, argument: str) -> Action:
        """The state-table action asked for with `argument`."""
        ...


# `NAME -> command`, in the order staff see them ("known commands: ...").
Vocabulary = Mapping[str, CommandSyntax]

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
    action: Action  # the state-table action this command asks for


@dataclass(frozen=True)
class ParsedCommands:
    commands: tuple[Command, ...]  # recognised commands, in the order written
    unknown: tuple[tuple[str, str], ...]  # (line, reason) for each refused `#` line
    note: bool  # `#note` was among the commands: `rest` is internal
    rest: str  # the body after the command block: what may be relayed, unless `note`

    @property
    def actions(self) -> tuple[Action, ...]:
        return tuple(c.action for c in self.commands)


def parse_commands(
    text: str, vocabulary: Vocabulary, max_lines: int = DEFAULT_MAX_LINES
) -> ParsedCommands:
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
        parsed = _parse_line(line, vocabulary)
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


def _parse_line(line: str, vocabulary: Vocabulary) -> Command | str:
    """A `Command`, or the reason the line is not one."""
    words = line[1:].split(maxsplit=1)
    if not words:
        return "a line starting with '#' at the top of a reply must be a command; " + _known(
            vocabulary
        )
    head = words[0]
    name = head.lower().removesuffix(":")
    argument = words[1].strip() if len(words) > 1 else ""
    command = vocabulary.get(name)
    if command is None:
        hint = difflib.get_close_matches(name, list(vocabulary), n=1, cutoff=0.6)
        maybe = f" (did you mean #{hint[0]}?)" if hint else ""
        return f"unknown command '#{_echo(head, 40)}'{maybe}; " + _known(vocabulary)
    try:
        value = command.parse(argument)
    except ArgumentError as exc:
        return str(exc)
    return Command(name, value, line, command.action(value))


def _known(vocabulary: Vocabulary) -> str:
    return "known commands: " + ", ".join(f"#{k}" for k in vocabulary)


def echo(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, for quoting a staff line back to them."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _echo(text: str, limit: int = MAX_ECHO) -> str:
    return echo(text, limit)
