"""The staff command registry holds the four places a command used to live in together:
every registered command is in README's command block (and nothing else is), its actions are
the state table's, and the confirmation lists what the registry knows."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import mailtriage.desk.staffcommands as package
from mailtriage.desk.staffcommands import (
    COMMANDS,
    HELP_WIDTH,
    REGISTRY,
    ArgumentError,
    StaffCommand,
    build_registry,
    help_lines,
)
from mailtriage.outgoing.render import Renderer
from mailtriage.policy.states import TRANSITIONS, Action

README = Path(__file__).resolve().parents[2] / "README.md"

# Actions that are no staff command: the daemon's own acknowledgement, and the relay of the
# mail's text, which every staff mail without `#note` carries.
INTERNAL = {Action.ACKNOWLEDGE, Action.RELAY}

# One argument per command that its module must accept, and the action it then asks for.
SAMPLES: dict[str, list[tuple[str, Action]]] = {
    "note": [("", Action.NOTE)],
    "status": [
        ("Triaged", Action.TRIAGE),
        ("needs-info", Action.NEEDS_INFO),
        ("fixing", Action.FIX),
        ("resolved", Action.RESOLVE),
    ],
    "close": [("fixed", Action.CLOSE)],
    "reopen": [("", Action.REOPEN)],
    "severity": [
        ("HIGH", Action.SEVERITY),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", Action.SEVERITY),
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N", Action.SEVERITY),
    ],
    "assign": [("<piet@pzem.nl>", Action.ASSIGN)],
    "credit": [("Jane Doe", Action.CREDIT), ("Withdraw", Action.CREDIT_WITHDRAW)],
    "hold": [("", Action.HOLD)],
    "release": [("", Action.RELEASE)],
    "lang": [("EN", Action.LANG)],
    "duplicate": [("pzem-sec-2026-0005", Action.DUPLICATE)],
    "cwe": [("cwe-79", Action.CWE), ("862", Action.CWE)],
    "cve": [("CVE-2026-12345", Action.CVE)],
    "embargo": [("2026-12-31", Action.EMBARGO), ("None", Action.EMBARGO)],
    "attachments": [("", Action.ATTACHMENTS)],
    "show": [("", Action.SHOW)],
    "exploited": [("", Action.EXPLOITED)],
    "incident": [("", Action.INCIDENT)],
    "reported": [("Early-Warning", Action.REPORTED), ("final", Action.REPORTED)],
}


def readme_command_block() -> str:
    """The fenced block after "Command lines at the top of the mail" in "How staff work"."""
    text = README.read_text(encoding="utf-8")
    after = text.split("Command lines at the top of the mail", 1)[1]
    match = re.search(r"```\n(.*?)```", after, re.DOTALL)
    assert match, "README lost its staff command block"
    return match.group(1)


def test_every_registered_command_is_in_the_readme_block_and_nothing_else() -> None:
    block = readme_command_block()
    written = set(re.findall(r"#([a-z]+)", block))
    assert written == set(REGISTRY)


@pytest.mark.parametrize("name", [n for n, c in REGISTRY.items() if c.CHOICES])
def test_the_readme_names_every_fixed_value_of_a_command(name: str) -> None:
    choices = REGISTRY[name].CHOICES
    assert f"#{name} {'|'.join(choices)}" in readme_command_block()


def test_registry_and_state_table_agree() -> None:
    asked = [action for command in REGISTRY.values() for action in command.ACTIONS]
    # No command without an action, no action asked for by two commands.
    assert all(command.ACTIONS for command in REGISTRY.values())
    assert len(asked) == len(set(asked))
    # No orphan action: every Action is a command's, or one of the internal ones.
    assert set(asked) | INTERNAL == set(Action)
    assert not set(asked) & INTERNAL
    # And each is in the table somewhere: a command the table never allows is dead.
    in_table = {action for (_state, action) in TRANSITIONS}
    assert set(asked) <= in_table


def test_every_command_has_a_sample_here() -> None:
    assert set(SAMPLES) == set(REGISTRY)


@pytest.mark.parametrize(
    ("name", "argument", "action"),
    [(n, a, act) for n, samples in SAMPLES.items() for a, act in samples],
)
def test_a_command_asks_for_one_of_its_own_actions(
    name: str, argument: str, action: Action
) -> None:
    command = REGISTRY[name]
    parsed = command.parse(argument)
    assert command.action(parsed) == action
    assert action in command.ACTIONS


@pytest.mark.parametrize("name", [n for n, c in REGISTRY.items() if c.CHOICES])
def test_a_value_outside_the_choices_is_refused_naming_them(name: str) -> None:
    command = REGISTRY[name]
    with pytest.raises(ArgumentError) as refused:
        command.parse("bogus")
    assert ", ".join(command.CHOICES) in str(refused.value)


def test_two_commands_with_one_name_are_refused() -> None:
    class Other(StaffCommand):
        NAME = "note"
        USAGE = "#note"
        ACTIONS = (Action.NOTE,)

    with pytest.raises(ValueError, match="#note"):
        build_registry([*COMMANDS, Other])


def test_every_command_class_in_the_package_is_registered() -> None:
    """A module written but not listed in COMMANDS would silently do nothing."""
    found: set[type[StaffCommand]] = set()
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        assert module.__doc__, f"{module.__name__} says nowhere why it exists"
        found |= {
            obj
            for obj in vars(module).values()
            if inspect.isclass(obj)
            and issubclass(obj, StaffCommand)
            and obj is not StaffCommand
            and obj.__module__ == module.__name__
        }
    assert found == set(COMMANDS)


def test_the_confirmation_lists_every_command_from_the_registry() -> None:
    lines = help_lines()
    assert all(len(line) <= HELP_WIDTH for line in lines)
    joined = " ".join(lines)
    for command in REGISTRY.values():
        assert command.USAGE in joined
    body = (
        Renderer()
        .render(
            "staff_confirmation",
            "en",
            {
                "ref": "PZEM-SEC-2026-0007",
                "results": [],
                "unprocessed": [],
                "ignored": [],
                "not_applied": [],
                "relayed": [],
                "relayed_more": 0,
                "returned": [],
                "summary": "no changes",
                "state": "triaged",
                "close_reason": None,
                "severity": None,
                "owner": None,
                "commands": lines,
            },
        )
        .body
    )
    assert "\n".join(lines) in body
