"""The staff command language: every command with a good and a bad argument, where the
command block ends, what is left to relay, and that anything doubtful at the top of a reply
ends up in `unknown` (so the caller relays nothing)."""

from __future__ import annotations

import pytest

from mailtriage.desk.staffcommands import REGISTRY
from mailtriage.desk.staffcommands.close import CLOSE_REASONS
from mailtriage.desk.staffcommands.severity import SEVERITIES
from mailtriage.desk.staffcommands.status import STATUSES
from mailtriage.policy.commands import Command, ParsedCommands
from mailtriage.policy.commands import parse_commands as parse_with
from mailtriage.policy.states import STAFF_CLOSE_REASONS, Action


def parse_commands(text: str, **options: int) -> ParsedCommands:
    """The parser with the desk's own vocabulary, as the staff desk calls it."""
    return parse_with(text, REGISTRY, **options)


def one(line: str) -> Command:
    parsed = parse_commands(line + "\n\nThanks for the report.\n")
    assert parsed.unknown == (), parsed.unknown
    assert len(parsed.commands) == 1
    assert parsed.rest == "Thanks for the report.\n"
    return parsed.commands[0]


def refused(line: str) -> str:
    """The reason `line` is refused; it must not become a command nor reach `rest`."""
    parsed = parse_commands(line + "\nThanks for the report.\n")
    assert parsed.commands == ()
    assert len(parsed.unknown) == 1
    echoed, reason = parsed.unknown[0]
    assert echoed == line.strip()[:200] or echoed.endswith("…")
    assert parsed.rest == "Thanks for the report.\n"
    return reason


# -- every command, valid ----------------------------------------------------------------

VALID = [
    ("#note", "note", "", Action.NOTE),
    ("#status triaged", "status", "triaged", Action.TRIAGE),
    ("#status needs-info", "status", "needs-info", Action.NEEDS_INFO),
    ("#status fixing", "status", "fixing", Action.FIX),
    ("#status resolved", "status", "resolved", Action.RESOLVE),
    ("#close fixed", "close", "fixed", Action.CLOSE),
    ("#close duplicate", "close", "duplicate", Action.CLOSE),
    ("#close not-applicable", "close", "not-applicable", Action.CLOSE),
    ("#close informative", "close", "informative", Action.CLOSE),
    ("#close spam", "close", "spam", Action.CLOSE),
    ("#reopen", "reopen", "", Action.REOPEN),
    ("#severity low", "severity", "low", Action.SEVERITY),
    ("#severity medium", "severity", "medium", Action.SEVERITY),
    ("#severity high", "severity", "high", Action.SEVERITY),
    ("#severity critical", "severity", "critical", Action.SEVERITY),
    ("#assign piet@pzem.nl", "assign", "piet@pzem.nl", Action.ASSIGN),
    ("#assign <piet@pzem.nl>", "assign", "piet@pzem.nl", Action.ASSIGN),
    ("#credit Jane Doe", "credit", "Jane Doe", Action.CREDIT),
    ("#credit Ærøskøbing Ünïcode 山田", "credit", "Ærøskøbing Ünïcode 山田", Action.CREDIT),
    ("#credit withdraw", "credit", "withdraw", Action.CREDIT_WITHDRAW),
    ("#hold", "hold", "", Action.HOLD),
    ("#release", "release", "", Action.RELEASE),
]


@pytest.mark.parametrize(("line", "name", "argument", "action"), VALID, ids=[v[0] for v in VALID])
def test_valid_command(line: str, name: str, argument: str, action: Action) -> None:
    command = one(line)
    assert command == Command(name, argument, line, action)
    assert command.action == action


@pytest.mark.parametrize(
    ("line", "name", "argument"),
    [
        ("#STATUS Needs-Info", "status", "needs-info"),
        ("#Close FIXED", "close", "fixed"),
        ("#Severity Critical", "severity", "critical"),
        ("#credit WITHDRAW", "credit", "withdraw"),
        ("#NOTE", "note", ""),
        ("#Hold", "hold", ""),
        ("#status: fixing", "status", "fixing"),
        ("#status\tfixing", "status", "fixing"),
        ("#severity    high   ", "severity", "high"),
        ("   #reopen", "reopen", ""),
        ("# status resolved", "status", "resolved"),
        ("#assign Piet.Jansen+sec@PZEM.nl", "assign", "Piet.Jansen+sec@PZEM.nl"),
        ("#credit   Jane   Doe  ", "credit", "Jane   Doe"),
    ],
)
def test_spelling_variants(line: str, name: str, argument: str) -> None:
    command = one(line)
    assert (command.name, command.argument, command.line) == (name, argument, line.strip())


def test_vocabularies_match_the_contract() -> None:
    assert STATUSES == ("triaged", "needs-info", "fixing", "resolved")
    assert CLOSE_REASONS == ("fixed", "duplicate", "not-applicable", "informative", "spam")
    assert CLOSE_REASONS == STAFF_CLOSE_REASONS
    assert SEVERITIES == ("low", "medium", "high", "critical")


# -- every command, invalid ----------------------------------------------------------------

INVALID = [
    # (line, a fragment the reason must contain)
    ("#note internal stuff", "#note takes no argument; write the note below"),
    ("#reopen now", "#reopen takes no argument"),
    ("#hold please", "#hold takes no argument"),
    ("#release it", "#release takes no argument"),
    ("#status", "#status takes one of: triaged, needs-info, fixing, resolved (got nothing)"),
    ("#status closed", "#status takes one of: triaged, needs-info, fixing, resolved"),
    ("#status needs info", "(got 'needs info')"),
    ("#status triaged fixing", "#status takes one of"),
    ("#close", "#close takes one of: fixed, duplicate, not-applicable, informative, spam"),
    ("#close wontfix", "(got 'wontfix')"),
    ("#close redirected", "#close takes one of"),
    ("#severity", "#severity takes one of: low, medium, high, critical"),
    ("#severity urgent", "(got 'urgent')"),
    ("#severity 9.8", "#severity takes one of"),
    ("#assign", "no address given"),
    ("#assign piet", "exactly one '@'"),
    ("#assign piet@a@b.nl", "exactly one '@'"),
    ("#assign @pzem.nl", "not a complete address"),
    ("#assign piet@", "not a complete address"),
    ("#assign piet@pzem..nl", "not a complete address"),
    ("#assign piet@.pzem.nl", "not a complete address"),
    ("#assign Piet Jansen <piet@pzem.nl>", "spaces"),
    ("#assign piet@pzem.nl, kees@pzem.nl", "spaces"),
    ("#assign piet@pzem.nl,kees@pzem.nl", "bare address"),
    ("#assign " + "a" * 250 + "@pzem.nl", "longer than 254"),
    ("#credit", "#credit takes the name to credit, or 'withdraw': no name given"),
    ("#credit " + "x" * 101, "longer than 100"),
    ("#credit Jane\x07Doe", "control or invisible"),
    ("#credit Jane\u202eeoD", "control or invisible"),
    ("#credit Jane\u200bDoe", "control or invisible"),
]


@pytest.mark.parametrize(("line", "reason"), INVALID, ids=[i[0][:40] for i in INVALID])
def test_invalid_argument(line: str, reason: str) -> None:
    assert reason in refused(line)


def test_credit_name_of_exactly_100_characters() -> None:
    assert one("#credit " + "x" * 100).argument == "x" * 100


def test_address_of_exactly_254_characters() -> None:
    address = "a" * 246 + "@pzem.nl"
    assert len(address) == 254
    assert one("#assign " + address).argument == address


# -- unknown commands ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "hint"),
    [
        ("#stauts triaged", "unknown command '#stauts' (did you mean #status?)"),
        ("#clsoe fixed", "(did you mean #close?)"),
        ("#asign piet@pzem.nl", "(did you mean #assign?)"),
        ("#notes", "(did you mean #note?)"),
        ("#wontfix", "unknown command '#wontfix'; known commands: #note, #status"),
        ("#1 in our list", "unknown command '#1'"),
        ("#!", "unknown command '#!'"),
        ("#", "must be a command"),
        ("#    ", "must be a command"),
        ("## Heading", "unknown command '##'"),
        ("#status=fixing", "unknown command '#status=fixing'"),
        ("#ѕtatus fixing", "unknown command"),  # Cyrillic 'ѕ'
    ],
)
def test_unknown_command(line: str, hint: str) -> None:
    reason = refused(line)
    assert hint in reason
    assert reason.endswith(
        "known commands: #note, #status, #close, #reopen, #severity, #assign, #credit, #hold, "
        "#release, #lang, #duplicate, #cwe, #cve, #embargo, #attachments, #show, #exploited, "
        "#incident, #reported"
    )


def test_a_long_unknown_line_is_echoed_shortened() -> None:
    parsed = parse_commands("#" + "x" * 5000 + "\n")
    line, reason = parsed.unknown[0]
    assert len(line) == 200 and line.endswith("…")
    assert len(reason) < 400


# -- the block: order, blank lines, end, rest ----------------------------------------------


def test_order_is_kept() -> None:
    parsed = parse_commands(
        "#reopen\n#severity high\n#assign piet@pzem.nl\n#status fixing\n#close fixed\n"
    )
    assert [c.name for c in parsed.commands] == ["reopen", "severity", "assign", "status", "close"]
    assert parsed.actions == (
        Action.REOPEN,
        Action.SEVERITY,
        Action.ASSIGN,
        Action.FIX,
        Action.CLOSE,
    )
    assert parsed.rest == ""
    assert parsed.note is False


def test_unknown_lines_are_kept_in_order_beside_the_good_ones() -> None:
    parsed = parse_commands("#severity high\n#stauts x\n#close fixed\n#close never\nHi\n")
    assert [c.line for c in parsed.commands] == ["#severity high", "#close fixed"]
    assert [line for line, _ in parsed.unknown] == ["#stauts x", "#close never"]
    assert parsed.rest == "Hi\n"


def test_no_commands() -> None:
    text = "Dear reporter,\n\n#1 thing: thanks.\n"
    assert parse_commands(text) == ParsedCommands((), (), False, text)


def test_empty_body() -> None:
    assert parse_commands("") == ParsedCommands((), (), False, "")
    assert parse_commands("\n\n  \n") == ParsedCommands((), (), False, "")


def test_leading_blank_lines_are_skipped() -> None:
    parsed = parse_commands("\n  \n\t\n#status fixing\nWe are fixing it.\n")
    assert [c.argument for c in parsed.commands] == ["fixing"]
    assert parsed.rest == "We are fixing it.\n"


def test_leading_blank_lines_are_dropped_from_rest_without_commands() -> None:
    assert parse_commands("\n\nHello\n").rest == "Hello\n"


def test_blank_lines_between_commands_are_allowed() -> None:
    parsed = parse_commands("#severity high\n\n\n#assign piet@pzem.nl\n\nDear reporter,\n")
    assert [c.name for c in parsed.commands] == ["severity", "assign"]
    assert parsed.rest == "Dear reporter,\n"


def test_the_first_text_line_ends_the_block() -> None:
    text = "#status fixing\nDear reporter,\n#close fixed\n#note\nis just text here.\n"
    parsed = parse_commands(text)
    assert [c.line for c in parsed.commands] == ["#status fixing"]
    assert parsed.unknown == ()
    assert parsed.note is False
    assert parsed.rest == "Dear reporter,\n#close fixed\n#note\nis just text here.\n"


def test_quoted_commands_are_not_commands() -> None:
    parsed = parse_commands("> #close fixed\n#close fixed\n")
    assert parsed.commands == ()
    assert parsed.rest == "> #close fixed\n#close fixed\n"


def test_rest_keeps_the_text_as_written() -> None:
    parsed = parse_commands("#severity low\r\n\r\nLine one\r\n\r\n  indented\r\nlast")
    assert parsed.rest == "Line one\r\n\r\n  indented\r\nlast"


def test_a_byte_order_mark_is_dropped() -> None:
    parsed = parse_commands("\ufeff#hold\nText\n")
    assert [c.name for c in parsed.commands] == ["hold"]
    assert parsed.rest == "Text\n"


def test_text_without_a_final_newline() -> None:
    parsed = parse_commands("#close spam")
    assert [c.argument for c in parsed.commands] == ["spam"]
    assert parsed.rest == ""


def test_the_same_command_twice_is_kept_twice() -> None:
    parsed = parse_commands("#status triaged\n#status fixing\n")
    assert [c.argument for c in parsed.commands] == ["triaged", "fixing"]


# -- #note -----------------------------------------------------------------------------------


def test_note_makes_the_rest_internal() -> None:
    parsed = parse_commands("#note\nCalled the vendor; fix due Friday.\n")
    assert parsed.note is True
    assert parsed.commands == (Command("note", "", "#note", Action.NOTE),)
    assert parsed.rest == "Called the vendor; fix due Friday.\n"


def test_note_anywhere_in_the_block() -> None:
    parsed = parse_commands("#severity high\n#status fixing\n#note\nInternal.\n")
    assert parsed.note is True
    assert parsed.actions == (Action.SEVERITY, Action.FIX, Action.NOTE)


def test_note_with_an_argument_is_no_note() -> None:
    parsed = parse_commands("#note do not send\nSecret.\n")
    assert parsed.note is False
    assert parsed.unknown  # the caller refuses the mail: nothing is relayed


def test_note_below_the_text_is_no_note() -> None:
    assert parse_commands("Hello\n#note\n").note is False


# -- max_lines ----------------------------------------------------------------------------


def test_ten_command_lines_are_read_by_default() -> None:
    text = "#severity low\n" * 10 + "Text\n"
    parsed = parse_commands(text)
    assert len(parsed.commands) == 10
    assert parsed.unknown == ()
    assert parsed.rest == "Text\n"


def test_a_command_line_beyond_max_lines_is_no_command_but_is_flagged() -> None:
    text = "#severity low\n" * 10 + "#note\nInternal only.\n"
    parsed = parse_commands(text)
    assert len(parsed.commands) == 10
    assert parsed.note is False
    assert parsed.rest == "#note\nInternal only.\n"
    expected = (
        "too many command lines: at most 10 are read, so this line was not taken as a command"
    )
    assert parsed.unknown == (("#note", expected),)


def test_max_lines_counts_command_lines_not_blank_lines() -> None:
    parsed = parse_commands("#hold\n\n\n\n#release\n\nText\n", max_lines=2)
    assert [c.name for c in parsed.commands] == ["hold", "release"]
    assert parsed.unknown == ()


def test_max_lines_counts_unknown_lines_too() -> None:
    parsed = parse_commands("#bogus\n#hold\n#release\n", max_lines=2)
    assert [c.name for c in parsed.commands] == ["hold"]
    assert [line for line, _ in parsed.unknown] == ["#bogus", "#release"]
    assert parsed.rest == "#release\n"


def test_a_custom_max_lines() -> None:
    parsed = parse_commands("#hold\n#severity low\n#note\nText\n", max_lines=1)
    assert [c.name for c in parsed.commands] == ["hold"]
    assert parsed.unknown[0][0] == "#severity low"
    assert parsed.rest == "#severity low\n#note\nText\n"


def test_max_lines_zero_reads_nothing() -> None:
    parsed = parse_commands("#hold\nText\n", max_lines=0)
    assert parsed.commands == ()
    assert parsed.unknown[0][0] == "#hold"
    assert parsed.rest == "#hold\nText\n"


def test_command_lines_after_the_text_stay_text() -> None:
    text = "#status fixing\nText\n" + "#close fixed\n" * 100_000
    parsed = parse_commands(text)
    assert len(parsed.commands) == 1
    assert parsed.unknown == ()
